//! The five question categories.
//!
//! The lowercase names (`medication`, `diagnosis`, `treatment`, `prevention`, `emergency`) are part of the
//! D-Bus contract, the config file and the cache keys, so they must never change.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ClassifyError;

/// A medical question category; each has its own prompt suffix and generation parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Drug information: doses, side effects, interactions, contraindications.
    Medication,
    /// What is wrong: differential diagnosis, tests, interpretation of findings.
    Diagnosis,
    /// How to treat or manage a condition.
    Treatment,
    /// Screening, vaccination, risk reduction, lifestyle.
    Prevention,
    /// Acute, possibly life-threatening situations needing immediate action.
    Emergency,
}

impl Category {
    /// All categories in a fixed order (the order of the `scores` arrays and of reports).
    pub const ALL: [Category; 5] = [
        Category::Medication,
        Category::Diagnosis,
        Category::Treatment,
        Category::Prevention,
        Category::Emergency,
    ];

    /// The stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Medication => "medication",
            Category::Diagnosis => "diagnosis",
            Category::Treatment => "treatment",
            Category::Prevention => "prevention",
            Category::Emergency => "emergency",
        }
    }

    /// Position in [`Category::ALL`]; used to index per-category arrays.
    pub fn index(self) -> usize {
        match self {
            Category::Medication => 0,
            Category::Diagnosis => 1,
            Category::Treatment => 2,
            Category::Prevention => 3,
            Category::Emergency => 4,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = ClassifyError;

    /// Parses a category name, ignoring case and surrounding whitespace (admins type these).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| ClassifyError::UnknownCategory(s.to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_index_matches_all() {
        for (i, c) in Category::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(c.to_string().parse::<Category>().unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(
            " Emergency ".parse::<Category>().unwrap(),
            Category::Emergency
        );
        assert!(matches!(
            "urgent".parse::<Category>(),
            Err(ClassifyError::UnknownCategory(s)) if s == "urgent"
        ));
    }
}
