//! Who a wave asks: the definition's audience resolved against the roster when the wave
//! opens (employees who left are never invited), and the pulse sample.

use std::collections::{BTreeMap, HashMap, HashSet};

use rand::seq::SliceRandom;
use rand::Rng;

use crate::definitions::Audience;
use crate::reports::org::Org;

/// An active employee as the audience rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: i64,
    pub department_id: i64,
    /// Roster attributes, `location` included.
    pub attributes: BTreeMap<String, String>,
}

/// The employees the audience names: departments with their subtrees, minus excluded
/// subtrees, matching every `where` attribute.
pub fn resolve<'a>(
    audience: &Audience,
    org: &Org,
    employees: &'a [Candidate],
) -> Vec<&'a Candidate> {
    let subtrees = |names: &[crate::definitions::Located<String>]| -> HashSet<i64> {
        names
            .iter()
            .filter_map(|n| org.by_name(&n.value))
            .flat_map(|d| org.subtree(d.id))
            .collect()
    };
    let included = if audience.is_everyone() {
        None
    } else {
        Some(subtrees(&audience.departments))
    };
    let excluded = subtrees(&audience.exclude_departments);
    employees
        .iter()
        .filter(|e| {
            included
                .as_ref()
                .is_none_or(|set| set.contains(&e.department_id))
        })
        .filter(|e| !excluded.contains(&e.department_id))
        .filter(|e| {
            audience
                .where_
                .iter()
                .all(|(key, values)| e.attributes.get(key).is_some_and(|v| values.contains(v)))
        })
        .collect()
}

/// A pulse's sample: `share` of the audience (at least one person), taken from those
/// asked least often so far, so nobody is asked again before everyone has been asked
/// once; ties are broken at random.
pub fn sample(
    audience: &[i64],
    times_asked: &HashMap<i64, u32>,
    share: f64,
    rng: &mut impl Rng,
) -> Vec<i64> {
    if audience.is_empty() {
        return Vec::new();
    }
    let size = ((audience.len() as f64 * share).ceil() as usize).clamp(1, audience.len());
    let mut order: Vec<i64> = audience.to_vec();
    order.shuffle(rng);
    // Stable sort keeps the random order among equals.
    order.sort_by_key(|id| times_asked.get(id).copied().unwrap_or(0));
    order.truncate(size);
    order.sort_unstable();
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::definitions::{Located, Pos};
    use rand::SeedableRng;

    fn org() -> Org {
        Org::from_rows(vec![
            (1, "Company".into(), None),
            (2, "Sales".into(), Some(1)),
            (3, "Sales North".into(), Some(2)),
            (4, "IT".into(), Some(1)),
            (5, "Contractors".into(), Some(1)),
        ])
    }

    fn person(id: i64, department_id: i64, location: &str) -> Candidate {
        Candidate {
            id,
            department_id,
            attributes: [("location".to_string(), location.to_string())].into(),
        }
    }

    fn names(list: &[&str]) -> Vec<Located<String>> {
        list.iter()
            .map(|n| Located::new(n.to_string(), Pos::START))
            .collect()
    }

    #[test]
    fn departments_include_subtrees_and_exclusions_and_filters_apply() {
        let people = vec![
            person(1, 1, "Berlin"),
            person(2, 2, "Berlin"),
            person(3, 3, "Lyon"),
            person(4, 4, "Berlin"),
            person(5, 5, "Berlin"),
        ];
        let ids = |audience: &Audience| -> Vec<i64> {
            resolve(audience, &org(), &people)
                .iter()
                .map(|c| c.id)
                .collect()
        };
        let everyone = Audience {
            departments: names(&["*"]),
            exclude_departments: names(&["Contractors"]),
            where_: BTreeMap::new(),
        };
        assert_eq!(ids(&everyone), vec![1, 2, 3, 4]);
        let sales = Audience {
            departments: names(&["Sales"]),
            ..Default::default()
        };
        assert_eq!(ids(&sales), vec![2, 3]);
        let berlin_sales = Audience {
            departments: names(&["Sales"]),
            exclude_departments: vec![],
            where_: [("location".to_string(), vec!["Berlin".to_string()])].into(),
        };
        assert_eq!(ids(&berlin_sales), vec![2]);
    }

    #[test]
    fn samples_rotate_through_everyone_before_anyone_repeats() {
        let audience: Vec<i64> = (1..=10).collect();
        let mut asked: HashMap<i64, u32> = HashMap::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for round in 0..12 {
            let picked = sample(&audience, &asked, 0.3, &mut rng);
            assert_eq!(picked.len(), 3);
            let before: Vec<u32> = audience
                .iter()
                .map(|id| asked.get(id).copied().unwrap_or(0))
                .collect();
            let least = *before.iter().min().unwrap();
            for id in &picked {
                // Only people asked the fewest times (or one more, when the least-asked
                // ran out this round) are picked.
                assert!(
                    asked.get(id).copied().unwrap_or(0) <= least + 1,
                    "round {round}"
                );
                *asked.entry(*id).or_default() += 1;
            }
            let counts: Vec<u32> = audience
                .iter()
                .map(|id| asked.get(id).copied().unwrap_or(0))
                .collect();
            assert!(
                counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1,
                "round {round}: {counts:?}"
            );
        }
    }
}
