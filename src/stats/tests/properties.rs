//! Properties over random tallies and random org trees.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::stats::trend::{mean_change, nps_change, proportion_change, Proportion};
use crate::stats::{
    correlation, nps_summary, plan, scale_summary, ChoiceCounts, Confidence, Group, OrgUnit,
    PairSums, Scale, Threshold, ValueCounts,
};

fn tallies(min: u8, counts: &[u64]) -> ValueCounts {
    let mut tallies = ValueCounts::new(min, min + counts.len() as u8 - 1).unwrap();
    for (value, count) in (min..).zip(counts) {
        tallies.add_count(value, *count).unwrap();
    }
    tallies
}

fn scale_tallies() -> impl Strategy<Value = (u8, Vec<u64>)> {
    (2u8..=11).prop_flat_map(|k| (Just(k), vec(0u64..40, usize::from(k))))
}

/// No regression files: they would land outside this module's folder.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn defined(x: Option<f64>) -> bool {
    x.is_none_or(f64::is_finite)
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn scale_intervals_contain_their_estimate((k, counts) in scale_tallies(), level in 0.5f64..0.999) {
        let scale = Scale::likert(k, None).unwrap();
        let confidence = Confidence::new(level).unwrap();
        let summary = scale_summary(&tallies(1, &counts), &scale, confidence).unwrap();
        if let (Some(ci), Some(mean)) = (summary.mean_ci, summary.mean) {
            prop_assert!(ci.contains(mean), "{ci:?} {mean}");
        }
        if let (Some(ci), Some(share)) = (summary.favorable_ci, summary.favorable) {
            prop_assert!(ci.contains(share) && 0.0 <= ci.lo && ci.hi <= 1.0, "{ci:?} {share}");
        }
        if let Some(index) = summary.index {
            prop_assert!((-1e-9..=100.0 + 1e-9).contains(&index));
        }
        prop_assert!(defined(summary.mean) && defined(summary.sd) && defined(summary.index));
    }

    #[test]
    fn enps_lies_in_its_range_and_interval(counts in vec(0u64..40, 11)) {
        let summary = nps_summary(&tallies(0, &counts), Confidence::default()).unwrap();
        prop_assert_eq!(summary.promoters + summary.passives + summary.detractors, summary.n);
        if let (Some(enps), Some(ci)) = (summary.enps, summary.enps_ci) {
            prop_assert!((-100.0..=100.0).contains(&enps));
            prop_assert!(ci.contains(enps) && ci.lo.is_finite() && ci.hi.is_finite());
        } else {
            prop_assert_eq!(summary.n, 0);
        }
    }

    #[test]
    fn trend_tests_give_probabilities_never_nan(
        a in vec(0u64..6, 11), b in vec(0u64..6, 11), shown in any::<bool>(),
    ) {
        let (a, b) = (tallies(0, &a), tallies(0, &b));
        let changes = [
            mean_change(&a, &b, shown).unwrap(),
            nps_change(Some(&a), Some(&b), shown).unwrap().unwrap(),
            proportion_change(
                Proportion { successes: a.count(10), n: a.n() },
                Proportion { successes: b.count(10), n: b.n() },
                shown,
            ),
        ];
        for change in changes {
            prop_assert!(defined(change.delta));
            prop_assert!(change.p_value.is_none_or(|p| (0.0..=1.0).contains(&p)));
            prop_assert!(!change.significant || (shown && change.p_value.is_some()));
        }
    }

    #[test]
    fn correlations_are_bounded(pairs in vec((1u8..=5, 0u8..=10), 0..60)) {
        let mut sums = PairSums::default();
        for (x, y) in &pairs {
            sums.add(*x, *y);
        }
        match correlation(&sums) {
            None => prop_assert!(pairs.len() < 20),
            Some(c) => {
                prop_assert_eq!(c.n, pairs.len() as u64);
                prop_assert!(c.r.is_none_or(|r| (-1.0..=1.0).contains(&r)));
                prop_assert!(c.p_value.is_none_or(|p| (0.0..=1.0).contains(&p)));
                prop_assert_eq!(c.r.is_some(), c.p_value.is_some());
            }
        }
    }

    #[test]
    fn adding_a_respondent_never_lowers_n(
        answers in vec(1u8..=5, 0..30), one in 1u8..=5,
        chosen in vec(vec(0usize..4, 0..4), 0..20), more in vec(0usize..4, 0..4),
    ) {
        let mut counts = ValueCounts::new(1, 5).unwrap();
        for value in &answers {
            counts.add(*value).unwrap();
        }
        let before = counts.n();
        counts.add(one).unwrap();
        prop_assert_eq!(counts.n(), before + 1);

        let mut choices = ChoiceCounts::new(4, true).unwrap();
        for answer in &chosen {
            choices.add(answer).unwrap();
        }
        let before = choices.respondents();
        choices.add(&more).unwrap();
        prop_assert!(choices.respondents() >= before);
        prop_assert_eq!(choices.respondents() - before, u64::from(!more.is_empty()));
    }

    #[test]
    fn merging_counts_equals_counting_the_union(
        left in vec((1u8..=7, 0u8..=10, vec(0usize..5, 0..4)), 0..30),
        right in vec((1u8..=7, 0u8..=10, vec(0usize..5, 0..4)), 0..30),
    ) {
        let count = |answers: &[(u8, u8, Vec<usize>)]| {
            let mut values = ValueCounts::new(1, 7).unwrap();
            let mut choices = ChoiceCounts::new(5, true).unwrap();
            let mut pairs = PairSums::default();
            for (x, y, chosen) in answers {
                values.add(*x).unwrap();
                choices.add(chosen).unwrap();
                pairs.add(*x, *y);
            }
            (values, choices, pairs)
        };
        let (mut values, mut choices, mut pairs) = count(&left);
        let (v, c, p) = count(&right);
        values.merge(&v).unwrap();
        choices.merge(&c).unwrap();
        pairs.merge(&p);
        let union: Vec<_> = left.iter().chain(&right).cloned().collect();
        prop_assert_eq!((values, choices, pairs), count(&union));
    }
}

