//! Confidence levels and intervals.

use serde::{Deserialize, Serialize};

use super::probability::{normal_quantile, t_quantile};
use super::StatsError;

/// z for a 95% two-sided interval, as the spec fixes it.
pub const Z_95: f64 = 1.959963984540054;

/// A two-sided confidence level; 95% unless the user asks for another.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Confidence(f64);

impl Confidence {
    pub const NINETY_FIVE: Confidence = Confidence(0.95);

    /// `level` strictly between 0 and 1, e.g. 0.9.
    pub fn new(level: f64) -> Result<Confidence, StatsError> {
        if level > 0.0 && level < 1.0 {
            Ok(Confidence(level))
        } else {
            Err(StatsError::ConfidenceLevel(level))
        }
    }

    pub fn level(self) -> f64 {
        self.0
    }

    /// The normal quantile of the level (exactly [`Z_95`] at 95%).
    pub fn z(self) -> f64 {
        if self == Confidence::NINETY_FIVE {
            Z_95
        } else {
            normal_quantile(self.upper_tail())
        }
    }

    /// The Student t quantile of the level for `df` degrees of freedom.
    pub(crate) fn t(self, df: f64) -> Option<f64> {
        t_quantile(self.upper_tail(), df)
    }

    fn upper_tail(self) -> f64 {
        0.5 + self.0 / 2.0
    }
}

impl Default for Confidence {
    fn default() -> Self {
        Confidence::NINETY_FIVE
    }
}

/// A closed interval, serialised as `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct Interval {
    pub lo: f64,
    pub hi: f64,
}

impl Interval {
    pub(crate) fn around(centre: f64, half_width: f64) -> Interval {
        Interval {
            lo: centre - half_width,
            hi: centre + half_width,
        }
    }

    pub fn contains(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

impl From<[f64; 2]> for Interval {
    fn from([lo, hi]: [f64; 2]) -> Self {
        Interval { lo, hi }
    }
}

impl From<Interval> for [f64; 2] {
    fn from(interval: Interval) -> Self {
        [interval.lo, interval.hi]
    }
}

/// Wilson score interval of `successes` out of `n`; `None` when n = 0.
pub(crate) fn wilson(successes: u64, n: u64, z: f64) -> Option<Interval> {
    if n == 0 {
        return None;
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // The interval holds p and stays in [0, 1] exactly; the clamps only undo rounding.
    Some(Interval {
        lo: (centre - half).clamp(0.0, p),
        hi: (centre + half).clamp(p, 1.0),
    })
}
