//! The .deb: built with `scripts/build-deb.sh --no-build` from the binaries under test, then
//! checked from the outside — `dpkg-deb -c` (every file the issue lists, every CPU variant),
//! `dpkg-deb -I` (control fields, conffile, maintainer scripts), the unpacked binaries' rpath,
//! `systemd-analyze verify` and `security` on the unpacked unit, no AVX instruction outside
//! run-time-dispatched functions, and the unpacked daemon answering on the baseline `x64` CPU
//! variant (no SSE4.2, no AVX). Skipped with a message where cargo-deb or dpkg-deb is missing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use medllm_api::{AskOptions, Daemon1Proxy};
use medllm_tests::{DaemonConfig, TestBus, paths, run_with_timeout};

use crate::common::{SHORT_QUESTION, connect, rt, serial};
use crate::policy_env::{Proc, strip_ansi};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> String {
    let (st, out, err) = run_with_timeout(cmd, Duration::from_secs(600)).expect("runs");
    assert!(st.success(), "{cmd:?} failed:\n{out}\n{err}");
    out
}

/// The .deb and its unpacked tree, built once per test run.
struct Built {
    deb: PathBuf,
    root: tempfile::TempDir,
}

static BUILT: OnceLock<Option<Built>> = OnceLock::new();

fn built() -> Option<&'static Built> {
    BUILT
        .get_or_init(|| {
            for tool in ["cargo-deb", "dpkg-deb", "patchelf"] {
                if !have(tool) {
                    medllm_tests::skip(&format!(
                        "package tests: {tool} is missing (scripts/install-deps.sh)"
                    ));
                    return None;
                }
            }
            let target = paths::profile_dir()
                .parent()
                .expect("target dir")
                .to_path_buf();
            let script = paths::repo_root().join("scripts/build-deb.sh");
            let out = run(Command::new(&script)
                .arg("--no-build")
                .env("CARGO_TARGET_DIR", &target));
            let deb = PathBuf::from(out.lines().last().expect("the .deb path").trim());
            let root = tempfile::Builder::new()
                .prefix("medllm-deb-")
                .tempdir()
                .unwrap();
            run(Command::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(root.path()));
            Some(Built { deb, root })
        })
        .as_ref()
}

#[test]
fn the_deb_holds_binaries_libraries_units_policy_and_config() {
    let _g = serial();
    let Some(b) = built() else { return };
    let name = b.deb.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with("medllm_") && name.ends_with("_amd64.deb"),
        "{name}"
    );

    let list = run(Command::new("dpkg-deb").arg("-c").arg(&b.deb));
    let files: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.'))
        .collect();
    for want in [
        "/usr/sbin/medllmd",
        "/usr/bin/medctl",
        "/usr/bin/medllm-quant",
        "/usr/lib/medllm/libllama.so.0",
        "/usr/lib/medllm/libggml.so.0",
        "/usr/lib/medllm/libggml-base.so.0",
        "/usr/lib/medllm/libggml-cpu-x64.so",
        "/usr/lib/medllm/libggml-cpu-sse42.so",
        "/usr/lib/medllm/libggml-cpu-haswell.so",
        "/usr/lib/systemd/system/medllmd.service",
        "/usr/share/dbus-1/system.d/org.medllm.Daemon1.conf",
        "/usr/share/dbus-1/system-services/org.medllm.Daemon1.service",
        "/usr/share/polkit-1/actions/org.medllm.daemon1.policy",
        "/usr/lib/sysusers.d/medllm.conf",
        "/usr/lib/tmpfiles.d/medllm.conf",
        "/etc/medllm/medllmd.toml",
        "/usr/share/medllm/categories.toml",
        "/usr/share/man/man1/medctl.1.gz",
        "/usr/share/doc/medllm/install.md",
        "/usr/share/doc/medllm/deployment.md",
        "/usr/share/doc/medllm/copyright",
    ] {
        assert!(
            files.contains(&want),
            "{want} missing from the .deb:\n{list}"
        );
    }
    let variants = files
        .iter()
        .filter(|f| f.starts_with("/usr/lib/medllm/libggml-cpu-"))
        .count();
    assert!(
        variants >= 10,
        "one CPU backend per x86-64 generation, got {variants}"
    );
    assert!(
        !list.contains("/root/") && !list.contains("target/"),
        "no build paths in the package"
    );

    let info = run(Command::new("dpkg-deb").arg("-I").arg(&b.deb));
    for want in [
        "Package: medllm",
        "Architecture: amd64",
        "dbus",
        "systemd",
        "conffiles",
        "postinst",
        "prerm",
        "postrm",
    ] {
        assert!(
            info.contains(want),
            "{want} missing in dpkg-deb -I:\n{info}"
        );
    }
    let control = b.root.path().join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&b.deb).arg(&control));
    let conffiles = std::fs::read_to_string(control.join("conffiles")).unwrap();
    assert!(
        conffiles.lines().any(|l| l == "/etc/medllm/medllmd.toml"),
        "{conffiles}"
    );
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    for want in [
        "systemd-sysusers /usr/lib/sysusers.d/medllm.conf",
        "org.freedesktop.DBus.ReloadConfig",
        "deb-systemd-helper enable",
        "systemd-creds encrypt",
    ] {
        assert!(postinst.contains(want), "postinst lacks {want}");
    }
    for script in ["postinst", "prerm", "postrm"] {
        run(Command::new("sh").arg("-n").arg(control.join(script)));
    }
    let config = std::fs::read_to_string(b.root.path().join("etc/medllm/medllmd.toml")).unwrap();
    assert!(
        config.contains("\nbackends_dir = \"/usr/lib/medllm\"\n"),
        "packaged config finds the variants"
    );
}

