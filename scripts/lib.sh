# Shared helpers for Hotline's scripts. Source it; don't run it.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

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