// ---------------------------------------------------------------- differencing attacks

/// Parent pick, direct respondents, and two items' answer shares in percent.
type Department = (Index, u64, u64, u64);

/// A random org: per department its parent (a department listed before it, at depth at
/// most 4, or none), direct respondents, and the share of them answering two items.
fn org() -> impl Strategy<Value = (Vec<Department>, u64, u64)> {
    let respondents = prop_oneof![0u64..3, 0u64..12, 5u64..30];
    (
        vec(
            (any::<Index>(), respondents, 0u64..=100, 0u64..=100),
            1..=15,
        ),
        3u64..=6,
        0u64..=8,
    )
}

/// Node 0 is the whole audience, node i + 1 department i.
struct Tree {
    parent: Vec<Option<usize>>,
}

impl Tree {
    fn contains(&self, ancestor: usize, mut node: usize) -> bool {
        loop {
            if node == ancestor {
                return true;
            }
            match self.parent[node] {
                Some(up) => node = up,
                None => return false,
            }
        }
    }

    /// Bit c set when node c has direct members and lies in `node`'s subtree.
    fn cells(&self, node: usize, direct: &[u64]) -> u32 {
        (0..direct.len())
            .filter(|&c| direct[c] > 0 && self.contains(node, c))
            .fold(0, |mask, c| mask | 1 << c)
    }
}

fn count(mask: u32, direct: &[u64]) -> u64 {
    (0..direct.len())
        .filter(|c| mask & (1 << c) != 0)
        .map(|c| direct[c])
        .sum()
}

/// Everything an attacker who sees the shown groups' figures and knows the tree can
/// isolate, checked three ways; returns what leaked.
fn leaks(tree: &Tree, direct: &[u64], shown: &[bool], threshold: u64) -> Vec<String> {
    let nodes = direct.len();
    let mut found = Vec::new();
    let small = |n: u64| n > 0 && n < threshold;
    let total = |node: usize| count(tree.cells(node, direct), direct);

    // The plan's own promises: shown groups reach the threshold and have shown parents.
    for node in (0..nodes).filter(|&n| shown[n]) {
        if total(node) < threshold {
            found.push(format!("node {node} shown with {}", total(node)));
        }
        if tree.parent[node].is_some_and(|up| !shown[up]) {
            found.push(format!("node {node} shown under a hidden parent"));
        }
    }

    // 1. Parent minus any combination of its nearest shown descendants (its shown children,
    //    and shown groups below its hidden children), for every shown parent.
    for parent in (0..nodes).filter(|&n| shown[n]) {
        let nearest: Vec<usize> = (0..nodes)
            .filter(|&d| d != parent && shown[d] && tree.contains(parent, d))
            .filter(|&d| {
                let mut up = tree.parent[d];
                while let Some(u) = up {
                    if u == parent {
                        return true;
                    }
                    if shown[u] {
                        return false;
                    }
                    up = tree.parent[u];
                }
                false
            })
            .collect();
        for subset in 0u32..1 << nearest.len() {
            let taken: u64 = (0..nearest.len())
                .filter(|i| subset & (1 << i) != 0)
                .map(|i| total(nearest[i]))
                .sum();
            let rest = total(parent) - taken;
            if small(rest) {
                found.push(format!(
                    "node {parent} minus {subset:b} of {nearest:?} = {rest}"
                ));
            }
        }
    }

    // 2. The finest sets any combination of shown figures can separate: cells that lie in
    //    exactly the same shown groups. Each must hold 0 or at least the threshold.
    let mut classes: std::collections::BTreeMap<u32, u64> = Default::default();
    for cell in (0..nodes).filter(|&c| direct[c] > 0) {
        let signature = (0..nodes)
            .filter(|&g| shown[g] && tree.contains(g, cell))
            .fold(0u32, |mask, g| mask | 1 << g);
        *classes.entry(signature).or_default() += direct[cell];
    }
    for (signature, n) in classes {
        if signature != 0 && small(n) {
            found.push(format!("cells shown in exactly {signature:b} hold {n}"));
        }
    }

    // 3. Linear algebra: no hidden group below the threshold is a linear combination of
    //    shown groups (over the cells that have members).
    let shown_rows: Vec<u32> = (0..nodes)
        .filter(|&n| shown[n])
        .map(|n| tree.cells(n, direct))
        .collect();
    for hidden in (0..nodes).filter(|&n| !shown[n] && small(total(n))) {
        let target = tree.cells(hidden, direct);
        if rank(&shown_rows, None) == rank(&shown_rows, Some(target)) {
            found.push(format!(
                "hidden node {hidden} ({}) is solvable",
                total(hidden)
            ));
        }
    }
    found
}

