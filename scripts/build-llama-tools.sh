#!/usr/bin/env bash
# Build llama.cpp's reference tools (llama-bench, llama-batched-bench, llama-server) for benchmarks.
#
# Why: the llama-cpp-sys-2 crate vendors llama.cpp *without* its tools, so the engine benchmark
# (daemon/examples/engine_bench.rs) and later medctl bench need them from elsewhere. The source
# distribution of the PyPI package llama-cpp-python carries the full llama.cpp tree
# (vendor/llama.cpp). We fetch it with pip, unpack it OUTSIDE the repository and build there; the
# source is never vendored or committed.
#
# The tools are built the way llama-cpp-sys-2 builds our llama.cpp (see its build.rs and the
# CMakeCache.txt in our target dir): Release, shared libs, GGML_BACKEND_DL=ON,
# GGML_CPU_ALL_VARIANTS=ON, GGML_NATIVE=OFF, GGML_OPENMP=ON, the cc crate's C/C++ flags. With
# dynamic backends the CPU kernels live in one module per x86-64 generation, loaded at run time
# from the executables' directory; ggml picks the highest-scoring one. On our development VM that
# is `sapphirerapids`, whose AMX kernel dies with SIGILL, and the daemon skips AMX variants
# (daemon/src/engine/backends.rs). For a fair comparison the tools must run the variant the daemon
# runs. ggml's CMake makes every variant a build dependency of libggml, so "build only one variant
# module" is impossible with GGML_CPU_ALL_VARIANTS=ON; instead we build the one CPU module
# (GGML_BACKEND_DL=ON, GGML_CPU_ALL_VARIANTS=OFF) with exactly that variant's feature list from
# ggml/src/CMakeLists.txt (ggml_add_cpu_backend_variant sets GGML_<feature>=ON for its list and
# compiles the same sources with the same -m flags). LLAMA_TOOLS_CPU_VARIANT picks it; default
# `auto` scores our own modules with ggml's `ggml_backend_score`, skipping AMX ones, exactly like
# the daemon. `all` builds every variant like our build and deletes the AMX module afterwards
# (several times longer). One variant instead of 14 also saves most of the build time.
#
# Usage: scripts/build-llama-tools.sh [--force] [--print-dir]
#   --force       rebuild even when the binaries exist
#   --print-dir   print the binary directory and exit (build if needed, quietly)
# Environment:
#   LLAMA_TOOLS_DIR            where to unpack and build (default ~/.cache/medllm/llama-tools)
#   LLAMA_CPP_PYTHON_VERSION   sdist version (default 0.3.36)
#   LLAMA_TOOLS_CPU_VARIANT    ggml CPU variant to build: auto (default), a name (zen4, icelake, …) or all
#   LLAMA_TOOLS_JOBS           parallel build jobs (default 2; the machine is shared)
#   CARGO_TARGET_DIR           our build, to find our CPU modules (default ~/.cache/medllm-target)
# Output: the binaries in $LLAMA_TOOLS_DIR/build-<version>/bin, and versions.txt there recording
# the llama.cpp/ggml versions of both trees and the CPU variant(s).
set -euo pipefail

FORCE=0
PRINT_DIR=0
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --print-dir) PRINT_DIR=1 ;;
        -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
ROOT="${LLAMA_TOOLS_DIR:-$HOME/.cache/medllm/llama-tools}"
JOBS="${LLAMA_TOOLS_JOBS:-2}"
TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medllm-target}"
SRC_PARENT="$ROOT/src"
SRC="$SRC_PARENT/llama_cpp_python-$VERSION/vendor/llama.cpp"
BUILD="$ROOT/build-$VERSION"
BIN="$BUILD/bin"
TOOLS=(llama-bench llama-batched-bench llama-server)

log() { if [ "$PRINT_DIR" -eq 0 ]; then echo "build-llama-tools: $*" >&2; fi; }

