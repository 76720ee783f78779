//! Text of a multiple-choice question: how the options are written into the question the model
//! sees, which continuations stand for an option letter, and how a letter is read back from a
//! generated answer. Pure functions, so the evaluation prompt can be checked (and reproduced by
//! an independent computation) without a model.

/// Most options a question may have (A..=J).
pub const MAX_OPTIONS: usize = 10;

/// The question as the model sees it: an optional passage, the question, then one `L. text`
/// line per option in letter order. This is the user turn; the engine adds the template and the
/// prompt format around it (for a base model: `{system}\n\nQuestion: {this}\nAnswer:`).
pub fn question_text(
    question: &str,
    context: Option<&str>,
    options: &[(String, String)],
) -> String {
    let mut s = String::new();
    if let Some(c) = context.map(str::trim).filter(|c| !c.is_empty()) {
        s.push_str("Context: ");
        s.push_str(c);
        s.push_str("\n\n");
    }
    s.push_str(question.trim());
    for (letter, text) in options {
        s.push('\n');
        s.push_str(letter);
        s.push_str(". ");
        s.push_str(text.trim());
    }
    s
}

/// Check and order the options: 2..=[`MAX_OPTIONS`] of them, keyed by single capital letters,
/// none empty. Returned in letter order, so the prompt does not depend on map order.
pub fn ordered_options(
    options: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<(String, String)>, String> {
    let mut v: Vec<(String, String)> = options.into_iter().collect();
    if v.len() < 2 || v.len() > MAX_OPTIONS {
        return Err(format!(
            "a question needs 2..={MAX_OPTIONS} options, got {}",
            v.len()
        ));
    }
    for (letter, text) in &v {
        let ok = letter.len() == 1 && letter.bytes().all(|b| b.is_ascii_uppercase());
        if !ok {
            return Err(format!(
                "option keys must be single capital letters, got '{}'",
                letter.escape_debug()
            ));
        }
        if text.trim().is_empty() {
            return Err(format!("option {letter} is empty"));
        }
    }
    v.sort();
    v.dedup_by(|a, b| a.0 == b.0);
    Ok(v)
}

/// The continuation that stands for `letter` right after the prompt. After the plain format's
/// `Answer:` the next word is `" B"` (with its space); after a chat template's assistant turn
/// marker it is `"B"`. Only its first token is scored, so it must be one token: the service
/// refuses to score when all letters come out equally likely (a split letter).
pub fn candidate(letter: &str, chat_format: bool) -> String {
    if chat_format {
        letter.to_string()
    } else {
        format!(" {letter}")
    }
}

/// Read the chosen letter from a generated answer: a letter at the start (`B`, `B.`, `(B)`,
/// `**B**`, `Answer: B`), else after "answer is", else an answer that starts with an option's
/// text. `None` when nothing matches: the item counts as wrong.
pub fn parse_choice(generated: &str, options: &[(String, String)]) -> Option<String> {
    // A reasoning model's thinking is not the answer.
    let text = generated.rsplit("</think>").next().unwrap_or(generated);
    if let Some(l) = leading_letter(text, options) {
        return Some(l);
    }
    // ASCII lowering keeps byte offsets, so `i` indexes `text` too.
    let lower = text.to_ascii_lowercase();
    if let Some(i) = lower.find("answer is") {
        if let Some(l) = leading_letter(&text[i + "answer is".len()..], options) {
            return Some(l);
        }
    }
    let t = lower.trim_start();
    options
        .iter()
        .filter(|(_, o)| t.starts_with(&o.trim().to_ascii_lowercase()))
        .max_by_key(|(_, o)| o.trim().len())
        .map(|(l, _)| l.clone())
}

/// A letter at the very start, after markup, followed by a delimiter (so the article in
/// "A patient should…" is not read as option A).
fn leading_letter(text: &str, options: &[(String, String)]) -> Option<String> {
    let mut t = text.trim_start();
    loop {
        let before = t;
        t = t.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '*' | '(' | '[' | ':'));
        for prefix in ["answer", "option"] {
            if t.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
            {
                t = &t[prefix.len()..];
            }
        }
        if t == before {
            break;
        }
    }
    let mut chars = t.chars();
    let first = chars.next()?;
    let delimited = match chars.next() {
        None => true,
        Some(c) => matches!(c, '.' | ')' | ']' | ':' | ',' | '*' | '\n'),
    };
    let letter = first.to_string();
    (delimited && options.iter().any(|(l, _)| *l == letter)).then_some(letter)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn opts() -> Vec<(String, String)> {
        ordered_options(
            [
                ("B", "Aspirin"),
                ("A", "Paracetamol"),
                ("C", "Ibuprofen 400 mg"),
                ("D", "Ibuprofen"),
            ]
            .map(|(l, t)| (l.to_string(), t.to_string())),
        )
        .unwrap()
    }

    #[test]
    fn question_text_lists_options_in_letter_order() {
        assert_eq!(
            question_text(" Best drug? ", None, &opts()),
            "Best drug?\nA. Paracetamol\nB. Aspirin\nC. Ibuprofen 400 mg\nD. Ibuprofen"
        );
        let yn = ordered_options([("A", "yes"), ("B", "no")].map(|(l, t)| (l.into(), t.into())))
            .unwrap();
        assert_eq!(
            question_text("Does it work?", Some("A trial.\n"), &yn),
            "Context: A trial.\n\nDoes it work?\nA. yes\nB. no"
        );
    }

    #[test]
    fn bad_option_sets_are_refused() {
        let one = [("A".to_string(), "x".to_string())];
        assert!(ordered_options(one).is_err());
        let lower = [("a", "x"), ("B", "y")].map(|(l, t)| (l.to_string(), t.to_string()));
        assert!(ordered_options(lower).unwrap_err().contains("capital"));
        let empty = [("A", "x"), ("B", " ")].map(|(l, t)| (l.to_string(), t.to_string()));
        assert!(ordered_options(empty).unwrap_err().contains("option B"));
    }

    #[test]
    fn letters_are_read_from_common_answer_shapes() {
        let o = opts();
        for (text, want) in [
            (" B. Aspirin", Some("B")),
            ("B", Some("B")),
            (" (C) because", Some("C")),
            ("**D**", Some("D")),
            ("Answer: A", Some("A")),
            ("I think the answer is C.", Some("C")),
            (" Ibuprofen 400 mg daily", Some("C")),
            ("<think>maybe A</think> D.", Some("D")),
            ("A patient should rest", None),
            (" E. none", None),
            ("", None),
        ] {
            assert_eq!(parse_choice(text, &o).as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn candidates_follow_the_prompt_format() {
        assert_eq!(candidate("B", false), " B");
        assert_eq!(candidate("B", true), "B");
    }
}
