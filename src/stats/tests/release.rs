//! Releases over time: which groups update, and that no two shown sets of respondents
//! ever differ by fewer than the threshold.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use crate::stats::{plan, release, Group, OrgUnit, ReleaseRequest, ReleaseState, Threshold};

/// A simulated wave: each respondent's department, and the item they answered or not.
#[derive(Debug)]
struct Wave {
    /// (department, parent)
    tree: Vec<(u32, Option<u32>)>,
    invited: BTreeMap<u32, u64>,
    /// (department, answered the item), in order of arrival.
    arrivals: Vec<(u32, bool)>,
}

impl Wave {
    fn subtree(&self, root: u32) -> BTreeSet<u32> {
        let mut out = BTreeSet::from([root]);
        loop {
            let more: Vec<u32> = self
                .tree
                .iter()
                .filter(|(d, p)| p.is_some_and(|p| out.contains(&p)) && !out.contains(d))
                .map(|(d, _)| *d)
                .collect();
            if more.is_empty() {
                return out;
            }
            out.extend(more);
        }
    }

    fn units(&self, arrived: usize) -> Vec<OrgUnit<u32>> {
        self.tree
            .iter()
            .map(|&(d, parent)| {
                let mine = self.arrivals[..arrived].iter().filter(|(a, _)| *a == d);
                let answered = mine.clone().filter(|(_, item)| *item).count() as u64;
                OrgUnit::new(d, parent, mine.count() as u64).with_answers("q", answered)
            })
            .collect()
    }

    /// The respondents (arrival indices) of a group among the first `arrived`; `item`:
    /// only those who answered the item.
    fn members(&self, group: &Group<u32>, arrived: usize, item: bool) -> BTreeSet<usize> {
        let departments = match group {
            Group::Audience => self.tree.iter().map(|(d, _)| *d).collect(),
            Group::Department(d) => self.subtree(*d),
        };
        (0..arrived)
            .filter(|&i| departments.contains(&self.arrivals[i].0) && (!item || self.arrivals[i].1))
            .collect()
    }

    fn groups(&self) -> Vec<Group<u32>> {
        std::iter::once(Group::Audience)
            .chain(self.tree.iter().map(|(d, _)| Group::Department(*d)))
            .collect()
    }

    /// Makes a release after each cut (the last one final) and returns every release.
    fn releases(&self, cuts: &[usize], threshold: Threshold) -> Vec<ReleaseState<u32>> {
        let mut states: Vec<ReleaseState<u32>> = Vec::new();
        for (i, &cut) in cuts.iter().enumerate() {
            let units = self.units(cut);
            let request = ReleaseRequest {
                units: &units,
                invited: &self.invited,
                threshold,
                is_final: i + 1 == cuts.len(),
            };
            states.push(release(states.last(), &request).unwrap());
        }
        states
    }
}

/// Every set of respondents (or of answers to the item) that some release showed.
fn shown_sets(wave: &Wave, cuts: &[usize], states: &[ReleaseState<u32>]) -> Vec<BTreeSet<usize>> {
    let mut sets = BTreeSet::new();
    for state in states {
        for group in wave.groups() {
            if let Some((seq, n)) = state.group_as_of(&group) {
                let members = wave.members(&group, cuts[seq as usize - 1], false);
                assert_eq!(members.len() as u64, n, "{group:?} as of {seq}");
                sets.insert((0, members));
            }
            if let Some((seq, n)) = state.item_as_of(&group, "q") {
                let members = wave.members(&group, cuts[seq as usize - 1], true);
                assert_eq!(members.len() as u64, n, "item of {group:?} as of {seq}");
                sets.insert((1, members));
            }
        }
    }
    // Respondents and answers are different kinds of counts: each is compared with its own.
    let (groups, items): (Vec<_>, Vec<_>) = sets.into_iter().partition(|(kind, _)| *kind == 0);
    assert_no_small_difference(&groups.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>());
    assert_no_small_difference(&items.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>());
    groups.into_iter().map(|(_, s)| s).collect()
}

fn assert_no_small_difference(sets: &[BTreeSet<usize>]) {
    for a in sets {
        assert!(a.len() >= 5, "a shown set of {}", a.len());
        for b in sets {
            let d = a.difference(b).count();
            assert!(
                d == 0 || d >= 5,
                "two shown sets differ by {d}: {a:?} and {b:?}"
            );
        }
    }
}

