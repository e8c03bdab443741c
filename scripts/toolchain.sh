#!/usr/bin/env bash
# Installs (idempotently) everything crmcal needs to build and test, and prints the environment
# to use it (eval "$(scripts/toolchain.sh env)").
#
# Why this exists: these machines reach package registries (crates.io, npm, Debian) but not the
# Rust release servers, so `rustup target add wasm32-unknown-unknown` is impossible. We take
# Debian's rustc-web (a rustc with the std sources) and build wasm32 std from source with
# -Zbuild-std for the front end only. See docs/architecture.md, "Toolchain".
#
# Everything lands in $CRMCAL_TOOLCHAIN (default ~/.cache/crmcal/toolchain), outside the checkout,
# so fresh clones on the same machine (CI) reuse it; a fresh machine installs it once (~33 min on two cores).
#
# Usage: scripts/toolchain.sh install   # install what is missing (quiet when all is there)
#        scripts/toolchain.sh env       # print export lines for the build environment
set -euo pipefail

TC="${CRMCAL_TOOLCHAIN:-$HOME/.cache/crmcal/toolchain}"
ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# wasm-bindgen CLI must equal the wasm-bindgen crate version in Cargo.lock.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' "$ROOT_DIR/Cargo.lock" 2>/dev/null || true)"
BINARYEN_VERSION="${CRMCAL_BINARYEN_VERSION:-132.0.0}"
PLAYWRIGHT_DIR="$ROOT_DIR/end2end"

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

have_wasm_target_in_rustup() {
  command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# Debian's rustc-web, unpacked (no root install, no conflict with rustup).
llvm_major() { ls "$TC/root/usr/lib" 2>/dev/null | sed -n 's/^llvm-\([0-9]*\)$/\1/p' | sort -n | tail -1; }

env_lines() {
  echo "export PATH=\"$TC/bin:$TC/npm/node_modules/.bin:\$PATH\""
  if ! have_wasm_target_in_rustup; then
    local R="$TC/root" m; m="$(llvm_major)"
    echo "export RUSTC=\"$R/usr/bin/rustc\" RUSTDOC=\"$R/usr/bin/rustdoc\" RUSTC_BOOTSTRAP=1"
    echo "export LD_LIBRARY_PATH=\"$R/usr/lib/x86_64-linux-gnu:$R/usr/lib/llvm-$m/lib\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
    echo "export CRMCAL_BUILD_STD=1"
  fi
}

apt_updated=0
apt_update_once() {
  if [ "$apt_updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
}

install_rustc_web() {
  have_wasm_target_in_rustup && { log "rustup has wasm32-unknown-unknown: using it"; return; }
  [ -x "$TC/root/usr/bin/rustc" ] && [ -x "$TC/bin/rust-lld" ] && return
  apt_update_once
  # Derive the versioned package names (security updates move them).
  local std llvm lld
  std="$(apt-cache depends libstd-rust-web-dev | sed -n 's/^ *Depends: \(libstd-rust-web-[0-9.]*\)$/\1/p' | head -1)"
  [ -n "$std" ] || die "cannot find libstd-rust-web-<version> (is rustc-web available from Debian?)"
  llvm="$(apt-cache depends "$std" | sed -n 's/^ *Depends: \(libllvm[0-9]*\)$/\1/p' | head -1)"
  [ -n "$llvm" ] || die "cannot find the libllvm that $std depends on"
  lld="lld-${llvm#libllvm}"
  local pkgs=(rustc-web libstd-rust-web-dev "$std" rust-web-src "$llvm" "$lld")
  log "downloading ${pkgs[*]}"
  local dl; dl="$(mktemp -d)"
  # Into a private temp dir as root (apt would otherwise warn that its _apt user cannot write there).
  (cd "$dl" && apt-get -o APT::Sandbox::User=root download "${pkgs[@]}" >/dev/null) || die "apt-get download ${pkgs[*]} failed"
  [ "$(ls "$dl"/*.deb | wc -l)" -eq "${#pkgs[@]}" ] || die "incomplete package set in $dl"
  mkdir -p "$TC/root" "$TC/bin"
  for f in "$dl"/*.deb; do dpkg -x "$f" "$TC/root"; done
  rm -rf "$dl"
  ln -sf "$TC/root/usr/bin/$lld" "$TC/bin/rust-lld"
  [ -x "$TC/root/usr/bin/rustc" ] || die "rustc missing after unpacking"
}

install_cargo_tool() { # name version binary [extra args]
  local name="$1" version="$2" bin="$3"; shift 3
  if [ -x "$TC/bin/$bin" ] && "$TC/bin/$bin" --version 2>/dev/null | grep -q "$version"; then return; fi
  log "cargo install $name $version (one-off, several minutes)"
  eval "$(env_lines)"
  # These are build tools, not the product: their own release profiles (fat LTO, one codegen
  # unit, opt-level 3) cost cargo-leptos over 40 minutes on two cores; a light optimisation
  # builds in a fraction of that and runs the same builds.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=off \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install "$name" --version "$version" --root "$TC" "$@" >"$TC/install-$name.log" 2>&1 \
    || { tail -30 "$TC/install-$name.log" >&2; die "cargo install $name failed"; }
}

install_binaryen() {
  [ -x "$TC/npm/node_modules/.bin/wasm-opt" ] && return
  command -v npm >/dev/null || die "npm is required (for binaryen's wasm-opt and Playwright)"
  log "npm install binaryen@$BINARYEN_VERSION"
  mkdir -p "$TC/npm"
  npm install --silent --prefix "$TC/npm" "binaryen@$BINARYEN_VERSION" >/dev/null || die "npm install binaryen failed"
}

install_chromium() {
  [ -x /usr/bin/chromium ] && return
  apt_update_once
  log "apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
}

install_playwright() {
  [ -d "$PLAYWRIGHT_DIR/node_modules/@playwright/test" ] && [ -d "$PLAYWRIGHT_DIR/node_modules/@axe-core/playwright" ] && return
  log "npm ci (Playwright test runner and axe-core; browsers come from Debian, never downloaded)"
  (cd "$PLAYWRIGHT_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund >/dev/null) \
    || die "npm ci in end2end failed"
}

install_wrk() {
  command -v wrk >/dev/null && return
  apt_update_once
  log "apt-get install wrk (the page benchmark's HTTP load generator)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || die "apt-get install wrk failed"
}

case "${1:-install}" in
  env) env_lines ;;
  install)
    mkdir -p "$TC/bin"
    install_rustc_web
    install_cargo_tool cargo-leptos "${CARGO_LEPTOS_VERSION:-0.3.11}" cargo-leptos --locked
    [ -n "$WASM_BINDGEN_VERSION" ] || die "no wasm-bindgen in Cargo.lock"
    install_cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
    install_binaryen
    ;;
  browser) install_chromium; install_playwright ;;
  bench) install_wrk ;;
  *) die "usage: $0 install|env|browser|bench" ;;
esac
