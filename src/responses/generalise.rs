//! What a closed wave keeps: every response's department and dimensions generalised
//! until each combination stored is shared by at least `min_group_size` responses of
//! the wave, and the invitations' answered marks turned into counts per department.
//!
//! Without this, a response's (department, location, contract, ...) can match one
//! person of the roster, and an invitation marked answered says that person answered:
//! whoever reads the database joins the two. After [`at_close`] every stored
//! (department, dimensions) class holds at least `min_group_size` responses, and no
//! invitation says who answered.
//!
//! [`generalise`] is the rule (pure); [`at_close`] applies it to a wave in one
//! transaction, with the participation counts.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
#[cfg(feature = "postgres")]
use diesel::sql_types::BigInt;

use crate::db::schema::{departments, invitations, responses, wave_participation, waves};
use crate::db::{Conn, DbError};
use crate::definitions::{Definition, ReportBy};

/// Dimension name → value.
pub type Dimensions = BTreeMap<String, String>;

/// Where a response stands in reports: its department (`None`: the whole audience) and
/// its dimension values.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Class {
    pub department: Option<i64>,
    pub dimensions: Dimensions,
}

impl Class {
    pub fn new(department: Option<i64>, dimensions: Dimensions) -> Class {
        Class {
            department,
            dimensions,
        }
    }

    /// The whole audience, without dimensions: where everything too small ends.
    pub fn audience() -> Class {
        Class::default()
    }
}

/// The class of each response after generalisation, in the order given.
///
/// `parent_of` is the department tree (id → parent); a department missing from it
/// counts as a top-level one. The rule, with `k = min_group_size`:
/// 1. a response whose class has fewer than `k` responses loses its dimensions;
/// 2. then, bottom-up, a department whose dimensionless responses (its own and those
///    rolled up into it) number fewer than `k` hands them to its parent, merging with
///    the parent's own; from a top-level department they go to the whole audience;
/// 3. if the whole audience's dimensionless responses are then still fewer than `k`
///    (though the wave has `k` or more), the smallest classes join them until they
///    reach `k`: the least information given up for the guarantee.
///
/// Afterwards every class has at least `k` responses, except when the whole wave has
/// fewer than `k`: then every response is the whole audience without dimensions, one
/// class below the threshold, which no report shows anyway.
///
/// A dimension-kept class may stay in a department whose dimensionless remainder was
/// rolled up: both are classes of at least `k`, each on its own.
pub fn generalise(
    parent_of: &HashMap<i64, Option<i64>>,
    responses: &[Class],
    min_group_size: u32,
) -> Vec<Class> {
    let k = usize::try_from(min_group_size).unwrap_or(usize::MAX).max(1);
    if responses.len() < k {
        return vec![Class::audience(); responses.len()];
    }
    let tree = Tree::new(parent_of);

    // 1. Small classes lose their dimensions.
    let sizes = class_sizes(responses.iter());
    let mut classes: Vec<Class> = responses
        .iter()
        .map(|c| {
            if c.dimensions.is_empty() || sizes[c] >= k {
                c.clone()
            } else {
                Class::new(c.department, Dimensions::new())
            }
        })
        .collect();

    // 2. Small dimensionless remainders roll up, deepest departments first, so that a
    // department has received all of its children's before its own size is judged.
    let mut plain: HashMap<Option<i64>, usize> = HashMap::new();
    for c in classes.iter().filter(|c| c.dimensions.is_empty()) {
        *plain.entry(c.department).or_default() += 1;
    }
    let mut pending: BTreeSet<(Reverse<usize>, i64)> = plain
        .keys()
        .flatten()
        .map(|&d| (Reverse(tree.depth(d)), d))
        .collect();
    let mut moved_to: HashMap<i64, Option<i64>> = HashMap::new();
    while let Some((_, department)) = pending.pop_first() {
        let n = plain.get(&Some(department)).copied().unwrap_or(0);
        if n == 0 || n >= k {
            continue;
        }
        let parent = tree.parent(department);
        plain.insert(Some(department), 0);
        *plain.entry(parent).or_default() += n;
        moved_to.insert(department, parent);
        if let Some(parent) = parent {
            pending.insert((Reverse(tree.depth(parent)), parent));
        }
    }
    for c in classes.iter_mut().filter(|c| c.dimensions.is_empty()) {
        // Each department moves at most once and only to a shallower one: this ends.
        while let Some(d) = c.department {
            match moved_to.get(&d) {
                Some(&to) => c.department = to,
                None => break,
            }
        }
    }

    // 3. A whole-audience remainder below k takes in the smallest classes.
    let top = Class::audience();
    let sizes = class_sizes(classes.iter());
    let mut at_top = sizes.get(&top).copied().unwrap_or(0);
    if at_top > 0 && at_top < k {
        let mut others: Vec<(usize, Class)> = sizes
            .iter()
            .filter(|(c, _)| **c != top)
            .map(|(c, n)| (*n, c.clone()))
            .collect();
        others.sort();
        let mut joining: BTreeSet<Class> = BTreeSet::new();
        for (n, class) in others {
            if at_top >= k {
                break;
            }
            at_top += n;
            joining.insert(class);
        }
        for c in classes.iter_mut().filter(|c| joining.contains(*c)) {
            *c = top.clone();
        }
    }
    classes
}

