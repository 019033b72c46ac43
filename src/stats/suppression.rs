//! The one place that decides what may be shown: the anonymity threshold and differencing.
//!
//! [`plan`] takes the department tree of a wave (or of a filtered view) and decides once,
//! for every group, every reported item (question, service, driver pair count) in every
//! group, and the comments of every group, whether it is shown. Its [`Disclosure`] is then
//! the only maker of [`Gated`] figures and [`GroupReport`]s, so a report can only contain
//! what the plan allowed. Plan once per wave and filter and share the plan between every
//! view (HTML, JSON, CSV, API, a head's subtree): views that suppressed differently could be
//! combined to difference each other.
//!
//! Rules, each applied top-down from the whole audience (a virtual root over the top
//! departments, with no direct members):
//! 1. A group with fewer than `min_group_size` respondents is hidden (reason
//!    [`SuppressionReason::TooFew`]), and so is everything below it.
//! 2. For a shown group, the respondents it holds outside its shown child groups (its
//!    direct members plus its hidden children) must number 0 or at least the threshold;
//!    otherwise its smallest shown child (ties: the smallest department id) is hidden with
//!    its whole subtree ([`SuppressionReason::Differencing`]), until they do. Hiding whole
//!    subtrees keeps the shown groups closed under taking parents, so the respondents a
//!    shown group holds outside its shown children are exactly what a difference of shown
//!    figures can isolate; as each such remainder is 0 or at least the threshold, so is
//!    every count that shown figures determine.
//! 3. Items: the same two rules over each item's answer counts, within the shown groups
//!    (an item of a hidden group is hidden with [`SuppressionReason::GroupSuppressed`]).
//! 4. Comments: the same two rules over respondents at `min_comment_group_size`, within the
//!    shown groups, so that comment lists can't be differenced either. A comment may carry
//!    its writer's department only when that department's own direct respondents reach
//!    `min_comment_group_size` and its comments are shown.
//!
//! A filter (a roster attribute) is a new view: check it with [`check_filter`] against
//! each shown group, then [`plan`] again over the filtered counts.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use super::StatsError;

/// The survey's anonymity thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    min_group_size: u64,
    min_comment_group_size: u64,
}

impl Threshold {
    /// `min_comment_group_size` below `min_group_size` is raised to it (the spec's floor).
    pub fn new(min_group_size: u64, min_comment_group_size: u64) -> Result<Threshold, StatsError> {
        if min_group_size == 0 {
            return Err(StatsError::ThresholdZero);
        }
        Ok(Threshold {
            min_group_size,
            min_comment_group_size: min_comment_group_size.max(min_group_size),
        })
    }

    pub fn min_group_size(self) -> u64 {
        self.min_group_size
    }

    pub fn min_comment_group_size(self) -> u64 {
        self.min_comment_group_size
    }
}

/// What every output says where a figure is hidden so that a smaller group cannot be
/// computed by difference: one wording on every screen, file and report.
pub const DIFFERENCING_WORDING: &str = "hidden so that a smaller group can't be worked out from it";

/// Why something is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionReason {
    /// Fewer than `threshold` respondents (a group, comments) or answers (an item): shown
    /// as "fewer than N responses" or "fewer than N answers".
    TooFew { threshold: u64 },
    /// Enough people, but showing it would let a smaller hidden group be computed by
    /// difference.
    Differencing,
    /// The item belongs to a hidden group.
    GroupSuppressed,
}

/// A figure that the plan either shows or withholds. Only [`Disclosure`] makes one, so a
/// figure can't be shown by mistake; a withheld one serialises as `{"suppressed": true}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gated<T>(Visibility<T>);

#[derive(Debug, Clone, PartialEq)]
enum Visibility<T> {
    Shown(T),
    Suppressed(SuppressionReason),
}

impl<T> Gated<T> {
    pub(super) fn reveal(value: T) -> Gated<T> {
        Gated(Visibility::Shown(value))
    }

    pub(super) fn withhold(reason: SuppressionReason) -> Gated<T> {
        Gated(Visibility::Suppressed(reason))
    }

