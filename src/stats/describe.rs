//! Figures of one question in one group: likert and rating scales, choices, texts.

use serde::de::Error as _;
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

use super::confidence::wilson;
use super::{ChoiceCounts, Confidence, Interval, NpsSummary, StatsError, ValueCounts};

/// A 1..=k answer scale with its favourable values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScaleRepr", into = "ScaleRepr")]
pub struct Scale {
    points: u8,
    favorable: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct ScaleRepr {
    points: u8,
    favorable: Vec<u8>,
}

impl TryFrom<ScaleRepr> for Scale {
    type Error = StatsError;

    fn try_from(repr: ScaleRepr) -> Result<Self, Self::Error> {
        Scale::likert(repr.points, Some(&repr.favorable))
    }
}

impl From<Scale> for ScaleRepr {
    fn from(scale: Scale) -> Self {
        ScaleRepr {
            points: scale.points,
            favorable: scale.favorable,
        }
    }
}

impl Scale {
    /// A likert scale of `points` (2 to 11) values; `favorable` defaults to the top two.
    pub fn likert(points: u8, favorable: Option<&[u8]>) -> Result<Scale, StatsError> {
        if !(2..=11).contains(&points) {
            return Err(StatsError::ScalePoints(points));
        }
        let mut favorable = match favorable {
            Some(values) => values.to_vec(),
            None => vec![points - 1, points],
        };
        if let Some(&value) = favorable.iter().find(|v| !(1..=points).contains(*v)) {
            return Err(StatsError::FavorableOutOfScale { value, points });
        }
        favorable.sort_unstable();
        favorable.dedup();
        Ok(Scale { points, favorable })
    }

    /// A rating 1..=`max` (2 to 10); favourable is the top two values.
    pub fn rating(max: u8) -> Result<Scale, StatsError> {
        if !(2..=10).contains(&max) {
            return Err(StatsError::ScalePoints(max));
        }
        Scale::likert(max, None)
    }

    pub fn points(&self) -> u8 {
        self.points
    }

    pub fn favorable(&self) -> &[u8] {
        &self.favorable
    }

    /// Empty tallies over this scale's values.
    pub fn empty_counts(&self) -> ValueCounts {
        ValueCounts::one_to(self.points)
    }

