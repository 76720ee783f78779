//! Config parsing, validation, overrides, and the shipped file documenting every key.

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    let raw = parse_raw(text, Path::new("/etc/medllm/test.toml"))?;
    Config::from_raw(
        raw,
        Some(PathBuf::from("/etc/medllm/test.toml")),
        &Overrides::default(),
    )
}

/// The fields serde knows for a section, read from its "expected one of" message.
fn fields_of(section: Option<&str>) -> Vec<String> {
    let text = match section {
        Some(s) => format!("[{s}]\nzz_not_a_key = 1\n"),
        None => "zz_not_a_key = 1\n".to_string(),
    };
    let msg = parse_raw(&text, Path::new("x")).unwrap_err().to_string();
    // "expected one of `a`, `b`, `c`" or "expected `a` or `b`"
    let list = msg
        .split(", expected")
        .nth(1)
        .unwrap_or_else(|| panic!("{msg}"));
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[test]
fn unknown_keys_name_file_and_key() {
    let e = parse("[engine]\nn_ctxx = 4096\n").unwrap_err().to_string();
    assert!(
        e.contains("/etc/medllm/test.toml") && e.contains("n_ctxx"),
        "{e}"
    );
    let e = parse("[enigne]\n").unwrap_err().to_string();
    assert!(e.contains("enigne"), "{e}");
    let e = parse("[limits]\nmax_queue = \"many\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_queue"), "{e}");
}

#[test]
fn out_of_range_values_name_the_key() {
    for (text, key) in [
        ("[limits]\nmax_parallel = 0", "limits.max_parallel"),
        ("[engine]\nn_ctx = 8", "engine.n_ctx"),
        ("[engine]\nn_batch = 64\nn_ubatch = 128", "engine.n_ubatch"),
        ("[daemon]\nbus = \"sytem\"", "daemon.bus"),
        ("[daemon]\nlog_level = \"[\"", "daemon.log_level"),
        (
            "[dbus]\nproperty_interval_ms = 1",
            "dbus.property_interval_ms",
        ),
    ] {
        let e = parse(text).unwrap_err().to_string();
        assert!(
            e.contains(key) && e.contains("/etc/medllm/test.toml"),
            "{text}: {e}"
        );
    }
}

#[test]
fn paths_resolve_against_the_file_and_flags_override() {
    let c = parse("[model]\npath = \"models/m.gguf\"\ncategories = \"\"\n").unwrap();
    assert_eq!(c.model_path, PathBuf::from("/etc/medllm/models/m.gguf"));
    assert_eq!(c.categories, None);
    assert_eq!(c.bus, BusChoice::System);
    let raw = parse_raw(
        "[daemon]\nbus = \"system\"\nlog_level = \"warn\"\n",
        Path::new("x"),
    )
    .unwrap();
    let o = Overrides {
        session: true,
        model: Some(PathBuf::from("rel.gguf")),
        log_level: Some("debug".into()),
        ..Default::default()
    };
    let c = Config::from_raw(raw, None, &o).unwrap();
    assert_eq!(
        (c.bus, c.model_path, c.log_level.as_str()),
        (BusChoice::Session, PathBuf::from("rel.gguf"), "debug")
    );
}

#[test]
fn the_shipped_file_documents_every_key_and_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/medllmd.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // As shipped (defaults commented out) it must be valid.
    let shipped = parse_raw(&text, &path).unwrap();
    Config::from_raw(shipped, Some(path.clone()), &Overrides::default()).unwrap();
    // With every `# key = value` example uncommented it must still be valid…
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.split_once(" = ").is_some_and(|(k, _)| {
                    k.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                }) =>
            {
                rest
            }
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let full = parse_raw(&uncommented, &path).unwrap();
    Config::from_raw(full.clone(), Some(path.clone()), &Overrides::default()).unwrap();
    // …and name every key of every section.
    let doc: toml::Value = toml::from_str(&uncommented).unwrap();
    for section in fields_of(None) {
        let table = doc
            .get(&section)
            .and_then(|v| v.as_table())
            .unwrap_or_else(|| panic!("[{section}] is not documented"));
        for key in fields_of(Some(&section)) {
            assert!(
                table.contains_key(&key),
                "{section}.{key} is not documented in {}",
                path.display()
            );
        }
    }
}
