//! The report of one wave: every group's figures, built from a wave's counts and passed
//! through the one suppression plan. HTML, JSON, CSV and text are views of this.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::counts::WaveCounts;
use super::org::Org;
use crate::definitions::{Definition, Question, QuestionKind};
use crate::stats::{
    self, choice_summary, correlation, key_drivers, nps_summary, scale_summary, service_summary,
    ChoiceCounts, Confidence, DriverCandidate, Gated, Group, GroupReport, KeyDriver, OrgUnit,
    PairSums, QuestionSummary, ScaleAnswers, ServiceSummary, StatsError, TextSummary, Threshold,
    ValueCounts,
};

#[derive(Debug, Clone, Serialize)]
pub struct WaveReport {
    pub survey: String,
    pub wave: String,
    pub min_group_size: u64,
    /// The release the figures come from; none for a filtered view of a closed wave.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<super::release::ReleaseInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Each question's `type` as the definition writes it (`likert`, `csat`, ...): the
    /// figures of a csat, ces or lost_time question are a likert question's.
    pub question_types: BTreeMap<String, &'static str>,
    pub groups: Vec<GroupReport<GroupFigures>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupFigures {
    pub questions: BTreeMap<String, Gated<QuestionSummary>>,
    pub services: BTreeMap<String, Gated<ServiceSummary>>,
    /// Questions most linked to eNPS with the most room to improve (at least 20
    /// respondents answering both).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drivers: Option<Gated<Vec<KeyDriver>>>,
    /// The group keeps the figures of this earlier release: its newer respondents are too
    /// few to show by themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of_release: Option<stats::Seq>,
    /// Questions whose figures come from a release older than the group's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub questions_as_of: BTreeMap<String, stats::Seq>,
}

/// Where a report's figures come from: a wave's release, or a filtered view planned on
/// its own. Either way, one disclosure gates every figure.
pub trait Figures {
    fn disclosure(&self) -> &stats::Disclosure<i64>;
    /// The counts of a group (empty for one whose figures are withheld).
    fn counts(&self, group: &Group<i64>) -> GroupCounts;
    fn release(&self) -> Option<super::release::ReleaseInfo> {
        None
    }
    fn group_as_of(&self, _group: &Group<i64>) -> Option<stats::Seq> {
        None
    }
    fn questions_as_of(&self, _group: &Group<i64>) -> BTreeMap<String, stats::Seq> {
        BTreeMap::new()
    }
}

impl Figures for super::release::Released {
    fn disclosure(&self) -> &stats::Disclosure<i64> {
        &self.disclosure
    }
    fn counts(&self, group: &Group<i64>) -> GroupCounts {
        super::release::Released::counts(self, group)
    }
    fn release(&self) -> Option<super::release::ReleaseInfo> {
        Some(self.info)
    }
    fn group_as_of(&self, group: &Group<i64>) -> Option<stats::Seq> {
        super::release::Released::group_as_of(self, group)
    }
    fn questions_as_of(&self, group: &Group<i64>) -> BTreeMap<String, stats::Seq> {
        self.items_as_of(group)
    }
}

/// Counts planned as one report: a filtered view of a closed wave.
pub struct Planned {
    disclosure: stats::Disclosure<i64>,
    audience: GroupCounts,
    subtrees: HashMap<i64, GroupCounts>,
}

impl Planned {
    pub fn new(
        definition: &Definition,
        org: &Org,
        counts: &WaveCounts,
    ) -> Result<Planned, StatsError> {
        let disclosure = stats::plan(&org_units(org, counts), threshold(definition)?)?;
        let (audience, subtrees) = GroupCounts::of_every_subtree(counts, org);
        Ok(Planned {
            disclosure,
            audience,
            subtrees,
        })
    }
}

impl Figures for Planned {
    fn disclosure(&self) -> &stats::Disclosure<i64> {
        &self.disclosure
    }
    fn counts(&self, group: &Group<i64>) -> GroupCounts {
        match group {
            Group::Audience => self.audience.clone(),
            Group::Department(id) => self.subtrees.get(id).cloned().unwrap_or_default(),
        }
    }
}

/// The text answers of a wave, for the groups whose comments may be shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Comment {
    pub question: String,
    pub text: String,
    /// Only where the writer's department alone reaches the comment threshold.
    pub department: Option<String>,
}

