//! Response rates, from invitation records (never from answers).

use serde::{Deserialize, Serialize};

use super::StatsError;

/// Invited, responded and their ratio; shown even for small groups, being only counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ResponseRate {
    pub invited: u64,
    pub responded: u64,
    /// `responded / invited`; `None` when nobody was invited.
    pub rate: Option<f64>,
}

pub fn response_rate(invited: u64, responded: u64) -> Result<ResponseRate, StatsError> {
    if responded > invited {
        return Err(StatsError::RespondedExceedsInvited { invited, responded });
    }
    Ok(ResponseRate {
        invited,
        responded,
        rate: (invited > 0).then(|| responded as f64 / invited as f64),
    })
}