fn class_sizes<'a>(classes: impl Iterator<Item = &'a Class>) -> HashMap<Class, usize> {
    let mut sizes: HashMap<Class, usize> = HashMap::new();
    for c in classes {
        *sizes.entry(c.clone()).or_default() += 1;
    }
    sizes
}

/// The department tree with every department's depth; a parent link that would close a
/// cycle (which the roster import refuses) or leads outside the tree is treated as
/// absent, so rolling up ends, and only at departments that exist.
struct Tree {
    parent: HashMap<i64, Option<i64>>,
    depth: HashMap<i64, usize>,
}

impl Tree {
    fn new(parent_of: &HashMap<i64, Option<i64>>) -> Tree {
        let mut parent: HashMap<i64, Option<i64>> = HashMap::new();
        let mut depth: HashMap<i64, usize> = HashMap::new();
        let mut ids: Vec<i64> = parent_of.keys().copied().collect();
        ids.sort_unstable();
        for start in ids {
            // The chain up from `start` to a known depth, a top-level department or a
            // repeat (a cycle, cut at the repeat).
            let mut chain = vec![start];
            let mut seen: BTreeSet<i64> = BTreeSet::from([start]);
            let mut base = 0;
            while let Some(&current) = chain.last() {
                if let Some(&d) = depth.get(&current) {
                    chain.pop();
                    base = d + 1;
                    break;
                }
                match parent_of.get(&current).copied().flatten() {
                    Some(up) if parent_of.contains_key(&up) && !seen.contains(&up) => {
                        seen.insert(up);
                        chain.push(up);
                    }
                    Some(_) | None => {
                        parent.insert(current, None);
                        break;
                    }
                }
            }
            // Assign from the top of the chain down.
            for (i, &d) in chain.iter().rev().enumerate() {
                depth.insert(d, base + i);
                parent
                    .entry(d)
                    .or_insert_with(|| parent_of.get(&d).copied().flatten());
            }
        }
        Tree { parent, depth }
    }

    fn parent(&self, department: i64) -> Option<i64> {
        self.parent.get(&department).copied().flatten()
    }

    fn depth(&self, department: i64) -> usize {
        self.depth.get(&department).copied().unwrap_or(0)
    }
}

/// What [`at_close`] did to a wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Closed {
    /// The wave's responses.
    pub responses: usize,
    /// Responses whose department or dimensions changed.
    pub generalised: usize,
    /// `wave_participation` rows written now (0 when an earlier run wrote them).
    pub participation_rows: usize,
}

/// Responses updated per statement (bound parameters stay far below either backend's
/// limit).
const UPDATE_CHUNK: usize = 500;

/// The last step of closing a wave (`waves::lifecycle::close`, `responses import`),
/// after its final figures are made: in one transaction, writes `wave_participation`
/// from the invitations' answered marks and erases the marks, then generalises the
/// wave's responses ([`generalise`]), dropping any stored attribute `report_by` does not
/// declare.
///
/// Safe to run again (the scheduler finishes waves whose closing stopped before this
/// step): the counts are written once, while the marks are there; generalising
/// generalised responses changes nothing.
pub fn at_close(conn: &mut Conn, wave_id: i64, definition: &Definition) -> Result<Closed, DbError> {
    conn.transaction(|conn| within(conn, wave_id, definition))
}

