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