    fn decide(reason: Option<SuppressionReason>, value: T) -> Gated<T> {
        match reason {
            None => Gated::reveal(value),
            Some(reason) => Gated::withhold(reason),
        }
    }

    pub fn shown(&self) -> Option<&T> {
        match &self.0 {
            Visibility::Shown(value) => Some(value),
            Visibility::Suppressed(_) => None,
        }
    }

    pub fn into_shown(self) -> Option<T> {
        match self.0 {
            Visibility::Shown(value) => Some(value),
            Visibility::Suppressed(_) => None,
        }
    }

    pub fn is_shown(&self) -> bool {
        self.shown().is_some()
    }

    pub fn suppression(&self) -> Option<SuppressionReason> {
        match &self.0 {
            Visibility::Shown(_) => None,
            Visibility::Suppressed(reason) => Some(*reason),
        }
    }

    pub fn as_ref(&self) -> Gated<&T> {
        match &self.0 {
            Visibility::Shown(value) => Gated::reveal(value),
            Visibility::Suppressed(reason) => Gated::withhold(*reason),
        }
    }

    /// Computes a figure from a shown input; a withheld input stays withheld.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Gated<U> {
        match self.0 {
            Visibility::Shown(value) => Gated::reveal(f(value)),
            Visibility::Suppressed(reason) => Gated::withhold(reason),
        }
    }

    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Gated<U>, E> {
        match self.0 {
            Visibility::Shown(value) => f(value).map(Gated::reveal),
            Visibility::Suppressed(reason) => Ok(Gated::withhold(reason)),
        }
    }
}

impl<T: Serialize> Serialize for Gated<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Visibility::Shown(value) => value.serialize(serializer),
            Visibility::Suppressed(_) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("suppressed", &true)?;
                map.end()
            }
        }
    }
}

/// A group of respondents: the whole audience, or a department with its subtree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group<K> {
    Audience,
    Department(K),
}

/// One department of the tree, with counts of its direct members only (not its subtree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUnit<K> {
    pub id: K,
    /// `None` for a top department.
    pub parent: Option<K>,
    pub direct_respondents: u64,
    /// Per reported item (a question id, or a key the caller picks such as `service:IT`),
    /// how many direct members answered it; missing means none.
    pub direct_answers: BTreeMap<String, u64>,
}

impl<K> OrgUnit<K> {
    pub fn new(id: K, parent: Option<K>, direct_respondents: u64) -> OrgUnit<K> {
        OrgUnit {
            id,
            parent,
            direct_respondents,
            direct_answers: BTreeMap::new(),
        }
    }

    pub fn with_answers(mut self, item: impl Into<String>, answers: u64) -> OrgUnit<K> {
        self.direct_answers.insert(item.into(), answers);
        self
    }
}

/// What may be shown of one wave (or filtered view): see the module documentation.
#[derive(Debug, Clone)]
pub struct Disclosure<K> {
    threshold: Threshold,
    /// Department id to node; node 0 is the whole audience, then ids in order.
    nodes: BTreeMap<K, usize>,
    direct: Vec<u64>,
    respondents: Vec<u64>,
    groups: Vec<Option<SuppressionReason>>,
    comments: Vec<Option<SuppressionReason>>,
    items: BTreeMap<String, Vec<Option<SuppressionReason>>>,
}

/// Plans what may be shown of a department tree.
pub fn plan<K: Ord + Clone + Debug>(
    units: &[OrgUnit<K>],
    threshold: Threshold,
) -> Result<Disclosure<K>, StatsError> {
    let tree = Tree::build(units)?;
    let mut direct = vec![0; tree.len()];
    for unit in units {
        direct[tree.node(&unit.id)] = unit.direct_respondents;
    }
    let respondents = tree.subtree_totals(&direct);
    let groups = tree.visibility(&direct, &respondents, threshold.min_group_size, None);
    let comments = tree.visibility(
        &direct,
        &respondents,
        threshold.min_comment_group_size,
        Some(&groups),
    );

    let item_keys: BTreeSet<&String> = units.iter().flat_map(|u| u.direct_answers.keys()).collect();
    let mut items = BTreeMap::new();
    for item in item_keys {
        let mut answers = vec![0; tree.len()];
        for unit in units {
            let count = unit.direct_answers.get(item).copied().unwrap_or(0);
            if count > unit.direct_respondents {
                return Err(StatsError::AnswersExceedRespondents {
                    department: format!("{:?}", unit.id),
                    item: item.clone(),
                    answers: count,
                    respondents: unit.direct_respondents,
                });
            }
            answers[tree.node(&unit.id)] = count;
        }
        let totals = tree.subtree_totals(&answers);
        let shown = tree.visibility(&answers, &totals, threshold.min_group_size, Some(&groups));
        items.insert(item.clone(), shown);
    }

    Ok(Disclosure {
        threshold,
        nodes: tree.nodes,
        direct,
        respondents,
        groups,
        comments,
        items,
    })
}

