//! Sufficient statistics of a wave, per department (direct members only), counted from
//! the answers: what a release is made from (`reports::release`), and what a filtered
//! view of a closed wave is counted from. Views of a wave never count: they read its
//! releases.

use std::collections::BTreeMap;

use crate::db::{Conn, DbError};
use crate::definitions::{Definition, QuestionKind};
use crate::stats::PairSums;

/// Everything a report needs of one wave, per department.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaveCounts {
    /// Department → respondents.
    pub respondents: BTreeMap<i64, u64>,
    /// (department, question) → value (or option index) → answers.
    pub values: BTreeMap<(i64, String), BTreeMap<i32, u64>>,
    /// (department, question) → respondents who answered it.
    pub answered: BTreeMap<(i64, String), u64>,
    /// (department, service) → respondents who answered any rated question of the
    /// service's section.
    pub service_respondents: BTreeMap<(i64, String), u64>,
    /// (department, question) → sums with the outcome question (drivers).
    pub pairs: BTreeMap<(i64, String), PairSums>,
    /// The outcome the pair sums correlate with.
    pub outcome: Option<String>,
}

/// A roster attribute a view is restricted to (`location=Berlin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeFilter {
    pub key: String,
    pub value: String,
}

impl AttributeFilter {
    /// Parses `KEY=VALUE`.
    pub fn parse(text: &str) -> Result<AttributeFilter, String> {
        match text.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() && !value.trim().is_empty() => {
                Ok(AttributeFilter {
                    key: key.trim().to_string(),
                    value: value.trim().to_string(),
                })
            }
            _ => Err(format!(
                "the filter {text:?} must be ATTRIBUTE=VALUE, e.g. location=Berlin"
            )),
        }
    }
}

/// The question whose answers the drivers correlate with: the survey's `enps` question.
pub fn outcome_question(definition: &Definition) -> Option<String> {
    definition
        .questions()
        .find(|(_, q)| matches!(q.kind, QuestionKind::Enps))
        .map(|(_, q)| q.id.value.clone())
}

/// At most this many attribute filters at once: the query keeps one shape (unused slots
/// match everything), so it is the same plain SQL on both backends.
pub const MAX_FILTERS: usize = 3;

/// Counts a wave from its answers: its classes (`cube::count`, one pass over the
/// answers) added up per department. Responses rolled up to the whole audience at close
/// (no department) are left out, as no department holds them.
pub fn count(
    conn: &mut Conn,
    wave_id: i64,
    definition: &Definition,
) -> Result<WaveCounts, DbError> {
    let cube = super::cube::count(conn, wave_id, definition)?;
    let mut counts = WaveCounts {
        outcome: outcome_question(definition),
        ..WaveCounts::default()
    };
    for class in cube.classes {
        let Some(d) = class.department else {
            continue;
        };
        *counts.respondents.entry(d).or_default() += class.respondents;
        for (q, values) in class.values {
            let tally = counts.values.entry((d, q)).or_default();
            for (v, n) in values {
                *tally.entry(v).or_default() += n;
            }
        }
        for (q, n) in class.answered {
            *counts.answered.entry((d, q)).or_default() += n;
        }
        for (s, n) in class.services {
            *counts.service_respondents.entry((d, s)).or_default() += n;
        }
        for (q, sums) in class.pairs {
            counts.pairs.entry((d, q)).or_default().merge(&sums);
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_key_and_value() {
        assert!(AttributeFilter::parse("location").is_err());
        assert!(AttributeFilter::parse("=x").is_err());
        let f = AttributeFilter::parse(" location = Berlin ").unwrap();
        assert_eq!((f.key.as_str(), f.value.as_str()), ("location", "Berlin"));
    }
}
