//! The typed survey definition: what a valid TOML file means.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use serde::Serialize;

use super::diagnostic::Located;
use super::report_by::ReportBy;
use super::schedule::Schedule;
use super::text::{Text, TextList};

/// One survey definition file, parsed and checked (see `parse_definition`).
///
/// Positions are kept (as [`Located`]) for the things later cross-checks point at:
/// the survey id, `anonymity`, section ids and `about`, question ids and audience
/// department names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Definition {
    /// Slug, stable across waves.
    pub id: Located<String>,
    pub title: Text,
    pub intro: Option<Text>,
    /// Where the key is omitted the position is the start of the file.
    pub anonymity: Located<Anonymity>,
    /// Reporting threshold: no figure for fewer respondents (default 5, at least 3).
    pub min_group_size: u32,
    /// Threshold for showing comments (default 10, or `min_group_size` when larger).
    pub min_comment_group_size: u32,
    /// Published results may show comments, those HR marks as shareable (an icsat
    /// addition; default false: published results never show a comment).
    pub share_comments: bool,
    /// The roster facts a response keeps as report dimensions (`report_by`,
    /// `tenure_bands`); default none.
    pub report_by: ReportBy,
    /// How often an open wave's figures are released (`release_every`); `None`: only
    /// when the wave closes (`"close"`, the default).
    pub release_every: Option<super::period::Period>,
    /// Default language: the one answers and exports use.
    pub language: String,
    /// Every language texts are given in; always contains `language`, which comes first.
    pub languages: Vec<String>,
    /// `None`: the survey is only run by hand.
    pub schedule: Option<Schedule>,
    /// The time zone of a survey without a schedule (`timezone` at the top level, an
    /// icsat addition); a schedule's own zone otherwise.
    #[serde(skip)]
    pub timezone: Option<chrono_tz::Tz>,
    pub audience: Audience,
    /// Named answer scales, by name.
    pub scales: BTreeMap<String, Scale>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Anonymity {
    /// Nobody can see who answered what (the default).
    #[default]
    Anonymous,
    /// HR could link answers to people; reports still apply the thresholds.
    Confidential,
}

impl Anonymity {
    pub fn as_str(self) -> &'static str {
        match self {
            Anonymity::Anonymous => "anonymous",
            Anonymity::Confidential => "confidential",
        }
    }
}

/// Who is asked: roster departments (each with everything below it in the org tree),
/// minus excluded ones, filtered by roster attributes.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Audience {
    /// Department names; `"*"` alone means every department.
    pub departments: Vec<Located<String>>,
    pub exclude_departments: Vec<Located<String>>,
    /// Roster attribute column -> accepted values (a person matches when, for every
    /// column, their value is one of the listed ones).
    #[serde(rename = "where")]
    pub where_: BTreeMap<String, Vec<String>>,
}

impl Audience {
    /// True when `departments = ["*"]`.
    pub fn is_everyone(&self) -> bool {
        self.departments.iter().any(|d| d.value == "*")
    }
}

/// A named answer scale from `[scales.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scale {
    /// Label of each value 1..k, in order.
    pub labels: TextList,
    /// Values counted as favourable, ascending. Default: the top two values, or only
    /// the top one on scales of 2 or 3 labels (where the top two would be most of the
    /// scale).
    pub favorable: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub id: Located<String>,
    pub title: Text,
    /// The internal service department rated here; `None` for questions about the
    /// respondent's own work life.
    pub about: Option<Located<String>>,
    /// The catalogue service rated here (`service = "it-desk"`, an id of services.toml).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Located<String>>,
    /// Label of the opt-out ("I have not used IT this year"); `None`: no opt-out.
    pub skip_label: Option<Text>,
    pub questions: Vec<Question>,
}

