//! Releases: a wave's figures shown in steps that can't be subtracted from each other.
//!
//! A release is a frozen decision about what a wave shows; views read the latest release
//! and never count. A wave released once, when it closes, shows exactly what [`plan`]
//! allows over all its respondents. A wave with interim releases shows, in each release,
//! new figures for a group (a question in it, a service, its comments) only where the
//! respondents who joined it since its figures last changed form, by themselves, a block
//! the anonymity plan would show: zero, or at least the threshold, with the
//! no-differencing rule applied to those increments over the department tree. Otherwise
//! the group keeps the figures of the release they come from ("as of").
//!
//! Why it holds: every figure ever shown is computed over a union of *blocks*, disjoint
//! sets of respondents each holding 0 or at least the threshold. Each release cuts the
//! respondents not yet in a block (the *pending* ones) into new blocks: the pending
//! respondents of an updating group that are not inside an updating subgroup are one
//! block, its *remainder*, which must be 0 or at least the threshold. However shown figures
//! are added and subtracted, across groups and across releases, what they isolate is a
//! union of whole blocks, never fewer than the threshold's worth of people.
//!
//! The price: pending respondents of a group that does not update, taken into the remainder
//! of an updating ancestor, can never show in that group again (its later figures would
//! split the ancestor's block), so the group is *frozen*: it keeps the figures it had, in
//! the final release too. An interim release therefore only lets a group update when the
//! remainder it takes holds nobody from a group that could still be shown (only from
//! groups with fewer invitees than the threshold, or already frozen); the final release
//! takes every remainder, as [`plan`] does.
//!
//! [`plan`]: super::plan

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::suppression::{Disclosure, Group, OrgUnit, SuppressionReason, Threshold, Tree};
use super::StatsError;

/// A release's number within its wave: 1, 2, ...
pub type Seq = u32;

/// What one kind of count (the respondents of groups, the answers to one item, the
/// respondents for comments) has shown so far, per department.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Ord",
    deserialize = "K: DeserializeOwned + Ord"
))]
struct Track<K: Ord> {
    /// Direct respondents (or answers) of each department already inside a block. Only
    /// kept while further releases may follow.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    admitted: BTreeMap<K, u64>,
    /// Groups shown: the release their figures come from, and how many they cover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audience: Option<(Seq, u64)>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    shown: BTreeMap<K, (Seq, u64)>,
    /// Groups whose later respondents went into an ancestor's block: never updated again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    frozen: Vec<K>,
    /// Groups not shown although they hold at least the threshold (held back by the
    /// no-differencing rule), to say so rather than "fewer than N".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    held: Vec<K>,
}

impl<K: Ord> Default for Track<K> {
    fn default() -> Self {
        Track {
            admitted: BTreeMap::new(),
            audience: None,
            shown: BTreeMap::new(),
            frozen: Vec::new(),
            held: Vec::new(),
        }
    }
}

/// The decisions of a wave's latest release, and what the next release needs of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize + Ord",
    deserialize = "K: DeserializeOwned + Ord"
))]
pub struct ReleaseState<K: Ord> {
    seq: Seq,
    is_final: bool,
    threshold: Threshold,
    /// The department tree of the wave's first release, kept for every later one: a
    /// roster change while the wave is open must not move respondents between blocks.
    tree: Vec<(K, Option<K>)>,
    groups: Track<K>,
    comments: Track<K>,
    items: BTreeMap<String, Track<K>>,
}

/// What a release is made from: the wave's counts as they stand.
pub struct ReleaseRequest<'a, K> {
    /// Every department with its direct respondents and answers per item, as in [`plan`].
    ///
    /// [`plan`]: super::plan
    pub units: &'a [OrgUnit<K>],
    /// Direct invitees per department: a group with fewer than a threshold can never be
    /// shown, so an interim release may take its respondents into an ancestor's block.
    pub invited: &'a BTreeMap<K, u64>,
    pub threshold: Threshold,
    /// The wave's last release: every remainder is taken.
    pub is_final: bool,
}

/// One kind of count over the nodes of the tree (node 0: the whole audience).
struct NodeTrack {
    admitted: Vec<u64>,
    shown: Vec<Option<(Seq, u64)>>,
    frozen: Vec<bool>,
    held: Vec<bool>,
}

