//! Small key/value facts the service keeps about itself, such as the signing secret.

use diesel::prelude::*;
use rand::RngCore;

use super::schema::settings;
use super::{Conn, DbError};

const SECRET_KEY: &str = "secret";

pub fn get(conn: &mut Conn, key: &str) -> Result<Option<String>, DbError> {
    let value = crate::with_conn!(*conn, c => settings::table
        .find(key)
        .select(settings::value)
        .first::<String>(c)
        .optional())?;
    Ok(value)
}

/// Stores `value` under `key`, replacing what was there.
pub fn put(conn: &mut Conn, key: &str, value: &str) -> Result<(), DbError> {
    crate::with_conn!(*conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict(settings::key)
        .do_update()
        .set(settings::value.eq(value))
        .execute(c))?;
    Ok(())
}

/// Removes `key`; nothing happens when it is not there.
pub fn remove(conn: &mut Conn, key: &str) -> Result<(), DbError> {
    crate::with_conn!(*conn, c => diesel::delete(settings::table.find(key)).execute(c))?;
    Ok(())
}

/// Stores `value` under `key` unless the key is there already; true when it stored it.
/// Markers of work done once (several processes may try at the same time).
pub fn put_once(conn: &mut Conn, key: &str, value: &str) -> Result<bool, DbError> {
    let stored = crate::with_conn!(*conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(key), settings::value.eq(value)))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(stored == 1)
}

/// The key that signs sessions and CSRF tokens when `ICSAT_SECRET` is not set:
/// generated once and stored, so every process behind a load balancer uses the same.
pub fn secret(conn: &mut Conn) -> Result<String, DbError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // Insert-if-absent, then read: two processes starting together agree on one value.
    crate::with_conn!(*conn, c => diesel::insert_into(settings::table)
        .values((settings::key.eq(SECRET_KEY), settings::value.eq(&fresh)))
        .on_conflict_do_nothing()
        .execute(c))?;
    get(conn, SECRET_KEY)?.ok_or(DbError::Query(diesel::result::Error::NotFound))
}
