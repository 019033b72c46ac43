//! Opening, reminding and closing waves. Each step that must happen once, whichever of
//! several `serve` processes gets there first, is decided inside one transaction by a
//! unique key or a conditional update, and its emails are queued in that same
//! transaction: nothing is opened without its invitations, nothing reminded twice.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use super::audience::{self, Candidate};
use super::tokens;
use super::{NewWave, Origin, Wave, WaveError};
use crate::config::Config;
use crate::db::schema::{employees, invitation_tokens, invitations, waves};
use crate::db::{Conn, DbError};
use crate::definitions::{Anonymity, Definition, ScheduleKind};
use crate::i18n;
use crate::mail::{self, MailKind, OutgoingMail, SurveyMailContext, Templates};
use crate::reports::org::Org;

/// What emails need besides their templates.
pub struct Mailer {
    pub templates: Templates,
    pub base_url: String,
    pub from: String,
    pub help_contact: String,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Mailer, WaveError> {
        Ok(Mailer {
            templates: Templates::new()?,
            base_url: config.base_url.clone(),
            from: config.mail_from.clone(),
            help_contact: config.help_contact.clone(),
        })
    }

    fn link(&self, token: &str) -> String {
        format!("{}/s/{token}", self.base_url)
    }
}

/// The timezone a survey's times are shown in.
pub fn timezone(definition: &Definition) -> Tz {
    definition
        .schedule
        .as_ref()
        .map(|s| s.timezone)
        .or(definition.timezone)
        .unwrap_or(Tz::UTC)
}

/// The roster's `language` of an employee, from their stored attributes.
pub(crate) fn roster_language(attributes: &str) -> Option<String> {
    let mut attributes: std::collections::BTreeMap<String, String> =
        serde_json::from_str(attributes).unwrap_or_default();
    attributes.remove(crate::roster::LANGUAGE)
}

fn utc(t: DateTime<Utc>) -> NaiveDateTime {
    use chrono::SubsecRound;
    t.naive_utc().trunc_subsecs(6)
}

struct Invitee {
    employee_id: i64,
    department_id: i64,
    name: String,
    email: String,
    /// The roster's `language`, when it has one.
    language: Option<String>,
}

type EmployeeRow = (i64, i64, String, String, Option<String>, String);

fn active_employees(conn: &mut Conn) -> Result<Vec<(Candidate, Invitee)>, DbError> {
    let rows: Vec<EmployeeRow> = crate::with_conn!(*conn, c => employees::table
        .filter(employees::active.eq(true))
        .select((
            employees::id,
            employees::department_id,
            employees::name,
            employees::email,
            employees::location,
            employees::attributes,
        ))
        .order(employees::id)
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(|(id, department_id, name, email, location, attributes)| {
            let mut attrs: std::collections::BTreeMap<String, String> =
                serde_json::from_str(&attributes).unwrap_or_default();
            if let Some(location) = location {
                attrs.insert("location".into(), location);
            }
            let language = attrs.get(crate::roster::LANGUAGE).cloned();
            (
                Candidate {
                    id,
                    department_id,
                    attributes: attrs,
                },
                Invitee {
                    employee_id: id,
                    department_id,
                    name,
                    email,
                    language,
                },
            )
        })
        .collect())
}

/// How many earlier waves of the survey asked each employee (for pulse rotation).
fn times_asked(conn: &mut Conn, survey_id: i64) -> Result<HashMap<i64, u32>, DbError> {
    let rows: Vec<(i64, i64)> = crate::with_conn!(*conn, c => invitations::table
        .inner_join(waves::table)
        .filter(waves::survey_id.eq(survey_id))
        .group_by(invitations::employee_id)
        .select((invitations::employee_id, diesel::dsl::count_star()))
        .load(c))?;
    Ok(rows.into_iter().map(|(id, n)| (id, n as u32)).collect())
}

