#!/usr/bin/env bash
# Install the Debian packages medllm needs to build and test. Idempotent; needs root (or sudo).
#   build:  cmake, clang + libclang-dev (bindgen), pkg-config, g++ (llama.cpp), python3-pip (model setup)
#   tests:  dbus (dbus-daemon for private buses), systemd (busctl), libglib2.0-bin (gdbus), unzip
set -euo pipefail
pkgs=(cmake clang libclang-dev pkg-config g++ make python3-pip unzip dbus systemd libglib2.0-bin
      policykit-1 dpkg-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all packages present"
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