fn threshold() -> Threshold {
    Threshold::new(5, 5).unwrap()
}

/// Company (1) over Sales (2) and IT (3); Sales over North (4) and South (5).
fn company(arrivals: Vec<(u32, bool)>) -> Wave {
    Wave {
        tree: vec![
            (1, None),
            (2, Some(1)),
            (3, Some(1)),
            (4, Some(2)),
            (5, Some(2)),
        ],
        invited: BTreeMap::from([(1, 2), (2, 2), (3, 40), (4, 40), (5, 40)]),
        arrivals,
    }
}

fn as_of(state: &ReleaseState<u32>, group: Group<u32>) -> Option<u32> {
    state.group_as_of(&group).map(|(seq, _)| seq)
}

#[test]
fn increments_of_one_three_five_and_twelve_update_only_where_they_form_a_block() {
    use Group::{Audience, Department as D};
    // Release 1: North 12, South 5, IT 5. Release 2: North +1. Release 3: North +3
    // (4 pending). Release 4: South +5, IT +12. Final: nothing new.
    let mut arrivals = Vec::new();
    arrivals.extend(std::iter::repeat_n((4, true), 12));
    arrivals.extend(std::iter::repeat_n((5, true), 5));
    arrivals.extend(std::iter::repeat_n((3, true), 5));
    let first = arrivals.len();
    arrivals.push((4, true));
    let second = arrivals.len();
    arrivals.extend(std::iter::repeat_n((4, true), 3));
    let third = arrivals.len();
    arrivals.extend(std::iter::repeat_n((5, true), 5));
    arrivals.extend(std::iter::repeat_n((3, false), 12));
    let fourth = arrivals.len();
    let wave = company(arrivals);
    let cuts = [first, second, third, fourth, fourth];
    let states = wave.releases(&cuts, threshold());

    // Release 1 shows everything; nothing is pending elsewhere.
    for group in [Audience, D(1), D(2), D(3), D(4), D(5)] {
        assert_eq!(as_of(&states[0], group.clone()), Some(1), "{group:?}");
    }
    // One more in North: nobody updates.
    for group in [Audience, D(1), D(2), D(3), D(4), D(5)] {
        assert_eq!(as_of(&states[1], group.clone()), Some(1), "{group:?}");
    }
    // Three more (four pending in North): still nobody.
    assert_eq!(as_of(&states[2], D(4)), Some(1));
    assert_eq!(as_of(&states[2], Audience), Some(1));
    // South +5 and IT +12 update; Sales would take North's 4 into its block (North could
    // still be shown), so Sales and everything above wait.
    let fourth = &states[3];
    assert_eq!(as_of(fourth, D(5)), Some(4));
    assert_eq!(as_of(fourth, D(3)), Some(4));
    assert_eq!(as_of(fourth, D(4)), Some(1));
    assert_eq!(as_of(fourth, D(2)), Some(1));
    assert_eq!(as_of(fourth, Audience), Some(1));
    // The item: IT's 12 did not answer it, so IT's item keeps release 1.
    assert_eq!(fourth.item_as_of(&D(3), "q").map(|s| s.0), Some(1));
    // The final release: North's 4 alone are too few, and Sales' increment since release
    // 1 is South's block (already shown) plus those 4, so showing Sales would give them
    // away. Everything above North keeps release 1; the 4 are never shown.
    let last = &states[4];
    assert_eq!(as_of(last, D(4)), Some(1));
    assert_eq!(as_of(last, D(2)), Some(1));
    assert_eq!(as_of(last, D(5)), Some(4));
    assert_eq!(last.group_as_of(&Audience), Some((1, 22)));
    assert!(last.is_final());
    shown_sets(&wave, &cuts, &states);
}

#[test]
fn a_final_release_alone_is_the_plan() {
    let mut arrivals = Vec::new();
    for (d, n) in [(1, 2), (2, 1), (3, 12), (4, 7), (5, 3)] {
        arrivals.extend(std::iter::repeat_n((d, true), n));
    }
    let wave = company(arrivals);
    let units = wave.units(wave.arrivals.len());
    let planned = plan(&units, threshold()).unwrap();
    let released = wave.releases(&[wave.arrivals.len()], threshold());
    let decided = released[0].disclosure().unwrap();
    for group in wave.groups() {
        assert_eq!(
            planned.group(&group, ()).suppression(),
            decided.group(&group, ()).suppression(),
            "{group:?}"
        );
        assert_eq!(
            planned.group_report(&group, None, || ()).respondents(),
            decided.group_report(&group, None, || ()).respondents()
        );
        assert_eq!(
            planned.item(&group, "q", ()).is_shown(),
            decided.item(&group, "q", ()).is_shown()
        );
    }
}