/// The result of asking for a wave to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// This call opened it and invited this many people.
    New { wave_id: i64, invited: usize },
    /// A wave with that label exists already (opened earlier, or by another process).
    Existing { wave_id: i64 },
}

/// Opens wave `label` of survey `slug`, invites its audience and queues the invitations.
pub fn open(
    conn: &mut Conn,
    mailer: &Mailer,
    slug: &str,
    label: &str,
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    origin: Origin,
) -> Result<Opened, WaveError> {
    super::check_label(label).map_err(WaveError::Label)?;
    let (version_id, definition) = crate::surveys::current(conn, slug)?;
    let survey_id =
        super::survey_id(conn, slug)?.ok_or_else(|| WaveError::UnknownSurvey(slug.to_string()))?;
    if let Some(existing) = super::find(conn, survey_id, label)? {
        return Ok(Opened::Existing {
            wave_id: existing.id,
        });
    }
    let org = Org::load(conn)?;
    let people = active_employees(conn)?;
    let candidates: Vec<Candidate> = people.iter().map(|(c, _)| c.clone()).collect();
    let mut chosen: Vec<i64> = audience::resolve(&definition.audience, &org, &candidates)
        .iter()
        .map(|c| c.id)
        .collect();
    if let Some(ScheduleKind::Pulse {
        sample: Some(share),
        ..
    }) = definition.schedule.as_ref().map(|s| s.kind)
    {
        let asked = times_asked(conn, survey_id)?;
        chosen = audience::sample(&chosen, &asked, share, &mut rand::rng());
    }
    let by_id: HashMap<i64, &Invitee> = people.iter().map(|(_, i)| (i.employee_id, i)).collect();
    let invitees: Vec<(&Invitee, String, String)> = chosen
        .iter()
        .filter_map(|id| by_id.get(id).copied())
        .map(|invitee| {
            let (token, hash) = tokens::new_token();
            (invitee, token, hash)
        })
        .collect();
    let now = crate::db::now();
    let closes = utc(closes_at);
    conn.transaction(|conn| {
        let inserted = super::insert(
            conn,
            &NewWave {
                survey_id,
                version_id,
                label,
                origin,
                status: "open",
                opens_at: utc(opens_at),
                closes_at: Some(closes),
                closed_at: None,
            },
        )?;
        let Some(wave_id) = inserted else {
            let existing = super::find(conn, survey_id, label)?.map_or(0, |w| w.id);
            return Ok(Opened::Existing { wave_id: existing });
        };
        for chunk in invitees.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(invitee, _, hash)| {
                    (
                        invitations::wave_id.eq(wave_id),
                        invitations::employee_id.eq(invitee.employee_id),
                        invitations::department_id.eq(invitee.department_id),
                        invitations::token_hash.eq(hash),
                        invitations::created_at.eq(now),
                    )
                })
                .collect();
            crate::with_conn!(*conn, c => diesel::insert_into(invitations::table).values(&rows).execute(c))
                .map_err(DbError::from)?;
        }
        let ids: HashMap<i64, i64> = crate::with_conn!(*conn, c => invitations::table
            .filter(invitations::wave_id.eq(wave_id))
            .select((invitations::employee_id, invitations::id))
            .load::<(i64, i64)>(c))
        .map_err(DbError::from)?
        .into_iter()
        .collect();
        for chunk in invitees.chunks(1000) {
            let rows: Vec<_> = chunk
                .iter()
                .filter_map(|(invitee, _, hash)| {
                    ids.get(&invitee.employee_id).map(|id| {
                        (
                            invitation_tokens::token_hash.eq(hash),
                            invitation_tokens::invitation_id.eq(*id),
                            invitation_tokens::created_at.eq(now),
                        )
                    })
                })
                .collect();
            crate::with_conn!(*conn, c => diesel::insert_into(invitation_tokens::table).values(&rows).execute(c))
                .map_err(DbError::from)?;
        }
        for (invitee, token, _) in &invitees {
            let context = mail_context(
                mailer,
                &definition,
                (&invitee.name, invitee.language.as_deref()),
                token,
                closes,
                None,
            );
            let (subject, text, html) = mailer.templates.invitation(&context)?;
            let mail = OutgoingMail {
                dedupe_key: format!("invite:{wave_id}:{}", invitee.employee_id),
                kind: MailKind::Invitation,
                wave_id: Some(wave_id),
                to_name: invitee.name.clone(),
                to_email: invitee.email.clone(),
                subject,
                text,
                html,
            };
            mail::enqueue(conn, &mail, &mailer.from, now)?;
        }
        tracing::info!(survey = slug, wave = label, invited = invitees.len(), "wave opened");
        Ok(Opened::New {
            wave_id,
            invited: invitees.len(),
        })
    })
}

