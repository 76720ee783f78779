//! Checks [`GgmlType`] and [`FILE_TYPES`] against the llama.cpp source that llama-cpp-sys-2 vendors, so that
//! a llama.cpp update that adds, removes or resizes a type fails here instead of mis-sizing tensors.
//!
//! The source is found under `$CARGO_HOME/registry/src/*/llama-cpp-sys-2-*/llama.cpp` (newest version). When
//! it is not on disk (no crates fetched yet) the test says so and passes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use medllm_gguf::{FILE_TYPES, GgmlType};

fn vendored_llama_cpp() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))?;
    let mut found: Vec<PathBuf> = std::fs::read_dir(home.join("registry/src"))
        .ok()?
        .flatten()
        .flat_map(|index| {
            std::fs::read_dir(index.path())
                .into_iter()
                .flatten()
                .flatten()
        })
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("llama-cpp-sys-2-"))
        })
        .map(|p| p.join("llama.cpp"))
        .filter(|p| p.join("ggml/src/ggml.c").exists())
        .collect();
    found.sort_by_key(|p| version_key(p));
    found.pop()
}

fn version_key(p: &Path) -> Vec<u64> {
    let name = p
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.trim_start_matches("llama-cpp-sys-2-")
        .split('.')
        .map(|x| x.parse().unwrap_or(0))
        .collect()
}

/// A tiny evaluator for the integer expressions in ggml-common.h's `static_assert`s:
/// numbers, macros, `sizeof(basic type)`, `+ - * /` and parentheses.
struct Eval<'a> {
    toks: Vec<String>,
    i: usize,
    defines: &'a HashMap<String, String>,
}

impl Eval<'_> {
    fn run(expr: &str, defines: &HashMap<String, String>) -> u64 {
        let mut toks = Vec::new();
        let mut cur = String::new();
        for c in expr.chars() {
            if c.is_ascii_alphanumeric() || c == '_' {
                cur.push(c);
            } else {
                if !cur.is_empty() {
                    toks.push(std::mem::take(&mut cur));
                }
                if !c.is_whitespace() {
                    toks.push(c.to_string());
                }
            }
        }
        if !cur.is_empty() {
            toks.push(cur);
        }
        let mut e = Eval {
            toks,
            i: 0,
            defines,
        };
        let v = e.sum();
        assert_eq!(e.i, e.toks.len(), "trailing tokens in {expr:?}");
        v
    }
    fn peek(&self) -> Option<&str> {
        self.toks.get(self.i).map(String::as_str)
    }
    fn next(&mut self) -> String {
        self.i += 1;
        self.toks[self.i - 1].clone()
    }
    fn sum(&mut self) -> u64 {
        let mut v = self.product();
        while let Some(op @ ("+" | "-")) = self.peek() {
            let plus = op == "+";
            self.i += 1;
            let r = self.product();
            v = if plus { v + r } else { v - r };
        }
        v
    }
    fn product(&mut self) -> u64 {
        let mut v = self.atom();
        while let Some(op @ ("*" | "/")) = self.peek() {
            let times = op == "*";
            self.i += 1;
            let r = self.atom();
            v = if times { v * r } else { v / r };
        }
        v
    }
    fn atom(&mut self) -> u64 {
        let t = self.next();
        if t == "(" {
            let v = self.sum();
            assert_eq!(self.next(), ")");
            return v;
        }
        if t == "sizeof" {
            assert_eq!(self.next(), "(");
            let ty = self.next();
            assert_eq!(self.next(), ")");
            return match ty.as_str() {
                "uint8_t" | "int8_t" => 1,
                "ggml_half" | "ggml_fp16_t" | "ggml_bf16_t" | "uint16_t" | "int16_t" => 2,
                "ggml_half2" | "uint32_t" | "int32_t" | "float" => 4,
                "uint64_t" | "int64_t" | "double" => 8,
                other => panic!("unknown type in sizeof: {other}"),
            };
        }
        if let Ok(n) = t.parse() {
            return n;
        }
        match self.defines.get(&t) {
            Some(body) => Eval::run(body, self.defines),
            None => panic!("unknown identifier {t}"),
        }
    }
}

fn strip_comment(line: &str) -> &str {
    line.split("//").next().unwrap_or_default()
}