/// Makes the next release of a wave: `previous` is the state of its latest one.
pub fn release<K: Ord + Clone + Debug>(
    previous: Option<&ReleaseState<K>>,
    request: &ReleaseRequest<'_, K>,
) -> Result<ReleaseState<K>, StatsError> {
    if previous.is_some_and(|p| p.is_final) {
        return Err(StatsError::ReleaseAfterFinal);
    }
    let seq = previous.map_or(1, |p| p.seq + 1);
    let tree_rows = merged_tree(previous, request.units);
    let shape: Vec<OrgUnit<K>> = tree_rows
        .iter()
        .map(|(id, parent)| OrgUnit::new(id.clone(), parent.clone(), 0))
        .collect();
    let tree = Tree::build(&shape)?;
    let threshold = request.threshold;
    let mut respondents = vec![0; tree.len()];
    let mut invited = vec![0; tree.len()];
    let mut answers: BTreeMap<&String, Vec<u64>> = BTreeMap::new();
    for unit in request.units {
        let node = tree.node(&unit.id);
        respondents[node] = unit.direct_respondents;
        invited[node] = request
            .invited
            .get(&unit.id)
            .copied()
            .unwrap_or(0)
            .max(unit.direct_respondents);
        for (item, &n) in &unit.direct_answers {
            if n > unit.direct_respondents {
                return Err(StatsError::AnswersExceedRespondents {
                    department: format!("{:?}", unit.id),
                    item: item.clone(),
                    answers: n,
                    respondents: unit.direct_respondents,
                });
            }
            answers.entry(item).or_insert_with(|| vec![0; tree.len()])[node] = n;
        }
    }
    let invited_totals = tree.subtree_totals(&invited);
    let hopeless = |min: u64| -> Vec<bool> { invited_totals.iter().map(|&n| n < min).collect() };
    let everywhere = vec![true; tree.len()];
    let step = |track: Option<&Track<K>>, direct: &[u64], within: &[bool], min: u64| {
        let mut nodes = NodeTrack::from_track(track, &tree);
        advance(
            &tree,
            direct,
            &hopeless(min),
            within,
            min,
            request.is_final,
            seq,
            &mut nodes,
        );
        nodes.into_track(&tree, request.is_final)
    };
    let min = threshold.min_group_size();
    let groups = step(previous.map(|p| &p.groups), &respondents, &everywhere, min);
    // Items and comments change only with their group, so a group's figures never come
    // from a later release than the group itself.
    let groups_updated: Vec<bool> = NodeTrack::from_track(Some(&groups), &tree)
        .shown
        .iter()
        .map(|s| s.is_some_and(|(from, _)| from == seq))
        .collect();
    let comments = step(
        previous.map(|p| &p.comments),
        &respondents,
        &groups_updated,
        threshold.min_comment_group_size(),
    );
    let mut items = BTreeMap::new();
    let item_names: Vec<String> = answers
        .keys()
        .map(|k| (*k).clone())
        .chain(previous.into_iter().flat_map(|p| p.items.keys().cloned()))
        .collect();
    for item in item_names {
        if items.contains_key(&item) {
            continue;
        }
        let zeros = vec![0; tree.len()];
        let direct = answers.get(&item).unwrap_or(&zeros);
        let track = step(
            previous.and_then(|p| p.items.get(&item)),
            direct,
            &groups_updated,
            min,
        );
        items.insert(item, track);
    }
    Ok(ReleaseState {
        seq,
        is_final: request.is_final,
        threshold,
        tree: tree_rows,
        groups,
        comments,
        items,
    })
}

/// The tree of the first release, with departments that appeared since hung under their
/// parent when it is known, else at the top.
fn merged_tree<K: Ord + Clone>(
    previous: Option<&ReleaseState<K>>,
    units: &[OrgUnit<K>],
) -> Vec<(K, Option<K>)> {
    let Some(previous) = previous else {
        return units
            .iter()
            .map(|u| (u.id.clone(), u.parent.clone()))
            .collect();
    };
    let mut rows = previous.tree.clone();
    let known: std::collections::BTreeSet<K> = rows.iter().map(|(id, _)| id.clone()).collect();
    let all: std::collections::BTreeSet<K> = known
        .iter()
        .cloned()
        .chain(units.iter().map(|u| u.id.clone()))
        .collect();
    for unit in units.iter().filter(|u| !known.contains(&u.id)) {
        let parent = unit.parent.clone().filter(|p| all.contains(p));
        rows.push((unit.id.clone(), parent));
    }
    rows
}

