//! Trends: one group's figures in every wave of a survey, each with its change from the
//! wave before and whether that change is significant.

use serde::Serialize;

use super::org::Org;
use super::release::ReleaseInfo;
use super::wave::{scale_of, Figures, GroupCounts};
use crate::definitions::{Definition, QuestionKind};
use crate::stats::{
    self, nps_change, scale_change, scale_change_with_hours, Change, Confidence, Gated, Group,
    QuestionSummary, ScaleChange, StatsError,
};

/// One wave as a trend needs it.
pub struct TrendWave<'a> {
    pub label: String,
    pub definition: &'a Definition,
    /// The wave's latest release (or nothing shown, before its first).
    pub figures: &'a dyn Figures,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendReport {
    pub survey: String,
    /// `null`: the whole audience.
    pub department: Option<String>,
    pub min_group_size: u64,
    pub waves: Vec<TrendWaveHeader>,
    pub questions: Vec<TrendQuestion>,
}

impl TrendReport {
    /// Keeps only the last `n` waves (their changes stay those from the wave before,
    /// which may be one left out).
    pub fn keep_last(&mut self, n: usize) {
        let drop = self.waves.len().saturating_sub(n);
        self.waves.drain(..drop);
        for q in &mut self.questions {
            let drop = q.waves.len().saturating_sub(n);
            q.waves.drain(..drop);
        }
    }
}

impl TrendWaveHeader {
    /// Figures that may still change: an open wave's (an interim release, or none yet).
    pub fn provisional(&self) -> bool {
        self.release.as_ref().is_none_or(|r| !r.is_final)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendWaveHeader {
    pub wave: String,
    /// Respondents of the group, when the group is shown in that wave.
    pub respondents: Option<u64>,
    pub suppressed: bool,
    /// The release the wave's figures come from: an interim one is provisional.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<ReleaseInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendQuestion {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
    pub waves: Vec<TrendPoint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    pub wave: String,
    /// Whether the question was part of that wave's definition.
    pub asked: bool,
    /// The figures; `null` when not asked.
    pub figures: Option<Gated<QuestionSummary>>,
    /// Change from the previous wave that asked the question.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<TrendChange>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum TrendChange {
    Scale(ScaleChange),
    Net { enps: Change },
}

/// Builds a trend of `scope` (a department subtree, or the whole audience) over `waves`
/// (oldest first). Questions are listed in the latest definition's order, then retired
/// ones.
pub fn build(
    waves: &[TrendWave],
    org: &Org,
    scope: Option<i64>,
) -> Result<TrendReport, StatsError> {
    let Some(latest) = waves.last() else {
        return Err(StatsError::ThresholdZero);
    };
    let group = scope.map_or(Group::Audience, Group::Department);
    let mut question_ids: Vec<String> = latest
        .definition
        .questions()
        .map(|(_, q)| q.id.value.clone())
        .collect();
    for wave in waves.iter().rev() {
        for (_, q) in wave.definition.questions() {
            if !question_ids.contains(&q.id.value) {
                question_ids.push(q.id.value.clone());
            }
        }
    }
    let confidence = Confidence::default();
    let mut headers = Vec::new();
    let mut plans = Vec::new();
    let mut group_counts = Vec::new();
    for wave in waves {
        let plan = wave.figures.disclosure();
        let report = plan.group_report(&group, None, || ());
        headers.push(TrendWaveHeader {
            wave: wave.label.clone(),
            respondents: report.respondents(),
            suppressed: report.suppression().is_some(),
            release: wave.figures.release(),
        });
        plans.push(plan);
        let counts: GroupCounts = wave.figures.counts(&group);
        group_counts.push(counts);
    }
    let mut questions = Vec::new();
    for id in &question_ids {
        let Some(reference) = waves.iter().rev().find_map(|w| w.definition.question(id)) else {
            continue;
        };
        let mut points = Vec::new();
        // (value counts, shown) of the last wave that asked the question.
        let mut previous: Option<(Option<stats::ValueCounts>, bool)> = None;
        for (i, wave) in waves.iter().enumerate() {
            let Some(question) = wave.definition.question(id) else {
                points.push(TrendPoint {
                    wave: wave.label.clone(),
                    asked: false,
                    figures: None,
                    change: None,
                });
                continue;
            };
            let figures = plans[i]
                .item(&group, id, ())
                .try_map(|()| group_counts[i].summary(question, confidence))?;
            let shown = figures.is_shown();
            let counts = group_counts[i].value_counts(question)?;
            // Next to a hidden wave no change is given at all: its delta would reveal it.
            let comparable = previous
                .as_ref()
                .filter(|(_, earlier_shown)| *earlier_shown && shown);
            let change = match (comparable, &question.kind) {
                (
                    Some((earlier, earlier_shown)),
                    QuestionKind::Likert { .. } | QuestionKind::Rating { .. },
                ) => match (scale_of(question)?, question.hours()) {
                    (Some(scale), None) => scale_change(
                        earlier.as_ref(),
                        counts.as_ref(),
                        &scale,
                        *earlier_shown && shown,
                    )?
                    .map(TrendChange::Scale),
                    (Some(scale), Some(hours)) => scale_change_with_hours(
                        earlier.as_ref(),
                        counts.as_ref(),
                        &scale,
                        hours,
                        *earlier_shown && shown,
                    )?
                    .map(TrendChange::Scale),
                    (None, _) => None,
                },
                (Some((earlier, earlier_shown)), QuestionKind::Enps | QuestionKind::Nps) => {
                    nps_change(earlier.as_ref(), counts.as_ref(), *earlier_shown && shown)?
                        .map(|enps| TrendChange::Net { enps })
                }
                _ => None,
            };
            points.push(TrendPoint {
                wave: wave.label.clone(),
                asked: true,
                figures: Some(figures),
                change,
            });
            previous = Some((counts, shown));
        }
        questions.push(TrendQuestion {
            id: id.clone(),
            kind: reference.type_name(),
            text: reference.text.default.clone(),
            waves: points,
        });
    }
    Ok(TrendReport {
        survey: latest.definition.id.value.clone(),
        department: scope.and_then(|id| org.name(id)).map(str::to_string),
        min_group_size: u64::from(latest.definition.min_group_size),
        waves: headers,
        questions,
    })
}
