//! `medctl quantize IN.gguf -o OUT.gguf --recipe paper|q4_k_m|FILE.toml`: mixed-precision quantization.
//!
//! Quantizing needs ggml's own quantization functions, i.e. llama.cpp's libraries, which medctl must not
//! link (it runs on admin desktops, in scripts, in the tests, without llama.cpp). So this subcommand — like
//! `merge` and `synth` — runs the `medllm-quant` tool with the same arguments, replacing the medctl process
//! (exit code, output and Ctrl-C are the tool's own). This module also holds the lookup shared by the three.
//!
//! Where the tool is looked for, in order: `$MEDLLM_QUANT` (an explicit path), next to the medctl
//! executable (a cargo target directory or an install prefix's `bin/`), `/usr/lib/medllm/medllm-quant`
//! (the package's private tools directory), then `$PATH`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The tool's file name.
const TOOL: &str = "medllm-quant";

/// The package's private tools directory.
const LIB_DIR: &str = "/usr/lib/medllm";

/// Arguments of `medctl quantize`: passed through unchanged (`medctl quantize --help` shows them).
#[derive(Debug, clap::Args)]
#[command(disable_help_flag = true)]
pub struct Args {
    /// `IN.gguf -o OUT.gguf [--recipe paper|q4_k_m|q8_0|f16|f32|FILE.toml] [--dry-run] [--tensors]
    /// [--allow-requantize] [--threads N]`; `--help` for details.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

/// Runs `medllm-quant quantize ARGS...`.
pub fn run(args: &Args) -> Result<()> {
    exec_tool("quantize", &args.args)
}

/// Replaces this process with `medllm-quant <subcommand> <args>`; returns only if that fails.
pub(crate) fn exec_tool(subcommand: &str, args: &[OsString]) -> Result<()> {
    let exe = std::env::current_exe().ok();
    let explicit = std::env::var_os("MEDLLM_QUANT").map(PathBuf::from);
    let fixed = fixed_candidates(explicit, exe.as_deref().and_then(Path::parent));
    let on_path = path_candidates(std::env::var_os("PATH").as_deref());
    let found = fixed.iter().chain(&on_path).find(|p| is_executable(p));
    let Some(tool) = found else {
        let looked: Vec<String> = fixed.iter().map(|p| p.display().to_string()).collect();
        bail!(
            "`medctl {subcommand}` needs the {TOOL} tool (it links llama.cpp's quantization code, medctl does \
             not), and it is not installed: looked at {} and on $PATH. Install the medllm package, or in a \
             source tree build it with `cargo build --release --workspace --bins` (it lands next to medctl), \
             or set MEDLLM_QUANT=/path/to/{TOOL}",
            looked.join(", ")
        );
    };
    let mut cmd = std::process::Command::new(tool);
    cmd.arg(subcommand).args(args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let err = cmd.exec();
        bail!("cannot run {}: {err}", tool.display())
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", tool.display()))?;
        std::process::exit(status.code().unwrap_or(1))
    }
}

/// The fixed places, in order: the explicit path, next to medctl, the package's tools directory.
fn fixed_candidates(explicit: Option<PathBuf>, exe_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = explicit.into_iter().collect();
    out.extend(exe_dir.map(|d| d.join(TOOL)));
    out.push(Path::new(LIB_DIR).join(TOOL));
    out
}

/// The tool in each directory of `$PATH`, in order.
fn path_candidates(path: Option<&std::ffi::OsStr>) -> Vec<PathBuf> {
    path.map(|p| {
        std::env::split_paths(p)
            .filter(|d| !d.as_os_str().is_empty())
            .map(|d| d.join(TOOL))
            .collect()
    })
    .unwrap_or_default()
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_order_explicit_next_to_medctl_lib_dir_then_path() {
        let path = std::env::join_paths(["/opt/a", "", "/opt/b"]).unwrap_or_default();
        let mut c = fixed_candidates(Some("/x/tool".into()), Some(Path::new("/target/release")));
        c.extend(path_candidates(Some(&path)));
        let shown: Vec<String> = c.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            shown,
            [
                "/x/tool",
                "/target/release/medllm-quant",
                "/usr/lib/medllm/medllm-quant",
                "/opt/a/medllm-quant",
                "/opt/b/medllm-quant"
            ]
        );
        assert!(!is_executable(Path::new("/nonexistent/medllm-quant")));
    }
}
