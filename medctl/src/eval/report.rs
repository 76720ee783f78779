//! Accuracy figures from journal records: accuracy with a 95 % Wilson interval per prompt,
//! dataset and category, the chance level, and the paired medical-vs-plain comparison
//! (McNemar's exact test) — printed as a table and written as the JSON report.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::journal::Record;

/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The 95 % Wilson score interval of `k` successes in `n` trials (well-behaved near 0 and 1 and
/// for small n, unlike the normal approximation).
pub fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = Z95 * Z95;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = Z95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Two-sided exact McNemar p-value from the discordant pairs `b` and `c` (a binomial test of
/// b against Binomial(b + c, ½)).
pub fn mcnemar_exact(b: usize, c: usize) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let m = b.min(c);
    // log P(X = i) for X ~ Bin(n, 1/2), summed for i <= m in log space (no underflow).
    let mut log_term = -(n as f64) * std::f64::consts::LN_2;
    let mut logs = vec![log_term];
    for i in 1..=m {
        log_term += ((n - i + 1) as f64).ln() - (i as f64).ln();
        logs.push(log_term);
    }
    let max = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = max + logs.iter().map(|l| (l - max).exp()).sum::<f64>().ln();
    (2.0 * tail.exp()).min(1.0)
}

/// Accuracy of one group of questions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tally {
    /// Questions.
    pub n: usize,
    /// Answered correctly.
    pub correct: usize,
    /// correct / n.
    pub accuracy: f64,
    /// 95 % Wilson interval of the accuracy.
    pub ci95: (f64, f64),
    /// Expected accuracy of a uniform guess (mean of 1 / options).
    pub chance: f64,
    /// No letter chosen (unparsable generated answer, or refused by the daemon).
    pub unanswered: usize,
    /// Mean daemon-side milliseconds per question.
    pub mean_ms: f64,
    /// Mean prompt tokens.
    pub mean_prompt_tokens: f64,
}

impl Tally {
    fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let (mut n, mut correct, mut unanswered) = (0, 0, 0);
        let (mut chance, mut ms, mut tokens) = (0.0, 0.0, 0.0);
        for r in records {
            n += 1;
            correct += usize::from(r.correct);
            unanswered += usize::from(r.choice.is_empty());
            chance += 1.0 / r.n_options.max(1) as f64;
            ms += r.ms;
            tokens += f64::from(r.prompt_tokens);
        }
        let d = n.max(1) as f64;
        Self {
            n,
            correct,
            accuracy: correct as f64 / d,
            ci95: wilson(correct, n),
            chance: chance / d,
            unanswered,
            mean_ms: ms / d,
            mean_prompt_tokens: tokens / d,
        }
    }
}

/// Figures for one prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptRun {
    /// `medical` or `plain`.
    pub prompt: String,
    /// All questions.
    pub overall: Tally,
    /// Per dataset.
    pub by_dataset: BTreeMap<String, Tally>,
    /// Per category (the template used; under the plain prompt, what the classifier chose).
    pub by_category: BTreeMap<String, Tally>,
}

/// Medical vs plain prompt on the questions both scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Questions scored under both prompts.
    pub paired: usize,
    /// Accuracy difference medical − plain on those, in points.
    pub medical_minus_plain_points: f64,
    /// Right under both.
    pub both_right: usize,
    /// Right under the medical prompt only.
    pub only_medical: usize,
    /// Right under the plain prompt only.
    pub only_plain: usize,
    /// Wrong under both.
    pub both_wrong: usize,
    /// Two-sided exact McNemar p-value (small: the prompts really differ).
    pub mcnemar_p: f64,
}

/// Figures per prompt (in `prompts` order) from `records`.
pub fn summarise(records: &[Record], prompts: &[String]) -> Vec<PromptRun> {
    prompts
        .iter()
        .map(|p| {
            let mine: Vec<&Record> = records.iter().filter(|r| r.prompt == *p).collect();
            let mut by_dataset: BTreeMap<String, Vec<&Record>> = BTreeMap::new();
            let mut by_category: BTreeMap<String, Vec<&Record>> = BTreeMap::new();
            for r in &mine {
                by_dataset.entry(r.dataset.clone()).or_default().push(r);
                let c = if r.category.is_empty() {
                    &r.classified_category
                } else {
                    &r.category
                };
                by_category.entry(c.clone()).or_default().push(r);
            }
            PromptRun {
                prompt: p.clone(),
                overall: Tally::of(mine.iter().copied()),
                by_dataset: by_dataset
                    .into_iter()
                    .map(|(k, v)| (k, Tally::of(v)))
                    .collect(),
                by_category: by_category
                    .into_iter()
                    .map(|(k, v)| (k, Tally::of(v)))
                    .collect(),
            }
        })
        .collect()
}

/// The paired comparison, when both prompts were run.
pub fn compare(records: &[Record]) -> Option<Comparison> {
    let mut plain: HashMap<(&str, &str), bool> = HashMap::new();
    for r in records.iter().filter(|r| r.prompt == "plain") {
        plain.insert((&r.dataset, &r.id), r.correct);
    }
    let (mut both, mut om, mut op, mut neither) = (0, 0, 0, 0);
    for r in records.iter().filter(|r| r.prompt == "medical") {
        match (r.correct, plain.get(&(r.dataset.as_str(), r.id.as_str()))) {
            (true, Some(true)) => both += 1,
            (true, Some(false)) => om += 1,
            (false, Some(true)) => op += 1,
            (false, Some(false)) => neither += 1,
            (_, None) => {}
        }
    }
    let paired = both + om + op + neither;
    (paired > 0).then(|| Comparison {
        paired,
        medical_minus_plain_points: 100.0 * (om as f64 - op as f64) / paired as f64,
        both_right: both,
        only_medical: om,
        only_plain: op,
        both_wrong: neither,
        mcnemar_p: mcnemar_exact(om, op),
    })
}