    /// `(mean - 1) / (k - 1) · 100`.
    pub(crate) fn index(&self, mean: f64) -> f64 {
        (mean - 1.0) / f64::from(self.points - 1) * 100.0
    }
}

/// Count per scale value, zeros included; serialised as `{"1": 3, "2": 0, ...}` in value
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution(Vec<(u8, u64)>);

impl Distribution {
    pub fn of(counts: &ValueCounts) -> Distribution {
        Distribution(counts.iter().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = (u8, u64)> + '_ {
        self.0.iter().copied()
    }

    /// The lowest and highest value of the scale.
    pub fn ends(&self) -> Option<(u8, u8)> {
        Some((self.0.first()?.0, self.0.last()?.0))
    }
}

impl Serialize for Distribution {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (value, count) in &self.0 {
            map.serialize_entry(&value.to_string(), count)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Distribution {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut pairs = raw
            .into_iter()
            .map(|(key, count)| {
                key.parse::<u8>()
                    .map(|value| (value, count))
                    .map_err(|_| D::Error::custom(format!("{key:?} is not a scale value")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        pairs.sort_unstable();
        Ok(Distribution(pairs))
    }
}

/// Figures of a likert or rating question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleSummary {
    pub n: u64,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    pub mean_ci: Option<Interval>,
    pub favorable: Option<f64>,
    pub favorable_ci: Option<Interval>,
    pub index: Option<f64>,
    pub distribution: Distribution,
    /// Hours of work lost, for a question whose values stand for hours (`lost_time`);
    /// absent for every other scale.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<HoursSummary>,
}

/// The answers of a scale read as hours (each value standing for its band's midpoint).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HoursSummary {
    /// Mean hours per answer; `None` without answers.
    pub mean_hours: Option<f64>,
    /// Sample sd of the hours (divisor n-1); `None` below two answers.
    pub sd_hours: Option<f64>,
    /// Student's t interval of the mean, cut at the lowest and highest hours a value
    /// stands for (as `mean_ci` is cut at the scale's ends); `None` when n < 2 or sd = 0.
    pub mean_hours_ci: Option<Interval>,
}

/// Count, mean and sample variance of the answers read through `hours` (the hours of
/// each value of the counts' range, in order). Two passes, so answers all alike give a
/// variance of exactly 0.
pub(crate) fn hours_moments(
    counts: &ValueCounts,
    hours: &[f64],
) -> Result<(u64, Option<f64>, Option<f64>), StatsError> {
    let range = usize::from(counts.max() - counts.min()) + 1;
    if hours.len() != range {
        return Err(StatsError::OptionCountMismatch {
            expected: range,
            found: hours.len(),
        });
    }
    let n = counts.n();
    let weighted = || counts.iter().zip(hours).map(|((_, c), h)| (c as f64, *h));
    let mean = (n > 0).then(|| weighted().map(|(c, h)| c * h).sum::<f64>() / n as f64);
    let variance = match mean {
        Some(mean) if n >= 2 => Some(
            weighted()
                .map(|(c, h)| c * (h - mean) * (h - mean))
                .sum::<f64>()
                / (n - 1) as f64,
        ),
        _ => None,
    };
    Ok((n, mean, variance))
}

/// Mean hours with its sd and interval, from the tallies and the hours each value
/// stands for (`definitions::LOST_TIME_HOURS` for `lost_time`).
pub fn hours_summary(
    counts: &ValueCounts,
    hours: &[f64],
    confidence: Confidence,
) -> Result<HoursSummary, StatsError> {
    let (n, mean, variance) = hours_moments(counts, hours)?;
    let sd = variance.map(f64::sqrt);
    let low = hours.iter().copied().fold(f64::INFINITY, f64::min);
    let high = hours.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mean_hours_ci = match (mean, sd) {
        (Some(mean), Some(sd)) if sd > 0.0 => confidence.t((n - 1) as f64).map(|t| {
            let i = Interval::around(mean, t * sd / (n as f64).sqrt());
            Interval {
                lo: i.lo.max(low),
                hi: i.hi.min(high),
            }
        }),
        _ => None,
    };
    Ok(HoursSummary {
        mean_hours: mean,
        sd_hours: sd,
        mean_hours_ci,
    })
}

impl ScaleSummary {
    /// Whether `mean_ci` reached past the scale and was cut at one of its ends.
    pub fn mean_ci_clipped(&self) -> bool {
        match (self.mean_ci, self.distribution.ends()) {
            (Some(i), Some((lo, hi))) => i.lo <= f64::from(lo) || i.hi >= f64::from(hi),
            _ => false,
        }
    }
}

/// Figures of a likert or rating question from its tallies over `scale`.
pub fn scale_summary(
    counts: &ValueCounts,
    scale: &Scale,
    confidence: Confidence,
) -> Result<ScaleSummary, StatsError> {
    counts.check_range(1, scale.points)?;
    let n = counts.n();
    let mean = counts.mean();
    let sd = counts.variance().map(f64::sqrt);
    // No interval where it would mean nothing: one answer, or answers all alike (a
    // zero-width interval reads as certainty). One that reaches past the scale is cut at
    // its ends (`ScaleSummary::mean_ci_clipped` tells).
    let (low, high) = (1.0, f64::from(scale.points()));
    let mean_ci = match (mean, sd) {
        (Some(mean), Some(sd)) if sd > 0.0 => confidence.t((n - 1) as f64).map(|t| {
            let i = Interval::around(mean, t * sd / (n as f64).sqrt());
            Interval {
                lo: i.lo.max(low),
                hi: i.hi.min(high),
            }
        }),
        _ => None,
    };
    let favorable_count = counts.count_in(&scale.favorable);
    Ok(ScaleSummary {
        n,
        mean,
        sd,
        mean_ci,
        favorable: (n > 0).then(|| favorable_count as f64 / n as f64),
        favorable_ci: wilson(favorable_count, n, confidence.z()),
        index: mean.map(|mean| scale.index(mean)),
        distribution: Distribution::of(counts),
        hours: None,
    })
}

/// How many chose one option, and their share of the question's respondents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionShare {
    pub option: String,
    pub count: u64,
    /// Over respondents who answered the question, so multiple-choice shares can add up
    /// to more than 1; `None` when nobody answered.
    pub share: Option<f64>,
}

/// Figures of a choice question: `n` respondents answered; options in definition order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceSummary {
    pub n: u64,
    pub options: Vec<OptionShare>,
}

/// Counts and shares per option; `labels` are the options in the definition's order.
pub fn choice_summary<L: AsRef<str>>(
    counts: &ChoiceCounts,
    labels: &[L],
) -> Result<ChoiceSummary, StatsError> {
    if labels.len() != counts.counts().len() {
        return Err(StatsError::OptionCountMismatch {
            expected: counts.counts().len(),
            found: labels.len(),
        });
    }
    let n = counts.respondents();
    let options = labels
        .iter()
        .zip(counts.counts())
        .map(|(label, &count)| OptionShare {
            option: label.as_ref().to_owned(),
            count,
            share: (n > 0).then(|| count as f64 / n as f64),
        })
        .collect();
    Ok(ChoiceSummary { n, options })
}

/// A text question shows only how many answered; the comments go through
/// [`super::Disclosure::comments`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextSummary {
    pub n: u64,
}

/// Any question's figures, serialised as the figures themselves (the report's `questions`
/// map holds one per question id).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum QuestionSummary {
    Scale(ScaleSummary),
    Nps(NpsSummary),
    Choice(ChoiceSummary),
    Text(TextSummary),
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOURS: [f64; 6] = [0.0, 0.25, 1.25, 3.0, 6.0, 12.0];

    fn counts(values: &[u8]) -> ValueCounts {
        let mut counts = ValueCounts::one_to(6);
        for v in values {
            counts.add(*v).unwrap();
        }
        counts
    }

    #[test]
    fn hours_are_the_values_midpoints() {
        let s = hours_summary(&counts(&[1, 2, 6]), &HOURS, Confidence::default()).unwrap();
        assert_eq!(s.mean_hours, Some(12.25 / 3.0));
        let i = s.mean_hours_ci.unwrap();
        // cut at the ends, as a mean's interval at the scale's
        assert_eq!((i.lo, i.hi), (0.0, 12.0));
    }

    #[test]
    fn answers_all_alike_have_no_interval_and_none_have_no_mean() {
        let alike = hours_summary(&counts(&[3; 5]), &HOURS, Confidence::default()).unwrap();
        assert_eq!(
            (alike.mean_hours, alike.sd_hours, alike.mean_hours_ci),
            (Some(1.25), Some(0.0), None)
        );
        let none = hours_summary(&counts(&[]), &HOURS, Confidence::default()).unwrap();
        assert_eq!((none.mean_hours, none.sd_hours), (None, None));
    }

    #[test]
    fn hours_must_cover_every_value() {
        assert!(hours_summary(&counts(&[1]), &HOURS[..5], Confidence::default()).is_err());
    }
}