/// The scale of a likert or rating question, for the statistics module.
pub fn scale_of(question: &Question) -> Result<Option<stats::Scale>, StatsError> {
    let to_u8 = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
    match &question.kind {
        QuestionKind::Likert {
            labels, favorable, ..
        } => {
            let favorable: Vec<u8> = favorable.iter().map(|v| to_u8(*v)).collect();
            stats::Scale::likert(to_u8(labels.len() as u32), Some(&favorable)).map(Some)
        }
        QuestionKind::Rating { max } => stats::Scale::rating(to_u8(*max)).map(Some),
        _ => Ok(None),
    }
}

/// The entry of `key`, allocating the key only the first time.
fn slot<'m, T: Default>(map: &'m mut BTreeMap<String, T>, key: &str) -> &'m mut T {
    if !map.contains_key(key) {
        map.insert(key.to_string(), T::default());
    }
    match map.get_mut(key) {
        Some(value) => value,
        None => unreachable!("inserted above"),
    }
}

/// Counts of one group: its departments' direct counts added up.
#[derive(Debug, Default, Clone)]
pub struct GroupCounts {
    pub respondents: u64,
    pub values: BTreeMap<String, BTreeMap<i32, u64>>,
    pub answered: BTreeMap<String, u64>,
    pub services: BTreeMap<String, u64>,
    pub pairs: BTreeMap<String, PairSums>,
}

impl GroupCounts {
    pub fn of(counts: &WaveCounts, members: &[i64]) -> GroupCounts {
        let mut group = GroupCounts::default();
        for &d in members {
            group.respondents += counts.respondents.get(&d).copied().unwrap_or(0);
            let range = (d, String::new())..(d + 1, String::new());
            for ((_, q), values) in counts.values.range(range.clone()) {
                let entry = slot(&mut group.values, q);
                for (v, n) in values {
                    *entry.entry(*v).or_default() += n;
                }
            }
            for ((_, q), n) in counts.answered.range(range.clone()) {
                *slot(&mut group.answered, q) += n;
            }
            for ((_, s), n) in counts.service_respondents.range(range.clone()) {
                *slot(&mut group.services, s) += n;
            }
            for ((_, q), sums) in counts.pairs.range(range) {
                slot(&mut group.pairs, q).merge(sums);
            }
        }
        group
    }

    /// Adds another group's counts (a child department's subtree) to these.
    fn add(&mut self, other: &GroupCounts) {
        self.respondents += other.respondents;
        for (q, values) in &other.values {
            let entry = slot(&mut self.values, q);
            for (v, n) in values {
                *entry.entry(*v).or_default() += n;
            }
        }
        for (q, n) in &other.answered {
            *slot(&mut self.answered, q) += n;
        }
        for (s, n) in &other.services {
            *slot(&mut self.services, s) += n;
        }
        for (q, sums) in &other.pairs {
            slot(&mut self.pairs, q).merge(sums);
        }
    }

    /// The counts of every department's subtree, and of the whole audience: the same as
    /// [`GroupCounts::of`] each subtree, added up once from the leaves to the top.
    pub fn of_every_subtree(
        counts: &WaveCounts,
        org: &Org,
    ) -> (GroupCounts, HashMap<i64, GroupCounts>) {
        let mut audience = GroupCounts::default();
        let mut subtrees: HashMap<i64, GroupCounts> = HashMap::with_capacity(org.departments.len());
        // Tree order lists parents before children: backwards, children come first.
        for d in org.departments.iter().rev() {
            let mut subtree = subtrees.remove(&d.id).unwrap_or_default();
            subtree.add(&GroupCounts::of(counts, &[d.id]));
            match d.parent_id {
                Some(parent) => subtrees.entry(parent).or_default().add(&subtree),
                None => audience.add(&subtree),
            }
            subtrees.insert(d.id, subtree);
        }
        (audience, subtrees)
    }

