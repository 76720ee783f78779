//! Lets `medllm-quant` (and the examples) find llama.cpp's shared libraries when it runs straight from the target directory.
//!
//! `llama-cpp-sys-2` builds `libggml-base.so.0` & co. into its own build output and the binary has no
//! rpath, so outside `cargo run`/`cargo test` (e.g. when `medctl merge` runs `target/release/medllm-quant`)
//! the dynamic loader would not find them. The sys crate tells direct dependents where its backends are
//! (`DEP_LLAMA_BACKENDS_DIR`); the libraries sit next to them in `lib/`. A RUNPATH that does not exist is
//! skipped, and an installed package has the libraries on the loader's path anyway (packagers may strip it).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_LLAMA_BACKENDS_DIR");
    if let Some(out) = std::env::var_os("DEP_LLAMA_BACKENDS_DIR")
        .map(std::path::PathBuf::from)
        .and_then(|d| d.parent().map(std::path::Path::to_path_buf))
    {
        let rpath = format!("-Wl,-rpath,{}", out.join("lib").display());
        println!("cargo:rustc-link-arg-bins={rpath}");
        println!("cargo:rustc-link-arg-examples={rpath}");
    }
}
