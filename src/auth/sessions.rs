//! Sessions: a random id in an HttpOnly cookie, its SHA-256 hash in `sessions`, valid for
//! [`SESSION_HOURS`]. Every request looks the account up again, so removing or
//! deactivating an account ends its sessions at once.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::{AuthError, User};
use crate::db::schema::{sessions, users};
use crate::db::{Conn, DbError};

pub const SESSION_HOURS: i64 = 12;

/// Starts a session for `user`; returns the id for the cookie. A session is a visit: the
/// one before becomes the account's previous visit (see [`previous_visit`]).
pub fn create(conn: &mut Conn, user: &User, now: NaiveDateTime) -> Result<String, AuthError> {
    let (id, hash) = super::new_secret();
    crate::with_conn!(*conn, c => diesel::update(users::table.find(user.id))
        .set((
            users::previous_visit_at.eq(users::visit_at),
            users::visit_at.eq(Some(now)),
        ))
        .execute(c))?;
    crate::with_conn!(*conn, c => diesel::insert_into(sessions::table)
        .values((
            sessions::id_hash.eq(&hash),
            sessions::user_id.eq(user.id),
            sessions::created_at.eq(now),
            sessions::expires_at.eq(now + Duration::hours(SESSION_HOURS)),
        ))
        .execute(c))?;
    crate::with_conn!(*conn, c => diesel::delete(sessions::table
        .filter(sessions::expires_at.lt(now)))
        .execute(c))?;
    Ok(id)
}

/// The account of a live session.
pub fn find(conn: &mut Conn, id: &str, now: NaiveDateTime) -> Result<Option<User>, AuthError> {
    if !super::plausible(id) {
        return Ok(None);
    }
    let hash = crate::waves::tokens::hash(id);
    let user_id: Option<i64> = crate::with_conn!(*conn, c => sessions::table
        .filter(sessions::id_hash.eq(&hash))
        .filter(sessions::expires_at.gt(now))
        .select(sessions::user_id)
        .first(c)
        .optional())?;
    match user_id {
        Some(user_id) => super::user_by_id(conn, user_id),
        None => Ok(None),
    }
}

/// When the account's previous visit (sign-in) began; `None` before its second.
pub fn previous_visit(conn: &mut Conn, user_id: i64) -> Result<Option<NaiveDateTime>, DbError> {
    let at: Option<Option<NaiveDateTime>> = crate::with_conn!(*conn, c => users::table
        .find(user_id)
        .select(users::previous_visit_at)
        .first(c)
        .optional())?;
    Ok(at.flatten())
}

/// Ends a session (sign out); unknown ids are ignored.
pub fn end(conn: &mut Conn, id: &str) -> Result<(), AuthError> {
    let hash = crate::waves::tokens::hash(id);
    crate::with_conn!(*conn, c => diesel::delete(sessions::table
        .filter(sessions::id_hash.eq(&hash)))
        .execute(c))?;
    Ok(())
}