# Refuse to build inside the repository: the source must never be committed.
REPO="$(cd "$(dirname "$0")/.." && pwd)"
case "$(mkdir -p "$ROOT" && cd "$ROOT" && pwd)/" in
    "$REPO"/*) echo "LLAMA_TOOLS_DIR must be outside the repository ($REPO)" >&2; exit 2 ;;
esac

# --- our llama.cpp (llama-cpp-sys-2) -------------------------------------------------------------
OURS_SRC="$(ls -d "$HOME"/.cargo/registry/src/*/llama-cpp-sys-2-0.1.161/llama.cpp 2>/dev/null | head -n1 || true)"
OURS_BACKENDS="$(ls -d "$TARGET_DIR"/release/build/llama-cpp-sys-2-*/out/backends 2>/dev/null | head -n1 || true)"

ggml_version() { # <llama.cpp tree> → ggml x.y.z from its CMakeLists
    local f="$1/ggml/CMakeLists.txt"
    [ -f "$f" ] || { echo "unknown"; return; }
    local ma mi pa
    ma=$(sed -n 's/^set(GGML_VERSION_MAJOR \([0-9]*\))/\1/p' "$f")
    mi=$(sed -n 's/^set(GGML_VERSION_MINOR \([0-9]*\))/\1/p' "$f")
    pa=$(sed -n 's/^set(GGML_VERSION_PATCH \([0-9]*\))/\1/p' "$f")
    echo "$ma.$mi.$pa"
}

# The CPU variant(s) the daemon would load here: ggml's score, AMX variants skipped.
auto_variants() {
    if [ -z "$OURS_BACKENDS" ]; then
        log "our CPU modules not found under $TARGET_DIR (build the daemon first); building all variants"
        echo "all"; return
    fi
    LD_LIBRARY_PATH="$OURS_BACKENDS/../lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" python3 - "$OURS_BACKENDS" <<'PY'
import ctypes, glob, os, sys
best = None
for p in sorted(glob.glob(os.path.join(sys.argv[1], "libggml-cpu-*.so"))):
    name = os.path.basename(p)[len("libggml-cpu-"):-len(".so")]
    if name == "sapphirerapids":  # AMX: see daemon/src/engine/backends.rs
        continue
    try:
        score = ctypes.CDLL(p).ggml_backend_score()
    except OSError:
        continue
    if score > 0 and (best is None or score > best[0]):
        best = (score, name)
print(best[1] if best else "all")
PY
}

VARIANTS="${LLAMA_TOOLS_CPU_VARIANT:-auto}"
if [ "$VARIANTS" = "auto" ]; then VARIANTS="$(auto_variants)"; fi

# ggml_add_cpu_backend_variant(...) feature lists, x86 (ggml/src/CMakeLists.txt of both trees).
variant_features() {
    case "$1" in
        x64) echo "" ;;
        sse42) echo "SSE42" ;;
        sandybridge) echo "SSE42 AVX" ;;
        ivybridge) echo "SSE42 AVX F16C" ;;
        piledriver) echo "SSE42 AVX F16C FMA" ;;
        haswell) echo "SSE42 AVX F16C FMA AVX2 BMI2" ;;
        skylakex) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512" ;;
        cannonlake) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI" ;;
        cascadelake) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VNNI" ;;
        icelake) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI" ;;
        cooperlake) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VNNI AVX512_BF16" ;;
        zen4) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16" ;;
        alderlake) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX_VNNI" ;;
        sapphirerapids) echo "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8" ;;
        *) echo "unknown CPU variant: $1" >&2; return 1 ;;
    esac
}
CPU_OPTS=(-DGGML_CPU_ALL_VARIANTS=ON)
if [ "$VARIANTS" != "all" ]; then
    FEATS="$(variant_features "$VARIANTS")"
    CPU_OPTS=(-DGGML_CPU_ALL_VARIANTS=OFF)
    for f in SSE42 AVX AVX2 BMI2 AVX_VNNI FMA F16C AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 \
             AMX_TILE AMX_INT8 AMX_BF16; do
        case " $FEATS " in *" $f "*) CPU_OPTS+=("-DGGML_$f=ON") ;; *) CPU_OPTS+=("-DGGML_$f=OFF") ;; esac
    done
fi

built() {
    for t in "${TOOLS[@]}"; do [ -x "$BIN/$t" ] || return 1; done
    [ -f "$BUILD/versions.txt" ] || return 1
    [ "$(sed -n 's/^cpu_variant=//p' "$BUILD/versions.txt")" = "$VARIANTS" ] || return 1
}

