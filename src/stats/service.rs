//! Satisfaction with an internal service: the figures of a section with `about = X`.
//!
//! Decisions:
//! - Only questions shown in the group count. A hidden question (fewer than
//!   `min_group_size` answers there) is left out of `satisfaction` and `favorable`: averaged
//!   in beside shown questions it could be recovered by difference. That is why the inputs
//!   are [`Gated`]: only [`super::Disclosure`] makes them.
//! - `satisfaction` is the mean of the `index` of the shown questions that have answers,
//!   equally weighted; `favorable` pools their answers; both `None` when there are none.
//! - `nps` is the section's nps question's score when that question is shown and answered.
//! - `n` is given by the caller: the group's respondents who answered at least one of the
//!   section's likert, rating or nps questions. The caller gates the whole service through
//!   `Disclosure::item` with the same count (e.g. under the item key `service:IT`).

use serde::{Deserialize, Serialize};

use super::nps::NetScore;
use super::{Gated, Scale, StatsError, ValueCounts};

/// One likert or rating question's tallies with its scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleAnswers<'a> {
    pub counts: &'a ValueCounts,
    pub scale: &'a Scale,
}

/// A service's figures in one group (the whole audience or a respondent department).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// 0-100.
    pub satisfaction: Option<f64>,
    pub favorable: Option<f64>,
    pub nps: Option<f64>,
    pub n: u64,
}

pub fn service_summary(
    questions: &[Gated<ScaleAnswers<'_>>],
    nps: Option<&Gated<&ValueCounts>>,
    respondents: u64,
) -> Result<ServiceSummary, StatsError> {
    let mut indices = Vec::with_capacity(questions.len());
    let (mut favorable, mut answers) = (0u64, 0u64);
    for question in questions.iter().filter_map(Gated::shown) {
        question.counts.check_range(1, question.scale.points())?;
        if let Some(mean) = question.counts.mean() {
            indices.push(question.scale.index(mean));
        }
        favorable += question.counts.count_in(question.scale.favorable());
        answers += question.counts.n();
    }
    let nps = match nps.and_then(Gated::shown) {
        Some(counts) => NetScore::of(counts)?.map(|net| 100.0 * net.score),
        None => None,
    };
    Ok(ServiceSummary {
        satisfaction: (!indices.is_empty())
            .then(|| indices.iter().sum::<f64>() / indices.len() as f64),
        favorable: (answers > 0).then(|| favorable as f64 / answers as f64),
        nps,
        n: respondents,
    })
}