    /// The answers of a numeric question as value counts over its range.
    pub fn value_counts(&self, question: &Question) -> Result<Option<ValueCounts>, StatsError> {
        let Some(range) = question.value_range() else {
            return Ok(None);
        };
        let to_u8 = |v: u32| u8::try_from(v).unwrap_or(u8::MAX);
        let mut counts = ValueCounts::new(to_u8(*range.start()), to_u8(*range.end()))?;
        if let Some(values) = self.values.get(&question.id.value) {
            for (v, n) in values {
                counts.add_count(u8::try_from(*v).unwrap_or(u8::MAX), *n)?;
            }
        }
        Ok(Some(counts))
    }

    /// The figures of one question (unchecked: the caller gates them).
    pub fn summary(
        &self,
        question: &Question,
        confidence: Confidence,
    ) -> Result<QuestionSummary, StatsError> {
        Ok(match &question.kind {
            QuestionKind::Likert { .. } | QuestionKind::Rating { .. } => {
                let (Some(counts), Some(scale)) =
                    (self.value_counts(question)?, scale_of(question)?)
                else {
                    unreachable!("likert and rating questions have a scale and a value range")
                };
                let mut summary = scale_summary(&counts, &scale, confidence)?;
                if let Some(hours) = question.hours() {
                    summary.hours = Some(stats::hours_summary(&counts, hours, confidence)?);
                }
                QuestionSummary::Scale(summary)
            }
            QuestionKind::Enps | QuestionKind::Nps => {
                let counts = self
                    .value_counts(question)?
                    .unwrap_or_else(ValueCounts::zero_to_ten);
                QuestionSummary::Nps(nps_summary(&counts, confidence)?)
            }
            QuestionKind::Choice { options, multiple } => {
                let mut tallies = vec![0u64; options.len()];
                if let Some(values) = self.values.get(&question.id.value) {
                    for (v, n) in values {
                        if let Some(slot) =
                            usize::try_from(*v).ok().and_then(|i| tallies.get_mut(i))
                        {
                            *slot += n;
                        }
                    }
                }
                let respondents = self.answered.get(&question.id.value).copied().unwrap_or(0);
                let counts = ChoiceCounts::from_tallies(*multiple, respondents, tallies)?;
                QuestionSummary::Choice(choice_summary(&counts, &options.default)?)
            }
            QuestionKind::Text { .. } => QuestionSummary::Text(TextSummary {
                n: self.answered.get(&question.id.value).copied().unwrap_or(0),
            }),
        })
    }
}

/// The org units the suppression plan needs: each department's direct respondents and
/// direct answers per item (questions, `service:X`, `driver:Q`).
pub fn org_units(org: &Org, counts: &WaveCounts) -> Vec<OrgUnit<i64>> {
    org.departments
        .iter()
        .map(|d| {
            let mut unit = OrgUnit::new(
                d.id,
                d.parent_id,
                counts.respondents.get(&d.id).copied().unwrap_or(0),
            );
            let range = (d.id, String::new())..(d.id + 1, String::new());
            for ((_, q), n) in counts.answered.range(range.clone()) {
                unit = unit.with_answers(q.clone(), *n);
            }
            for ((_, s), n) in counts.service_respondents.range(range.clone()) {
                unit = unit.with_answers(format!("service:{s}"), *n);
            }
            for ((_, q), sums) in counts.pairs.range(range) {
                unit = unit.with_answers(format!("driver:{q}"), sums.n);
            }
            unit
        })
        .collect()
}

/// Each question's `type` by id.
pub fn question_types(definition: &Definition) -> BTreeMap<String, &'static str> {
    definition
        .questions()
        .map(|(_, q)| (q.id.value.clone(), q.type_name()))
        .collect()
}

pub fn threshold(definition: &Definition) -> Result<Threshold, StatsError> {
    Threshold::new(
        u64::from(definition.min_group_size),
        u64::from(definition.min_comment_group_size),
    )
}

