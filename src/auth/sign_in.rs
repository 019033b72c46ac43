//! One-time sign-in links: 256 random bits, stored only as a SHA-256 hash, valid for
//! [`LINK_MINUTES`], consumed by one conditional update so a link signs in once even
//! when two requests race.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{AuthError, User};
use crate::db::schema::login_tokens;
use crate::db::Conn;
use crate::mail::{MailKind, OutgoingMail, SignInContext, Templates};

/// How long a sign-in link works.
pub const LINK_MINUTES: i64 = 15;

/// What sign-in emails need besides their template.
pub struct SignInMailer {
    pub templates: Templates,
    pub base_url: String,
    pub from: String,
    pub help_contact: String,
}

fn link(base_url: &str, token: &str) -> String {
    format!("{}/login/{token}", base_url.trim_end_matches('/'))
}

/// Stores a fresh token for `user`, revoking its earlier ones, and returns it.
fn store_token(conn: &mut Conn, user: &User, now: NaiveDateTime) -> Result<String, AuthError> {
    let (token, hash) = super::new_secret();
    // Only the newest link works: one that leaked from an older mail is dead now.
    crate::with_conn!(*conn, c => diesel::update(login_tokens::table
        .filter(login_tokens::user_id.eq(user.id))
        .filter(login_tokens::used_at.is_null()))
        .set(login_tokens::used_at.eq(now))
        .execute(c))?;
    crate::with_conn!(*conn, c => diesel::insert_into(login_tokens::table)
        .values((
            login_tokens::token_hash.eq(&hash),
            login_tokens::user_id.eq(user.id),
            login_tokens::expires_at.eq(now + Duration::minutes(LINK_MINUTES)),
        ))
        .execute(c))?;
    // Old links are useless; forget them (a day later, so a just-used one still explains itself).
    crate::with_conn!(*conn, c => diesel::delete(login_tokens::table
        .filter(login_tokens::expires_at.lt(now - Duration::days(1))))
        .execute(c))?;
    Ok(token)
}

/// The full sign-in link for the account `email`, without mailing it (for `icsat demo`
/// and for administrators helping someone whose mail does not arrive).
pub fn issue_link(conn: &mut Conn, base_url: &str, email: &str) -> Result<String, AuthError> {
    let Some(user) = super::user_by_email(conn, email)? else {
        return Err(AuthError::UnknownUser(email.to_string()));
    };
    let token = store_token(conn, &user, crate::db::now())?;
    Ok(link(base_url, &token))
}

/// Mails a sign-in link to `email` when it has an account that may sign in; returns
/// whether it did. The caller answers the same either way, so nobody learns which
/// addresses have accounts.
pub fn request_link(
    conn: &mut Conn,
    mailer: &SignInMailer,
    email: &str,
    now: NaiveDateTime,
) -> Result<bool, AuthError> {
    let Some(user) = super::user_by_email(conn, email)? else {
        return Ok(false);
    };
    conn.transaction(|conn| -> Result<bool, AuthError> {
        let token = store_token(conn, &user, now)?;
        let (subject, text, html) = mailer.templates.sign_in(&SignInContext {
            link: link(&mailer.base_url, &token),
            minutes_valid: LINK_MINUTES,
            help_contact: mailer.help_contact.clone(),
        })?;
        let mail = OutgoingMail {
            dedupe_key: format!("sign_in:{}", crate::waves::tokens::hash(&token)),
            kind: MailKind::SignIn,
            wave_id: None,
            to_name: String::new(),
            to_email: user.email.clone(),
            subject,
            text,
            html,
        };
        crate::mail::enqueue(conn, &mail, &mailer.from, now)?;
        Ok(true)
    })
}

/// Whether `token` would sign someone in now (shown before the "Sign in" button, which
/// does the consuming: mail scanners that fetch links must not use them up).
pub fn is_valid(conn: &mut Conn, token: &str, now: NaiveDateTime) -> Result<bool, AuthError> {
    Ok(valid_for(conn, token, now)?.is_some())
}

/// The address of the account `token` would sign into now, if it would.
pub fn valid_for(
    conn: &mut Conn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, AuthError> {
    if !super::plausible(token) {
        return Ok(None);
    }
    let hash = crate::waves::tokens::hash(token);
    let user_id: Option<i64> = crate::with_conn!(*conn, c => login_tokens::table
        .filter(login_tokens::token_hash.eq(&hash))
        .filter(login_tokens::used_at.is_null())
        .filter(login_tokens::expires_at.gt(now))
        .select(login_tokens::user_id)
        .first(c)
        .optional())?;
    match user_id {
        Some(id) => Ok(super::user_by_id(conn, id)?.map(|user| user.email)),
        None => Ok(None),
    }
}

/// Uses the token up and returns its account, or `None` when the token is unknown,
/// used, expired, or its account may no longer sign in.
pub fn consume(
    conn: &mut Conn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<User>, AuthError> {
    if !super::plausible(token) {
        return Ok(None);
    }
    let hash = crate::waves::tokens::hash(token);
    let user_id: Option<i64> = crate::with_conn!(*conn, c => diesel::update(login_tokens::table
        .filter(login_tokens::token_hash.eq(&hash))
        .filter(login_tokens::used_at.is_null())
        .filter(login_tokens::expires_at.gt(now)))
        .set(login_tokens::used_at.eq(now))
        .returning(login_tokens::user_id)
        .get_result(c)
        .optional())?;
    match user_id {
        Some(id) => super::user_by_id(conn, id),
        None => Ok(None),
    }
}
