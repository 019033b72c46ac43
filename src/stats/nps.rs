//! eNPS and NPS: promoters (9-10) minus detractors (0-6) on 0..10 answers.

use serde::{Deserialize, Serialize};

use super::{Confidence, Distribution, Interval, StatsError, ValueCounts};

const PROMOTERS: [u8; 2] = [9, 10];
const PASSIVES: [u8; 2] = [7, 8];
const DETRACTORS: [u8; 7] = [0, 1, 2, 3, 4, 5, 6];

/// Figures of an `enps` or `nps` question (both use these field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NpsSummary {
    pub n: u64,
    /// 100 · (promoter share - detractor share); `None` without answers.
    pub enps: Option<f64>,
    pub enps_ci: Option<Interval>,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    pub distribution: Distribution,
}

/// The score and its variance, in units (-1..1), not percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NetScore {
    pub score: f64,
    pub variance: f64,
}

impl NetScore {
    /// `None` without answers; the tallies must cover 0..=10.
    pub(crate) fn of(counts: &ValueCounts) -> Result<Option<NetScore>, StatsError> {
        counts.check_range(0, 10)?;
        let n = counts.n();
        if n == 0 {
            return Ok(None);
        }
        let p = counts.count_in(&PROMOTERS) as f64 / n as f64;
        let d = counts.count_in(&DETRACTORS) as f64 / n as f64;
        let score = p - d;
        // p + d ≥ (p - d)² holds exactly; the max only guards rounding.
        let variance = ((p + d - score * score) / n as f64).max(0.0);
        Ok(Some(NetScore { score, variance }))
    }
}

/// eNPS (or NPS) figures from 0..=10 tallies.
pub fn nps_summary(counts: &ValueCounts, confidence: Confidence) -> Result<NpsSummary, StatsError> {
    let net = NetScore::of(counts)?;
    let enps = net.map(|net| 100.0 * net.score);
    Ok(NpsSummary {
        n: counts.n(),
        enps,
        enps_ci: net.map(|net| {
            Interval::around(
                100.0 * net.score,
                100.0 * confidence.z() * net.variance.sqrt(),
            )
        }),
        promoters: counts.count_in(&PROMOTERS),
        passives: counts.count_in(&PASSIVES),
        detractors: counts.count_in(&DETRACTORS),
        distribution: Distribution::of(counts),
    })
}
