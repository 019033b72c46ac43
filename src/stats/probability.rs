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
/// statrs's own inverse loses digits for large df (3e-6 relative at df = 1e5), so its
/// answer is polished with Newton steps on the CDF, which statrs computes to ~1e-13.
pub(crate) fn t_quantile(p: f64, df: f64) -> Option<f64> {
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
