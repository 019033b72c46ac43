//! Drivers: how strongly each question's answers go with the outcome (eNPS by default).

use serde::{Deserialize, Serialize};

use super::probability::two_sided_t;
use super::trend::SIGNIFICANCE_LEVEL;
use super::PairSums;

/// Below this many respondents answering both, a driver is not shown.
pub const MIN_DRIVER_PAIRS: u64 = 20;

/// Pearson's r between a question and the outcome over `n` respondents who answered both.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Correlation {
    pub n: u64,
    /// `None` when either side's answers are all equal (r is undefined).
    pub r: Option<f64>,
    /// Two-sided, t = r·sqrt((n-2)/(1-r²)) with n-2 df; 0 when |r| = 1.
    pub p_value: Option<f64>,
}

/// `None` below [`MIN_DRIVER_PAIRS`] pairs: such a driver is not shown.
pub fn correlation(pairs: &PairSums) -> Option<Correlation> {
    if pairs.n < MIN_DRIVER_PAIRS {
        return None;
    }
    let (r, t) = match exact_moments(pairs) {
        Some(moments) => moments.r_and_t(pairs.n),
        None => float_r_and_t(pairs),
    };
    let p_value = match (r, t) {
        (_, Some(t)) => two_sided_t(t, (pairs.n - 2) as f64),
        // r is ±1: t is infinite.
        (Some(_), None) => Some(0.0),
        (None, _) => None,
    };
    Some(Correlation {
        n: pairs.n,
        r,
        p_value,
    })
}

/// Co-moments times n² (n·Σxy - Σx·Σy etc.), exact in integers.
struct ExactMoments {
    cross: i128,
    spread_x: i128,
    spread_y: i128,
}

fn exact_moments(p: &PairSums) -> Option<ExactMoments> {
    let n = i128::from(p.n);
    let (sx, sy) = (i128::from(p.sx), i128::from(p.sy));
    let moment = |a: i128, b: i128, sab: u64| {
        n.checked_mul(i128::from(sab))?
            .checked_sub(a.checked_mul(b)?)
    };
    Some(ExactMoments {
        cross: moment(sx, sy, p.sxy)?,
        spread_x: moment(sx, sx, p.sxx)?,
        spread_y: moment(sy, sy, p.syy)?,
    })
}

impl ExactMoments {
    fn r_and_t(&self, n: u64) -> (Option<f64>, Option<f64>) {
        if self.spread_x <= 0 || self.spread_y <= 0 {
            return (None, None);
        }
        let (sxx, syy) = (self.spread_x as f64, self.spread_y as f64);
        let r = (self.cross as f64 / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0);
        // 1 - r² = (Sxx·Syy - Sxy²) / (Sxx·Syy), exact in integers when it fits.
        let residual = self
            .spread_x
            .checked_mul(self.spread_y)
            .zip(self.cross.checked_mul(self.cross))
            .map(|(product, cross2)| product - cross2);
        match residual {
            Some(0) => (Some(r.signum()), None),
            Some(residual) if residual > 0 => {
                let t = self.cross as f64 * ((n - 2) as f64).sqrt() / (residual as f64).sqrt();
                (Some(r), Some(t))
            }
            _ => (Some(r), t_of(r, n)),
        }
    }
}

fn float_r_and_t(p: &PairSums) -> (Option<f64>, Option<f64>) {
    let n = p.n as f64;
    let (mx, my) = (p.sx as f64 / n, p.sy as f64 / n);
    let sxx = p.sxx as f64 - n * mx * mx;
    let syy = p.syy as f64 - n * my * my;
    if !(sxx > 0.0 && syy > 0.0) {
        return (None, None);
    }
    let r = ((p.sxy as f64 - n * mx * my) / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0);
    (Some(r), t_of(r, p.n))
}

fn t_of(r: f64, n: u64) -> Option<f64> {
    let rest = 1.0 - r * r;
    (rest > 0.0).then(|| r * (((n - 2) as f64) / rest).sqrt())
}

/// A question's correlation with the outcome and its favourable share, in one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriverCandidate<'a> {
    pub question: &'a str,
    pub correlation: &'a Correlation,
    pub favorable: f64,
}

/// A question worth working on first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyDriver {
    pub question: String,
    pub r: f64,
    pub favorable: f64,
    /// r · (1 - favorable): strong link to the outcome and much room to improve.
    pub priority: f64,
}

/// How many key drivers every output shows (the report JSON keeps them all): one rule
/// on every screen, file and command.
pub const SHOWN_DRIVERS: usize = 5;

/// Key drivers, best first: questions whose positive correlation with the outcome is
/// significant (p < 0.05), ranked by r · (1 - favourable share), ties by higher r, then
/// question id. Questions without r or p are left out.
pub fn key_drivers(candidates: &[DriverCandidate<'_>]) -> Vec<KeyDriver> {
    let mut drivers: Vec<KeyDriver> = candidates
        .iter()
        .filter_map(|candidate| {
            let r = candidate.correlation.r?;
            let p = candidate.correlation.p_value?;
            let favorable = candidate.favorable;
            let relevant = r > 0.0 && p < SIGNIFICANCE_LEVEL && (0.0..=1.0).contains(&favorable);
            relevant.then(|| KeyDriver {
                question: candidate.question.to_owned(),
                r,
                favorable,
                priority: r * (1.0 - favorable),
            })
        })
        .collect();
    drivers.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then_with(|| b.r.total_cmp(&a.r))
            .then_with(|| a.question.cmp(&b.question))
    });
    drivers
}