/// Builds the report of one wave for the groups in `scope` (the whole audience and
/// every department, or one department's subtree).
pub fn build(
    definition: &Definition,
    wave_label: &str,
    org: &Org,
    figures: &dyn Figures,
    scope: Option<i64>,
    filters: &[String],
) -> Result<WaveReport, StatsError> {
    let disclosure = figures.disclosure();
    let confidence = Confidence::default();
    let mut groups: Vec<(Group<i64>, Option<String>)> = Vec::new();
    if scope.is_none() {
        groups.push((Group::Audience, None));
    }
    for d in org.in_scope(scope) {
        groups.push((Group::Department(d.id), Some(d.name.clone())));
    }
    let mut reports = Vec::with_capacity(groups.len());
    for (group, name) in groups {
        let mut failure = None;
        let report = disclosure.group_report(&group, name, || {
            let counts = figures.counts(&group);
            match group_figures(definition, disclosure, &group, &counts, confidence) {
                Ok(mut shown) => {
                    shown.as_of_release = figures.group_as_of(&group);
                    shown.questions_as_of = figures.questions_as_of(&group);
                    shown
                }
                Err(e) => {
                    failure = Some(e);
                    GroupFigures {
                        questions: BTreeMap::new(),
                        services: BTreeMap::new(),
                        drivers: None,
                        as_of_release: None,
                        questions_as_of: BTreeMap::new(),
                    }
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        reports.push(report);
    }
    Ok(WaveReport {
        survey: definition.id.value.clone(),
        wave: wave_label.to_string(),
        min_group_size: u64::from(definition.min_group_size),
        release: figures.release(),
        filters: filters.to_vec(),
        question_types: question_types(definition),
        groups: reports,
    })
}

fn group_figures(
    definition: &Definition,
    disclosure: &stats::Disclosure<i64>,
    group: &Group<i64>,
    counts: &GroupCounts,
    confidence: Confidence,
) -> Result<GroupFigures, StatsError> {
    let mut questions = BTreeMap::new();
    for (_, question) in definition.questions() {
        let id = &question.id.value;
        let figures = disclosure
            .item(group, id, ())
            .try_map(|()| counts.summary(question, confidence))?;
        questions.insert(id.clone(), figures);
    }
    let mut services = BTreeMap::new();
    for section in &definition.sections {
        if let (Some(key), Some(summary)) = (
            section.service_key(),
            service_figures(section, disclosure, group, counts)?,
        ) {
            services.insert(key.to_string(), summary);
        }
    }
    let drivers = match definition
        .questions()
        .find(|(_, q)| matches!(q.kind, QuestionKind::Enps))
    {
        None => None,
        Some(_) => {
            let mut correlations = Vec::new();
            for (_, question) in definition.questions() {
                let id = &question.id.value;
                let (Some(sums), Some(QuestionSummary::Scale(summary))) = (
                    counts.pairs.get(id),
                    questions.get(id).and_then(Gated::shown),
                ) else {
                    continue;
                };
                let gated = disclosure.item(group, &format!("driver:{id}"), sums);
                if let (Some(sums), Some(favorable)) = (gated.into_shown(), summary.favorable) {
                    if let Some(r) = correlation(sums) {
                        correlations.push((id.clone(), r, favorable));
                    }
                }
            }
            let candidates: Vec<DriverCandidate> = correlations
                .iter()
                .map(|(question, correlation, favorable)| DriverCandidate {
                    question,
                    correlation,
                    favorable: *favorable,
                })
                .collect();
            Some(disclosure.group(group, key_drivers(&candidates)))
        }
    };
    Ok(GroupFigures {
        questions,
        services,
        drivers,
        as_of_release: None,
        questions_as_of: BTreeMap::new(),
    })
}

/// One section's service figures in a group (what the wave report shows under
/// `services`), gated by the release like every figure: a scorecard reads them without
/// building the rest of the report. `None` for a section that rates no service.
pub fn service_figures(
    section: &crate::definitions::Section,
    disclosure: &stats::Disclosure<i64>,
    group: &Group<i64>,
    counts: &GroupCounts,
) -> Result<Option<Gated<ServiceSummary>>, StatsError> {
    let Some(service) = section.service_key() else {
        return Ok(None);
    };
    let mut rated = Vec::new();
    let mut value_counts = Vec::new();
    // lost_time is left out: its index rises with the time lost, and averaged into
    // satisfaction it would read as better service.
    for question in section.questions.iter().filter(|q| q.higher_is_better()) {
        if let (Some(scale), Some(vc)) = (scale_of(question)?, counts.value_counts(question)?) {
            value_counts.push((question.id.value.clone(), scale, vc));
        }
    }
    for (id, scale, vc) in &value_counts {
        rated.push(disclosure.item(group, id, ScaleAnswers { counts: vc, scale }));
    }
    let nps_question = section
        .questions
        .iter()
        .find(|q| matches!(q.kind, QuestionKind::Nps));
    let nps_counts = match nps_question {
        Some(q) => counts.value_counts(q)?,
        None => None,
    };
    let nps_gated = nps_question
        .zip(nps_counts.as_ref())
        .map(|(q, c)| disclosure.item(group, &q.id.value, c));
    let respondents = counts.services.get(service).copied().unwrap_or(0);
    disclosure
        .item(group, &format!("service:{service}"), ())
        .try_map(|()| service_summary(&rated, nps_gated.as_ref(), respondents))
        .map(Some)
}

/// Comments in an order that says nothing about when they were written: sorted by a
/// hash of their text, which looks random but is the same on every run and backend.
pub fn unlinkable_order(comments: &mut [Comment]) {
    comments.sort_by_cached_key(unlinkable_key);
}

/// The key of [`unlinkable_order`].
pub fn unlinkable_key(comment: &Comment) -> Vec<u8> {
    Sha256::digest(format!("{}\u{0}{}", comment.question, comment.text).as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_added_up_once_equal_each_subtree_counted() {
        let org = Org::from_rows(vec![
            (1, "Company".into(), None),
            (2, "Sales".into(), Some(1)),
            (3, "IT".into(), Some(1)),
            (4, "Sales North".into(), Some(2)),
            (5, "Archive".into(), None),
            (6, "Orphan".into(), Some(99)),
        ]);
        let mut counts = WaveCounts::default();
        for (d, n) in [(1, 3), (2, 5), (3, 7), (4, 11), (6, 2)] {
            counts.respondents.insert(d, n);
            for (q, v) in [("q1", 1), ("q2", 4)] {
                let tally = counts.values.entry((d, q.to_string())).or_default();
                tally.insert(v, n);
                tally.insert(v + d as i32 % 2, 1);
                counts.answered.insert((d, q.to_string()), n);
            }
            if d != 3 {
                counts.service_respondents.insert((d, "IT".into()), n - 1);
                counts.pairs.insert(
                    (d, "q1".into()),
                    PairSums {
                        n,
                        sx: n * 2,
                        sy: n * 3,
                        sxx: n * 4,
                        syy: n * 9,
                        sxy: n * 6,
                    },
                );
            }
        }
        let (audience, subtrees) = GroupCounts::of_every_subtree(&counts, &org);
        let same = |a: &GroupCounts, b: &GroupCounts| {
            a.respondents == b.respondents
                && a.values == b.values
                && a.answered == b.answered
                && a.services == b.services
                && a.pairs == b.pairs
        };
        let all: Vec<i64> = org.departments.iter().map(|d| d.id).collect();
        assert!(same(&audience, &GroupCounts::of(&counts, &all)));
        assert_eq!(audience.respondents, 28);
        for d in &org.departments {
            assert!(
                same(
                    &subtrees[&d.id],
                    &GroupCounts::of(&counts, &org.subtree(d.id))
                ),
                "{}",
                d.name
            );
        }
        assert_eq!(subtrees[&2].respondents, 16);
    }
}
