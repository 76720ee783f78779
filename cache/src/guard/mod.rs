//! Deterministic guards of the semantic tier.
//!
//! Embedding similarity alone is not safe: minimal edits (dose, age, drug, negation) score *higher* than
//! true paraphrases. A semantic candidate is therefore served only when [`Slots`] extracted from both
//! questions agree on every clinical slot — and on the remaining content words — and neither question left
//! a doubt. Lexical overlap never adds to the score.
//!
//! Layout: `text` (tokenizer) → `drugs` (dictionary), `quantity` + `units` (numbers), `qualifiers`,
//! `polarity`, `lexicon` (word lists) →
//! `slots` (extraction) → `compare` (vetoes).

mod compare;
mod drugs;
mod lexicon;
mod polarity;
mod qualifiers;
mod quantity;
mod slots;
mod text;
mod units;

pub use compare::{GuardKind, Veto, compare};
pub use qualifiers::Family;
pub use slots::{Quantity, Slots};

/// Number of surface forms in the bundled drug dictionary (for stats and docs).
pub fn drug_dictionary_size() -> usize {
    drugs::dictionary().len()
}
