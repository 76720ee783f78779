//! The `<think>` splitter (every chunking gives the same result) and reasoning-model detection.

use medllm_classify::{
    ReasoningStyle, Segment, ThinkSplitter, detect_reasoning, join, split_complete,
};
use proptest::prelude::*;

/// Streams `chunks` through a splitter, checks segment invariants, returns (reasoning, answer).
fn stream(starts_inside: bool, chunks: &[&str]) -> (String, String) {
    let mut s = ThinkSplitter::new(starts_inside);
    let mut all = Vec::new();
    for c in chunks {
        all.extend(s.push(c));
    }
    all.extend(s.finish());
    let mut seen_answer = false;
    for seg in &all {
        match seg {
            Segment::Reasoning(t) => {
                assert!(!seen_answer, "reasoning after answer: {all:?}");
                assert!(!t.is_empty());
            }
            Segment::Answer(t) => {
                seen_answer = true;
                assert!(!t.is_empty());
            }
        }
    }
    join(all)
}

/// Every split of `text` into two chunks, and into one-character chunks.
fn assert_all_chunkings(starts_inside: bool, text: &str, reasoning: &str, answer: &str) {
    let expected = (reasoning.to_owned(), answer.to_owned());
    assert_eq!(stream(starts_inside, &[text]), expected, "whole text");
    for (i, _) in text.char_indices().skip(1) {
        assert_eq!(
            stream(starts_inside, &[&text[..i], &text[i..]]),
            expected,
            "split at byte {i}: {:?} + {:?}",
            &text[..i],
            &text[i..]
        );
    }
    let chars: Vec<String> = text.chars().map(String::from).collect();
    let refs: Vec<&str> = chars.iter().map(String::as_str).collect();
    assert_eq!(stream(starts_inside, &refs), expected, "one char per chunk");
}

#[test]
fn r1_style_output_splits_at_every_position() {
    let text = "<think>\nThe patient is a child; weight 12 kg.\n</think>\n\nGive 15 mg/kg, check with a pharmacist.";
    assert_all_chunkings(
        false,
        text,
        "The patient is a child; weight 12 kg.",
        "Give 15 mg/kg, check with a pharmacist.",
    );
    assert_eq!(
        split_complete(text),
        (
            "The patient is a child; weight 12 kg.".to_owned(),
            "Give 15 mg/kg, check with a pharmacist.".to_owned()
        )
    );
}

#[test]
fn output_starting_inside_the_block_splits_at_every_position() {
    let text = "Okay, red flags first. </th is not a tag.\n</think>\n\n  Call 112 now.";
    assert_all_chunkings(
        true,
        text,
        "Okay, red flags first. </th is not a tag.",
        "Call 112 now.",
    );
    assert_eq!(
        split_complete(text),
        (
            "Okay, red flags first. </th is not a tag.".to_owned(),
            "Call 112 now.".to_owned()
        )
    );
    // A redundant opening tag is dropped.
    assert_all_chunkings(true, "<think>hmm</think>ok", "hmm", "ok");
}

#[test]
fn plain_output_is_all_answer_and_late_tags_are_text() {
    assert_all_chunkings(
        false,
        "  Paracetamol <think> is fine.\n",
        "",
        "Paracetamol <think> is fine.",
    );
    assert_all_chunkings(false, "<thinking aloud> no", "", "<thinking aloud> no");
    assert_all_chunkings(false, "<thi", "", "<thi");
    assert_all_chunkings(false, "<think>a</think>b</think>c", "a", "b</think>c");
    assert_eq!(
        split_complete("Just an answer."),
        (String::new(), "Just an answer.".to_owned())
    );
}

#[test]
fn unfinished_reasoning_is_flushed_as_reasoning() {
    assert_all_chunkings(
        false,
        "<think>still thinking </th",
        "still thinking </th",
        "",
    );
    assert_all_chunkings(true, "budget ran out   ", "budget ran out", "");
    let mut s = ThinkSplitter::new(false);
    assert!(s.push("<think>").is_empty());
    assert!(s.in_reasoning());
    assert_eq!(s.push("abc"), vec![Segment::Reasoning("abc".into())]);
    assert_eq!(s.push("</think>"), Vec::<Segment>::new());
    assert!(!s.in_reasoning());
}

