//! Action plans: what a head or a service owner does about a survey's results, with its
//! owner, what it answers (questions, a service, the consumer departments whose rating
//! it answers), a due date, a status and dated progress updates.
//!
//! Rights (checked here, for the web, the API and the CLI alike): HR acts for everything;
//! a head acts for their subtree, and as the owner of a service (a section's `about`
//! naming a department of their subtree) towards any consumer department.

pub mod areas;

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::rights::Rights;
use crate::db::schema::{action_updates, actions, users};
use crate::db::{Conn, DbError};
use crate::definitions::Definition;
use crate::reports::org::Org;

/// The note of the update that records an action's creation (not news of its progress).
pub const CREATED_NOTE: &str = "created";

/// Longest title and description, in characters.
pub const MAX_TITLE: usize = 200;
pub const MAX_DESCRIPTION: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Planned,
    InProgress,
    Done,
    Dropped,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Planned,
        Status::InProgress,
        Status::Done,
        Status::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Planned => "planned",
            Status::InProgress => "in-progress",
            Status::Done => "done",
            Status::Dropped => "dropped",
        }
    }

    /// As a sentence says it: "in progress".
    pub fn words(self) -> &'static str {
        match self {
            Status::InProgress => "in progress",
            other => other.as_str(),
        }
    }

    pub fn parse(text: &str) -> Result<Status, ActionError> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text.trim())
            .ok_or_else(|| {
                ActionError::Invalid(format!(
                    "status {text:?} is not one of planned, in-progress, done, dropped"
                ))
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// What to fix in what was asked.
    #[error("{0}")]
    Invalid(String),
    #[error("there is no action {0}")]
    NotFound(i64),
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ActionError {
    fn from(e: diesel::result::Error) -> Self {
        ActionError::Db(DbError::Query(e))
    }
}

/// A dated progress note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Update {
    pub at: NaiveDateTime,
    pub author: String,
    pub status: Status,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub id: i64,
    pub survey: String,
    /// The wave whose results it answers.
    pub wave: Option<String>,
    pub title: String,
    pub description: String,
    /// The owner's address.
    pub owner: String,
    /// The department acting: the owner's, or the one providing `service`.
    pub department: String,
    pub service: Option<String>,
    pub questions: Vec<String>,
    /// The departments whose rating it answers (of `service`); empty: everyone's.
    pub consumers: Vec<String>,
    pub due_on: Option<NaiveDate>,
    pub status: Status,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Oldest first.
    pub updates: Vec<Update>,
}

impl Action {
    /// Whether the action answers question `id` (named, or of its service's section).
    pub fn answers_question(&self, definition: &Definition, id: &str) -> bool {
        if !self.questions.is_empty() {
            return self.questions.iter().any(|q| q == id);
        }
        // An action about a service answers the questions of its section(s).
        self.service.as_deref().is_some_and(|service| {
            definition
                .questions()
                .any(|(s, q)| q.id.value == id && s.service_key() == Some(service))
        })
    }

    /// Whether the action is meant for the people of `department`: a department's own
    /// action for its subtree; a service's for its consumer departments' subtrees, or
    /// for everyone when it names none.
    pub fn concerns(&self, org: &Org, department: &str) -> bool {
        let Some(reader) = org.by_name(department) else {
            return false;
        };
        let within = |name: &str| {
            org.by_name(name)
                .is_some_and(|d| org.subtree(d.id).contains(&reader.id))
        };
        match &self.service {
            None => within(&self.department),
            Some(_) => self.consumers.is_empty() || self.consumers.iter().any(|c| within(c)),
        }
    }
}

/// What a new action asks for, as the web form, the API and the CLI give it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub survey: String,
    #[serde(default)]
    pub wave: Option<String>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The owner's address; default: whoever creates it.
    #[serde(default)]
    pub owner: Option<String>,
    /// The acting department by name; default: the owner's, or the service's provider.
    #[serde(default)]
    pub department: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub questions: Vec<String>,
    #[serde(default)]
    pub consumers: Vec<String>,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
    #[serde(default)]
    pub status: Option<Status>,
}

/// What an update changes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(default)]
    pub status: Option<Status>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub due_on: Option<NaiveDate>,
}