/// The open wave `label` of survey `slug`, opened now with nobody invited when it does
/// not exist yet (continuous feedback invites one person per request). In the caller's
/// transaction; the unique label makes two processes agree on one wave.
pub fn open_empty(
    conn: &mut Conn,
    slug: &str,
    label: &str,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
) -> Result<Wave, WaveError> {
    let (version_id, _) = crate::surveys::current(conn, slug)?;
    let survey_id =
        super::survey_id(conn, slug)?.ok_or_else(|| WaveError::UnknownSurvey(slug.to_string()))?;
    if let Some(existing) = super::find(conn, survey_id, label)? {
        return Ok(existing);
    }
    super::insert(
        conn,
        &NewWave {
            survey_id,
            version_id,
            label,
            origin: Origin::Feedback,
            status: "open",
            opens_at,
            closes_at: Some(closes_at),
            closed_at: None,
        },
    )?;
    super::find(conn, survey_id, label)?.ok_or_else(|| WaveError::UnknownWave {
        spec: format!("{slug}/{label}"),
        known: String::new(),
    })
}

/// Invites one more active employee to an open wave: the invitation, its token and the
/// mail, in the caller's transaction. False when they were invited to it already.
pub fn invite_one(
    conn: &mut Conn,
    mailer: &Mailer,
    definition: &Definition,
    wave: &Wave,
    employee_id: i64,
) -> Result<bool, WaveError> {
    let row: Option<(i64, String, String, String)> = crate::with_conn!(*conn, c => employees::table
        .find(employee_id)
        .filter(employees::active.eq(true))
        .select((employees::department_id, employees::name, employees::email, employees::attributes))
        .first(c)
        .optional())
    .map_err(DbError::from)?;
    let Some((department_id, name, email, attributes)) = row else {
        return Ok(false);
    };
    let (token, hash) = tokens::new_token();
    let now = crate::db::now();
    let id: Option<i64> = crate::with_conn!(*conn, c => diesel::insert_into(invitations::table)
        .values((
            invitations::wave_id.eq(wave.id),
            invitations::employee_id.eq(employee_id),
            invitations::department_id.eq(department_id),
            invitations::token_hash.eq(&hash),
            invitations::created_at.eq(now),
        ))
        .on_conflict((invitations::wave_id, invitations::employee_id))
        .do_nothing()
        .returning(invitations::id)
        .get_result(c)
        .optional())
    .map_err(DbError::from)?;
    let Some(invitation_id) = id else {
        return Ok(false);
    };
    crate::with_conn!(*conn, c => diesel::insert_into(invitation_tokens::table)
        .values((
            invitation_tokens::token_hash.eq(&hash),
            invitation_tokens::invitation_id.eq(invitation_id),
            invitation_tokens::created_at.eq(now),
        ))
        .execute(c))
    .map_err(DbError::from)?;
    let language = roster_language(&attributes);
    let closes = wave.closes_at.unwrap_or(now);
    let context = mail_context(
        mailer,
        definition,
        (&name, language.as_deref()),
        &token,
        closes,
        None,
    );
    let (subject, text, html) = mailer.templates.invitation(&context)?;
    let mail = OutgoingMail {
        dedupe_key: format!("invite:{}:{employee_id}", wave.id),
        kind: MailKind::Invitation,
        wave_id: Some(wave.id),
        to_name: name,
        to_email: email,
        subject,
        text,
        html,
    };
    mail::enqueue(conn, &mail, &mailer.from, now)?;
    Ok(true)
}