impl<K: Ord + Clone + Debug> Disclosure<K> {
    /// A disclosure whose decisions were taken by a release (`super::release`): per node of
    /// `tree`, the respondents a shown group reports and why anything is hidden.
    pub(super) fn decided(
        tree: &Tree<K>,
        threshold: Threshold,
        respondents: Vec<u64>,
        groups: Vec<Option<SuppressionReason>>,
        comments: Vec<Option<SuppressionReason>>,
        items: BTreeMap<String, Vec<Option<SuppressionReason>>>,
    ) -> Disclosure<K> {
        Disclosure {
            threshold,
            nodes: tree.nodes.clone(),
            // Only comment_department_shown reads it; released comments carry their
            // department as decided when they were released instead.
            direct: vec![0; tree.len()],
            respondents,
            groups,
            comments,
            items,
        }
    }
}

impl<K: Ord + Clone> Disclosure<K> {
    pub fn threshold(&self) -> Threshold {
        self.threshold
    }

    fn node(&self, group: &Group<K>) -> Option<usize> {
        match group {
            Group::Audience => Some(0),
            Group::Department(id) => self.nodes.get(id).copied(),
        }
    }

    /// The group's node when it is shown, or why not.
    fn shown_node(&self, group: &Group<K>) -> Result<usize, SuppressionReason> {
        let too_few = SuppressionReason::TooFew {
            threshold: self.threshold.min_group_size,
        };
        let node = self.node(group).ok_or(too_few)?;
        match self.groups[node] {
            None => Ok(node),
            Some(reason) => Err(reason),
        }
    }

    /// Respondents of a group (its subtree); 0 for an unknown department. A count, like a
    /// response rate: not a figure, so available for hidden groups too (e.g. for
    /// [`check_filter`]); [`GroupReport`] shows it only for shown groups.
    pub fn respondents(&self, group: &Group<K>) -> u64 {
        self.node(group).map_or(0, |node| self.respondents[node])
    }

    /// Shown groups, the whole audience first, then departments in id order.
    pub fn shown_groups(&self) -> impl Iterator<Item = Group<K>> + '_ {
        let audience = self.groups[0].is_none().then_some(Group::Audience);
        let departments = self
            .nodes
            .iter()
            .filter(|(_, node)| self.groups[**node].is_none())
            .map(|(id, _)| Group::Department(id.clone()));
        audience.into_iter().chain(departments)
    }

    /// A figure of the group as a whole.
    pub fn group<T>(&self, group: &Group<K>, content: T) -> Gated<T> {
        Gated::decide(self.shown_node(group).err(), content)
    }

    /// A figure of one item (question, service, driver) in the group.
    pub fn item<T>(&self, group: &Group<K>, item: &str, content: T) -> Gated<T> {
        let reason = match self.shown_node(group) {
            Ok(node) => self.items.get(item).map_or(
                Some(SuppressionReason::TooFew {
                    threshold: self.threshold.min_group_size,
                }),
                |shown| shown[node],
            ),
            Err(_) => Some(SuppressionReason::GroupSuppressed),
        };
        Gated::decide(reason, content)
    }

    /// The group's free-text comments.
    pub fn comments<T>(&self, group: &Group<K>, content: T) -> Gated<T> {
        let reason = match self.node(group) {
            Some(node) => self.comments[node],
            None => Some(SuppressionReason::GroupSuppressed),
        };
        Gated::decide(reason, content)
    }

    /// Whether a comment may name its writer's department.
    pub fn comment_department_shown(&self, department: &K) -> bool {
        self.nodes.get(department).is_some_and(|&node| {
            self.comments[node].is_none()
                && self.direct[node] >= self.threshold.min_comment_group_size
        })
    }

    /// The report of one group; `content` (its questions, services...) is built only for a
    /// shown group. `department` is the name shown, `None` for the whole audience.
    pub fn group_report<T>(
        &self,
        group: &Group<K>,
        department: Option<String>,
        content: impl FnOnce() -> T,
    ) -> GroupReport<T> {
        let body = match self.shown_node(group) {
            Ok(node) => Gated::reveal(GroupBody {
                respondents: self.respondents[node],
                content: content(),
            }),
            Err(reason) => Gated::withhold(reason),
        };
        GroupReport { department, body }
    }
}