/// Who acts: their address (recorded as author) and rights.
#[derive(Debug, Clone)]
pub struct Actor {
    pub email: String,
    pub rights: Rights,
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn did_you_mean<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    match crate::definitions::closest(wanted, known.into_iter()) {
        Some(close) => format!(" (did you mean {close:?}?)"),
        None => String::new(),
    }
}

/// The checked action: the department acting and the consumers by id.
struct Checked {
    title: String,
    department_id: i64,
    consumers: Vec<i64>,
    owner_id: i64,
}

/// Checks `new` against the survey, the tree and the actor's rights.
fn check(
    conn: &mut Conn,
    org: &Org,
    definition: &Definition,
    actor: &Actor,
    new: &NewAction,
) -> Result<Checked, ActionError> {
    let title = one_line(&new.title);
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        return Err(ActionError::Invalid(format!(
            "the title must have 1 to {MAX_TITLE} characters"
        )));
    }
    if new.description.chars().count() > MAX_DESCRIPTION {
        return Err(ActionError::Invalid(format!(
            "the description may have at most {MAX_DESCRIPTION} characters"
        )));
    }
    let ids: Vec<&str> = definition
        .questions()
        .map(|(_, q)| q.id.value.as_str())
        .collect();
    for q in &new.questions {
        if !ids.contains(&q.as_str()) {
            return Err(ActionError::Invalid(format!(
                "survey {} has no question {q:?}{}",
                new.survey,
                did_you_mean(q, ids.iter().copied())
            )));
        }
    }
    let services = definition.services();
    if let Some(service) = &new.service {
        if !services.contains(&service.as_str()) {
            return Err(ActionError::Invalid(format!(
                "survey {} rates no service {service:?}{}",
                new.survey,
                did_you_mean(service, services.iter().copied())
            )));
        }
    }
    let department_named = |name: &str| -> Result<i64, ActionError> {
        org.by_name(name).map(|d| d.id).ok_or_else(|| {
            ActionError::Invalid(format!(
                "there is no department {name:?}{}",
                did_you_mean(name, org.departments.iter().map(|d| d.name.as_str()))
            ))
        })
    };
    let consumers = new
        .consumers
        .iter()
        .map(|c| department_named(c))
        .collect::<Result<Vec<i64>, _>>()?;
    if !consumers.is_empty() && new.service.is_none() {
        return Err(ActionError::Invalid(
            "consumer departments go with a service: name the service the action improves for them"
                .into(),
        ));
    }
    // The owner: whoever acts, unless HR names another account.
    let owner_email = new.owner.as_deref().unwrap_or(&actor.email);
    let owner = crate::auth::user_by_email(conn, owner_email)
        .map_err(|e| ActionError::Invalid(e.to_string()))?
        .ok_or_else(|| {
            ActionError::Invalid(format!(
                "{owner_email:?} has no active account; the owner must be HR or a department head"
            ))
        })?;
    if owner.email != actor.email && !actor.rights.is_admin() {
        return Err(ActionError::Refused(
            "only HR may make an action someone else's".into(),
        ));
    }
    // The department acting: the service's provider, else the one named, else the
    // owner's (HR without a department must name one).
    let department_id = match (&new.service, &new.department) {
        (Some(service), _) => department_named(service)?,
        (None, Some(name)) => department_named(name)?,
        (None, None) => owner.department_id.ok_or_else(|| {
            ActionError::Invalid(
                "name the department the action is for (--department), or a service".into(),
            )
        })?,
    };
    let allowed = |rights: Rights| match rights {
        Rights::Admin => true,
        Rights::Head { department_id: own } => org.subtree(own).contains(&department_id),
    };
    if !allowed(actor.rights) {
        return Err(ActionError::Refused(
            "that department is outside what your account acts for".into(),
        ));
    }
    if !allowed(owner.rights()) {
        return Err(ActionError::Invalid(format!(
            "{} cannot own an action of {}: a head owns actions of their own subtree or services",
            owner.email,
            org.name(department_id).unwrap_or("that department")
        )));
    }
    Ok(Checked {
        title,
        department_id,
        consumers,
        owner_id: owner.id,
    })
}

