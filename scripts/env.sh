# Sourced by the other scripts: one place for the build settings.
# A warm target directory outside the clone, so llama.cpp (10-40 min on 2 cores) is built once.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medllm-target}
# Build llama.cpp with all cores.
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
MEDLLM_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export MEDLLM_ROOT
export MEDLLM_MODELS_DIR=${MEDLLM_MODELS_DIR:-$MEDLLM_ROOT/models}
