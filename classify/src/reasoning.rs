//! Detecting whether a model writes a `<think>` block, from its chat template and name.
//!
//! GGUF files carry the chat template (`tokenizer.chat_template`) and a name (`general.name`); the daemon
//! passes both here at start-up. Detection is by evidence in that text, not by a fixed model list alone:
//!
//! * the template mentions `<think>` or `</think>` (the DeepSeek-R1 distill template strips
//!   `…</think>` from earlier assistant turns; Qwen3/QwQ templates open or close think blocks), or
//! * the model name contains `deepseek-r1`, `r1-distill` or `qwq` (ignoring case, `_` and spaces), for
//!   files whose template lost the markers.
//!
//! `starts_inside` is true when the template's generation prompt (the text after the last
//! `add_generation_prompt`) opens `<think>` without closing it: the model's output then begins inside
//! the block. A generation prompt that writes an empty `<think></think>` pair (thinking switched off)
//! does not count.

use serde::{Deserialize, Serialize};

use crate::think::ThinkSplitter;

/// How a model's output is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "style")]
pub enum ReasoningStyle {
    /// Plain answers.
    None,
    /// `<think>…</think>` precedes the answer.
    ThinkTags {
        /// The prompt already opened `<think>`, so the output starts inside the block.
        starts_inside: bool,
    },
}

impl ReasoningStyle {
    /// A splitter for one generation, or `None` for plain models.
    pub fn splitter(self) -> Option<ThinkSplitter> {
        match self {
            ReasoningStyle::None => None,
            ReasoningStyle::ThinkTags { starts_inside } => Some(ThinkSplitter::new(starts_inside)),
        }
    }
}

/// Model-name fragments of known reasoning families (after lowercasing and mapping `_`/space to `-`).
const REASONING_NAMES: &[&str] = &["deepseek-r1", "r1-distill", "qwq"];

/// Decides the [`ReasoningStyle`] of a model from its chat template text and its name.
pub fn detect_reasoning(chat_template: &str, model_name: &str) -> ReasoningStyle {
    let template_says = chat_template.contains("<think>") || chat_template.contains("</think>");
    let name: String = model_name
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == ' ' { '-' } else { c })
        .collect();
    let name_says = REASONING_NAMES.iter().any(|n| name.contains(n));
    if !template_says && !name_says {
        return ReasoningStyle::None;
    }
    ReasoningStyle::ThinkTags {
        starts_inside: generation_prompt_opens_think(chat_template),
    }
}

fn generation_prompt_opens_think(template: &str) -> bool {
    let Some(at) = template.rfind("add_generation_prompt") else {
        return false;
    };
    let tail = &template[at..];
    match tail.rfind("<think>") {
        Some(open) => !tail[open..].contains("</think>"),
        None => false,
    }
}
