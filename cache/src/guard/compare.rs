//! Comparing two questions' slots: every difference is a [`Veto`] naming the guard and both sides.

use std::collections::BTreeSet;
use std::fmt;

use super::qualifiers::Family;
use super::slots::{Quantity, Slots};

/// Which guard vetoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GuardKind {
    /// A question could not be parsed with confidence (unknown unit, unknown drug-like word).
    Doubt,
    /// Quantities with units or bare numbers differ.
    Quantity,
    /// Ages differ.
    Age,
    /// Gestational ages differ.
    Gestation,
    /// Frequencies or intervals differ.
    Frequency,
    /// Ordinals (first/second-line, second-degree) differ.
    Ordinal,
    /// Type designators (type 1/2, hepatitis A/B, HIV-1/2) differ.
    Designator,
    /// Drug ingredients differ.
    Drug,
    /// The same drugs in another order ("switch from A to B").
    DrugOrder,
    /// A qualifier family differs.
    Qualifier(Family),
    /// The same routes in another order.
    RouteOrder,
    /// Opposite poles (safe/unsafe, before/after, increase/decrease, hyper/hypo, ...).
    Polarity,
    /// Negation differs (cue or its scope).
    Negation,
    /// Other content words differ.
    Terms,
    /// The same words in another order where order matters ("A causes B" vs "B causes A").
    WordOrder,
}

impl fmt::Display for GuardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuardKind::Doubt => f.write_str("parse doubt"),
            GuardKind::Quantity => f.write_str("quantity"),
            GuardKind::Age => f.write_str("age"),
            GuardKind::Gestation => f.write_str("gestation"),
            GuardKind::Frequency => f.write_str("frequency"),
            GuardKind::Ordinal => f.write_str("ordinal"),
            GuardKind::Designator => f.write_str("type designator"),
            GuardKind::Drug => f.write_str("drug"),
            GuardKind::DrugOrder => f.write_str("drug order"),
            GuardKind::Qualifier(fam) => f.write_str(fam.name()),
            GuardKind::RouteOrder => f.write_str("route order"),
            GuardKind::Polarity => f.write_str("polarity"),
            GuardKind::Negation => f.write_str("negation"),
            GuardKind::Terms => f.write_str("content words"),
            GuardKind::WordOrder => f.write_str("word order"),
        }
    }
}

/// One guard's objection, with what each question said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veto {
    /// The guard.
    pub guard: GuardKind,
    /// The cached question's side.
    pub cached: String,
    /// The incoming question's side.
    pub incoming: String,
}

impl fmt::Display for Veto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cached [{}] vs asked [{}]",
            self.guard, self.cached, self.incoming
        )
    }
}

fn qty_list(q: &[Quantity]) -> String {
    q.iter()
        .map(|q| q.text.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

fn same_quantities(a: &[Quantity], b: &[Quantity]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y))
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// All vetoes between a cached question's slots and an incoming question's slots (empty: they agree).
pub fn compare(cached: &Slots, incoming: &Slots) -> Vec<Veto> {
    let mut v = Vec::new();
    let mut veto = |guard, c: String, i: String| {
        v.push(Veto {
            guard,
            cached: c,
            incoming: i,
        })
    };

    if !cached.doubts.is_empty() || !incoming.doubts.is_empty() {
        veto(
            GuardKind::Doubt,
            cached.doubts.join("; "),
            incoming.doubts.join("; "),
        );
    }
    if !same_quantities(&cached.quantities, &incoming.quantities) {
        veto(
            GuardKind::Quantity,
            qty_list(&cached.quantities),
            qty_list(&incoming.quantities),
        );
    }
    if !same_quantities(&cached.ages, &incoming.ages) {
        veto(
            GuardKind::Age,
            qty_list(&cached.ages),
            qty_list(&incoming.ages),
        );
    }
    if !same_quantities(&cached.gestation, &incoming.gestation) {
        veto(
            GuardKind::Gestation,
            qty_list(&cached.gestation),
            qty_list(&incoming.gestation),
        );
    }
    let sorted = |x: &[String]| -> Vec<String> {
        let mut y = x.to_vec();
        y.sort();
        y
    };
    if sorted(&cached.frequencies) != sorted(&incoming.frequencies) {
        veto(
            GuardKind::Frequency,
            cached.frequencies.join(", "),
            incoming.frequencies.join(", "),
        );
    }
    if cached.ordinals != incoming.ordinals {
        veto(
            GuardKind::Ordinal,
            join(&cached.ordinals),
            join(&incoming.ordinals),
        );
    }
    if sorted(&cached.designators) != sorted(&incoming.designators) {
        veto(
            GuardKind::Designator,
            cached.designators.join(", "),
            incoming.designators.join(", "),
        );
    }
    let drug_set = |s: &Slots| -> BTreeSet<String> { s.drugs.iter().cloned().collect() };
    if drug_set(cached) != drug_set(incoming) {
        veto(GuardKind::Drug, drug_list(cached), drug_list(incoming));
    } else if cached.drugs.len() >= 2 && cached.drugs != incoming.drugs {
        veto(GuardKind::DrugOrder, drug_list(cached), drug_list(incoming));
    }
    let families: BTreeSet<Family> = cached
        .qualifiers
        .keys()
        .chain(incoming.qualifiers.keys())
        .copied()
        .collect();
    for fam in families {
        let empty = BTreeSet::new();
        let a = cached.qualifiers.get(&fam).unwrap_or(&empty);
        let b = incoming.qualifiers.get(&fam).unwrap_or(&empty);
        if a != b {
            veto(GuardKind::Qualifier(fam), join(a), join(b));
        }
    }
    if cached.route_order.len() >= 2 && cached.route_order != incoming.route_order {
        let routes_equal: BTreeSet<_> = cached.route_order.iter().collect();
        let other: BTreeSet<_> = incoming.route_order.iter().collect();
        if routes_equal == other {
            veto(
                GuardKind::RouteOrder,
                cached.route_order.join(" → "),
                incoming.route_order.join(" → "),
            );
        }
    }
    if cached.polarity != incoming.polarity {
        let a: Vec<_> = cached.polarity.difference(&incoming.polarity).collect();
        let b: Vec<_> = incoming.polarity.difference(&cached.polarity).collect();
        veto(GuardKind::Polarity, join(a), join(b));
    }
    if cached.negations != incoming.negations {
        let show = |s: &Slots| {
            s.negations
                .iter()
                .map(|(c, sc)| format!("{c}({})", join(sc)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        veto(GuardKind::Negation, show(cached), show(incoming));
    }
    if (cached.directional || incoming.directional) && cached.ordered != incoming.ordered {
        veto(
            GuardKind::WordOrder,
            cached.ordered.join(" → "),
            incoming.ordered.join(" → "),
        );
    }
    if cached.terms != incoming.terms {
        let a: Vec<_> = cached.terms.difference(&incoming.terms).collect();
        let b: Vec<_> = incoming.terms.difference(&cached.terms).collect();
        veto(GuardKind::Terms, join(a), join(b));
    }
    v
}

fn drug_list(s: &Slots) -> String {
    s.drug_surfaces
        .iter()
        .zip(&s.drugs)
        .map(|(surf, ing)| {
            if surf == ing {
                surf.clone()
            } else {
                format!("{surf} = {ing}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