#[test]
fn answer_streams_without_waiting_for_the_end() {
    let mut s = ThinkSplitter::new(true);
    assert_eq!(s.push("plan"), vec![Segment::Reasoning("plan".into())]);
    assert_eq!(
        s.push("</think>\n\nCall"),
        vec![Segment::Answer("Call".into())]
    );
    // Interior whitespace arrives with the next word; trailing whitespace is never emitted.
    assert_eq!(s.push(" "), Vec::<Segment>::new());
    assert_eq!(s.push("112."), vec![Segment::Answer(" 112.".into())]);
    assert_eq!(s.push("\n"), Vec::<Segment>::new());
    assert_eq!(s.finish(), Vec::<Segment>::new());
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Characters that build partial and complete tags, whitespace and non-ASCII text.
    proptest::collection::vec(
        prop_oneof![
            Just("<".to_owned()),
            Just("/".to_owned()),
            Just(">".to_owned()),
            Just("think".to_owned()),
            Just("th".to_owned()),
            Just(" ".to_owned()),
            Just("\n".to_owned()),
            Just("mg".to_owned()),
            Just("é".to_owned()),
            Just("体温".to_owned()),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

/// Random cut points (byte offsets snapped to char boundaries).
fn chunks(text: &str, cuts: &[usize]) -> Vec<String> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| {
            if text.is_empty() {
                0
            } else {
                c % (text.len() + 1)
            }
        })
        .filter(|&p| text.is_char_boundary(p))
        .collect();
    points.push(0);
    points.push(text.len());
    points.sort_unstable();
    points.dedup();
    points
        .windows(2)
        .map(|w| text[w[0]..w[1]].to_owned())
        .collect()
}

proptest! {
    #[test]
    fn any_chunking_of_a_think_block_output_gives_the_trimmed_parts(
        reasoning in text_strategy(),
        answer in text_strategy(),
        lead in "[ \n]{0,3}",
        gap in "[ \n]{0,3}",
        cuts in proptest::collection::vec(0usize..200, 0..8),
    ) {
        prop_assume!(!reasoning.contains("</think>"));
        prop_assume!(!reasoning.trim_start().starts_with("<think>"));
        let text = format!("{lead}<think>{reasoning}</think>{gap}{answer}");
        let expected = (reasoning.trim().to_owned(), answer.trim().to_owned());
        let parts = chunks(&text, &cuts);
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        prop_assert_eq!(stream(false, &refs), expected.clone());
        prop_assert_eq!(split_complete(&text), expected.clone());
        // The same output when the prompt opened the block.
        let inside = format!("{reasoning}</think>{gap}{answer}");
        let parts = chunks(&inside, &cuts);
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        prop_assert_eq!(stream(true, &refs), expected);
    }

    #[test]
    fn any_chunking_of_a_plain_output_is_all_answer(
        answer in text_strategy(),
        cuts in proptest::collection::vec(0usize..200, 0..8),
    ) {
        prop_assume!(!answer.trim_start().starts_with("<think>"));
        let parts = chunks(&answer, &cuts);
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        prop_assert_eq!(stream(false, &refs), (String::new(), answer.trim().to_owned()));
    }
}

/// `tokenizer.chat_template` from the DeepSeek-R1-Distill-Qwen-7B header fixture (a real GGUF header;
/// read with a minimal scan so this crate does not depend on the GGUF reader).
fn r1_fixture_template() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/deepseek-r1-distill-qwen-7b-q4_k_m.header.gguf");
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let key = b"tokenizer.chat_template";
    let at = data.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    let value_type = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
    assert_eq!(value_type, 8, "string value");
    let len = u64::from_le_bytes(data[at + 4..at + 12].try_into().unwrap()) as usize;
    String::from_utf8(data[at + 12..at + 12 + len].to_vec()).unwrap()
}

#[test]
fn detects_the_r1_distill_template_from_the_fixture() {
    let template = r1_fixture_template();
    assert!(template.contains("</think>"));
    assert_eq!(
        detect_reasoning(&template, "DeepSeek R1 Distill Qwen 7B"),
        ReasoningStyle::ThinkTags {
            starts_inside: false
        }
    );
    // The template alone is enough evidence.
    assert_eq!(
        detect_reasoning(&template, "some model"),
        ReasoningStyle::ThinkTags {
            starts_inside: false
        }
    );
    // The later R1 template opens the block in the generation prompt.
    let opened = template.replace(
        "{{'<｜Assistant｜>'}}{% endif %}",
        "{{'<｜Assistant｜><think>\\n'}}{% endif %}",
    );
    assert_ne!(opened, template);
    assert_eq!(
        detect_reasoning(&opened, ""),
        ReasoningStyle::ThinkTags {
            starts_inside: true
        }
    );
}

#[test]
fn detects_other_layouts_and_plain_models() {
    let gemma = "{{ bos_token }}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n\
                 {{ message['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}\
                 <start_of_turn>model\n{% endif %}";
    assert_eq!(
        detect_reasoning(gemma, "Gemma 3 270m"),
        ReasoningStyle::None
    );
    assert_eq!(ReasoningStyle::None.splitter().map(|_| ()), None);
    // Thinking switched off in the generation prompt: an empty block, output starts outside.
    let qwen3 = "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking \
                 is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";
    assert_eq!(
        detect_reasoning(qwen3, "Qwen3 4B"),
        ReasoningStyle::ThinkTags {
            starts_inside: false
        }
    );
    // Name only (template without markers).
    assert_eq!(
        detect_reasoning(gemma, "deepseek_r1_distill_llama_8b"),
        ReasoningStyle::ThinkTags {
            starts_inside: false
        }
    );
    assert!(
        ReasoningStyle::ThinkTags {
            starts_inside: true
        }
        .splitter()
        .unwrap()
        .in_reasoning()
    );
}