/// Rank of 0/1 rows (bit masks), optionally with one more row.
fn rank(rows: &[u32], extra: Option<u32>) -> usize {
    let mut matrix: Vec<Vec<f64>> = rows
        .iter()
        .chain(extra.as_ref())
        .map(|mask| (0..32).map(|c| f64::from((mask >> c) & 1)).collect())
        .collect();
    let mut rank = 0;
    for column in 0..32 {
        let Some(pivot) = (rank..matrix.len()).find(|&r| matrix[r][column].abs() > 1e-9) else {
            continue;
        };
        matrix.swap(rank, pivot);
        let pivot_row = matrix[rank].clone();
        for (r, row) in matrix.iter_mut().enumerate() {
            if r != rank {
                let factor = row[column] / pivot_row[column];
                for (x, p) in row.iter_mut().zip(&pivot_row) {
                    *x -= factor * p;
                }
            }
        }
        rank += 1;
    }
    rank
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn no_hidden_count_can_be_derived((departments, min, comment_extra) in org()) {
        let mut depth = vec![0usize];
        let mut parent = vec![None];
        let mut units = Vec::new();
        for (i, (pick, respondents, a, b)) in departments.iter().enumerate() {
            let candidates: Vec<usize> = (0..=i).filter(|&n| depth[n] < 4).collect();
            let up = candidates[pick.index(candidates.len())];
            depth.push(depth[up] + 1);
            parent.push(Some(up));
            units.push(
                OrgUnit::new(i as u32, up.checked_sub(1).map(|p| p as u32), *respondents)
                    .with_answers("q1", respondents * a / 100)
                    .with_answers("q2", respondents * b / 100),
            );
        }
        let threshold = Threshold::new(min, min + comment_extra).unwrap();
        let disclosure = plan(&units, threshold).unwrap();
        let tree = Tree { parent };
        let group = |node: usize| match node {
            0 => Group::Audience,
            n => Group::Department(n as u32 - 1),
        };
        let nodes = units.len() + 1;
        let direct_of = |f: &dyn Fn(&OrgUnit<u32>) -> u64| {
            std::iter::once(0).chain(units.iter().map(f)).collect::<Vec<u64>>()
        };

        let respondents = direct_of(&|u| u.direct_respondents);
        let shown: Vec<bool> = (0..nodes).map(|n| disclosure.group(&group(n), ()).is_shown()).collect();
        let found = leaks(&tree, &respondents, &shown, min);
        prop_assert!(found.is_empty(), "groups: {found:?}");

        let comments: Vec<bool> =
            (0..nodes).map(|n| disclosure.comments(&group(n), ()).is_shown()).collect();
        prop_assert!(comments.iter().zip(&shown).all(|(c, s)| !c || *s));
        let found = leaks(&tree, &respondents, &comments, threshold.min_comment_group_size());
        prop_assert!(found.is_empty(), "comments: {found:?}");

        for item in ["q1", "q2"] {
            let answers = direct_of(&|u| u.direct_answers[item]);
            let shown_item: Vec<bool> =
                (0..nodes).map(|n| disclosure.item(&group(n), item, ()).is_shown()).collect();
            prop_assert!(shown_item.iter().zip(&shown).all(|(i, s)| !i || *s));
            let found = leaks(&tree, &answers, &shown_item, min);
            prop_assert!(found.is_empty(), "{item}: {found:?}");
        }
    }
}

/// The attack finds what a naive rule (hide only small groups) leaks, so its silence above
/// means something.
#[test]
fn the_attack_catches_a_naive_plan() {
    // Audience → Sales (20), IT (12), Legal (3): Legal = audience - Sales - IT.
    let tree = Tree {
        parent: vec![None, Some(0), Some(0), Some(0)],
    };
    let direct = [0, 20, 12, 3];
    let naive = [true, true, true, false];
    let found = leaks(&tree, &direct, &naive, 5);
    assert_eq!(found.len(), 3, "{found:?}");
}
