//! Where the daemon finds llama.cpp's shared libraries at run time.
//!
//! The dynamic-backends build of llama.cpp produces `libllama.so`, `libggml*.so` and one
//! `libggml-cpu-<variant>.so` per CPU generation. The binary looks for them (1) beside the
//! installed layout, `$ORIGIN/../lib/medllm` (the .deb puts them in /usr/lib/medllm), and (2) in
//! the build's own output directory, so `target/release/medllmd` runs straight after `cargo
//! build`. Packagers set `MEDLLM_RPATH_BUILD_DIR=0` to leave the build path out.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_LLAMA_BACKENDS_DIR");
    println!("cargo:rerun-if-env-changed=MEDLLM_RPATH_BUILD_DIR");
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN/../lib/medllm");
    let keep_build_dir = std::env::var("MEDLLM_RPATH_BUILD_DIR").map_or(true, |v| v != "0");
    if keep_build_dir {
        if let Ok(backends) = std::env::var("DEP_LLAMA_BACKENDS_DIR") {
            if let Some(out) = Path::new(&backends).parent() {
                println!(
                    "cargo:rustc-link-arg=-Wl,-rpath,{}",
                    out.join("lib").display()
                );
            }
        }
    }
}
