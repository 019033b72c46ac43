//! Email: templates, the outbox, and the sender that delivers it.
//!
//! Every message is written to `mail_outbox` ([`enqueue`]) before anything tries to send
//! it, usually in the same transaction as the change that calls for it (a wave opening, a
//! reminder). A sender task ([`run_sender`], started by `icsat serve`) claims due messages
//! with a lease, sends them one at a time through a [`Transport`] (async SMTP over one kept-open
//! connection, or `.eml` files), and marks each sent, retried with backoff, or failed with the server's
//! reply. lettre has no retry of its own: the backoff and the transient/permanent split
//! are ours. A crash repeats at most the one message that was in flight; the rest of a
//! dead process's claims are picked up when its lease runs out.

mod compose;
mod outbox;
mod sender;
mod templates;
mod transport;

use std::fmt;

pub use compose::compose;
pub use outbox::{
    compose_for_outbox, counts_by_wave, enqueue, enqueue_many, failed, failure_groups,
    reason_group, resend, resend_group, store_composed, totals, ComposedMail, Failure,
    FailureGroup, MailCounts, OutboxStatus,
};
pub use sender::{
    release_claims, run_sender, run_sender_as, run_sender_with, send_due, send_due_with,
    worker_name, SendOptions, SendStats,
};
pub use templates::{HeardMailContext, SignInContext, SurveyMailContext, Templates};
pub use transport::{DeliveryError, SmtpRelay, Transport, DEFAULT_SMTP_TIMEOUT};

use crate::db::DbError;

/// What a message is for; stored as text in `mail_outbox.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    Invitation,
    Reminder,
    SignIn,
    /// "What we heard": a wave's published results.
    Heard,
    /// A nudge to act on results (`nudges`).
    Nudge,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::Reminder => "reminder",
            MailKind::SignIn => "sign_in",
            MailKind::Heard => "heard",
            MailKind::Nudge => "nudge",
        }
    }

    pub fn parse(text: &str) -> Option<MailKind> {
        match text {
            "invitation" => Some(MailKind::Invitation),
            "reminder" => Some(MailKind::Reminder),
            "sign_in" => Some(MailKind::SignIn),
            "heard" => Some(MailKind::Heard),
            "nudge" => Some(MailKind::Nudge),
            _ => None,
        }
    }
}

impl fmt::Display for MailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to queue: already rendered (see [`Templates`]), not yet a MIME message.
#[derive(Clone)]
pub struct OutgoingMail {
    /// One message per purpose, whoever enqueues it, e.g. `invitation:{wave}:{employee}`.
    pub dedupe_key: String,
    pub kind: MailKind,
    pub wave_id: Option<i64>,
    pub to_name: String,
    pub to_email: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl fmt::Debug for OutgoingMail {
    // The bodies may hold a survey or sign-in token: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("dedupe_key", &self.dedupe_key)
            .field("kind", &self.kind)
            .field("wave_id", &self.wave_id)
            .field("to_domain", &recipient_domain(&self.to_email))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("email template {name}: {reason}")]
    Template { name: String, reason: String },
    #[error("ICSAT_MAIL_FROM: {0:?} is not an email address; write e.g. surveys@example.com or \"Surveys <surveys@example.com>\"")]
    BadFrom(String),
    #[error("ICSAT_SMTP_URL: {0}")]
    SmtpUrl(String),
    #[error("cannot build the email: {0}")]
    Compose(String),
}

impl From<diesel::result::Error> for MailError {
    fn from(e: diesel::result::Error) -> Self {
        MailError::Db(DbError::Query(e))
    }
}

/// The part of an address that may appear in logs: its domain, never the person.
pub fn recipient_domain(address: &str) -> &str {
    address.rsplit_once('@').map_or("?", |(_, domain)| domain)
}
