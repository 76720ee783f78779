#!/usr/bin/env bash
# Run the whole test suite: every crate, in release (one profile: llama.cpp is compiled once,
# optimised, and the real-model tests run at full speed). Needs the models (scripts/setup-models.sh)
# and the packages from scripts/install-deps.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MEDLLM_ROOT"
start=$(date +%s)
# --tests too: the same feature resolution as `cargo test` below, so llama.cpp is built once.
cargo build --release --workspace --bins --tests
cargo test --release --workspace "$@"
echo "test.sh: all tests passed in $(( $(date +%s) - start )) s"