impl Section {
    /// What reports key this section's service figures by: its `about` department, or
    /// its catalogue `service` id when it names no department; `None` for a section
    /// about the respondent's own work life.
    pub fn service_key(&self) -> Option<&str> {
        self.about
            .as_ref()
            .or(self.service.as_ref())
            .map(|k| k.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Question {
    /// Slug, unique in the survey and stable across waves.
    pub id: Located<String>,
    pub text: Text,
    /// A short name for table headers (`label`, at most 24 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub required: bool,
    pub kind: QuestionKind,
    /// An `action_seen` question ("Since the last survey, have you seen changes...?"):
    /// what it asks about. Its kind is then a single choice of yes, somewhat, no,
    /// don't know, reported like any choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen: Option<SeenAbout>,
    /// A `csat`, `ces` or `lost_time` question: one of the product's fixed measures. Its
    /// kind is then a likert scale whose labels are the product's words (in each language
    /// of the survey), reported like any likert question, with extra figures for
    /// `lost_time` (hours, from [`LOST_TIME_HOURS`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
}

/// Hours of work lost that each `lost_time` band stands for, values 1..=6 in order: none,
/// under 30 minutes, 30 minutes to 2 hours, 2 to 4 hours, half a day to a day (4 to 8
/// hours), more than a day. The midpoints of the bands; "more than a day" has no upper
/// end, so it counts as 12 hours (an assumption: a day and a half of 8 working hours).
/// `docs/spec/statistics.md` and `scripts/reference_stats.py` use the same numbers.
pub const LOST_TIME_HOURS: [f64; 6] = [0.0, 0.25, 1.25, 3.0, 6.0, 12.0];

/// A fixed measure: its scale, labels and favourable values are the product's, not the
/// definition's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Customer satisfaction, 1..5 very dissatisfied .. very satisfied; favourable 4-5
    /// (CSAT is the favourable share).
    Csat,
    /// Customer effort, 1..7 strongly disagree .. strongly agree that it was easy to get
    /// what was needed; favourable 5-7.
    Ces,
    /// Work time the issue cost, in the bands of [`LOST_TIME_HOURS`]; favourable 1-2
    /// (none, or under 30 minutes). Lower is better.
    LostTime,
}

impl Measure {
    /// The `type` as written in the file.
    pub fn type_name(self) -> &'static str {
        match self {
            Measure::Csat => "csat",
            Measure::Ces => "ces",
            Measure::LostTime => "lost_time",
        }
    }

    /// The measure of a `type`, if it is one.
    pub fn of_type(name: &str) -> Option<Measure> {
        [Measure::Csat, Measure::Ces, Measure::LostTime]
            .into_iter()
            .find(|m| m.type_name() == name)
    }

    /// Keys of the scale's labels in the product's message catalogues (`form.KEY`), in
    /// value order.
    pub fn label_keys(self) -> &'static [&'static str] {
        match self {
            Measure::Csat => &["csat_1", "csat_2", "csat_3", "csat_4", "csat_5"],
            Measure::Ces => &[
                "ces_1", "ces_2", "ces_3", "ces_4", "ces_5", "ces_6", "ces_7",
            ],
            Measure::LostTime => &[
                "lost_time_1",
                "lost_time_2",
                "lost_time_3",
                "lost_time_4",
                "lost_time_5",
                "lost_time_6",
            ],
        }
    }

    /// The values counted as favourable.
    pub fn favorable(self) -> Vec<u32> {
        match self {
            Measure::Csat => vec![4, 5],
            Measure::Ces => vec![5, 6, 7],
            Measure::LostTime => vec![1, 2],
        }
    }

    /// Hours each value stands for (`lost_time` only).
    pub fn hours(self) -> Option<&'static [f64]> {
        match self {
            Measure::LostTime => Some(&LOST_TIME_HOURS),
            Measure::Csat | Measure::Ces => None,
        }
    }
}

