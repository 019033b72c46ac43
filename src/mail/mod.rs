//! PLACEHOLDER: replaced by the mail module on its branch (templates, outbox, sender).
//! Only the interface the waves module calls is here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::mail_outbox;
use crate::db::{Conn, DbError};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Template(String),
}

pub enum MailKind {
    Invitation,
    Reminder,
    SignIn,
}

impl MailKind {
    fn as_str(&self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::Reminder => "reminder",
            MailKind::SignIn => "sign_in",
        }
    }
}

pub struct OutgoingMail {
    pub dedupe_key: String,
    pub kind: MailKind,
    pub wave_id: Option<i64>,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn enqueue(
    conn: &mut Conn,
    mail: &OutgoingMail,
    from: &str,
    now: NaiveDateTime,
) -> Result<bool, MailError> {
    let message = format!(
        "From: {from}\r\nTo: {}\r\nSubject: {}\r\n\r\n{}",
        mail.to_email, mail.subject, mail.text
    );
    let n = crate::with_conn!(*conn, c => diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::dedupe_key.eq(&mail.dedupe_key),
            mail_outbox::kind.eq(mail.kind.as_str()),
            mail_outbox::wave_id.eq(mail.wave_id),
            mail_outbox::recipient.eq(&mail.to_email),
            mail_outbox::subject.eq(&mail.subject),
            mail_outbox::message.eq(&message),
            mail_outbox::next_attempt_at.eq(now),
            mail_outbox::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))
    .map_err(DbError::from)?;
    Ok(n == 1)
}

pub struct Templates;

pub struct SurveyMailContext {
    pub name: String,
    pub survey_title: String,
    pub intro: Option<String>,
    pub link: String,
    pub deadline: String,
    pub days_left: Option<i64>,
    pub help_contact: String,
    pub anonymous: bool,
}

impl Templates {
    pub fn new() -> Result<Templates, MailError> {
        Ok(Templates)
    }

    pub fn invitation(
        &self,
        ctx: &SurveyMailContext,
    ) -> Result<(String, String, String), MailError> {
        let text = format!(
            "Hello {},\n\n{}\n\n{}\n\nDeadline: {}\n",
            ctx.name, ctx.survey_title, ctx.link, ctx.deadline
        );
        Ok((ctx.survey_title.clone(), text.clone(), text))
    }

    pub fn reminder(&self, ctx: &SurveyMailContext) -> Result<(String, String, String), MailError> {
        self.invitation(ctx)
    }
}

pub struct MailCounts {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
}

pub fn counts_by_wave(
    conn: &mut Conn,
) -> Result<std::collections::HashMap<i64, MailCounts>, MailError> {
    let rows: Vec<(Option<i64>, String, i64)> = crate::with_conn!(*conn, c => mail_outbox::table
        .group_by((mail_outbox::wave_id, mail_outbox::status))
        .select((mail_outbox::wave_id, mail_outbox::status, diesel::dsl::count_star()))
        .load(c))
    .map_err(DbError::from)?;
    let mut out = std::collections::HashMap::new();
    for (wave, status, n) in rows {
        let Some(wave) = wave else { continue };
        let entry = out.entry(wave).or_insert(MailCounts {
            queued: 0,
            sent: 0,
            failed: 0,
        });
        match status.as_str() {
            "sent" => entry.sent += n as u64,
            "failed" => entry.failed += n as u64,
            _ => entry.queued += n as u64,
        }
    }
    Ok(out)
}