/// [`at_close`]'s transaction.
fn within(conn: &mut Conn, wave_id: i64, definition: &Definition) -> Result<Closed, DbError> {
    #[cfg(feature = "postgres")]
    if let Conn::Postgres(c) = conn {
        // Two processes finishing one wave queue here rather than interleave.
        diesel::sql_query("SELECT id FROM waves WHERE id = $1 FOR UPDATE")
            .bind::<BigInt, _>(wave_id)
            .execute(&mut **c)?;
    }
    let participation_rows = participation(conn, wave_id)?;

    let tree: HashMap<i64, Option<i64>> = crate::with_conn!(*conn, c => departments::table
        .select((departments::id, departments::parent_id))
        .load::<(i64, Option<i64>)>(c))?
    .into_iter()
    .collect();
    let rows: Vec<(String, Option<i64>, String)> = crate::with_conn!(*conn, c => responses::table
        .filter(responses::wave_id.eq(wave_id))
        .select((responses::id, responses::department_id, responses::attributes))
        .order(responses::id)
        .load(c))?;
    let before: Vec<Class> = rows
        .iter()
        .map(|(_, department, attributes)| {
            Class::new(*department, declared(&definition.report_by, attributes))
        })
        .collect();
    let after = generalise(&tree, &before, definition.min_group_size);

    // Rows to rewrite, by their new (department, attributes): a statement per class.
    let mut changes: BTreeMap<(Option<i64>, String), Vec<&str>> = BTreeMap::new();
    for ((id, department, attributes), class) in rows.iter().zip(&after) {
        let stored = super::dimensions::to_json(&class.dimensions);
        if class.department != *department || stored != *attributes {
            changes
                .entry((class.department, stored))
                .or_default()
                .push(id.as_str());
        }
    }
    let mut generalised = 0;
    for ((department, attributes), ids) in &changes {
        for chunk in ids.chunks(UPDATE_CHUNK) {
            generalised += crate::with_conn!(*conn, c => diesel::update(
                responses::table.filter(responses::id.eq_any(chunk)),
            )
            .set((
                responses::department_id.eq(*department),
                responses::attributes.eq(attributes),
            ))
            .execute(c))?;
        }
    }
    Ok(Closed {
        responses: rows.len(),
        generalised,
        participation_rows,
    })
}

/// The stored attributes of a response reduced to the dimensions `report_by` declares
/// (responses stored before `report_by` existed kept every roster column). Attributes
/// that can't be read keep nothing.
fn declared(report_by: &ReportBy, attributes: &str) -> Dimensions {
    let stored: Dimensions = serde_json::from_str(attributes).unwrap_or_default();
    stored
        .into_iter()
        .filter(|(name, _)| report_by.declares(name))
        .collect()
}

/// Writes the wave's invited and answered counts per department, once, and erases the
/// invitations' answered marks. A wave without invitations (an import) counts its
/// responses per department, with nobody known to be invited. Returns the rows written.
fn participation(conn: &mut Conn, wave_id: i64) -> Result<usize, DbError> {
    let written: i64 = crate::with_conn!(*conn, c => wave_participation::table
        .filter(wave_participation::wave_id.eq(wave_id))
        .count()
        .get_result(c))?;
    let mut inserted = 0;
    if written == 0 {
        let mut counts: Vec<(i64, i64, i64)> = crate::with_conn!(*conn, c => invitations::table
            .filter(invitations::wave_id.eq(wave_id))
            .group_by(invitations::department_id)
            .select((
                invitations::department_id,
                diesel::dsl::count_star(),
                diesel::dsl::count(invitations::responded_on),
            ))
            .load(c))?;
        if counts.is_empty() {
            let answered: Vec<(Option<i64>, i64)> = crate::with_conn!(*conn, c => responses::table
                .filter(responses::wave_id.eq(wave_id))
                .group_by(responses::department_id)
                .select((responses::department_id, diesel::dsl::count_star()))
                .load(c))?;
            counts = answered
                .into_iter()
                .filter_map(|(department, n)| department.map(|d| (d, 0, n)))
                .collect();
        }
        let rows: Vec<_> = counts
            .iter()
            .map(|(department, invited, answered)| {
                (
                    wave_participation::wave_id.eq(wave_id),
                    wave_participation::department_id.eq(*department),
                    wave_participation::invited.eq(*invited),
                    wave_participation::answered.eq(*answered),
                )
            })
            .collect();
        for chunk in rows.chunks(UPDATE_CHUNK) {
            inserted += crate::with_conn!(*conn, c => diesel::insert_into(wave_participation::table)
                .values(chunk)
                .execute(c))?;
        }
    }
    crate::with_conn!(*conn, c => diesel::update(
        invitations::table
            .filter(invitations::wave_id.eq(wave_id))
            .filter(invitations::responded_on.is_not_null()),
    )
    .set(invitations::responded_on.eq(None::<chrono::NaiveDate>))
    .execute(c))?;
    Ok(inserted)
}