#[test]
fn no_release_after_the_final_one() {
    let wave = company(vec![(3, true); 6]);
    let states = wave.releases(&[6], threshold());
    let units = wave.units(6);
    let request = ReleaseRequest {
        units: &units,
        invited: &wave.invited,
        threshold: threshold(),
        is_final: true,
    };
    assert!(release(states.last(), &request).is_err());
}

#[test]
fn a_release_survives_storage() {
    let wave = company(vec![(3, true); 9]);
    let states = wave.releases(&[6, 9], threshold());
    let text = serde_json::to_string(&states[0]).unwrap();
    let back: ReleaseState<u32> = serde_json::from_str(&text).unwrap();
    assert_eq!(back, states[0]);
    // The final release keeps no per-department counts for a next one.
    let last = serde_json::to_string(&states[1]).unwrap();
    assert!(!last.contains("admitted"), "{last}");
}

prop_compose! {
    fn any_wave()(parents in prop::collection::vec(any::<prop::sample::Index>(), 1..9))
        (arrivals in prop::collection::vec((0..parents.len() as u32, prop::bool::weighted(0.8)), 0..120),
         invited in prop::collection::vec(0u64..30, parents.len()),
         parents in Just(parents)) -> Wave {
        // Department i's parent is an earlier department, or none.
        let tree = parents
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u32, (i > 0 && p.index(i + 1) < i).then(|| p.index(i + 1) as u32)))
            .collect();
        Wave {
            tree,
            invited: invited.into_iter().enumerate().map(|(i, n)| (i as u32, n)).collect(),
            arrivals,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the tree, the arrival order and the moments of release, no two sets of
    /// respondents (or of answers) ever shown differ by 1 to 4 (threshold 5).
    #[test]
    fn releases_never_reveal_a_small_difference(
        wave in any_wave(),
        cut_points in prop::collection::vec(0.0f64..1.0, 0..6),
    ) {
        let n = wave.arrivals.len();
        let mut cuts: Vec<usize> = cut_points.iter().map(|f| (f * n as f64) as usize).collect();
        cuts.sort_unstable();
        cuts.push(n);
        let states = wave.releases(&cuts, threshold());
        shown_sets(&wave, &cuts, &states);
        // A wave released once, at close, shows exactly what the plan shows.
        let once = wave.releases(&[n], threshold());
        let planned = plan(&wave.units(n), threshold()).unwrap();
        let decided = once[0].disclosure().unwrap();
        for group in wave.groups() {
            prop_assert_eq!(planned.group(&group, ()).suppression(), decided.group(&group, ()).suppression());
            prop_assert_eq!(planned.item(&group, "q", ()).is_shown(), decided.item(&group, "q", ()).is_shown());
            prop_assert_eq!(planned.comments(&group, ()).is_shown(), decided.comments(&group, ()).is_shown());
        }
        // And within each release, a shown group minus its shown children holds 0 or at
        // least the threshold (the tree rule, over sets as of their own releases).
        for state in &states {
            for group in wave.groups() {
                let Some((seq, _)) = state.group_as_of(&group) else { continue };
                let mut rest = wave.members(&group, cuts[seq as usize - 1], false);
                let children: Vec<u32> = match &group {
                    Group::Audience => wave.tree.iter().filter(|(_, p)| p.is_none()).map(|(d, _)| *d).collect(),
                    Group::Department(g) => wave.tree.iter().filter(|(_, p)| *p == Some(*g)).map(|(d, _)| *d).collect(),
                };
                for child in children {
                    let child = Group::Department(child);
                    if let Some((child_seq, _)) = state.group_as_of(&child) {
                        for m in wave.members(&child, cuts[child_seq as usize - 1], false) {
                            rest.remove(&m);
                        }
                    }
                }
                prop_assert!(rest.is_empty() || rest.len() >= 5, "{group:?} less its children: {}", rest.len());
            }
        }
    }
}
