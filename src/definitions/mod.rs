//! Survey definitions: the TOML files HR keeps in `survey-definitions/`, read into a
//! typed [`Definition`] with every broken rule reported at its line and column
//! (`docs/spec/survey-definition.md` is the contract).
//!
//! Pure: no I/O. The caller reads files and the roster and passes them in; the current
//! time is always an argument of the scheduling helpers.
//!
//! - [`parse_definition`]: syntax and every rule that needs only the file.
//! - [`check_departments`]: `about` and audience departments against a roster.
//! - [`check_report_by`]: `report_by` dimensions against a roster's columns.
//! - [`check_evolution`]: a new version against the versions that already ran waves.
//! - [`Schedule`]: wave openings, closing and reminder times, wave labels.
//!
//! Where the spec is silent:
//! - `[audience]` (with `departments`) and at least one section are required; so are
//!   `id`, `title`, and each question's `id`, `type`, `text`. `language` defaults to
//!   "en"; a plain string serves every language of `languages`.
//! - The survey id is a slug of 3 to 64 characters (section and question ids: 1 to 64);
//!   section ids are unique too, and one section per `about` service.
//! - `[schedule]` may be omitted (waves opened by hand); see `read_schedule` for its keys.
//!   `opens` is a local time, as a string or a TOML local date-time, never with an
//!   offset. Periods are 1 to 1000 units; month lengths count as their shortest and
//!   longest (28..31 days) when compared with days or weeks.
//! - `favorable` defaults to the top two values (top one on 2- or 3-label scales); a
//!   likert question takes `scale` or inline `scale_labels` (+ `favorable`), not both.
//! - `rating.max` is required; an `nps` question needs its section's `about`.
//! - `min_comment_group_size` defaults to the larger of 10 and `min_group_size`.
//! - `report_by` (an addition to the spec) names the roster columns a response keeps as
//!   report dimensions, as slugs ([`column_slug`]); default none. Identifying columns and
//!   `hire_date` are refused; `tenure` (from `hire_date`) needs `tenure_bands`.

mod catalogue;
mod checks;
mod diagnostic;
mod local_time;
mod model;
mod parse;
mod parse_scales;
mod parse_schedule;
mod parse_sections;
mod period;
mod reader;
mod report_by;
mod schedule;
mod text;
mod translations;

#[cfg(test)]
mod tests;

pub use catalogue::{
    check_catalogue_roster, check_services, parse_catalogue, Catalogue, FeedbackPlan, Service,
    Targets, CATALOGUE_FILE, DEFAULT_COOLDOWN_DAYS, FEEDBACK_QUESTIONS, MAX_FEEDBACK_QUESTIONS,
};
pub use checks::{check_departments, check_evolution, check_report_by};
pub use diagnostic::{render_all, Diagnostic, Located, Pos};
pub use local_time::resolve_local;
pub use model::{
    Anonymity, Audience, Definition, Measure, Question, QuestionKind, Scale, Section, SeenAbout,
    LOST_TIME_HOURS,
};
pub use parse::{
    parse_definition, DEFAULT_LANGUAGE, DEFAULT_MIN_COMMENT_GROUP_SIZE, DEFAULT_MIN_GROUP_SIZE,
    SMALLEST_MIN_GROUP_SIZE, SURVEY_ID_MIN_LEN,
};
pub use parse_scales::{MAX_SCALE_LABELS, MIN_SCALE_LABELS};
pub use parse_sections::{DEFAULT_TEXT_MAX_LENGTH, MAX_CHOICE_OPTIONS, MIN_CHOICE_OPTIONS};
pub use period::{Period, MAX_PERIOD_COUNT};
pub(crate) use reader::closest;
pub use report_by::{column_slug, refusal, ReportBy, TenureBound, TENURE};
pub use schedule::{wave_label, Schedule, ScheduleKind};
pub use text::{Text, TextList};