/// The table printed at the end of a run.
pub fn render(runs: &[PromptRun], comparison: Option<&Comparison>) -> String {
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let row = |prompt: &str, name: &str, t: &Tally| {
        format!(
            "{prompt:<8} {name:<30} {:>5} {:>7} {:>8}  [{:>6}, {:>6}] {:>7} {:>8.0}\n",
            t.n,
            t.correct,
            pct(t.accuracy),
            pct(t.ci95.0),
            pct(t.ci95.1),
            pct(t.chance),
            t.mean_ms
        )
    };
    let mut s = format!(
        "{:<8} {:<30} {:>5} {:>7} {:>8}  {:<16} {:>7} {:>8}\n",
        "prompt", "dataset", "n", "correct", "accuracy", "95% CI (Wilson)", "chance", "ms/item"
    );
    for r in runs {
        for (name, t) in &r.by_dataset {
            s.push_str(&row(&r.prompt, name, t));
        }
        if r.by_dataset.len() > 1 {
            s.push_str(&row(&r.prompt, "(all)", &r.overall));
        }
    }
    for r in runs {
        s.push_str(&format!("\nby category ({} prompt):\n", r.prompt));
        for (name, t) in &r.by_category {
            s.push_str(&row(&r.prompt, name, t));
        }
    }
    if let Some(c) = comparison {
        s.push_str(&format!(
            "\nmedical vs plain on {} paired questions: {:+.1} points (right under both {}, medical only {}, \
             plain only {}, neither {}); McNemar exact p = {:.3}\n",
            c.paired, c.medical_minus_plain_points, c.both_right, c.only_medical, c.only_plain, c.both_wrong, c.mcnemar_p
        ));
    }
    for r in runs {
        if r.overall.unanswered > 0 {
            s.push_str(&format!(
                "{} prompt: {} questions without a readable answer (counted as wrong)\n",
                r.prompt, r.overall.unanswered
            ));
        }
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn rec(id: &str, prompt: &str, correct: bool, dataset: &str) -> Record {
        Record {
            dataset: dataset.into(),
            id: id.into(),
            prompt: prompt.into(),
            answer: "A".into(),
            choice: if correct { "A" } else { "B" }.into(),
            correct,
            n_options: 4,
            category: if prompt == "plain" { "" } else { "diagnosis" }.into(),
            classified_category: "treatment".into(),
            loglik: None,
            generated: None,
            error: None,
            prompt_tokens: 100,
            reused_prefix_tokens: 50,
            ms: 10.0,
        }
    }

    #[test]
    fn wilson_matches_published_values() {
        // Reference values: statsmodels' proportion_confint(k, n, method="wilson"); 0/10 and 10/10
        // as in published Wilson tables.
        let (lo, hi) = wilson(81, 263);
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
        let (lo, hi) = wilson(0, 10);
        assert!(lo == 0.0 && (hi - 0.2775).abs() < 5e-4, "{hi}");
        let (lo, hi) = wilson(10, 10);
        assert!(
            (lo - 0.7225).abs() < 5e-4 && (hi - 1.0).abs() < 1e-9,
            "{lo}"
        );
    }

    #[test]
    fn mcnemar_exact_matches_the_binomial_test() {
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(3, 3), 1.0);
        // binom.test(1, 10)$p.value = 0.02148438
        assert!((mcnemar_exact(1, 9) - 0.021_484_38).abs() < 1e-6);
        // Large counts do not underflow.
        let p = mcnemar_exact(900, 1100);
        assert!(p > 0.0 && p < 1e-5, "{p}");
    }

    #[test]
    fn summaries_group_by_prompt_dataset_and_category() {
        let recs = vec![
            rec("1", "medical", true, "a"),
            rec("2", "medical", false, "a"),
            rec("3", "medical", true, "b"),
            rec("1", "plain", false, "a"),
            rec("2", "plain", false, "a"),
            rec("3", "plain", true, "b"),
        ];
        let runs = summarise(&recs, &["medical".into(), "plain".into()]);
        assert_eq!(runs[0].overall.correct, 2);
        assert_eq!(runs[0].by_dataset["a"].n, 2);
        assert_eq!(runs[0].by_category["diagnosis"].n, 3);
        assert_eq!(
            runs[1].by_category["treatment"].n, 3,
            "plain prompt groups by the classifier's choice"
        );
        assert!((runs[0].overall.chance - 0.25).abs() < 1e-12);
        let c = compare(&recs).unwrap();
        assert_eq!(
            (
                c.paired,
                c.both_right,
                c.only_medical,
                c.only_plain,
                c.both_wrong
            ),
            (3, 1, 1, 0, 1)
        );
        assert!((c.medical_minus_plain_points - 100.0 / 3.0).abs() < 1e-9);
        let table = render(&runs, Some(&c));
        assert!(
            table.contains("(all)") && table.contains("McNemar"),
            "{table}"
        );
    }
}