#[test]
fn ggml_type_table_matches_vendored_source() {
    let Some(root) = vendored_llama_cpp() else {
        assert!(
            std::env::var_os("MEDLLM_TESTS_STRICT").is_none(),
            "MEDLLM_TESTS_STRICT: the vendored llama.cpp source is missing"
        );
        eprintln!(
            "skipping: vendored llama.cpp source (llama-cpp-sys-2) not found under $CARGO_HOME/registry/src"
        );
        return;
    };
    let ggml_h = std::fs::read_to_string(root.join("ggml/include/ggml.h")).unwrap();
    let ggml_c = std::fs::read_to_string(root.join("ggml/src/ggml.c")).unwrap();
    let common = std::fs::read_to_string(root.join("ggml/src/ggml-common.h")).unwrap();

    // enum ggml_type: live (uncommented) `GGML_TYPE_X = N,` lines.
    let mut ids: HashMap<String, u32> = HashMap::new();
    for line in ggml_h.lines().map(strip_comment) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("GGML_TYPE_") {
            if let Some((name, value)) = rest.split_once('=') {
                let name = name.trim();
                if name != "COUNT" {
                    ids.insert(
                        name.to_owned(),
                        value.trim().trim_end_matches(',').parse().unwrap(),
                    );
                }
            }
        }
    }
    assert!(ids.len() > 30, "parsed only {} type ids", ids.len());

    // #defines and static_assert(sizeof(block_x) == EXPR, ...) from ggml-common.h.
    let mut defines = HashMap::new();
    let mut block_sizes = HashMap::new();
    for line in common.lines().map(strip_comment) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("#define ") {
            let mut parts = rest.splitn(2, char::is_whitespace);
            if let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                if !k.contains('(') && !v.trim().is_empty() {
                    defines.insert(k.to_owned(), v.trim().to_owned());
                }
            }
        }
        if let Some(rest) = line.strip_prefix("static_assert(sizeof(block_") {
            let (block, rest) = rest.split_once(')').unwrap();
            let expr = rest
                .trim_start()
                .trim_start_matches("==")
                .rsplit_once(',')
                .unwrap()
                .0;
            block_sizes.insert(format!("block_{block}"), Eval::run(expr, &defines));
        }
    }

    // type_traits[]: `[GGML_TYPE_X] = { .type_name = "x", .blck_size = B, .type_size = sizeof(T), ... }`.
    let table = ggml_c
        .split("type_traits[GGML_TYPE_COUNT] = {")
        .nth(1)
        .unwrap()
        .split("\n};")
        .next()
        .unwrap();
    let mut checked = 0;
    for entry in table.split("[GGML_TYPE_").skip(1) {
        let (name, body) = entry.split_once(']').unwrap();
        let field = |f: &str| {
            body.split(&format!(".{f}"))
                .nth(1)
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .split(',')
                .next()
                .unwrap()
                .trim()
        };
        let type_name = field("type_name").trim_matches('"');
        let block = Eval::run(field("blck_size"), &defines);
        let size_expr = field("type_size");
        let inner = size_expr
            .trim_start_matches("sizeof(")
            .trim_end_matches(')');
        let size = block_sizes
            .get(inner)
            .copied()
            .unwrap_or_else(|| Eval::run(size_expr, &defines));
        let id = ids[name];
        let ours = GgmlType::from_id(id)
            .unwrap_or_else(|| panic!("GGML_TYPE_{name} = {id} is missing from GgmlType"));
        assert_eq!(ours.ggml_name(), type_name, "name of id {id}");
        assert_eq!(ours.name(), name, "upper-case name of id {id}");
        assert_eq!(ours.block_size(), block, "block size of {name}");
        assert_eq!(ours.type_size(), size, "type size of {name}");
        checked += 1;
    }
    assert_eq!(
        checked,
        GgmlType::ALL.len(),
        "ggml has {checked} live types, the table {}",
        GgmlType::ALL.len()
    );
    assert_eq!(ids.len(), GgmlType::ALL.len());
}

#[test]
fn file_type_table_matches_vendored_llama_h() {
    let Some(root) = vendored_llama_cpp() else {
        assert!(
            std::env::var_os("MEDLLM_TESTS_STRICT").is_none(),
            "MEDLLM_TESTS_STRICT: the vendored llama.cpp source is missing"
        );
        eprintln!("skipping: vendored llama.cpp source not found");
        return;
    };
    let llama_h = std::fs::read_to_string(root.join("include/llama.h")).unwrap();
    let mut theirs = Vec::new();
    for line in llama_h.lines().map(strip_comment) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("LLAMA_FTYPE_") {
            let (name, value) = rest.split_once('=').unwrap();
            let name = name.trim();
            let name = name
                .strip_prefix("MOSTLY_")
                .or_else(|| name.strip_prefix("ALL_"))
                .unwrap_or(name);
            let id: u32 = value.trim().trim_end_matches(',').trim().parse().unwrap();
            theirs.push((id, name.to_owned()));
        }
    }
    let ours: Vec<(u32, String)> = FILE_TYPES
        .iter()
        .map(|(id, n)| (*id, (*n).to_owned()))
        .collect();
    assert_eq!(ours, theirs);
}
