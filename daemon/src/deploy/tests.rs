//! Resolution on real files and a real plan (a recorded host, a synthetic model profile).

use std::path::PathBuf;

use medllm_planner::model::synthetic::SyntheticSpec;
use medllm_planner::{HostProfile, PlanRequest};

use super::*;

fn plan() -> Plan {
    let host = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../configs/hosts/cpu-16gb.toml");
    let spec = SyntheticSpec {
        n_layer: 16,
        n_embd: 2048,
        n_head: 16,
        n_head_kv: 4,
        n_ff: 5632,
        n_vocab: 32000,
        ..SyntheticSpec::qwen2_7b_q4_k_m()
    };
    let mut req = PlanRequest::new(HostProfile::load(host).unwrap(), spec.build());
    req.workload.parallel_max = 2;
    medllm_planner::plan(&req).unwrap()
}

/// Two adapter files (one per category group) and a merged model, as `[mode]` text.
fn files(dir: &tempfile::TempDir) -> String {
    for (name, len) in [
        ("cardio.gguf", 3 << 20),
        ("general.gguf", 1 << 20),
        ("merged.gguf", 1024),
    ] {
        std::fs::write(dir.path().join(name), vec![7u8; len]).unwrap();
    }
    format!(
        "merged_model = {:?}\n\
         [[adapters]]\npath = {:?}\ncategories = [\"medication\", \"treatment\"]\n\
         [[adapters]]\npath = {:?}\nscale = 0.5\n",
        dir.path().join("merged.gguf"),
        dir.path().join("cardio.gguf"),
        dir.path().join("general.gguf"),
    )
}

fn settings(text: &str) -> ModeSettings {
    let raw: RawMode = toml::from_str(text).unwrap();
    raw.validate(|p| p).unwrap()
}

#[test]
fn nothing_configured_is_the_base_model_and_fixed_modes_need_their_files() {
    let s = settings("");
    let d = resolve(&s, Some(&plan()), None).unwrap();
    assert_eq!((d.mode, d.origin), (Mode::Base, Origin::Auto));
    assert!(
        d.explanation[0].contains("no variant available"),
        "{:?}",
        d.explanation
    );
    let e = resolve(&settings("mode = \"adapter\"\n"), None, None).unwrap_err();
    assert!(e.contains("[[mode.adapters]]"), "{e}");
    let missing = settings("mode = \"merged\"\nmerged_model = \"/nonexistent/m.gguf\"\n");
    assert!(
        resolve(&missing, None, None)
            .unwrap_err()
            .contains("does not exist")
    );
    // An administrator's pin needs the files too, and wins over the config.
    assert!(resolve(&s, None, Some(Mode::Merged)).is_err());
    assert_eq!(
        resolve(&s, None, Some(Mode::Base)).unwrap().origin,
        Origin::Admin
    );
}

#[test]
fn auto_follows_the_decision_and_the_weights_move_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = plan();
    let pick = |weights: &str| {
        let s = settings(&format!("{weights}\n{}", files(&dir)));
        let d = resolve(&s, Some(&p), None).unwrap();
        let expected = decide_mode(&p, &mode_config(&s, &p));
        assert_eq!(
            d.mode.as_str(),
            format!("{:?}", expected.chosen).to_lowercase(),
            "{:#?}",
            d.explanation
        );
        assert_eq!(d.origin, Origin::Auto);
        assert!(
            d.explanation
                .iter()
                .any(|l| l.contains("Perf") && l.contains("Cost"))
        );
        d
    };
    // Latency matters most: merged runs without the LoRA overhead.
    let fast = pick(
        "alpha = 1.0\nbeta = 0.0\ngamma = 0.0\nlatency_target_seconds = 0.001\nlora_overhead = 0.5",
    );
    assert_eq!(fast.mode, Mode::Merged, "{:#?}", fast.explanation);
    // Memory matters most and latency is easy: a second merged copy costs more than two adapters.
    let lean = pick("alpha = 0.0\nbeta = 0.0\ngamma = 10.0\nlatency_target_seconds = 10000");
    assert_eq!(lean.mode, Mode::Adapter, "{:#?}", lean.explanation);
    assert!(
        lean.explanation
            .iter()
            .any(|l| l.contains("medication → cardio ×1") && l.contains("emergency → general ×0.5")),
        "{:#?}",
        lean.explanation
    );
    // Without a plan there is no decision: adapter mode.
    let s = settings(&files(&dir));
    assert_eq!(resolve(&s, None, None).unwrap().mode, Mode::Adapter);
    // Only one variant present: that one.
    let only_merged = settings(&format!(
        "merged_model = {:?}\n",
        dir.path().join("merged.gguf")
    ));
    assert_eq!(
        resolve(&only_merged, Some(&p), None).unwrap().mode,
        Mode::Merged
    );
}

#[test]
fn apply_sets_adapters_per_template_or_the_merged_file_and_the_hash_follows() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.gguf");
    std::fs::write(&base, b"base weights").unwrap();
    let s = settings(&files(&dir));
    let state = dir.path().join("state");
    let mut e = EngineConfig::for_model(&base);
    let base_hash = engine_sha256(&e, &state).unwrap();

    let adapter = resolve(&s, None, Some(Mode::Adapter)).unwrap();
    apply(&adapter, &s, &mut e);
    assert_eq!(e.adapters.len(), 2);
    assert_eq!(e.adapters[1].scale, 0.5);
    assert_eq!(
        e.core.template_adapters,
        vec![Some(0), Some(1), Some(0), Some(1), Some(1)]
    );
    assert_eq!(e.model_path, base);
    let adapter_hash = engine_sha256(&e, &state).unwrap();
    assert_ne!(adapter_hash, base_hash);
    e.adapters[1].scale = 0.6;
    assert_ne!(
        engine_sha256(&e, &state).unwrap(),
        adapter_hash,
        "the scale changes answers"
    );

    let merged = resolve(&s, None, Some(Mode::Merged)).unwrap();
    apply(&merged, &s, &mut e);
    assert!(e.adapters.is_empty() && e.core.template_adapters.is_empty());
    assert_eq!(e.model_path, dir.path().join("merged.gguf"));
    assert_eq!(merged.pinned(), Some(Mode::Merged));
}
