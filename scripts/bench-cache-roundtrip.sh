#!/usr/bin/env bash
# Full D-Bus round trip of a cached answer (cache issue, goal < 10 ms), measured two ways: from one
# persistent zbus connection (tests/examples/cache_roundtrip.rs, what a desktop app sees), and with a
# client nobody here wrote, busctl (a new process and connection per call). Starts a private bus and medllmd on the default model, asks one question once
# (a miss: the engine answers and the cache stores it), then times N more identical Ask calls (exact
# hits) and, as the reference measured in the same run, N reads of the Version property: busctl's own
# start-up and connection cost is in both, so "hit - property" is what the cache path adds.
#
# Usage: scripts/bench-cache-roundtrip.sh [N]   (needs a release build and scripts/setup-models.sh)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MEDLLM_ROOT"
n=${1:-200}
bin=$CARGO_TARGET_DIR/release
[ -x "$bin/medllmd" ] || { echo "build first: cargo build --release --workspace --bins --tests" >&2; exit 1; }
cargo build --release -q -p medllm-tests --example cache_roundtrip

run=$(mktemp -d /tmp/medllm-rt.XXXXXX)
cleanup() {
    [ -n "${daemon_pid:-}" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
    [ -n "${bus_pid:-}" ] && kill "$bus_pid" 2>/dev/null || true
    rm -rf "$run"
}
trap cleanup EXIT
dbus-daemon --session --nofork --print-address=3 --address="unix:path=$run/bus" 3>"$run/address" 2>/dev/null &
bus_pid=$!
for _ in $(seq 50); do [ -s "$run/address" ] && break; sleep 0.1; done
address=$(head -n1 "$run/address")
cat >"$run/medllmd.toml" <<TOML
[daemon]
state_dir = "$run/state"
[model]
path = "$MEDLLM_MODELS_DIR/gemma-3-270m-q4_k_m.gguf"
[cache]
dir = "$run/cache"
key_file = "$run/keys/cache.key"
embedder_dir = "$MEDLLM_MODELS_DIR/all-MiniLM-L6-v2"
TOML
"$bin/medllmd" --config "$run/medllmd.toml" --bus-address "$address" --log-level error &
daemon_pid=$!
for _ in $(seq 240); do
    "$bin/medctl" --bus-address "$address" status >/dev/null 2>&1 && break
    sleep 0.5
done

q="What is the usual adult dose of ibuprofen for back pain?"
call() { busctl --address="$address" call org.medllm.Daemon1 /org/medllm/Daemon1 org.medllm.Daemon1 Ask 'sa{sv}' "$q" 1 max_tokens u 32; }
first=$(call)
echo "$first" | grep -q '"cache" s "miss"' || echo "note: first answer was not a miss: $first" >&2
call | grep -q '"cache" s "exact"' || { echo "the second Ask was not an exact cache hit" >&2; exit 1; }

# Milliseconds per call, one per line.
time_calls() {
    for _ in $(seq "$n"); do
        local t0 t1
        t0=$(date +%s%N)
        "$@" >/dev/null
        t1=$(date +%s%N)
        echo $(( (t1 - t0) / 1000 ))
    done | sort -n | awk -v n="$n" '{ a[NR] = $1 } END {
        printf "p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  (n=%d)\n", a[int(n*0.5)]/1000, a[int(n*0.9)]/1000, a[int(n*0.99)]/1000, n }'
}
"$bin/examples/cache_roundtrip" "$address" $(( n * 5 ))
prop() { busctl --address="$address" get-property org.medllm.Daemon1 /org/medllm/Daemon1 org.medllm.Daemon1 Version; }
echo "cached Ask (busctl, exact hit):   $(time_calls call)"
echo "Version property (busctl):        $(time_calls prop)"