/// What an invitation or reminder says to one person, in their language: the roster's
/// `language` when the survey has it, else the survey's default. The link carries the
/// language, so the form opens in it.
fn mail_context(
    mailer: &Mailer,
    definition: &Definition,
    (name, wanted): (&str, Option<&str>),
    token: &str,
    closes_at: NaiveDateTime,
    days_left: Option<i64>,
) -> SurveyMailContext {
    let lang = i18n::pick(
        &definition.languages,
        &definition.language,
        &wanted.into_iter().collect::<Vec<_>>(),
    );
    let words = i18n::words(&lang);
    let mut link = mailer.link(token);
    if lang != definition.language {
        link.push_str("?lang=");
        link.push_str(&lang);
    }
    SurveyMailContext {
        name: name.to_string(),
        survey_title: definition.title.get(&lang).to_string(),
        intro: definition.intro.as_ref().map(|t| t.get(&lang).to_string()),
        link,
        deadline: words.date_time(&closes_at.and_utc().with_timezone(&timezone(definition))),
        days_left,
        help_contact: mailer.help_contact.clone(),
        anonymous: definition.anonymity.value == Anonymity::Anonymous,
        kept: words.kept(&definition.report_by),
        min_group_size: definition.min_group_size,
        lang,
    }
}

/// Queues a reminder, with a fresh link, to everyone invited to `wave` who has not
/// answered; the caller provides the transaction. Returns how many were reminded.
pub fn remind_within(
    conn: &mut Conn,
    mailer: &Mailer,
    wave: &Wave,
    definition: &Definition,
) -> Result<usize, WaveError> {
    let pending: Vec<(i64, i32, String, String, String)> = crate::with_conn!(*conn, c => invitations::table
        .inner_join(employees::table)
        .filter(invitations::wave_id.eq(wave.id))
        .filter(invitations::responded_on.is_null())
        .filter(employees::active.eq(true))
        .select((invitations::id, invitations::reminders_sent, employees::name, employees::email, employees::attributes))
        .load(c))
    .map_err(DbError::from)?;
    let now = crate::db::now();
    let closes = wave.closes_at.unwrap_or(now);
    let days_left = (closes.date() - now.date()).num_days().max(0);
    for (invitation_id, reminders_sent, name, email, attributes) in &pending {
        let (token, hash) = tokens::new_token();
        crate::with_conn!(*conn, c => {
            diesel::insert_into(invitation_tokens::table)
                .values((
                    invitation_tokens::token_hash.eq(&hash),
                    invitation_tokens::invitation_id.eq(invitation_id),
                    invitation_tokens::created_at.eq(now),
                ))
                .execute(c)?;
            diesel::update(invitations::table.find(invitation_id))
                .set((invitations::reminders_sent.eq(reminders_sent + 1), invitations::reminded_at.eq(Some(now))))
                .execute(c)
        })
        .map_err(DbError::from)?;
        let language = roster_language(attributes);
        let context = mail_context(
            mailer,
            definition,
            (name, language.as_deref()),
            &token,
            closes,
            Some(days_left),
        );
        let (subject, text, html) = mailer.templates.reminder(&context)?;
        let mail = OutgoingMail {
            dedupe_key: format!("remind:{invitation_id}:{}", reminders_sent + 1),
            kind: MailKind::Reminder,
            wave_id: Some(wave.id),
            to_name: name.clone(),
            to_email: email.clone(),
            subject,
            text,
            html,
        };
        mail::enqueue(conn, &mail, &mailer.from, now)?;
    }
    Ok(pending.len())
}

