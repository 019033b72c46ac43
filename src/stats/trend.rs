//! Changes between two waves of the same question, with two-sided significance tests.
//!
//! Degenerate cases never give NaN:
//! - a wave without answers: no delta, no p-value;
//! - a test whose standard error is zero (pooled share 0 or 1; both waves' answers
//!   constant; eNPS variance zero in both waves): p = 1.0 when the two waves' figures are
//!   equal (no evidence of change), `None` when they differ (the statistic is infinite
//!   over an undefined distribution);
//! - Welch's test with fewer than two answers in a wave: p = `None` (no variance);
//! - `both_shown = false` (a wave below the anonymity threshold): the whole change is
//!   withheld, because a delta next to the shown wave's figure would reveal the hidden one.
//!
//! `significant` is p < 0.05 with both waves shown.

use serde::{Deserialize, Serialize};

use super::describe::hours_moments;
use super::nps::NetScore;
use super::probability::{two_sided_normal, two_sided_t};
use super::{Scale, StatsError, ValueCounts};

/// Significance level of trend reports.
pub const SIGNIFICANCE_LEVEL: f64 = 0.05;

/// Change of one figure from the earlier wave to the later one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// later - earlier, in the figure's own units (share 0..1, mean, eNPS points).
    pub delta: Option<f64>,
    pub p_value: Option<f64>,
    pub significant: bool,
}

impl Change {
    const WITHHELD: Change = Change {
        delta: None,
        p_value: None,
        significant: false,
    };

    fn tested(delta: f64, p_value: Option<f64>) -> Change {
        Change {
            delta: Some(delta),
            p_value,
            significant: p_value.is_some_and(|p| p < SIGNIFICANCE_LEVEL),
        }
    }

    /// p-value when the standard error is zero: see the module documentation.
    fn degenerate(delta: f64) -> Change {
        Change::tested(delta, (delta == 0.0).then_some(1.0))
    }
}

/// `successes` out of `n` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proportion {
    pub successes: u64,
    pub n: u64,
}

/// Change of a share (e.g. favourable): two-proportion z-test with pooled variance.
pub fn proportion_change(earlier: Proportion, later: Proportion, both_shown: bool) -> Change {
    if !both_shown || earlier.n == 0 || later.n == 0 {
        return Change::WITHHELD;
    }
    let (n1, n2) = (earlier.n as f64, later.n as f64);
    let delta = later.successes as f64 / n2 - earlier.successes as f64 / n1;
    let pooled = (earlier.successes + later.successes) as f64 / (n1 + n2);
    let variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if variance <= 0.0 {
        return Change::degenerate(delta);
    }
    Change::tested(delta, Some(two_sided_normal(delta / variance.sqrt())))
}

/// Change of the mean: Welch's t-test with Welch-Satterthwaite degrees of freedom.
pub fn mean_change(
    earlier: &ValueCounts,
    later: &ValueCounts,
    both_shown: bool,
) -> Result<Change, StatsError> {
    earlier.check_range(later.min(), later.max())?;
    let (Some(m1), Some(m2), true) = (earlier.mean(), later.mean(), both_shown) else {
        return Ok(Change::WITHHELD);
    };
    Ok(welch(
        (earlier.n(), m1, earlier.variance()),
        (later.n(), m2, later.variance()),
    ))
}

/// Welch's t-test of two waves' (n, mean, sample variance), both with answers.
fn welch(earlier: (u64, f64, Option<f64>), later: (u64, f64, Option<f64>)) -> Change {
    let delta = later.1 - earlier.1;
    let (Some(v1), Some(v2)) = (earlier.2, later.2) else {
        return Change::tested(delta, None);
    };
    let (n1, n2) = (earlier.0 as f64, later.0 as f64);
    let (a, b) = (v1 / n1, v2 / n2);
    if a + b <= 0.0 {
        return Change::degenerate(delta);
    }
    let t = delta / (a + b).sqrt();
    let df = (a + b).powi(2) / (a * a / (n1 - 1.0) + b * b / (n2 - 1.0));
    Change::tested(delta, two_sided_t(t, df))
}

/// Change of the mean hours (`lost_time`): Welch's t-test on the answers read as hours,
/// `hours` giving the hours of each value of the range.
pub fn hours_change(
    earlier: &ValueCounts,
    later: &ValueCounts,
    hours: &[f64],
    both_shown: bool,
) -> Result<Change, StatsError> {
    earlier.check_range(later.min(), later.max())?;
    let (n1, m1, v1) = hours_moments(earlier, hours)?;
    let (n2, m2, v2) = hours_moments(later, hours)?;
    let (Some(m1), Some(m2), true) = (m1, m2, both_shown) else {
        return Ok(Change::WITHHELD);
    };
    Ok(welch((n1, m1, v1), (n2, m2, v2)))
}

/// Change of a likert or rating question: favourable share and mean (and mean hours,
/// for `lost_time`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScaleChange {
    pub favorable: Change,
    pub mean: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Change>,
}

/// `None` when the question is missing from either wave (new, or retired).
pub fn scale_change(
    earlier: Option<&ValueCounts>,
    later: Option<&ValueCounts>,
    scale: &Scale,
    both_shown: bool,
) -> Result<Option<ScaleChange>, StatsError> {
    for counts in [earlier, later].into_iter().flatten() {
        counts.check_range(1, scale.points())?;
    }
    let (Some(earlier), Some(later)) = (earlier, later) else {
        return Ok(None);
    };
    let favorable = |counts: &ValueCounts| Proportion {
        successes: counts.count_in(scale.favorable()),
        n: counts.n(),
    };
    Ok(Some(ScaleChange {
        favorable: proportion_change(favorable(earlier), favorable(later), both_shown),
        mean: mean_change(earlier, later, both_shown)?,
        hours: None,
    }))
}

/// [`scale_change`] of a question whose values stand for `hours` (`lost_time`), with
/// the change of its mean hours.
pub fn scale_change_with_hours(
    earlier: Option<&ValueCounts>,
    later: Option<&ValueCounts>,
    scale: &Scale,
    hours: &[f64],
    both_shown: bool,
) -> Result<Option<ScaleChange>, StatsError> {
    let Some(mut change) = scale_change(earlier, later, scale, both_shown)? else {
        return Ok(None);
    };
    if let (Some(earlier), Some(later)) = (earlier, later) {
        change.hours = Some(hours_change(earlier, later, hours, both_shown)?);
    }
    Ok(Some(change))
}

/// Change of eNPS (or NPS) in points: z = (e2 - e1) / sqrt(v1 + v2) in units. `None` when
/// the question is missing from either wave.
pub fn nps_change(
    earlier: Option<&ValueCounts>,
    later: Option<&ValueCounts>,
    both_shown: bool,
) -> Result<Option<Change>, StatsError> {
    let earlier = earlier.map(NetScore::of).transpose()?;
    let later = later.map(NetScore::of).transpose()?;
    let (Some(earlier), Some(later)) = (earlier, later) else {
        return Ok(None);
    };
    let (Some(e1), Some(e2), true) = (earlier, later, both_shown) else {
        return Ok(Some(Change::WITHHELD));
    };
    let delta = 100.0 * (e2.score - e1.score);
    let variance = e1.variance + e2.variance;
    if variance <= 0.0 {
        return Ok(Some(Change::degenerate(delta)));
    }
    let z = (e2.score - e1.score) / variance.sqrt();
    Ok(Some(Change::tested(delta, Some(two_sided_normal(z)))))
}
