//! Survey statistics: every figure a report shows, computed from sufficient statistics.
//!
//! The contract is `docs/spec/statistics.md`; `scripts/reference_stats.py` computes the
//! same figures with pandas and scipy from raw answers, and the tests compare the two to
//! 1e-9. Everything here is pure and costs the same whatever the number of respondents:
//! answers are first tallied into [`ValueCounts`], [`ChoiceCounts`] or [`PairSums`] (which
//! merge, so a department subtree is the sum of its children), and every figure is computed
//! from those tallies.
//!
//! Nothing computed here may leave the process without passing [`suppression`]: a
//! [`Disclosure`] is planned once per wave (and per filter) from the department tree, and it
//! is the only maker of [`Gated`] values and [`GroupReport`]s, which serialise a hidden
//! figure as `{"suppressed": true}` and nothing else.
//!
//! Decisions where the spec is silent:
//! - A figure that is undefined is `None` (JSON `null`), never NaN: `mean`, `favorable`,
//!   `index` and their intervals when n = 0; `sd` when n < 2; `mean_ci` when n < 2 or
//!   sd = 0 (a zero-width interval would read as certainty).
//! - `mean_ci` is cut at the scale's ends (1 and k): "4.17 [2.77, 5.56]" on a 1..5 scale
//!   made readers doubt every figure; `ScaleSummary::mean_ci_clipped` says when it was,
//!   and the reports say so. (The Wilson interval stays inside [0, 1] by construction.)
//! - Hours (`lost_time`): each value stands for its band's midpoint in hours; `hours`
//!   holds their mean, sd and t interval (cut at the lowest and highest midpoint), and
//!   their trend is Welch's test on the hours. The midpoints are the definition's
//!   (`definitions::LOST_TIME_HOURS`); here they are any list, one per value.
//! - One summary type serves `enps` and `nps` questions; its fields are named `enps`,
//!   `enps_ci` for both, and it adds the 0..10 `distribution`.
//! - Trends: see [`trend`] for the degenerate cases (identical constant waves give
//!   p = 1.0; otherwise an undefined test gives `p_value: None`), and a change next to a
//!   hidden wave is withheld entirely (its delta would reveal the hidden figure).
//! - Services: see [`service`] (n is the respondents who answered at least one of the
//!   section's likert, rating or nps questions; hidden questions are left out).
//! - Drivers: see [`drivers`] for the key-driver rule.
//! - Suppression: see [`suppression`] (secondary suppression hides a whole subtree, so shown
//!   groups are closed under taking parents; comments get the same differencing rule at
//!   `min_comment_group_size`).

mod confidence;
pub mod counts;
pub mod describe;
pub mod drivers;
pub mod nps;
mod probability;
pub mod rates;
pub mod release;
pub mod service;
pub mod suppression;
pub mod trend;
pub mod views;

#[cfg(test)]
mod tests;

pub use confidence::{Confidence, Interval, Z_95};
pub use counts::{ChoiceCounts, PairSums, ValueCounts};
pub use describe::{
    choice_summary, hours_summary, scale_summary, ChoiceSummary, Distribution, HoursSummary,
    OptionShare, QuestionSummary, Scale, ScaleSummary, TextSummary,
};
pub use drivers::{
    correlation, key_drivers, Correlation, DriverCandidate, KeyDriver, SHOWN_DRIVERS,
};
pub use nps::{nps_summary, NpsSummary};
pub use rates::{response_rate, ResponseRate};
pub use release::{release, ReleaseRequest, ReleaseState, Seq};
pub use service::{service_summary, ScaleAnswers, ServiceSummary};
pub use suppression::{
    check_filter, plan, Disclosure, FilterRefused, Gated, Group, GroupReport, OrgUnit,
    SuppressionReason, Threshold,
};
pub use trend::{
    hours_change, mean_change, nps_change, proportion_change, scale_change,
    scale_change_with_hours, Change, Proportion, ScaleChange,
};

/// Why a statistic could not be computed from the inputs given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("value {value} is outside {min}..={max}")]
    ValueOutOfRange { value: u8, min: u8, max: u8 },
    #[error("value range {min}..={max} is empty")]
    EmptyRange { min: u8, max: u8 },
    #[error("counts over {found_min}..={found_max} do not match {expected_min}..={expected_max}")]
    RangeMismatch {
        expected_min: u8,
        expected_max: u8,
        found_min: u8,
        found_max: u8,
    },
    #[error("a scale has 2 to 11 points, not {0}")]
    ScalePoints(u8),
    #[error("favourable value {value} is outside the scale 1..={points}")]
    FavorableOutOfScale { value: u8, points: u8 },
    #[error("a choice question needs at least one option")]
    NoOptions,
    #[error("option {option} does not exist (the question has {options})")]
    OptionOutOfRange { option: usize, options: usize },
    #[error("a single-choice answer selects {0} options")]
    SeveralChoices(usize),
    #[error("{expected} options expected, {found} given")]
    OptionCountMismatch { expected: usize, found: usize },
    #[error("choice tallies are inconsistent with {respondents} respondents")]
    InconsistentChoiceTallies { respondents: u64 },
    #[error("{responded} responded but only {invited} were invited")]
    RespondedExceedsInvited { invited: u64, responded: u64 },
    #[error("confidence level {0} is not strictly between 0 and 1")]
    ConfidenceLevel(f64),
    #[error("min_group_size must be at least 1")]
    ThresholdZero,
    #[error("department {0} appears twice")]
    DuplicateDepartment(String),
    #[error("department {department} has unknown parent {parent}")]
    UnknownParent { department: String, parent: String },
    #[error("department {0} is part of a cycle of parents")]
    ParentCycle(String),
    #[error("the final release of a wave is made once and never changes")]
    ReleaseAfterFinal,
    #[error("department {department}: {answers} answers to {item} but {respondents} respondents")]
    AnswersExceedRespondents {
        department: String,
        item: String,
        answers: u64,
        respondents: u64,
    },
}
