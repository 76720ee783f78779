//! Turning token bytes into the text a client sees.
//!
//! Owns two streaming problems that both need look-ahead: UTF-8 characters split across tokens
//! (a token may end in the middle of a multi-byte character) and stop strings split across tokens
//! ("</ans" + "wer>"). It must not touch the model: it works on bytes and strings only, which keeps
//! it unit-testable.

/// Accumulates raw token bytes and releases only complete UTF-8 characters.
#[derive(Debug, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    /// Append bytes; return whatever now forms complete characters. Invalid sequences become
    /// U+FFFD rather than an error: a model can emit garbage, a client must still get text.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out.push_str(s);
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    // SAFETY-free: from_utf8 said these bytes are valid.
                    out.push_str(&String::from_utf8_lossy(&self.pending[..valid]));
                    match e.error_len() {
                        // Incomplete character at the end: keep it for the next token.
                        None => {
                            self.pending.drain(..valid);
                            return out;
                        }
                        Some(bad) => {
                            out.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }

    /// End of stream: whatever is left is an incomplete character.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

/// Result of feeding text to a [`StopMatcher`].
#[derive(Debug, PartialEq, Eq)]
pub enum StopOutcome {
    /// Text that is safe to send; more may follow.
    Continue(String),
    /// A stop string matched: send this text (everything before the match) and end.
    Stopped(String),
}

/// Finds stop strings in streamed text, holding back just enough text to catch a stop string that
/// straddles two chunks.
#[derive(Debug)]
pub struct StopMatcher {
    stops: Vec<String>,
    held: String,
}

impl StopMatcher {
    /// A matcher for these stop strings (empty strings are ignored).
    pub fn new(stops: &[String]) -> Self {
        Self {
            stops: stops.iter().filter(|s| !s.is_empty()).cloned().collect(),
            held: String::new(),
        }
    }

    /// Feed new text.
    pub fn push(&mut self, text: &str) -> StopOutcome {
        self.held.push_str(text);
        if self.stops.is_empty() {
            return StopOutcome::Continue(std::mem::take(&mut self.held));
        }
        // Earliest match wins (a shorter stop may end earlier but start later).
        let hit = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min();
        if let Some(at) = hit {
            let out = self.held[..at].to_string();
            self.held.clear();
            return StopOutcome::Stopped(out);
        }
        // Hold back the longest suffix of `held` that is a proper prefix of some stop string.
        let keep = self
            .stops
            .iter()
            .map(|s| longest_suffix_prefix(&self.held, s))
            .max()
            .unwrap_or(0);
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_string();
        self.held.drain(..cut);
        StopOutcome::Continue(out)
    }

    /// End of generation: held-back text was not a stop string after all.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// Length in bytes of the longest suffix of `text` that is a proper prefix of `stop`, cut on a
/// character boundary.
fn longest_suffix_prefix(text: &str, stop: &str) -> usize {
    let max = stop.len().saturating_sub(1).min(text.len());
    (1..=max)
        .rev()
        .find(|&n| {
            let start = text.len() - n;
            text.is_char_boundary(start) && stop.starts_with(&text[start..])
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_tokens() {
        let s = "héllo – 🩺 ok";
        let bytes = s.as_bytes();
        // Feed one byte at a time: output must equal the input, never contain U+FFFD.
        let mut u = Utf8Stream::default();
        let mut out = String::new();
        for b in bytes {
            out.push_str(&u.push(std::slice::from_ref(b)));
        }
        out.push_str(&u.finish());
        assert_eq!(out, s);
    }

    #[test]
    fn utf8_invalid_bytes_become_replacement() {
        let mut u = Utf8Stream::default();
        let out = u.push(&[b'a', 0xFF, b'b']);
        assert_eq!(out, "a\u{FFFD}b");
        // Truncated character at the end of the stream.
        let mut u = Utf8Stream::default();
        assert_eq!(u.push(&[b'x', 0xF0, 0x9F]), "x");
        assert_eq!(u.finish(), "\u{FFFD}");
    }

    fn run(stops: &[&str], chunks: &[&str]) -> (String, bool) {
        let stops: Vec<String> = stops.iter().map(|s| s.to_string()).collect();
        let mut m = StopMatcher::new(&stops);
        let mut out = String::new();
        for c in chunks {
            match m.push(c) {
                StopOutcome::Continue(t) => out.push_str(&t),
                StopOutcome::Stopped(t) => {
                    out.push_str(&t);
                    return (out, true);
                }
            }
        }
        out.push_str(&m.finish());
        (out, false)
    }

    #[test]
    fn stop_across_chunk_boundary() {
        assert_eq!(
            run(&["</end>"], &["abc </e", "nd> tail"]),
            ("abc ".into(), true)
        );
        assert_eq!(run(&["STOP"], &["S", "T", "O", "P"]), (String::new(), true));
        // A near-miss is released at the end.
        assert_eq!(
            run(&["</end>"], &["abc </e", "x"]),
            ("abc </ex".into(), false)
        );
        assert_eq!(run(&["</end>"], &["abc </en"]), ("abc </en".into(), false));
    }

    #[test]
    fn earliest_stop_wins() {
        assert_eq!(
            run(&["world", "lo w"], &["hello world"]),
            ("hel".into(), true)
        );
    }

    #[test]
    fn every_split_position_of_a_stop() {
        let text = "answer: take 5 mg\n\nQuestion: next";
        for i in 0..=text.len() {
            if !text.is_char_boundary(i) {
                continue;
            }
            let (a, b) = text.split_at(i);
            assert_eq!(
                run(&["\n\nQuestion:"], &[a, b]),
                ("answer: take 5 mg".into(), true),
                "split at {i}"
            );
        }
    }

    #[test]
    fn multibyte_holdback_is_char_safe() {
        // Stop string starting with a multi-byte char; text ends in a different multi-byte char.
        assert_eq!(run(&["éa"], &["caf", "é", "!"]), ("café!".into(), false));
        assert_eq!(run(&["éa"], &["caf", "é", "a"]), ("caf".into(), true));
    }
}