/// Reminds the non-respondents of an open wave now (`icsat wave remind`).
pub fn remind(conn: &mut Conn, mailer: &Mailer, wave: &Wave) -> Result<usize, WaveError> {
    if wave.status != "open" {
        return Err(WaveError::NotOpen(wave.label.clone()));
    }
    let definition = crate::reports::wave_definition(conn, wave.version_id)?;
    conn.transaction(|conn| remind_within(conn, mailer, wave, &definition))
}

/// The scheduled reminder `number` (1-based) of a wave, sent by whichever process claims
/// it first; `false` when another already did.
pub fn scheduled_reminder(
    conn: &mut Conn,
    mailer: &Mailer,
    wave: &Wave,
    definition: &Definition,
    number: i32,
) -> Result<bool, WaveError> {
    conn.transaction(|conn| {
        let claimed = crate::with_conn!(*conn, c => diesel::update(
            waves::table
                .filter(waves::id.eq(wave.id))
                .filter(waves::reminders_done.lt(number))
                .filter(waves::status.eq("open")),
        )
        .set(waves::reminders_done.eq(number))
        .execute(c))
        .map_err(DbError::from)?;
        if claimed == 0 {
            return Ok(false);
        }
        let reminded = remind_within(conn, mailer, wave, definition)?;
        tracing::info!(wave = %wave.label, number, reminded, "reminder sent");
        Ok(true)
    })
}

/// Closes an open wave, makes its final figures, then generalises its responses and
/// turns its answered marks into counts (`responses::generalise::at_close`); `false`
/// when it was not open.
pub fn close(conn: &mut Conn, wave: &Wave) -> Result<bool, WaveError> {
    let now = crate::db::now();
    let closed = crate::with_conn!(*conn, c => diesel::update(
        waves::table.filter(waves::id.eq(wave.id)).filter(waves::status.eq("open")),
    )
    .set((waves::status.eq("closed"), waves::closed_at.eq(Some(now))))
    .execute(c))
    .map_err(DbError::from)?;
    if closed == 1 {
        crate::responses::inbox::seal(conn)?;
        let definition = crate::reports::wave_definition(conn, wave.version_id)?;
        finish_closing(conn, wave.id, &wave.label, &definition);
        tracing::info!(wave = %wave.label, "wave closed");
    }
    Ok(closed == 1)
}

/// What follows closing a wave, in this order: its final release (what every view shows
/// from now on, made from the responses as answered); then its responses generalised and
/// its answered marks turned into counts (`responses::generalise::at_close`); then the
/// classes its filtered views are made of (`reports::cube`). A step that fails is logged
/// and tried again by the scheduler (`scheduler::finish_closed`); the classes only after
/// the responses are generalised.
pub fn finish_closing(conn: &mut Conn, wave_id: i64, label: &str, definition: &Definition) {
    if let Err(e) = crate::reports::release::make(conn, wave_id, definition, true) {
        tracing::warn!(error = %e, wave = label, "closed, but its final release failed; the scheduler tries again");
    }
    match crate::responses::generalise::at_close(conn, wave_id, definition) {
        Ok(done) => tracing::info!(
            wave = label,
            responses = done.responses,
            generalised = done.generalised,
            "responses generalised, answered marks counted"
        ),
        Err(e) => {
            tracing::warn!(error = %e, wave = label, "closed, but generalising its responses failed; the scheduler tries again");
            return;
        }
    }
    if let Err(e) = crate::reports::cube::make(conn, wave_id, definition) {
        tracing::warn!(error = %e, wave = label, "closed, but counting its classes for filtered views failed; the scheduler tries again");
    }
}

/// The day an invitation was answered: the date only, never the time.
pub fn answered_on(now: NaiveDateTime) -> NaiveDate {
    now.date()
}
