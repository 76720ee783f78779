#!/usr/bin/env bash
# Compare the planner's placement with llama.cpp's own --fit (llama_params_fit) on a machine with an NVIDIA GPU:
# measured prompt and generation speed of both, at the same VRAM budget, for several budgets.
#
# Goal (issue 5): generation speed of the planner's plan >= 0.98x llama.cpp's fit everywhere, better where the
# model is only partly offloaded. Exits 1 when a budget misses the goal, 2 when the machine cannot run it.
#
# Usage: scripts/compare-fit.sh MODEL.gguf [--ctx N] [--margins "256,2048,4096"] [--depth D] [--reps R]
#   --ctx      context per request planned and benchmarked (default 4096)
#   --margins  VRAM left free, MiB, comma-separated; each is one budget (default "256,1536,3072")
#   --depth    tokens already in the KV cache when generation is measured (default 1024)
#   --reps     llama-bench repetitions (default 3)
# Environment:
#   LLAMA_CPP_DIR  a full llama.cpp source tree (with tools/llama-bench); default: the tree inside the
#                  llama-cpp-python source distribution, fetched with pip (the crate vendors llama.cpp
#                  without its tools). Use the same llama.cpp version the daemon links, or the comparison lies.
#   BUILD_DIR      where llama-bench is built (default ~/.cache/medllm/llama-bench-cuda)
#   PIP            pip command (default: python3 -m pip)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
model=""; ctx=4096; margins="256,1536,3072"; depth=1024; reps=3
while [ $# -gt 0 ]; do
    case "$1" in
        --ctx) ctx=$2; shift 2 ;;
        --margins) margins=$2; shift 2 ;;
        --depth) depth=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "compare-fit: unknown option '$1'" >&2; exit 2 ;;
        *) model=$1; shift ;;
    esac
done
[ -n "$model" ] && [ -f "$model" ] || { echo "compare-fit: give a model file (try --help)" >&2; exit 2; }
command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1 || {
    echo "compare-fit: needs an NVIDIA GPU with a working driver (nvidia-smi failed)" >&2; exit 2; }
for tool in cmake nvcc python3 cargo; do
    command -v "$tool" >/dev/null || { echo "compare-fit: '$tool' is required" >&2; exit 2; }
done

# 1. llama-bench with CUDA
src=${LLAMA_CPP_DIR:-}
if [ -z "$src" ]; then
    cache=${HOME}/.cache/medllm/llama-cpp-python-src
    mkdir -p "$cache"
    read -r -a pip <<<"${PIP:-python3 -m pip}"
    ls "$cache"/llama_cpp_python-*.tar.gz >/dev/null 2>&1 ||
        "${pip[@]}" download --quiet --no-deps --no-binary :all: -d "$cache" llama-cpp-python
    tarball=$(ls "$cache"/llama_cpp_python-*.tar.gz | sort -V | tail -1)
    tar -xzf "$tarball" -C "$cache"
    src=$(ls -d "$cache"/llama_cpp_python-*/vendor/llama.cpp | sort -V | tail -1)
fi
[ -f "$src/tools/llama-bench/llama-bench.cpp" ] || { echo "compare-fit: $src has no tools/llama-bench" >&2; exit 2; }
build=${BUILD_DIR:-$HOME/.cache/medllm/llama-bench-cuda}
cmake -S "$src" -B "$build" -DGGML_CUDA=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target llama-bench -j "$(nproc)" >/dev/null
bench="$build/bin/llama-bench"

# 2. for each budget: plan, benchmark the plan, benchmark llama.cpp's fit at the same margin
threads=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
# The example's dev-dependencies include llama-cpp-2: build in the shared release dir together with the daemon so
# the llama.cpp already built there is reused (building the planner alone unifies host features differently).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/medllm-target}
(cd "$here" && cargo build --release -q -p medllmd -p medllm-planner --example plan)
planner="$CARGO_TARGET_DIR/release/examples/plan"
fail=0
printf '%-8s %-28s %10s %10s %10s %10s %8s\n' margin config ngl overrides "pp t/s" "tg t/s" ratio
IFS=, read -r -a margin_list <<<"$margins"
for margin in "${margin_list[@]}"; do
    plan_json=$("$planner" "$model" --ctx "$ctx" --parallel 1 --vram-margin "$margin" --json)
    read -r ngl ot fa ctk ctv ub t nctx <<<"$(python3 -c '
import json, sys
p = json.load(sys.stdin)
ot = ";".join(r + "=CPU" for r in p["cpu_overrides"]) or "-"
print(p["n_gpu_layers"], ot, "on" if p["flash_attn"] else "off", p["type_k"], p["type_v"], p["n_ubatch"], p["threads"], p["n_ctx"])
' <<<"$plan_json")"
    common=(-m "$model" -r "$reps" -o json -p 512 -n 128 -d "$depth" -fa "$fa" -ctk "$ctk" -ctv "$ctv" -ub "$ub" -t "$t")
    ours_args=(-ngl "$ngl")
    [ "$ot" != "-" ] && ours_args+=(-ot "$ot")
    ours=$("$bench" "${common[@]}" "${ours_args[@]}")
    fit=$("$bench" "${common[@]}" -fitt "$margin" -fitc "$nctx")
    python3 - "$margin" "$ngl" "$ot" <<PY || fail=1
import json, sys
margin, ngl, ot = sys.argv[1], sys.argv[2], sys.argv[3]
def speeds(runs):
    pp = next(r["avg_ts"] for r in runs if r["n_prompt"] > 0 and r["n_gen"] == 0)
    tg = next(r["avg_ts"] for r in runs if r["n_gen"] > 0 and r["n_prompt"] == 0)
    ngl = runs[0].get("n_gpu_layers", "?")
    return pp, tg, ngl
ours = speeds(json.loads('''$ours'''))
fit = speeds(json.loads('''$fit'''))
ratio = ours[1] / fit[1]
print(f"{margin:<8} {'planner':<28} {ngl:>10} {('yes' if ot != '-' else 'no'):>10} {ours[0]:>10.1f} {ours[1]:>10.2f} {ratio:>8.3f}")
print(f"{margin:<8} {'llama.cpp --fit':<28} {fit[2]!s:>10} {'?':>10} {fit[0]:>10.1f} {fit[1]:>10.2f} {1.0:>8.3f}")
sys.exit(0 if ratio >= 0.98 else 1)
PY
done
exit $fail