/// Decides one kind of count for one release: which groups update, what goes into
/// blocks, who is frozen. See the module documentation.
#[allow(clippy::too_many_arguments)]
fn advance<K>(
    tree: &Tree<K>,
    direct: &[u64],
    hopeless: &[bool],
    within: &[bool],
    threshold: u64,
    is_final: bool,
    seq: Seq,
    track: &mut NodeTrack,
) {
    let n = tree.len();
    let pending: Vec<u64> = (0..n)
        .map(|i| direct[i].saturating_sub(track.admitted[i]))
        .collect();
    let pending_total = tree.subtree_totals(&pending);
    let totals = tree.subtree_totals(direct);
    let mut updating = vec![false; n];
    // Pending respondents of a node's subtree outside updating groups.
    let mut uncovered = vec![0u64; n];
    // Whether an interim release may take the node's uncovered respondents into an
    // ancestor's block (they can never be shown in it anyway).
    let mut absorbable = vec![true; n];
    for &node in tree.top_down.iter().rev() {
        let children = &tree.children[node];
        let mut remainder = children
            .iter()
            .filter(|&&c| !updating[c])
            .fold(pending[node], |sum, &c| sum.saturating_add(uncovered[c]));
        let mut update = !track.frozen[node] && within[node] && pending_total[node] >= threshold;
        if update && is_final {
            // As the plan does: the smallest updating child joins the remainder until it
            // is large enough.
            while remainder > 0 && remainder < threshold {
                let smallest = children
                    .iter()
                    .copied()
                    .filter(|&c| updating[c])
                    .min_by_key(|&c| pending_total[c]);
                let Some(child) = smallest else { break };
                let mut stack = vec![child];
                while let Some(x) = stack.pop() {
                    updating[x] = false;
                    uncovered[x] = pending_total[x];
                    stack.extend(&tree.children[x]);
                }
                remainder = remainder.saturating_add(pending_total[child]);
            }
            update = remainder == 0 || remainder >= threshold;
        } else if update {
            update = (remainder == 0 || remainder >= threshold)
                && children.iter().all(|&c| updating[c] || absorbable[c]);
        }
        updating[node] = update;
        uncovered[node] = remainder;
        absorbable[node] = remainder == 0
            || ((hopeless[node] || track.frozen[node])
                && children.iter().all(|&c| updating[c] || absorbable[c]));
    }
    // Every node under an updating group is now inside a block; one that does not update
    // itself but had respondents taken into an ancestor's block is frozen.
    let mut inside = vec![false; n];
    for &node in &tree.top_down {
        inside[node] = updating[node] || tree.parent[node].is_some_and(|p| inside[p]);
    }
    for node in 0..n {
        if inside[node] {
            track.admitted[node] = direct[node];
        }
        if updating[node] {
            track.shown[node] = Some((seq, totals[node]));
        } else if inside[node] && uncovered[node] > 0 {
            track.frozen[node] = true;
        }
        track.held[node] = track.shown[node].is_none() && totals[node] >= threshold;
    }
}

impl NodeTrack {
    fn from_track<K: Ord + Clone + Debug>(track: Option<&Track<K>>, tree: &Tree<K>) -> NodeTrack {
        let n = tree.len();
        let mut nodes = NodeTrack {
            admitted: vec![0; n],
            shown: vec![None; n],
            frozen: vec![false; n],
            held: vec![false; n],
        };
        let Some(track) = track else {
            return nodes;
        };
        let node = |id: &K| tree.nodes.get(id).copied();
        for (id, &count) in &track.admitted {
            if let Some(i) = node(id) {
                nodes.admitted[i] = count;
            }
        }
        nodes.shown[0] = track.audience;
        for (id, &shown) in &track.shown {
            if let Some(i) = node(id) {
                nodes.shown[i] = Some(shown);
            }
        }
        for id in &track.frozen {
            if let Some(i) = node(id) {
                nodes.frozen[i] = true;
            }
        }
        for id in &track.held {
            if let Some(i) = node(id) {
                nodes.held[i] = true;
            }
        }
        nodes
    }

