//! The few distribution functions the tests need, over statrs, with the accuracy the
//! reference comparison asks for.

use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

/// Two-sided p-value of a standard normal statistic.
pub(crate) fn two_sided_normal(z: f64) -> f64 {
    (2.0 * Normal::standard().sf(z.abs())).clamp(0.0, 1.0)
}

/// Two-sided p-value of a Student t statistic; `None` unless `df > 0`.
pub(crate) fn two_sided_t(t: f64, df: f64) -> Option<f64> {
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    Some((2.0 * dist.sf(t.abs())).clamp(0.0, 1.0))
}

/// Quantile of the standard normal distribution, `p` in (0, 1).
pub(crate) fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Quantile of Student's t with `df` degrees of freedom, `p` in (0, 1).
///
/// Remembered per `(p, df)` in a small per-thread table: a report asks for the same few
/// quantiles (95%, one df per group size) over and over, and each costs tens of
/// microseconds. A remembered answer is the very value computed, so results are identical.
pub(crate) fn t_quantile(p: f64, df: f64) -> Option<f64> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    /// Enough for every group size of a large report; the table starts over when full.
    const CAPACITY: usize = 4096;
    thread_local! {
        static KNOWN: RefCell<HashMap<(u64, u64), Option<f64>>> = RefCell::new(HashMap::new());
    }
    let key = (p.to_bits(), df.to_bits());
    if let Some(known) = KNOWN.with(|k| k.borrow().get(&key).copied()) {
        return known;
    }
    let value = t_quantile_uncached(p, df);
    KNOWN.with(|k| {
        let mut known = k.borrow_mut();
        if known.len() >= CAPACITY {
            known.clear();
        }
        known.insert(key, value);
    });
    value
}

/// [`t_quantile`], computed.
///
/// statrs's own inverse loses digits for large df (3e-6 relative at df = 1e5), so its
/// answer is polished with Newton steps on the CDF, which statrs computes to ~1e-13.
fn t_quantile_uncached(p: f64, df: f64) -> Option<f64> {
    if !(p > 0.0 && p < 1.0) {
        return None;
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let mut x = dist.inverse_cdf(p);
    for _ in 0..3 {
        let density = dist.pdf(x);
        if density.is_nan() || density <= 0.0 {
            break;
        }
        let step = (dist.cdf(x) - p) / density;
        if !step.is_finite() {
            break;
        }
        x -= step;
    }
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_quantiles_are_the_computed_ones() {
        for df in [1.0, 2.0, 9.0, 29.0, 1e5, f64::NAN, 0.0, -1.0] {
            for p in [0.975, 0.95, 0.5, 0.0, 1.0] {
                let computed = t_quantile_uncached(p, df);
                for _ in 0..2 {
                    let remembered = t_quantile(p, df);
                    assert_eq!(
                        remembered.map(f64::to_bits),
                        computed.map(f64::to_bits),
                        "p {p}, df {df}"
                    );
                }
            }
        }
    }
}