#[test]
fn packaged_binaries_find_their_libraries_and_need_no_avx() {
    let _g = serial();
    let Some(b) = built() else { return };
    let root = b.root.path();
    for bin in ["usr/sbin/medllmd", "usr/bin/medllm-quant"] {
        let dynamic = run(Command::new("readelf").arg("-d").arg(root.join(bin)));
        let runpath = dynamic
            .lines()
            .find(|l| l.contains("RUNPATH"))
            .unwrap_or_default();
        assert!(
            runpath.ends_with("[$ORIGIN/../lib/medllm]"),
            "{bin}: {runpath}"
        );
    }
    // Without AVX, code may only use ymm/zmm registers in functions chosen at run time after a
    // CPUID check: ggml's CPU variants other than x64/sse42, and Rust functions compiled with
    // #[target_feature(enable = "avx2"|"avx512f")] (their names say avx, or they are the cache's
    // dispatched kernels). Everything else must run on plain x86-64.
    // The package holds stripped copies; the same code with its symbols is in the build.
    let mut checked = vec![paths::binary("medllmd"), paths::binary("medctl")];
    let staging = paths::profile_dir().join("deb-staging/usr/lib/medllm");
    let build_libs = lib_dir_of(&paths::binary("medllmd"));
    for lib in ["libllama.so.0", "libggml.so.0", "libggml-base.so.0"] {
        checked.push(build_libs.join(lib));
    }
    for lib in ["libggml-cpu-x64.so", "libggml-cpu-sse42.so"] {
        checked.push(build_libs.join("../backends").join(lib));
        assert!(staging.join(lib).is_file(), "{lib} staged");
    }
    for file in checked {
        let dis = run(Command::new("objdump")
            .args(["-d", "--no-show-raw-insn", "-C"])
            .arg(&file));
        let offenders = avx_outside_dispatch(&dis);
        assert!(
            offenders.is_empty(),
            "{} uses AVX outside dispatched code: {offenders:?}",
            file.display()
        );
    }
}

/// The directory `libllama.so.0` is loaded from for `bin` (its build output).
fn lib_dir_of(bin: &std::path::Path) -> PathBuf {
    let out = run(paths::medllmd().env("LD_TRACE_LOADED_OBJECTS", "1"));
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("libllama.so.0 =>"))
        .unwrap_or_else(|| panic!("{} does not load libllama.so.0", bin.display()));
    let path = line.split_whitespace().nth(2).expect("a path");
    PathBuf::from(path)
        .parent()
        .expect("a directory")
        .to_path_buf()
}

