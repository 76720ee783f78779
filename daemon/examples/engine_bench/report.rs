//! Figures, their medians and ratios, and the two outputs: a Markdown report on stdout and a
//! JSON document (`--json`) that later tools (`medctl bench`, charts) can read.
//!
//! JSON shape (stable; extend, do not rename):
//! `{"meta": {key: string}, "figures": [{"id", "name", "unit", "better": "higher"|"lower",
//!   "ours": {"label", "median", "samples"}, "reference": {"label", "median", "samples"},
//!   "ratio", "paired_ratio", "goal", "met"}]}` where `ratio` is always "how many times better
//! ours is" (ours/reference when higher is better, reference/ours when lower is better) from the
//! medians, and `paired_ratio` the median of the per-repetition ratios.

use serde_json::{Value, json};

/// Whether a larger number is the better one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Rates (tokens/s).
    Higher,
    /// Latencies.
    Lower,
}

/// One comparison: our samples against the reference's, with a goal on the ratio.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Stable identifier for JSON readers, e.g. `decode_single`.
    pub id: String,
    /// Human name for the table.
    pub name: String,
    /// Unit of the samples.
    pub unit: &'static str,
    /// Direction.
    pub better: Better,
    /// Label of our column (e.g. `medllm`, `reuse on`).
    pub ours_label: String,
    /// One sample per repetition.
    pub ours: Vec<f64>,
    /// Label of the reference (e.g. `llama-bench tg128`).
    pub ref_label: String,
    /// One sample per repetition.
    pub reference: Vec<f64>,
    /// Minimum ratio that meets the goal.
    pub goal: f64,
}

/// Median of `v` (mean of the middle two for even lengths); NaN for an empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

impl Figure {
    /// "How many times better" ours is, from the medians.
    pub fn ratio(&self) -> f64 {
        let (o, r) = (median(&self.ours), median(&self.reference));
        match self.better {
            Better::Higher => o / r,
            Better::Lower => r / o,
        }
    }

    /// Median of the per-repetition ratios (sample i of ours against sample i of the reference,
    /// measured seconds apart). On a machine whose load changes from minute to minute this is
    /// steadier than the ratio of medians. NaN when the samples are not paired.
    pub fn paired_ratio(&self) -> f64 {
        if self.ours.len() != self.reference.len() || self.ours.is_empty() {
            return f64::NAN;
        }
        let r: Vec<f64> = self
            .ours
            .iter()
            .zip(&self.reference)
            .map(|(o, r)| match self.better {
                Better::Higher => o / r,
                Better::Lower => r / o,
            })
            .collect();
        median(&r)
    }

    /// Whether the ratio meets the goal.
    pub fn met(&self) -> bool {
        self.ratio() >= self.goal
    }

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "unit": self.unit,
            "better": match self.better { Better::Higher => "higher", Better::Lower => "lower" },
            "ours": {"label": self.ours_label, "median": median(&self.ours), "samples": self.ours},
            "reference": {
                "label": self.ref_label,
                "median": median(&self.reference),
                "samples": self.reference,
            },
            "ratio": self.ratio(),
            "paired_ratio": self.paired_ratio(),
            "goal": self.goal,
            "met": self.met(),
        })
    }
}

/// Everything one run produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Run facts (versions, CPU, threads, variant, load, settings), in insertion order.
    pub meta: Vec<(String, String)>,
    /// The comparisons.
    pub figures: Vec<Figure>,
    /// Extra rows shown under the table (measured, not compared).
    pub notes: Vec<String>,
}

fn fmt(x: f64) -> String {
    if !x.is_finite() {
        "–".into()
    } else if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn fmt_ratio(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

impl Report {
    /// Add a run fact.
    pub fn meta(&mut self, k: &str, v: impl ToString) {
        self.meta.push((k.to_string(), v.to_string()));
    }

    /// The Markdown report.
    pub fn markdown(&self) -> String {
        let mut s = String::from("| run | |\n|---|---|\n");
        for (k, v) in &self.meta {
            s.push_str(&format!("| {k} | {} |\n", v.replace('|', "\\|")));
        }
        s.push_str(
            "\n| measurement | medllm | reference | ratio (× better) | paired ratio | goal | met |\n\
             |---|---:|---:|---:|---:|---:|:---:|\n",
        );
        for f in &self.figures {
            let ratio = f.ratio();
            let (ratio, met) = if ratio.is_finite() {
                (
                    format!("{ratio:.2}"),
                    if f.met() { "yes" } else { "**no**" },
                )
            } else {
                ("–".to_string(), "–")
            };
            s.push_str(&format!(
                "| {} | {} {} ({}) | {} {} ({}) | {} | {} | ≥ {:.2} | {} |\n",
                f.name,
                fmt(median(&f.ours)),
                f.unit,
                f.ours_label,
                fmt(median(&f.reference)),
                f.unit,
                f.ref_label,
                ratio,
                fmt_ratio(f.paired_ratio()),
                f.goal,
                met,
            ));
        }
        if !self.notes.is_empty() {
            s.push('\n');
            for n in &self.notes {
                s.push_str(&format!("- {n}\n"));
            }
        }
        s
    }

    /// The JSON document.
    pub fn json(&self) -> Value {
        let meta: serde_json::Map<String, Value> = self
            .meta
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        json!({
            "meta": meta,
            "figures": self.figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
            "notes": self.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_ratio_directions() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        let mut f = Figure {
            id: "x".into(),
            name: "x".into(),
            unit: "ms",
            better: Better::Lower,
            ours_label: "on".into(),
            ours: vec![10.0, 12.0, 11.0],
            ref_label: "off".into(),
            reference: vec![40.0, 30.0, 35.0],
            goal: 3.0,
        };
        assert!((f.ratio() - 35.0 / 11.0).abs() < 1e-9);
        assert!(f.met());
        // Per repetition: 40/10, 30/12, 35/11 → median 35/11.
        assert!((f.paired_ratio() - 35.0 / 11.0).abs() < 1e-9);
        f.reference.pop();
        assert!(f.paired_ratio().is_nan());
        f.reference.push(35.0);
        f.better = Better::Higher;
        assert!((f.ratio() - 11.0 / 35.0).abs() < 1e-9);
        assert!(!f.met());
    }
}