if [ "$FORCE" -eq 0 ] && built; then
    log "already built (use --force to rebuild)"
    if [ "$PRINT_DIR" -eq 1 ]; then echo "$BIN"; else cat "$BUILD/versions.txt"; echo "binaries: $BIN"; fi
    exit 0
fi

# --- fetch and unpack the sdist ------------------------------------------------------------------
if [ ! -f "$SRC/CMakeLists.txt" ]; then
    mkdir -p "$ROOT/sdist" "$SRC_PARENT"
    TARBALL="$ROOT/sdist/llama_cpp_python-$VERSION.tar.gz"
    if [ ! -f "$TARBALL" ]; then
        log "downloading llama-cpp-python==$VERSION source distribution"
        python3 -m pip download --quiet --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$ROOT/sdist"
    fi
    log "unpacking $TARBALL"
    tar -xzf "$TARBALL" -C "$SRC_PARENT"
fi
[ -f "$SRC/CMakeLists.txt" ] || { echo "no llama.cpp tree at $SRC" >&2; exit 1; }

THEIRS_COMMIT="$(sed -n '/^## \['"$VERSION"'\]/,/^## \[/p' "$SRC/../../CHANGELOG.md" 2>/dev/null \
    | sed -n 's/.*llama\.cpp@\([0-9a-f]\{7,40\}\).*/\1/p' | head -n1)"

# --- configure and build ---------------------------------------------------------------------------
# Same options as llama-cpp-sys-2 0.1.161 (build.rs + the cc crate's flags in our CMakeCache.txt);
# tools and server on, network features (curl, prebuilt web UI download) off.
COMMON_FLAGS="-ffunction-sections -fdata-sections -fPIC -m64 -march=x86-64"
log "configuring in $BUILD (CPU variant: $VARIANTS)"
nice -n 10 cmake -S "$SRC" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$COMMON_FLAGS" -DCMAKE_CXX_FLAGS="$COMMON_FLAGS" \
    -DBUILD_SHARED_LIBS=ON \
    -DGGML_BACKEND_DL=ON -DGGML_NATIVE=OFF -DGGML_OPENMP=ON "${CPU_OPTS[@]}" \
    -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_VULKAN=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_COMMON=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_BUILD_COMMIT="${THEIRS_COMMIT:-unknown}" \
    >"$ROOT/cmake-configure.log" 2>&1 || { tail -n 40 "$ROOT/cmake-configure.log" >&2; exit 1; }

log "building ${TOOLS[*]} with -j$JOBS (log: $ROOT/cmake-build.log; ~30 min on 2 cores)"
# Stale modules from an earlier build with another variant would let ggml pick that one.
rm -f "$BIN"/libggml-cpu*.so
nice -n 10 cmake --build "$BUILD" --config Release -j "$JOBS" --target "${TOOLS[@]}" \
    >"$ROOT/cmake-build.log" 2>&1 || { tail -n 40 "$ROOT/cmake-build.log" >&2; exit 1; }
rm -f "$BIN/libggml-cpu-sapphirerapids.so" # `all`: AMX, the daemon never picks it automatically

{
    echo "llama_cpp_python=$VERSION"
    echo "theirs_src=$SRC"
    echo "theirs_llama_cpp_commit=${THEIRS_COMMIT:-unknown}"
    echo "theirs_ggml=$(ggml_version "$SRC")"
    echo "ours_crate=llama-cpp-sys-2 0.1.161"
    echo "ours_src=${OURS_SRC:-not found}"
    echo "ours_ggml=$(ggml_version "${OURS_SRC:-/nonexistent}")"
    echo "cpu_variant=$VARIANTS"
    echo "cmake_options=Release BUILD_SHARED_LIBS=ON GGML_BACKEND_DL=ON GGML_OPENMP=ON GGML_NATIVE=OFF ${CPU_OPTS[*]}"
} >"$BUILD/versions.txt"

if [ "$PRINT_DIR" -eq 1 ]; then echo "$BIN"; exit 0; fi
cat "$BUILD/versions.txt"
echo "binaries: $BIN"
ls -1 "$BIN" | sed 's/^/  /'
