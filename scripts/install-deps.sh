#!/usr/bin/env bash
# Install the Debian packages medllm needs to build and test. Idempotent; needs root (or sudo).
#   build:  cmake, clang + libclang-dev (bindgen), pkg-config, g++ (llama.cpp), python3-pip (model setup)
#   tests:  dbus (dbus-daemon for private buses), systemd (busctl), libglib2.0-bin (gdbus), unzip
#   .deb:   patchelf (rpath of the packaged binaries), cargo-deb (cargo install, below)
set -euo pipefail
pkgs=(cmake clang libclang-dev pkg-config g++ make python3-pip unzip dbus systemd libglib2.0-bin
      policykit-1 dpkg-dev patchelf)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
install_cargo_deb() {
    if command -v cargo-deb >/dev/null 2>&1; then
        echo "install-deps: cargo-deb present ($(cargo deb --version 2>/dev/null))"
    elif command -v cargo >/dev/null 2>&1; then
        echo "install-deps: installing cargo-deb"
        cargo install cargo-deb --locked
    else
        echo "install-deps: cargo missing; install Rust, then: cargo install cargo-deb --locked" >&2
    fi
}
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
    install_cargo_deb
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
echo "install-deps: installing ${missing[*]}"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_cargo_deb