/// What an `action_seen` question asks about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SeenAbout {
    /// A service (a section's `about`).
    Service(String),
    /// A set of questions.
    Questions(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum QuestionKind {
    /// A value 1..k; `scale` names the shared scale, `None` for inline `scale_labels`.
    /// `labels` and `favorable` are resolved either way.
    Likert {
        scale: Option<String>,
        labels: TextList,
        favorable: Vec<u32>,
    },
    /// 1..max (2 to 10); the top two values count as favourable.
    Rating { max: u32 },
    /// 0..10 about the company as a place to work.
    Enps,
    /// 0..10 about the section's `about` department.
    Nps,
    /// One option, or any number with `multiple`.
    Choice { options: TextList, multiple: bool },
    /// Free text up to `max_length` characters.
    Text { max_length: u32 },
}

impl QuestionKind {
    /// The `type` as written in the file.
    pub fn type_name(&self) -> &'static str {
        match self {
            QuestionKind::Likert { .. } => "likert",
            QuestionKind::Rating { .. } => "rating",
            QuestionKind::Enps => "enps",
            QuestionKind::Nps => "nps",
            QuestionKind::Choice { .. } => "choice",
            QuestionKind::Text { .. } => "text",
        }
    }
}

impl Question {
    /// The `type` as written in the file (`action_seen` included).
    pub fn type_name(&self) -> &'static str {
        if self.seen.is_some() {
            "action_seen"
        } else if let Some(measure) = self.measure {
            measure.type_name()
        } else {
            self.kind.type_name()
        }
    }

    /// Hours of work each value stands for: a `lost_time` question's band midpoints.
    pub fn hours(&self) -> Option<&'static [f64]> {
        self.measure.and_then(Measure::hours)
    }

    /// A likert or rating question where a higher value is better: the ones a service's
    /// satisfaction averages and drivers rank. Not `lost_time`, where a higher value is
    /// more time lost (its favourable share still reads the right way round).
    pub fn higher_is_better(&self) -> bool {
        matches!(
            self.kind,
            QuestionKind::Likert { .. } | QuestionKind::Rating { .. }
        ) && self.measure != Some(Measure::LostTime)
    }

    /// True for answers that are numbers (likert, rating, enps, nps).
    pub fn is_numeric(&self) -> bool {
        self.value_range().is_some()
    }

    /// The values an answer can take: likert 1..=k, rating 1..=max, enps/nps 0..=10;
    /// `None` for choice and text.
    pub fn value_range(&self) -> Option<RangeInclusive<u32>> {
        match &self.kind {
            QuestionKind::Likert { labels, .. } => {
                Some(1..=u32::try_from(labels.len()).unwrap_or(u32::MAX))
            }
            QuestionKind::Rating { max } => Some(1..=*max),
            QuestionKind::Enps | QuestionKind::Nps => Some(0..=10),
            QuestionKind::Choice { .. } | QuestionKind::Text { .. } => None,
        }
    }

    /// Values counted as favourable: the likert scale's set, or a rating's top two;
    /// `None` for other types (eNPS/NPS use promoters instead).
    pub fn favorable_values(&self) -> Option<Vec<u32>> {
        match &self.kind {
            QuestionKind::Likert { favorable, .. } => Some(favorable.clone()),
            QuestionKind::Rating { max } => Some(vec![max.saturating_sub(1), *max]),
            _ => None,
        }
    }
}

impl Definition {
    /// Every question with its section, in file order.
    pub fn questions(&self) -> impl Iterator<Item = (&Section, &Question)> + '_ {
        self.sections
            .iter()
            .flat_map(|s| s.questions.iter().map(move |q| (s, q)))
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.question_with_section(id).map(|(_, q)| q)
    }

    pub fn question_with_section(&self, id: &str) -> Option<(&Section, &Question)> {
        self.questions().find(|(_, q)| q.id.value == id)
    }

    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id.value == id)
    }

    /// The internal services rated (each section's [`Section::service_key`]), in file
    /// order. Each appears once: a service is rated by one section.
    pub fn services(&self) -> Vec<&str> {
        self.sections
            .iter()
            .filter_map(Section::service_key)
            .collect()
    }

    /// The section rating service `key` (an `about` department or a catalogue id).
    pub fn service_section(&self, key: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.service_key() == Some(key))
    }
}