/// Adds an action; returns its id.
pub fn add(
    conn: &mut Conn,
    definition: &Definition,
    actor: &Actor,
    new: &NewAction,
    now: NaiveDateTime,
) -> Result<i64, ActionError> {
    let org = Org::load(conn)?;
    let checked = check(conn, &org, definition, actor, new)?;
    let wave_id = match &new.wave {
        None => None,
        Some(label) => {
            let survey_id = crate::waves::survey_id(conn, &new.survey)?.ok_or_else(|| {
                ActionError::Invalid(format!("there is no survey {:?}", new.survey))
            })?;
            Some(
                crate::waves::find(conn, survey_id, label)?
                    .ok_or_else(|| {
                        ActionError::Invalid(format!("survey {} has no wave {label:?}", new.survey))
                    })?
                    .id,
            )
        }
    };
    let status = new.status.unwrap_or(Status::Planned);
    let consumers = checked
        .consumers
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let questions = new.questions.join(",");
    conn.transaction(|conn| {
        let id: i64 = crate::with_conn!(*conn, c => diesel::insert_into(actions::table)
            .values((
                actions::survey.eq(&new.survey),
                actions::wave_id.eq(wave_id),
                actions::title.eq(&checked.title),
                actions::description.eq(new.description.trim()),
                actions::owner_id.eq(checked.owner_id),
                actions::department_id.eq(checked.department_id),
                actions::service.eq(&new.service),
                actions::questions.eq(&questions),
                actions::consumers.eq(&consumers),
                actions::due_on.eq(new.due_on),
                actions::status.eq(status.as_str()),
                actions::created_at.eq(now),
                actions::updated_at.eq(now),
            ))
            .returning(actions::id)
            .get_result(c))?;
        crate::with_conn!(*conn, c => diesel::insert_into(action_updates::table)
            .values((
                action_updates::action_id.eq(id),
                action_updates::at.eq(now),
                action_updates::author.eq(&actor.email),
                action_updates::status.eq(status.as_str()),
                action_updates::note.eq(CREATED_NOTE),
            ))
            .execute(c))?;
        Ok(id)
    })
}

type ActionRow = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    String,
    i64,
    Option<String>,
    String,
    String,
    Option<NaiveDate>,
    String,
    NaiveDateTime,
    NaiveDateTime,
);

/// The actions the account may see (HR: all; a head: those of their subtree, and the
/// service actions towards their subtree), of one survey or all, oldest first.
pub fn list(
    conn: &mut Conn,
    rights: Rights,
    survey: Option<&str>,
) -> Result<Vec<Action>, ActionError> {
    let org = Org::load(conn)?;
    let rows: Vec<ActionRow> = crate::with_conn!(*conn, c => {
        let mut query = actions::table
            .inner_join(users::table)
            .select((
                actions::id, actions::survey, actions::wave_id, actions::title,
                actions::description, users::email, actions::department_id, actions::service,
                actions::questions, actions::consumers, actions::due_on, actions::status,
                actions::created_at, actions::updated_at,
            ))
            .order(actions::id)
            .into_boxed();
        if let Some(survey) = survey {
            query = query.filter(actions::survey.eq(survey));
        }
        query.load(c)
    })?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut updates: BTreeMap<i64, Vec<Update>> = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(i64, NaiveDateTime, String, String, String)> = crate::with_conn!(*conn, c => action_updates::table
            .filter(action_updates::action_id.eq_any(chunk))
            .order((action_updates::at, action_updates::id))
            .select((action_updates::action_id, action_updates::at, action_updates::author, action_updates::status, action_updates::note))
            .load(c))?;
        for (id, at, author, status, note) in found {
            updates.entry(id).or_default().push(Update {
                at,
                author,
                status: Status::parse(&status).unwrap_or(Status::Planned),
                note,
            });
        }
    }
    let labels = wave_labels(conn, &rows)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let (id, survey, wave_id, title, description, owner, department_id, service) =
            (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
        let consumer_ids: Vec<i64> = row
            .9
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect();
        let visible = match rights {
            Rights::Admin => true,
            Rights::Head { department_id: own } => {
                let mine = org.subtree(own);
                mine.contains(&department_id)
                    || (service.is_some()
                        && (consumer_ids.is_empty()
                            || consumer_ids
                                .iter()
                                .any(|c| mine.contains(c) || org.subtree(*c).contains(&own))))
            }
        };
        if !visible {
            continue;
        }
        out.push(Action {
            id,
            survey,
            wave: wave_id.and_then(|w| labels.get(&w).cloned()),
            title,
            description,
            owner,
            department: org.name(department_id).unwrap_or("?").to_string(),
            service,
            questions: row
                .8
                .split(',')
                .filter(|q| !q.is_empty())
                .map(str::to_string)
                .collect(),
            consumers: consumer_ids
                .iter()
                .filter_map(|c| org.name(*c).map(str::to_string))
                .collect(),
            due_on: row.10,
            status: Status::parse(&row.11).unwrap_or(Status::Planned),
            created_at: row.12,
            updated_at: row.13,
            updates: updates.remove(&id).unwrap_or_default(),
        });
    }
    Ok(out)
}

