//! Who may read results: sign-in by one-time emailed link, sessions, and the rights of
//! each role (HR admins see everything; a department head sees their subtree, the
//! company-wide figures, and how others rate the services their department provides).

pub mod rights;
pub mod sessions;
pub mod sign_in;

use diesel::prelude::*;

use crate::db::schema::{departments, employees, users};
use crate::db::{Conn, DbError};
use crate::mail::MailError;
use crate::users::Role;

pub use rights::Rights;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0:?} has no active account; add one with `icsat user add`")]
    UnknownUser(String),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        AuthError::Db(DbError::Query(e))
    }
}

/// A signed-in reader of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// A head's department (the root of the subtree they see); `None` for admins.
    pub department_id: Option<i64>,
}

impl User {
    pub fn rights(&self) -> Rights {
        match (self.role, self.department_id) {
            (Role::Admin, _) => Rights::Admin,
            (Role::Head, Some(department_id)) => Rights::Head { department_id },
            // A head without a department sees nothing but the company-wide figures.
            (Role::Head, None) => Rights::Head { department_id: -1 },
        }
    }
}

type UserRow = (i64, String, String, Option<i64>);

/// The account, if it may sign in: active, with a known role, a head's department still
/// active, and not someone the roster says has left.
pub(crate) fn usable(conn: &mut Conn, row: UserRow) -> Result<Option<User>, AuthError> {
    let (id, email, role, department_id) = row;
    let role = match role.as_str() {
        "admin" => Role::Admin,
        "head" => Role::Head,
        _ => return Ok(None),
    };
    if role == Role::Head {
        let Some(department) = department_id else {
            return Ok(None);
        };
        let active: Option<bool> = crate::with_conn!(*conn, c => departments::table
            .find(department)
            .select(departments::active)
            .first(c)
            .optional())?;
        if active != Some(true) {
            return Ok(None);
        }
    }
    let left: i64 = crate::with_conn!(*conn, c => employees::table
        .filter(employees::email.eq(&email))
        .filter(employees::active.eq(false).or(employees::left_at.is_not_null()))
        .count()
        .get_result(c))?;
    if left > 0 {
        return Ok(None);
    }
    Ok(Some(User {
        id,
        email,
        role,
        department_id,
    }))
}

/// The active account with this id.
pub(crate) fn user_by_id(conn: &mut Conn, id: i64) -> Result<Option<User>, AuthError> {
    let row: Option<UserRow> = crate::with_conn!(*conn, c => users::table
        .find(id)
        .filter(users::active.eq(true))
        .select((users::id, users::email, users::role, users::department_id))
        .first(c)
        .optional())?;
    match row {
        Some(row) => usable(conn, row),
        None => Ok(None),
    }
}

/// The active account with this address (compared normalised).
pub(crate) fn user_by_email(conn: &mut Conn, email: &str) -> Result<Option<User>, AuthError> {
    let Ok(email) = crate::roster::csv_input::normalise_email(email) else {
        return Ok(None);
    };
    let row: Option<UserRow> = crate::with_conn!(*conn, c => users::table
        .filter(users::email.eq(&email))
        .filter(users::active.eq(true))
        .select((users::id, users::email, users::role, users::department_id))
        .first(c)
        .optional())?;
    match row {
        Some(row) => usable(conn, row),
        None => Ok(None),
    }
}

/// 256 random bits, URL-safe, and the SHA-256 hash stored in their place.
pub(crate) fn new_secret() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = crate::waves::tokens::hash(&token);
    (token, hash)
}

/// A fresh 256-bit secret (for cookies that are not stored) and its hash.
pub fn fresh_secret() -> (String, String) {
    new_secret()
}

/// Whether a string could be a sign-in link, session or pre-sign-in value.
pub fn sign_in_plausible(value: &str) -> bool {
    plausible(value)
}

/// Whether a string could be one of our 256-bit secrets (43 URL-safe characters).
pub(crate) fn plausible(secret: &str) -> bool {
    secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bits_and_hashed() {
        let (a, hash) = new_secret();
        let (b, _) = new_secret();
        assert_ne!(a, b);
        assert!(plausible(&a) && plausible(&b));
        assert_eq!(hash, crate::waves::tokens::hash(&a));
        assert!(!plausible("short") && !plausible(&"é".repeat(22)));
    }
}
