//! D-Bus values as JSON, for `--json` output. Dictionaries become objects (keys sorted, so the
//! output is stable), arrays and structs become arrays.

use medllm_api::Dict;
use serde_json::{Map, Value as Json};
use zbus::zvariant::Value;

/// An `a{sv}` as a JSON object.
pub fn dict_to_json(d: &Dict) -> Json {
    let mut keys: Vec<&String> = d.keys().collect();
    keys.sort();
    let mut m = Map::new();
    for k in keys {
        m.insert(k.clone(), value_to_json(&d[k]));
    }
    Json::Object(m)
}

/// Any D-Bus value as JSON.
pub fn value_to_json(v: &Value<'_>) -> Json {
    match v {
        Value::U8(x) => Json::from(*x),
        Value::Bool(x) => Json::from(*x),
        Value::I16(x) => Json::from(*x),
        Value::U16(x) => Json::from(*x),
        Value::I32(x) => Json::from(*x),
        Value::U32(x) => Json::from(*x),
        Value::I64(x) => Json::from(*x),
        Value::U64(x) => Json::from(*x),
        Value::F64(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::from(s.as_str()),
        Value::Signature(s) => Json::from(s.to_string()),
        Value::ObjectPath(p) => Json::from(p.as_str()),
        Value::Value(inner) => value_to_json(inner),
        Value::Array(a) => Json::Array(a.iter().map(value_to_json).collect()),
        Value::Dict(d) => {
            let mut entries: Vec<(String, Json)> = d
                .iter()
                .map(|(k, v)| {
                    let key = match value_to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, value_to_json(v))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().collect())
        }
        Value::Structure(s) => Json::Array(s.fields().iter().map(value_to_json).collect()),
        #[allow(unreachable_patterns)]
        other => Json::from(format!("{other}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn nested_values_convert() {
        let mut d = Dict::new();
        medllm_api::dict::put_str(&mut d, "s", "x");
        medllm_api::dict::put(&mut d, "u", 3u32);
        medllm_api::dict::put(&mut d, "m", HashMap::from([("a".to_string(), 1u64)]));
        medllm_api::dict::put(&mut d, "v", vec![("c".to_string(), 0.5f64)]);
        let j = dict_to_json(&d);
        assert_eq!(
            j,
            serde_json::json!({"m": {"a": 1}, "s": "x", "u": 3, "v": [["c", 0.5]]})
        );
    }
}