fn wave_labels(conn: &mut Conn, rows: &[ActionRow]) -> Result<BTreeMap<i64, String>, ActionError> {
    use crate::db::schema::waves;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.2).collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let found: Vec<(i64, String)> = crate::with_conn!(*conn, c => waves::table
        .filter(waves::id.eq_any(&ids))
        .select((waves::id, waves::label))
        .load(c))?;
    Ok(found.into_iter().collect())
}

/// Records a progress update (a note, a new status, a new due date) by `actor`, who
/// must act for the action's department (or be HR).
pub fn update(
    conn: &mut Conn,
    id: i64,
    actor: &Actor,
    change: &Change,
    now: NaiveDateTime,
) -> Result<Action, ActionError> {
    let found: Option<(i64, String, String)> = crate::with_conn!(*conn, c => actions::table
        .find(id)
        .select((actions::department_id, actions::status, actions::survey))
        .first(c)
        .optional())?;
    let Some((department_id, status, survey)) = found else {
        return Err(ActionError::NotFound(id));
    };
    let org = Org::load(conn)?;
    if let Rights::Head { department_id: own } = actor.rights {
        if !org.subtree(own).contains(&department_id) {
            return Err(ActionError::Refused(
                "that action is outside what your account acts for".into(),
            ));
        }
    }
    let note = change.note.trim();
    if note.chars().count() > MAX_DESCRIPTION {
        return Err(ActionError::Invalid(format!(
            "a note may have at most {MAX_DESCRIPTION} characters"
        )));
    }
    if note.is_empty() && change.status.is_none() && change.due_on.is_none() {
        return Err(ActionError::Invalid(
            "say what changed: a note, a new status or a new due date".into(),
        ));
    }
    let status = change
        .status
        .unwrap_or(Status::parse(&status).unwrap_or(Status::Planned));
    conn.transaction(|conn| {
        crate::with_conn!(*conn, c => diesel::update(actions::table.find(id))
            .set((actions::status.eq(status.as_str()), actions::updated_at.eq(now)))
            .execute(c))?;
        if let Some(due) = change.due_on {
            crate::with_conn!(*conn, c => diesel::update(actions::table.find(id))
                .set(actions::due_on.eq(Some(due)))
                .execute(c))?;
        }
        crate::with_conn!(*conn, c => diesel::insert_into(action_updates::table)
            .values((
                action_updates::action_id.eq(id),
                action_updates::at.eq(now),
                action_updates::author.eq(&actor.email),
                action_updates::status.eq(status.as_str()),
                action_updates::note.eq(note),
            ))
            .execute(c))?;
        Ok::<_, ActionError>(())
    })?;
    get(conn, &survey, id)
}

/// One action of `survey`, whoever may see it (the caller checked).
pub fn get(conn: &mut Conn, survey: &str, id: i64) -> Result<Action, ActionError> {
    list(conn, Rights::Admin, Some(survey))?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(ActionError::NotFound(id))
}

/// An action as reports list it beside the change it may explain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Brief {
    pub id: i64,
    pub title: String,
    pub status: Status,
    pub department: String,
    pub service: Option<String>,
    pub questions: Vec<String>,
    pub consumers: Vec<String>,
    pub due_on: Option<NaiveDate>,
    pub updated_at: NaiveDateTime,
}