/// Waves closed before `closed_before` whose closing stopped before [`at_close`] (a
/// crash, a failed step, or closed by a version without it): no participation counts
/// yet, but invitations or responses. Each with its definition version.
pub fn unfinished(
    conn: &mut Conn,
    closed_before: chrono::NaiveDateTime,
) -> Result<Vec<(i64, i64)>, DbError> {
    use diesel::dsl::{exists, not};
    Ok(crate::with_conn!(*conn, c => waves::table
        .filter(waves::status.eq("closed"))
        .filter(waves::closed_at.lt(closed_before))
        .filter(not(exists(
            wave_participation::table.filter(wave_participation::wave_id.eq(waves::id)),
        )))
        .filter(
            exists(invitations::table.filter(invitations::wave_id.eq(waves::id)))
                .or(exists(responses::table.filter(responses::wave_id.eq(waves::id)))),
        )
        .order(waves::id)
        .select((waves::id, waves::version_id))
        .load(c))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dims(pairs: &[(&str, &str)]) -> Dimensions {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn class(department: Option<i64>, pairs: &[(&str, &str)]) -> Class {
        Class::new(department, dims(pairs))
    }

    /// `n` copies of a class.
    fn many(n: usize, c: Class) -> Vec<Class> {
        vec![c; n]
    }

    /// Company 1 with divisions 2 and 3; team 4 under division 2.
    fn tree() -> HashMap<i64, Option<i64>> {
        HashMap::from([(1, None), (2, Some(1)), (3, Some(1)), (4, Some(2))])
    }

    fn sizes(classes: &[Class]) -> BTreeMap<Class, usize> {
        let mut out = BTreeMap::new();
        for c in classes {
            *out.entry(c.clone()).or_default() += 1;
        }
        out
    }

    #[test]
    fn classes_at_the_threshold_stay_as_they_are() {
        let mut responses = many(3, class(Some(2), &[("location", "Berlin")]));
        responses.extend(many(3, class(Some(3), &[])));
        assert_eq!(generalise(&tree(), &responses, 3), responses);
    }

    #[test]
    fn a_small_class_loses_its_dimensions_and_joins_its_department() {
        let mut responses = many(3, class(Some(2), &[("location", "Berlin")]));
        responses.extend(many(2, class(Some(2), &[("location", "Lyon")])));
        responses.extend(many(1, class(Some(2), &[])));
        let after = generalise(&tree(), &responses, 3);
        assert_eq!(
            sizes(&after),
            BTreeMap::from([
                (class(Some(2), &[("location", "Berlin")]), 3),
                (class(Some(2), &[]), 3),
            ])
        );
    }

    #[test]
    fn small_remainders_roll_up_the_tree_and_merge() {
        // Team 4 (2 plain) into division 2 (1 plain): 3, enough there.
        let mut responses = many(2, class(Some(4), &[]));
        responses.extend(many(1, class(Some(2), &[])));
        responses.extend(many(4, class(Some(3), &[])));
        let after = generalise(&tree(), &responses, 3);
        assert_eq!(
            sizes(&after),
            BTreeMap::from([(class(Some(2), &[]), 3), (class(Some(3), &[]), 4)])
        );
        // With 1 in team 4 and 1 in division 2, both go on to the company.
        let mut responses = many(1, class(Some(4), &[]));
        responses.extend(many(1, class(Some(2), &[])));
        responses.extend(many(1, class(Some(1), &[])));
        responses.extend(many(4, class(Some(3), &[])));
        let after = generalise(&tree(), &responses, 3);
        assert_eq!(
            sizes(&after),
            BTreeMap::from([(class(Some(1), &[]), 3), (class(Some(3), &[]), 4)])
        );
    }

    #[test]
    fn a_kept_class_stays_while_its_departments_remainder_rolls_up() {
        let mut responses = many(3, class(Some(4), &[("contract", "permanent")]));
        responses.extend(many(1, class(Some(4), &[])));
        responses.extend(many(2, class(Some(2), &[])));
        let after = generalise(&tree(), &responses, 3);
        assert_eq!(
            sizes(&after),
            BTreeMap::from([
                (class(Some(4), &[("contract", "permanent")]), 3),
                (class(Some(2), &[]), 3),
            ])
        );
    }

    #[test]
    fn from_the_top_they_go_to_the_whole_audience() {
        let flat = HashMap::from([(1, None), (2, None), (3, None)]);
        let mut responses = many(5, class(Some(1), &[]));
        responses.extend(many(2, class(Some(2), &[])));
        responses.extend(many(1, class(Some(3), &[("location", "Lyon")])));
        let after = generalise(&flat, &responses, 3);
        assert_eq!(
            sizes(&after),
            BTreeMap::from([(class(Some(1), &[]), 5), (Class::audience(), 3)])
        );
    }

    #[test]
    fn a_top_remainder_below_the_threshold_takes_in_the_smallest_classes() {
        let flat = HashMap::from([(1, None), (2, None), (3, None)]);
        let mut responses = many(6, class(Some(1), &[]));
        responses.extend(many(4, class(Some(2), &[])));
        responses.extend(many(1, class(Some(3), &[])));
        let after = generalise(&flat, &responses, 3);
        assert_eq!(
            sizes(&after),
            BTreeMap::from([(class(Some(1), &[]), 6), (Class::audience(), 5)])
        );
    }

    #[test]
    fn a_wave_below_the_threshold_is_one_class() {
        let responses = vec![
            class(Some(4), &[("location", "Berlin")]),
            class(Some(3), &[]),
        ];
        assert_eq!(
            generalise(&tree(), &responses, 3),
            vec![Class::audience(); 2]
        );
        assert!(generalise(&tree(), &[], 3).is_empty());
    }

    #[test]
    fn unknown_departments_and_cycles_count_as_top_level() {
        let odd = HashMap::from([(1, Some(2)), (2, Some(1)), (3, Some(99))]);
        let mut responses = many(1, class(Some(1), &[]));
        responses.extend(many(1, class(Some(3), &[])));
        responses.extend(many(1, class(Some(7), &[])));
        responses.extend(many(3, class(Some(2), &[])));
        let after = generalise(&odd, &responses, 3);
        for (c, n) in sizes(&after) {
            assert!(n >= 3, "{c:?} has {n}");
        }
    }

    /// A random tree of up to 12 departments (each parent earlier in the list, or none)
    /// and up to 80 responses over them, with up to two dimensions of two values.
    fn wave() -> impl Strategy<Value = (HashMap<i64, Option<i64>>, Vec<Class>, u32)> {
        (1usize..12)
            .prop_flat_map(|n| {
                let parents = (0..n)
                    .map(|i| proptest::option::weighted(0.8, 0..(i.max(1) as i64)))
                    .collect::<Vec<_>>();
                let responses = proptest::collection::vec(
                    (
                        proptest::option::weighted(0.95, 0..n as i64),
                        proptest::option::of(0..2u8),
                        proptest::option::of(0..2u8),
                    ),
                    0..80,
                );
                (parents, responses, 3u32..7)
            })
            .prop_map(|(parents, responses, k)| {
                let tree: HashMap<i64, Option<i64>> = parents
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| (i as i64, p.filter(|&p| p < i as i64)))
                    .collect();
                let responses = responses
                    .into_iter()
                    .map(|(d, a, b)| {
                        let mut dimensions = Dimensions::new();
                        if let Some(a) = a {
                            dimensions.insert("location".into(), format!("L{a}"));
                        }
                        if let Some(b) = b {
                            dimensions.insert("contract".into(), format!("C{b}"));
                        }
                        Class::new(d, dimensions)
                    })
                    .collect();
                (tree, responses, k)
            })
    }

    fn is_ancestor_or_self(
        tree: &HashMap<i64, Option<i64>>,
        ancestor: Option<i64>,
        of: Option<i64>,
    ) -> bool {
        let Some(ancestor) = ancestor else {
            return true;
        };
        let mut current = of;
        while let Some(d) = current {
            if d == ancestor {
                return true;
            }
            current = tree.get(&d).copied().flatten();
        }
        false
    }

    proptest! {
        #[test]
        fn every_class_reaches_the_threshold((tree, responses, k) in wave()) {
            let after = generalise(&tree, &responses, k);
            prop_assert_eq!(after.len(), responses.len());
            let k = k as usize;
            if responses.len() < k {
                prop_assert!(after.iter().all(|c| *c == Class::audience()));
            } else {
                for (c, n) in sizes(&after) {
                    prop_assert!(n >= k, "{:?} has {} < {}", c, n, k);
                }
            }
            for (before, after) in responses.iter().zip(&after) {
                // Only ever coarser: an ancestor (or the audience), and the same
                // dimensions or none.
                prop_assert!(is_ancestor_or_self(&tree, after.department, before.department));
                prop_assert!(after.dimensions.is_empty() || after.dimensions == before.dimensions);
            }
            // Generalising again changes nothing.
            prop_assert_eq!(generalise(&tree, &after, k as u32), after);
        }
    }
}