/// One group of a report. Serialises as
/// `{"department": .., "respondents": .., "suppressed": false, ..content}` when shown, and as
/// `{"department": .., "suppressed": true}` and nothing else when not.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReport<T> {
    department: Option<String>,
    body: Gated<GroupBody<T>>,
}

#[derive(Debug, Clone, PartialEq)]
struct GroupBody<T> {
    respondents: u64,
    content: T,
}

impl<T> GroupReport<T> {
    pub fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }

    pub fn respondents(&self) -> Option<u64> {
        self.body.shown().map(|body| body.respondents)
    }

    pub fn content(&self) -> Option<&T> {
        self.body.shown().map(|body| &body.content)
    }

    pub fn suppression(&self) -> Option<SuppressionReason> {
        self.body.suppression()
    }
}

impl<T: Serialize> Serialize for GroupReport<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shown<'a, T> {
            department: &'a Option<String>,
            respondents: u64,
            suppressed: bool,
            #[serde(flatten)]
            content: &'a T,
        }
        #[derive(Serialize)]
        struct Hidden<'a> {
            department: &'a Option<String>,
            suppressed: bool,
        }
        match self.body.shown() {
            Some(body) => Shown {
                department: &self.department,
                respondents: body.respondents,
                suppressed: false,
                content: &body.content,
            }
            .serialize(serializer),
            None => Hidden {
                department: &self.department,
                suppressed: true,
            }
            .serialize(serializer),
        }
    }
}

/// Why a filter was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterRefused {
    #[error("the filter leaves {filtered} respondents, fewer than {threshold}")]
    TooFew { filtered: u64, threshold: u64 },
    #[error("the filter leaves out {complement} respondents of the group, fewer than {threshold}")]
    ComplementTooFew { complement: u64, threshold: u64 },
    #[error("the filter leaves {filtered} respondents of a group of {group}")]
    MoreThanGroup { filtered: u64, group: u64 },
}

/// Refuses a filter that leaves fewer than `min_group_size` respondents of a group, or
/// whose complement within the group has between 1 and `min_group_size - 1` (the filtered
/// figures subtracted from the group's would reveal them). A complement of 0 (the filter
/// keeps everyone) reveals nothing new.
pub fn check_filter(
    group_respondents: u64,
    filtered_respondents: u64,
    min_group_size: u64,
) -> Result<(), FilterRefused> {
    let complement = group_respondents.checked_sub(filtered_respondents).ok_or(
        FilterRefused::MoreThanGroup {
            filtered: filtered_respondents,
            group: group_respondents,
        },
    )?;
    if filtered_respondents < min_group_size {
        return Err(FilterRefused::TooFew {
            filtered: filtered_respondents,
            threshold: min_group_size,
        });
    }
    if complement > 0 && complement < min_group_size {
        return Err(FilterRefused::ComplementTooFew {
            complement,
            threshold: min_group_size,
        });
    }
    Ok(())
}

/// The department tree under a virtual root (node 0, the whole audience).
pub(super) struct Tree<K> {
    pub(super) nodes: BTreeMap<K, usize>,
    pub(super) parent: Vec<Option<usize>>,
    /// Children of each node, in id order.
    pub(super) children: Vec<Vec<usize>>,
    /// Every node, parents before children.
    pub(super) top_down: Vec<usize>,
}