/// The actions of the period before a wave, and which of them answer each question and
/// each service (a service's action answers the questions of its section when it names
/// none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Period {
    /// The wave before, whose results they answer; `null` for a survey's first wave.
    pub since_wave: Option<String>,
    pub actions: Vec<Brief>,
    pub by_question: BTreeMap<String, Vec<i64>>,
    pub by_service: BTreeMap<String, Vec<i64>>,
}

/// The actions taken between the wave before `label` and `label` (oldest first in
/// `waves`): those recorded as answering the wave before, and those without a wave
/// created after it opened and before `label` opened. Pure.
pub fn period(
    all: &[Action],
    definition: &Definition,
    waves: &[crate::waves::Wave],
    label: &str,
) -> Period {
    let Some(at) = waves.iter().position(|w| w.label == label) else {
        return Period::default();
    };
    let Some(before) = at.checked_sub(1).map(|i| &waves[i]) else {
        return Period::default();
    };
    let this = &waves[at];
    let chosen: Vec<&Action> = all
        .iter()
        .filter(|a| match &a.wave {
            Some(wave) => wave == &before.label,
            None => a.created_at >= before.opens_at && a.created_at < this.opens_at,
        })
        .collect();
    let mut by_question: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut by_service: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for a in &chosen {
        for (_, q) in definition.questions() {
            if a.answers_question(definition, &q.id.value) {
                by_question
                    .entry(q.id.value.clone())
                    .or_default()
                    .push(a.id);
            }
        }
        if let Some(service) = &a.service {
            by_service.entry(service.clone()).or_default().push(a.id);
        }
    }
    Period {
        since_wave: Some(before.label.clone()),
        actions: chosen
            .iter()
            .map(|a| Brief {
                id: a.id,
                title: a.title.clone(),
                status: a.status,
                department: a.department.clone(),
                service: a.service.clone(),
                questions: a.questions.clone(),
                consumers: a.consumers.clone(),
                due_on: a.due_on,
                updated_at: a.updated_at,
            })
            .collect(),
        by_question,
        by_service,
    }
}

/// [`period`] of a stored survey's wave, with the actions `rights` may see.
pub fn before_wave(
    conn: &mut Conn,
    rights: Rights,
    survey: &str,
    definition: &Definition,
    label: &str,
) -> Result<Period, ActionError> {
    let Some(survey_id) = crate::waves::survey_id(conn, survey)? else {
        return Ok(Period::default());
    };
    let waves = crate::waves::of_survey(conn, survey_id)?;
    let all = list(conn, rights, Some(survey))?;
    Ok(period(&all, definition, &waves, label))
}

/// A wave report's JSON with `actions`: the [`Period`] before its wave.
pub fn report_json(
    conn: &mut Conn,
    rights: Rights,
    report: &impl Serialize,
    survey: &str,
    label: &str,
) -> Result<serde_json::Value, ActionError> {
    let mut value = serde_json::to_value(report).unwrap_or_default();
    let (_, definition) =
        crate::surveys::current(conn, survey).map_err(|e| ActionError::Invalid(e.to_string()))?;
    let period = before_wave(conn, rights, survey, &definition, label)?;
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "actions".into(),
            serde_json::to_value(period).unwrap_or_default(),
        );
    }
    Ok(value)
}

/// A trend's JSON with `actions`: for each wave shown, by label, the [`Period`] before it.
pub fn trend_json(
    conn: &mut Conn,
    rights: Rights,
    trend: &crate::reports::trend::TrendReport,
) -> Result<serde_json::Value, ActionError> {
    let mut value = serde_json::to_value(trend).unwrap_or_default();
    let (_, definition) = crate::surveys::current(conn, &trend.survey)
        .map_err(|e| ActionError::Invalid(e.to_string()))?;
    let Some(survey_id) = crate::waves::survey_id(conn, &trend.survey)? else {
        return Ok(value);
    };
    let waves = crate::waves::of_survey(conn, survey_id)?;
    let all = list(conn, rights, Some(&trend.survey))?;
    let periods: BTreeMap<&str, Period> = trend
        .waves
        .iter()
        .map(|w| (w.wave.as_str(), period(&all, &definition, &waves, &w.wave)))
        .collect();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "actions".into(),
            serde_json::to_value(periods).unwrap_or_default(),
        );
    }
    Ok(value)
}
