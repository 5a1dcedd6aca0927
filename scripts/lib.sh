# Shared helpers for Hotline's scripts. Source it; don't run it.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# A full run (Rust targets, the Swift root, Chromium, the Android tools)
# needs about 12 GB; a linker that runs out of disk dies with "Bus error".
warn_if_disk_is_short() {
  local need_gb=12 free_gb
  free_gb=$(df -P -BG . | awk 'NR == 2 { sub("G", "", $4); print $4 }')
  if [ -n "$free_gb" ] && [ "$free_gb" -lt "$need_gb" ]; then
    say "warning: only ${free_gb} GB free here; a full test run needs about ${need_gb} GB"
  fi
}

# Install Debian packages that are missing (needs root or sudo).
need_apt() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Rust toolchain and the native build tools the crates need.
need_rust() {
  if ! command -v cargo >/dev/null; then
    echo "error: cargo is not installed; install Rust from https://rustup.rs (1.89 or newer)" >&2
    exit 1
  fi
  need_apt build-essential pkg-config cmake nasm
}

# The Kotlin compiler from npm (the kotlin-compiler package), cached in
# build/tools; sets KOTLIN_HOME. Needs java; installs npm if missing.
KOTLIN_VERSION="${KOTLIN_VERSION:-2.4.20}"
need_kotlinc() {
  KOTLIN_HOME="build/tools/kotlin-compiler-$KOTLIN_VERSION/package"
  [ -x "$KOTLIN_HOME/bin/kotlinc" ] && return 0
  command -v npm >/dev/null || need_apt npm
  say "fetching the Kotlin compiler $KOTLIN_VERSION from npm (kotlin-compiler package)"
  mkdir -p build/tools
  rm -rf "build/tools/kotlin-compiler-$KOTLIN_VERSION"
  (cd build/tools && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null)
  mkdir -p "build/tools/kotlin-compiler-$KOTLIN_VERSION"
  tar -xzf "build/tools/kotlin-compiler-$KOTLIN_VERSION.tgz" -C "build/tools/kotlin-compiler-$KOTLIN_VERSION"
  rm -f "build/tools/kotlin-compiler-$KOTLIN_VERSION.tgz"
  chmod +x "$KOTLIN_HOME"/bin/*
}

# Debian's Chromium (never a downloaded browser), Node.js 20+, and
# tests/web's npm packages (playwright-core, typescript) as locked there.
# Used by the web suite and bench/adapt.
need_browser_tools() {
  need_apt chromium
  # The web suite's TURN test runs coturn with a certificate made by openssl.
  need_apt coturn openssl
  command -v npm >/dev/null || need_apt nodejs npm
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  if [ "$node_major" -lt 20 ]; then
    echo "error: the browser tests need Node.js 20 or newer (found $(node --version))" >&2
    exit 1
  fi
  if [ ! -d tests/web/node_modules/playwright-core ] || [ tests/web/package-lock.json -nt tests/web/node_modules/.package-lock.json ]; then
    say "installing playwright-core and typescript from npm (tests/web; no browser download)"
    (cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
  fi
}