/// Functions in `objdump -d -C` output that use ymm/zmm registers without being dispatched.
fn avx_outside_dispatch(disassembly: &str) -> Vec<String> {
    let mut current = String::new();
    let mut bad = Vec::new();
    for line in disassembly.lines() {
        if line.ends_with(">:") {
            current = line.to_string();
        } else if (line.contains("%ymm") || line.contains("%zmm")) && !bad.contains(&current) {
            let lower = current.to_lowercase();
            let dispatched = lower.contains("avx") || lower.contains("medllm_cache::simd::x86::");
            if !dispatched {
                bad.push(current.clone());
            }
        }
    }
    bad
}

#[test]
fn systemd_analyze_verify_and_security_pass_on_the_unpacked_unit() {
    let _g = serial();
    if !have("systemd-analyze") {
        medllm_tests::skip("systemd-analyze checks: not installed (apt package systemd)");
        return;
    }
    let Some(b) = built() else { return };
    // The unpacked tree plus the machine's own units (dbus.socket, multi-user.target, …).
    let root = b.root.path();
    let units = root.join("usr/lib/systemd/system");
    for entry in std::fs::read_dir("/usr/lib/systemd/system").unwrap() {
        let p = entry.unwrap().path();
        let dest = units.join(p.file_name().unwrap());
        if p.is_file() && !dest.exists() {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if !bin.join("kill").exists() {
        std::fs::copy("/bin/kill", bin.join("kill")).unwrap();
    }
    let (st, out, err) = run_with_timeout(
        Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(format!("--root={}", root.display()))
            .arg("medllmd.service"),
        Duration::from_secs(120),
    )
    .unwrap();
    assert!(
        st.success() && out.trim().is_empty() && err.trim().is_empty(),
        "verify:\n{out}\n{err}"
    );

    let (_, out, err) = run_with_timeout(
        Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(units.join("medllmd.service")),
        Duration::from_secs(120),
    )
    .unwrap();
    let text = format!("{out}{err}");
    let score: f64 = text
        .split("Overall exposure level for medllmd.service:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    println!("systemd-analyze security exposure: {score}");
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{text}");
}

#[test]
fn the_unpacked_daemon_answers_on_the_baseline_cpu_variant() {
    let _g = serial();
    let Some(b) = built() else { return };
    let root = b.root.path();
    let bus = TestBus::start().unwrap();
    // As installed: /usr/sbin/medllmd finds ../lib/medllm through its rpath; no LD_LIBRARY_PATH.
    let conf = bus.dir().join("deb.toml");
    std::fs::write(&conf, DaemonConfig::default().to_toml()).unwrap();
    let log = bus.dir().join("deb.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(root.join("usr/sbin/medllmd"));
    cmd.env_remove("LD_LIBRARY_PATH")
        .env("MEDLLM_BACKENDS_DIR", root.join("usr/lib/medllm"))
        .env("MEDLLM_CPU_VARIANT", "x64")
        .arg("--config")
        .arg(&conf)
        .arg("--bus-address")
        .arg(bus.address())
        .arg("--model")
        .arg(paths::require_model())
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    let mut daemon = Proc::spawn(cmd, log).unwrap();
    daemon.wait_ready(bus.address()).unwrap();
    rt().block_on(async {
        let c = connect(bus.address()).await;
        let d = Daemon1Proxy::new(&c).await.unwrap();
        let opts = AskOptions {
            max_tokens: Some(16),
            temperature: Some(0.0),
            ..Default::default()
        };
        let (answer, _) = d
            .ask(SHORT_QUESTION, &opts.to_dict())
            .await
            .expect("answers on x64");
        assert!(!answer.trim().is_empty());
        assert_eq!(
            d.backend().await.unwrap(),
            "cpu (x64)",
            "the baseline variant served"
        );
    });
    let text = strip_ansi(&daemon.log());
    assert!(text.contains("cpu_variant=x64"), "{text}");
}