    fn into_track<K: Ord + Clone>(self, tree: &Tree<K>, is_final: bool) -> Track<K> {
        let ids: BTreeMap<usize, &K> = tree.nodes.iter().map(|(k, &v)| (v, k)).collect();
        let mut track = Track {
            audience: self.shown[0],
            ..Track::default()
        };
        for (&node, &id) in &ids {
            if !is_final && self.admitted[node] > 0 {
                track.admitted.insert(id.clone(), self.admitted[node]);
            }
            if let Some(shown) = self.shown[node] {
                track.shown.insert(id.clone(), shown);
            }
            if !is_final && self.frozen[node] {
                track.frozen.push(id.clone());
            }
            if self.held[node] {
                track.held.push(id.clone());
            }
        }
        track
    }

    fn shown_mask(&self) -> Vec<bool> {
        self.shown.iter().map(Option::is_some).collect()
    }

    fn reasons(&self, threshold: u64, within: Option<&[bool]>) -> Vec<Option<SuppressionReason>> {
        (0..self.shown.len())
            .map(|node| {
                if self.shown[node].is_some() {
                    None
                } else if within.is_some_and(|w| !w[node]) {
                    Some(SuppressionReason::GroupSuppressed)
                } else if self.held[node] {
                    Some(SuppressionReason::Differencing)
                } else {
                    Some(SuppressionReason::TooFew { threshold })
                }
            })
            .collect()
    }
}

impl<K: Ord + Clone + Debug> ReleaseState<K> {
    pub fn seq(&self) -> Seq {
        self.seq
    }

    pub fn is_final(&self) -> bool {
        self.is_final
    }

    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    /// The wave's department tree as its releases see it: (department, parent).
    pub fn tree(&self) -> &[(K, Option<K>)] {
        &self.tree
    }

    /// Every item a release decided about.
    pub fn items(&self) -> impl Iterator<Item = &str> {
        self.items.keys().map(String::as_str)
    }

    fn shown_in(track: &Track<K>, group: &Group<K>) -> Option<(Seq, u64)> {
        match group {
            Group::Audience => track.audience,
            Group::Department(id) => track.shown.get(id).copied(),
        }
    }

    /// The release a shown group's figures come from, and its respondents then.
    pub fn group_as_of(&self, group: &Group<K>) -> Option<(Seq, u64)> {
        Self::shown_in(&self.groups, group)
    }

    /// The release a shown item's figures in a group come from, and its answers then.
    pub fn item_as_of(&self, group: &Group<K>, item: &str) -> Option<(Seq, u64)> {
        Self::shown_in(self.items.get(item)?, group)
    }

    /// The release a group's shown comments come from, and its respondents then.
    pub fn comments_as_of(&self, group: &Group<K>) -> Option<(Seq, u64)> {
        Self::shown_in(&self.comments, group)
    }

    /// The gate every view of this release goes through: shows what the release shows,
    /// with the respondents of each group as of the release its figures come from.
    pub fn disclosure(&self) -> Result<Disclosure<K>, StatsError> {
        let shape: Vec<OrgUnit<K>> = self
            .tree
            .iter()
            .map(|(id, parent)| OrgUnit::new(id.clone(), parent.clone(), 0))
            .collect();
        let tree = Tree::build(&shape)?;
        let groups = NodeTrack::from_track(Some(&self.groups), &tree);
        let shown = groups.shown_mask();
        let min = self.threshold.min_group_size();
        let respondents = groups.shown.iter().map(|s| s.map_or(0, |s| s.1)).collect();
        let comments = NodeTrack::from_track(Some(&self.comments), &tree)
            .reasons(self.threshold.min_comment_group_size(), Some(&shown));
        let items = self
            .items
            .iter()
            .map(|(item, track)| {
                let reasons = NodeTrack::from_track(Some(track), &tree).reasons(min, Some(&shown));
                let reasons = reasons
                    .into_iter()
                    .map(|r| match r {
                        Some(SuppressionReason::GroupSuppressed) | None => r,
                        Some(_) => Some(SuppressionReason::TooFew { threshold: min }),
                    })
                    .collect();
                (item.clone(), reasons)
            })
            .collect();
        Ok(Disclosure::decided(
            &tree,
            self.threshold,
            respondents,
            groups.reasons(min, None),
            comments,
            items,
        ))
    }
}
