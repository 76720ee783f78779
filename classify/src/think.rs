//! Streaming separation of a reasoning model's `<think>…</think>` block from its answer.
//!
//! DeepSeek-R1 distills write `<think>\n…reasoning…\n</think>\n\nanswer`. Some chat templates already
//! open the block in the prompt (`…<｜Assistant｜><think>\n`), so the output starts *inside* it and only
//! `</think>` appears. Tokens arrive in arbitrary pieces, so a tag may be split across chunks
//! (`"</th"` + `"ink>"`); the splitter holds back any tail that could still become a tag, and emits
//! everything else at once.
//!
//! Output rules (identical for every chunking of the same text):
//! * without `starts_inside`, only a `<think>` at the very start (after whitespace) opens a block; text
//!   without one is all answer, and a later `<think>` is ordinary answer text;
//! * with `starts_inside`, the text is reasoning until `</think>`; a redundant leading `<think>` is
//!   dropped;
//! * after `</think>` everything is answer, even another `</think>`;
//! * reasoning and answer are each trimmed of leading and trailing whitespace (trailing whitespace is
//!   held back until more text follows, so streaming never emits it at the end);
//! * segments are never empty.
//!
//! The splitter works on `&str`; the caller must assemble complete UTF-8 from token bytes first.

/// A piece of model output, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text inside the think block (kept out of the final answer by default).
    Reasoning(String),
    /// Text of the answer.
    Answer(String),
}

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing but whitespace (or part of `<think>`) seen yet; `inside` = what non-tag text means.
    Leading {
        inside: bool,
    },
    Reasoning,
    Answer,
}

/// Incremental `<think>` splitter for one generation. Feed chunks with [`ThinkSplitter::push`], then
/// call [`ThinkSplitter::finish`].
#[derive(Debug, Clone)]
pub struct ThinkSplitter {
    state: State,
    /// Text received but not yet emitted (a possible partial tag, or trailing whitespace).
    pending: String,
    /// Whether the current part (reasoning or answer) has emitted text; until then leading whitespace
    /// is dropped.
    part_started: bool,
}

impl ThinkSplitter {
    /// `starts_inside`: the prompt already opened `<think>` (see [`crate::detect_reasoning`]).
    pub fn new(starts_inside: bool) -> Self {
        Self {
            state: State::Leading {
                inside: starts_inside,
            },
            pending: String::new(),
            part_started: false,
        }
    }

    /// Whether text pushed now would be reasoning (useful when the token budget ends mid-thought).
    pub fn in_reasoning(&self) -> bool {
        matches!(
            self.state,
            State::Reasoning | State::Leading { inside: true }
        )
    }

    /// Feeds one chunk of output and returns what can be emitted now (possibly nothing).
    pub fn push(&mut self, chunk: &str) -> Vec<Segment> {
        self.pending.push_str(chunk);
        let mut out = Vec::new();
        loop {
            match self.state {
                State::Leading { inside } => {
                    let rest = self.pending.trim_start();
                    if rest.starts_with(OPEN) {
                        let cut = self.pending.len() - rest.len() + OPEN.len();
                        self.pending.drain(..cut);
                        self.enter(State::Reasoning);
                    } else if OPEN.starts_with(rest) {
                        return out; // empty or a partial "<think>": wait for more
                    } else if inside {
                        self.enter(State::Reasoning);
                    } else {
                        self.enter(State::Answer);
                    }
                }
                State::Reasoning => {
                    if let Some(i) = self.pending.find(CLOSE) {
                        let text: String = self.pending.drain(..i + CLOSE.len()).collect();
                        self.emit(&mut out, text[..i].trim_end(), true);
                        self.enter(State::Answer);
                        continue;
                    }
                    let hold = partial_tag_start(&self.pending, CLOSE);
                    let end = self.pending[..hold].trim_end().len();
                    let text: String = self.pending.drain(..end).collect();
                    self.emit(&mut out, &text, true);
                    return out;
                }
                State::Answer => {
                    let end = self.pending.trim_end().len();
                    let text: String = self.pending.drain(..end).collect();
                    self.emit(&mut out, &text, false);
                    return out;
                }
            }
        }
    }

    /// Ends the stream: emits held-back text (a partial tag that never completed is ordinary text;
    /// trailing whitespace is dropped).
    pub fn finish(mut self) -> Vec<Segment> {
        let mut out = Vec::new();
        let text = std::mem::take(&mut self.pending);
        let text = text.trim_end();
        let reasoning = match self.state {
            State::Leading { inside } => inside,
            State::Reasoning => true,
            State::Answer => false,
        };
        self.emit(&mut out, text, reasoning);
        out
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.part_started = false;
    }

    fn emit(&mut self, out: &mut Vec<Segment>, text: &str, reasoning: bool) {
        let text = if self.part_started {
            text
        } else {
            text.trim_start()
        };
        if text.is_empty() {
            return;
        }
        self.part_started = true;
        match (out.last_mut(), reasoning) {
            (Some(Segment::Reasoning(prev)), true) | (Some(Segment::Answer(prev)), false) => {
                prev.push_str(text)
            }
            (_, true) => out.push(Segment::Reasoning(text.to_owned())),
            (_, false) => out.push(Segment::Answer(text.to_owned())),
        }
    }
}

/// Splits a complete output into `(reasoning, answer)`, both trimmed.
///
/// The layout is read from the text itself: a leading `<think>` opens a block; otherwise a `</think>`
/// anywhere means the output started inside the block (the prompt opened it); otherwise it is all
/// answer. For the same layout this gives exactly what streaming through [`ThinkSplitter`] gives.
pub fn split_complete(text: &str) -> (String, String) {
    let starts_inside = !text.trim_start().starts_with(OPEN) && text.contains(CLOSE);
    let mut splitter = ThinkSplitter::new(starts_inside);
    let mut segments = splitter.push(text);
    segments.extend(splitter.finish());
    join(segments)
}

/// Concatenates segments into `(reasoning, answer)`.
pub fn join(segments: impl IntoIterator<Item = Segment>) -> (String, String) {
    let mut reasoning = String::new();
    let mut answer = String::new();
    for s in segments {
        match s {
            Segment::Reasoning(t) => reasoning.push_str(&t),
            Segment::Answer(t) => answer.push_str(&t),
        }
    }
    (reasoning, answer)
}

/// Byte index where a suffix of `text` that is a proper prefix of `tag` begins (`text.len()` if none).
/// Tags are ASCII, so the index is always a char boundary.
fn partial_tag_start(text: &str, tag: &str) -> usize {
    (1..tag.len())
        .rev()
        .find(|&n| text.ends_with(&tag[..n]))
        .map_or(text.len(), |n| text.len() - n)
}