impl<K: Ord + Clone + Debug> Tree<K> {
    pub(super) fn build(units: &[OrgUnit<K>]) -> Result<Tree<K>, StatsError> {
        let mut by_id = BTreeMap::new();
        for unit in units {
            if by_id.insert(unit.id.clone(), unit).is_some() {
                return Err(StatsError::DuplicateDepartment(format!("{:?}", unit.id)));
            }
        }
        let nodes: BTreeMap<K, usize> = by_id
            .keys()
            .enumerate()
            .map(|(i, id)| (id.clone(), i + 1))
            .collect();
        let mut parent = vec![None; nodes.len() + 1];
        let mut children = vec![Vec::new(); nodes.len() + 1];
        for (id, unit) in &by_id {
            let node = nodes[id];
            let up = match &unit.parent {
                None => 0,
                Some(p) => *nodes.get(p).ok_or_else(|| StatsError::UnknownParent {
                    department: format!("{id:?}"),
                    parent: format!("{p:?}"),
                })?,
            };
            parent[node] = Some(up);
            children[up].push(node);
        }
        let mut top_down = vec![0];
        let mut next = 0;
        while let Some(&node) = top_down.get(next) {
            top_down.extend(&children[node]);
            next += 1;
        }
        if top_down.len() < parent.len() {
            let reached: BTreeSet<usize> = top_down.iter().copied().collect();
            let stuck = nodes.iter().find(|(_, node)| !reached.contains(node));
            let name = stuck.map(|(id, _)| format!("{id:?}")).unwrap_or_default();
            return Err(StatsError::ParentCycle(name));
        }
        Ok(Tree {
            nodes,
            parent,
            children,
            top_down,
        })
    }

    pub(super) fn node(&self, id: &K) -> usize {
        self.nodes.get(id).copied().unwrap_or(0)
    }
}

impl<K> Tree<K> {
    pub(super) fn len(&self) -> usize {
        self.parent.len()
    }

    pub(super) fn subtree_totals(&self, direct: &[u64]) -> Vec<u64> {
        let mut totals = direct.to_vec();
        for &node in self.top_down.iter().rev() {
            if let Some(up) = self.parent[node] {
                totals[up] = totals[up].saturating_add(totals[node]);
            }
        }
        totals
    }

    /// Rules 1 and 2 of the module documentation over one kind of count; `within` hides
    /// everything outside the groups it shows.
    fn visibility(
        &self,
        direct: &[u64],
        total: &[u64],
        threshold: u64,
        within: Option<&[Option<SuppressionReason>]>,
    ) -> Vec<Option<SuppressionReason>> {
        let mut hidden = vec![None; self.len()];
        for &node in &self.top_down {
            hidden[node] = if within.is_some_and(|groups| groups[node].is_some()) {
                Some(SuppressionReason::GroupSuppressed)
            } else if total[node] < threshold {
                Some(SuppressionReason::TooFew { threshold })
            } else {
                self.parent[node].and_then(|up| hidden[up])
            };
        }
        for &node in &self.top_down {
            if hidden[node].is_some() {
                continue;
            }
            let mut outside = self.children[node]
                .iter()
                .filter(|&&child| hidden[child].is_some())
                .fold(direct[node], |sum, &child| sum.saturating_add(total[child]));
            while outside > 0 && outside < threshold {
                let smallest = self.children[node]
                    .iter()
                    .copied()
                    .filter(|&child| hidden[child].is_none())
                    .min_by_key(|&child| total[child]);
                let Some(child) = smallest else { break };
                self.hide_subtree(child, &mut hidden);
                outside = outside.saturating_add(total[child]);
            }
        }
        hidden
    }

    fn hide_subtree(&self, root: usize, hidden: &mut [Option<SuppressionReason>]) {
        let mut stack = vec![root];
        while let Some(node) = stack.pop() {
            hidden[node].get_or_insert(SuppressionReason::Differencing);
            stack.extend(&self.children[node]);
        }
    }
}
