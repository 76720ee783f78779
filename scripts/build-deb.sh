#!/usr/bin/env bash
# Build medllm_<version>_amd64.deb from the release binaries (see [package.metadata.deb] in
# daemon/Cargo.toml). Prints the path of the .deb on its last line.
#
#   scripts/build-deb.sh            build the binaries if needed (safe workspace build), stage, package
#   scripts/build-deb.sh --no-build package what target/release holds now (tests use this)
#
# Staging (under $CARGO_TARGET_DIR/release/deb-staging): copies of the binaries whose RUNPATH is
# only $ORIGIN/../lib/medllm (the build directory is left out), llama.cpp's shared libraries
# under their sonames, every libggml-cpu-<variant>.so (the daemon picks one for the CPU at
# start), all stripped; the default config with backends_dir = /usr/lib/medllm, the man page
# and completions.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$MEDLLM_ROOT"
build=1
[ "${1:-}" = --no-build ] && build=0
command -v cargo-deb >/dev/null || { echo "build-deb: cargo-deb missing: scripts/install-deps.sh" >&2; exit 1; }
command -v patchelf >/dev/null || { echo "build-deb: patchelf missing: scripts/install-deps.sh" >&2; exit 1; }
rel="$CARGO_TARGET_DIR/release"
if [ $build = 1 ]; then
    # The same package set as every other script: a different set could rebuild llama.cpp.
    nice -n 10 cargo build --release --workspace --bins >&2
fi
for b in medllmd medctl medllm-quant; do
    [ -x "$rel/$b" ] || { echo "build-deb: $rel/$b missing (cargo build --release --workspace --bins)" >&2; exit 1; }
done

# llama.cpp's libraries: where the loader finds them for the built daemon.
libllama=$(LD_TRACE_LOADED_OBJECTS=1 "$rel/medllmd" | awk '$1 == "libllama.so.0" { print $3 }')
[ -n "$libllama" ] || { echo "build-deb: cannot locate libllama.so.0 for $rel/medllmd" >&2; exit 1; }
out=$(cd "$(dirname "$libllama")/.." && pwd)

stage="$rel/deb-staging"
rm -rf "$stage"
mkdir -p "$stage/usr/sbin" "$stage/usr/bin" "$stage/usr/lib/medllm" "$stage/etc/medllm" \
    "$stage/usr/share/man/man1" "$stage/usr/share/bash-completion/completions"
install -m 0755 "$rel/medllmd" "$stage/usr/sbin/medllmd"
install -m 0755 "$rel/medctl" "$stage/usr/bin/medctl"
install -m 0755 "$rel/medllm-quant" "$stage/usr/bin/medllm-quant"
for b in "$stage/usr/sbin/medllmd" "$stage/usr/bin/medllm-quant"; do
    patchelf --set-rpath '$ORIGIN/../lib/medllm' "$b"
done
for so in libllama.so.0 libggml.so.0 libggml-base.so.0; do
    install -m 0644 "$(readlink -f "$out/lib/$so")" "$stage/usr/lib/medllm/$so"
done
n=0
for so in "$out"/backends/libggml-*.so; do
    install -m 0644 "$so" "$stage/usr/lib/medllm/"
    n=$((n + 1))
done
[ $n -gt 0 ] || { echo "build-deb: no backend modules in $out/backends (dynamic-backends build?)" >&2; exit 1; }

# Symbols out, as dh_strip does (the unstripped files stay in target/release for debugging).
strip --strip-unneeded "$stage/usr/sbin/medllmd" "$stage/usr/bin/medctl" "$stage/usr/bin/medllm-quant" \
    "$stage"/usr/lib/medllm/*.so*

# The packaged config: the shipped file with the installed backend directory filled in.
sed 's|^# backends_dir = ""$|backends_dir = "/usr/lib/medllm"|' configs/medllmd.toml > "$stage/etc/medllm/medllmd.toml"
grep -q '^backends_dir = "/usr/lib/medllm"$' "$stage/etc/medllm/medllmd.toml" \
    || { echo "build-deb: configs/medllmd.toml has no '# backends_dir = \"\"' line to fill in" >&2; exit 1; }
"$stage/usr/bin/medctl" man | gzip -9n > "$stage/usr/share/man/man1/medctl.1.gz"
"$stage/usr/bin/medctl" completions bash > "$stage/usr/share/bash-completion/completions/medctl"

mkdir -p "$CARGO_TARGET_DIR/debian"
deb=$(nice -n 10 cargo deb -p medllmd --no-build --output "$CARGO_TARGET_DIR/debian" 2>&1 | tail -1)
[ -f "$deb" ] || { echo "build-deb: cargo deb failed: $deb" >&2; exit 1; }
echo "$deb"
