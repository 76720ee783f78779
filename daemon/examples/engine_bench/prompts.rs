//! The texts the benchmark sends, and the calibration that turns them into exact token counts.
//!
//! Token counts depend on the model's tokenizer, so they are measured through the engine itself
//! (`usage.prompt_tokens` of a one-token request) rather than guessed from word counts.

use anyhow::{Result, bail};

use crate::ours::{Engine, request};

/// Template 0: a realistic clinic system prompt of about 300 tokens (section c).
pub const SYSTEM_LONG: &str = "You are the clinical assistant of a rural primary-care clinic. \
You answer questions from nurses, clinical officers and physicians who work without a specialist \
on site and often without a laboratory. Follow these rules in every answer. First, base every \
statement on current evidence-based guidelines such as those of the World Health Organization \
and national formularies; when guidelines disagree, say so and give the more conservative advice. \
Second, never invent a dose, an interval or a duration: when you give a dose, give the adult dose, \
the usual maximum, and the adjustment needed for children, pregnancy, old age, kidney impairment \
and liver impairment, or say plainly that you do not know. Third, name the warning signs that mean \
the patient must be referred to a hospital today, and put them first when the situation sounds \
urgent. Fourth, consider common interactions with the drugs a clinic like this stocks: \
antihypertensives, metformin, insulin, antiretrovirals, tuberculosis drugs, antimalarials, \
anticoagulants and oral contraceptives. Fifth, keep answers short, structured and practical: a \
one-line summary, then numbered steps, then what to monitor and when to follow up. Sixth, do not \
store, repeat or ask for names, addresses or identity numbers of patients. Seventh, when the \
question is outside medicine, or asks you to diagnose from too little information, say what is \
missing and what examination or test would answer it.";

/// Template 1: a short system prompt, so that prompts are dominated by their own tokens
/// (sections a and b).
pub const SYSTEM_SHORT: &str =
    "You are a careful medical assistant. Answer accurately and in detail.";

/// The ~40-token question of section (c).
pub const QUESTION_TTFT: &str = "A 58-year-old man with type 2 diabetes and stage 3 chronic \
kidney disease takes ibuprofen for knee pain most days. Should he keep taking metformin and \
ibuprofen, and what should we check?";

/// Questions likely to get a long greedy answer; the first that runs to `max_tokens` without an
/// end-of-text token or a stop string is used for decode measurements (the engine has no
/// "ignore end of text" switch, and it should not need one for a benchmark).
pub const DECODE_CANDIDATES: &[&str] = &[
    "List, one per line and numbered from 1 to 60, the essential medicines every rural clinic \
should stock, with the main use of each.",
    "Explain in detail, step by step, how to assess and manage an adult with newly diagnosed \
high blood pressure, including lifestyle advice, first-line drugs, doses, follow-up visits and \
warning signs.",
    "Write a complete teaching handout for patients about type 2 diabetes: causes, symptoms, \
diet, exercise, medicines, foot care, eye checks, kidney checks and when to see a doctor.",
    "Describe the full clinical picture, diagnosis, treatment and prevention of malaria, \
tuberculosis, HIV, typhoid fever, cholera, measles and dengue, one section each.",
];

/// Filler for the long prefill prompt of section (a): clinical prose, cycled word by word.
const FILLER: &str = "The patient is a forty-two-year-old woman who presents with three days of \
fever, headache, muscle pain and a dry cough. She lives in a malaria-endemic district and did not \
use a bed net last week. On examination her temperature is 38.9 degrees, pulse 108, blood \
pressure 112 over 70, respiratory rate 22 and oxygen saturation 95 percent on room air. There is \
no neck stiffness, no rash and no jaundice. The chest has scattered crackles at the right base. \
A rapid diagnostic test for malaria is negative. She is allergic to penicillin and takes a \
combined oral contraceptive. Her last menstrual period was two weeks ago. She has no known \
chronic illness, drinks alcohol rarely and does not smoke. Her two children had similar symptoms \
last week and recovered without treatment.";

/// The first `words` words of the filler, repeated as needed.
pub fn filler(words: usize) -> String {
    let w: Vec<&str> = FILLER.split_whitespace().collect();
    (0..words)
        .map(|i| w[i % w.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Prompt tokens (template + question + markup) that `question` makes with `template`.
pub fn prompt_tokens(engine: &Engine, template: usize, question: &str) -> Result<u32> {
    let out = engine.run(vec![request(template, question, 1)])?;
    Ok(out[0].done.usage.prompt_tokens)
}

/// The longest filler question whose full prompt (template 1) has at most `target` tokens, and
/// that prompt's token count. Binary search over the word count: each probe is one request.
pub fn long_question(engine: &Engine, target: u32) -> Result<(String, u32)> {
    let (mut lo, mut hi) = (1usize, target as usize * 2);
    let mut best: Option<(String, u32)> = None;
    while lo <= hi {
        let mid = (lo + hi) / 2;
        let q = filler(mid);
        let n = prompt_tokens(engine, 1, &q)?;
        if n <= target {
            let better = best.as_ref().is_none_or(|(_, b)| n > *b);
            if better {
                best = Some((q, n));
            }
            if n == target {
                break;
            }
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    match best {
        Some(b) => Ok(b),
        None => bail!("even a one-word question exceeds {target} prompt tokens"),
    }
}

/// The decode question: the first candidate whose greedy answer reaches `max_tokens`; else the
/// one with the longest answer (the report then shows the shorter count).
pub fn decode_question(engine: &Engine, max_tokens: u32) -> Result<(&'static str, u32, u32)> {
    let mut best: Option<(&'static str, u32, u32)> = None;
    for &q in DECODE_CANDIDATES {
        let out = engine.run(vec![request(1, q, max_tokens)])?;
        let u = &out[0].done.usage;
        if u.completion_tokens >= max_tokens {
            return Ok((q, u.prompt_tokens, u.completion_tokens));
        }
        if best.is_none_or(|(_, _, n)| u.completion_tokens > n) {
            best = Some((q, u.prompt_tokens, u.completion_tokens));
        }
    }
    match best {
        Some(b) => {
            eprintln!(
                "warning: no decode question reached {max_tokens} tokens; using one with {}",
                b.2
            );
            Ok(b)
        }
        None => bail!("no decode candidates"),
    }
}
