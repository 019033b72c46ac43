//! Accounts of the people who read results: HR admins and department heads.

use diesel::prelude::*;

use crate::db::schema::{departments, login_tokens, sessions, users};
use crate::db::{Conn, DbError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Head,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Head => "head",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Email(String),
    #[error("a head needs --department: the department whose subtree they see")]
    HeadWithoutDepartment,
    #[error("an admin sees every department; leave out --department")]
    AdminWithDepartment,
    #[error(
        "there is no department {name:?}{hint}; import it with the roster first (departments: {known})"
    )]
    UnknownDepartment {
        name: String,
        /// " (did you mean ...?)" or nothing.
        hint: String,
        known: String,
    },
    #[error("there is no account for {0}; `icsat user list` shows the accounts")]
    UnknownAccount(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for UserError {
    fn from(e: diesel::result::Error) -> Self {
        UserError::Db(DbError::Query(e))
    }
}

/// Adds the account, or updates its role and department; returns true when new.
pub fn add(
    conn: &mut Conn,
    email: &str,
    role: Role,
    department: Option<&str>,
) -> Result<bool, UserError> {
    let email = crate::roster::csv_input::normalise_email(email).map_err(UserError::Email)?;
    let department_id = match (role, department) {
        (Role::Head, None) => return Err(UserError::HeadWithoutDepartment),
        (Role::Admin, Some(_)) => return Err(UserError::AdminWithDepartment),
        (Role::Admin, None) => None,
        (Role::Head, Some(name)) => {
            let found: Option<i64> = crate::with_conn!(*conn, c => departments::table
                .filter(departments::name.eq(name))
                .select(departments::id)
                .first(c)
                .optional())?;
            match found {
                Some(id) => Some(id),
                None => {
                    let known: Vec<String> = crate::with_conn!(*conn, c => departments::table
                        .select(departments::name)
                        .order(departments::name)
                        .load(c))?;
                    return Err(UserError::UnknownDepartment {
                        name: name.to_string(),
                        hint: crate::definitions::closest(name, known.iter().map(String::as_str))
                            .map(|close| format!(" (did you mean {close:?}?)"))
                            .unwrap_or_default(),
                        known: known.join(", "),
                    });
                }
            }
        }
    };
    let now = crate::db::now();
    let existing: Option<i64> = crate::with_conn!(*conn, c => users::table
        .filter(users::email.eq(&email))
        .select(users::id)
        .first(c)
        .optional())?;
    match existing {
        Some(id) => {
            crate::with_conn!(*conn, c => diesel::update(users::table.find(id))
                .set((users::role.eq(role.as_str()), users::department_id.eq(department_id), users::active.eq(true)))
                .execute(c))?;
            Ok(false)
        }
        None => {
            crate::with_conn!(*conn, c => diesel::insert_into(users::table)
                .values((
                    users::email.eq(&email),
                    users::role.eq(role.as_str()),
                    users::department_id.eq(department_id),
                    users::active.eq(true),
                    users::created_at.eq(now),
                ))
                .on_conflict_do_nothing()
                .execute(c))?;
            Ok(true)
        }
    }
}

/// One account, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    pub email: String,
    pub role: String,
    /// The department a head sees (its subtree); none for an admin.
    pub department: Option<String>,
    pub active: bool,
    pub created_at: chrono::NaiveDateTime,
    /// Sessions that have not expired yet.
    pub sessions: i64,
}

/// Every account, active ones first, then by address.
pub fn list(conn: &mut Conn) -> Result<Vec<Account>, UserError> {
    let now = crate::db::now();
    let rows: Vec<(
        i64,
        String,
        String,
        Option<String>,
        bool,
        chrono::NaiveDateTime,
    )> = crate::with_conn!(*conn, c => users::table
            .left_join(departments::table)
            .select((
                users::id,
                users::email,
                users::role,
                departments::name.nullable(),
                users::active,
                users::created_at,
            ))
            .order((users::active.desc(), users::email))
            .load(c))?;
    let open: Vec<i64> = crate::with_conn!(*conn, c => sessions::table
        .filter(sessions::expires_at.gt(now))
        .select(sessions::user_id)
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, email, role, department, active, created_at)| Account {
                email,
                role,
                department,
                active,
                created_at,
                sessions: open.iter().filter(|u| **u == id).count() as i64,
            },
        )
        .collect())
}

/// Takes an account's access away: marked inactive, its sessions ended and its
/// sign-in links revoked, in one transaction. The account stays (the audit log names
/// it); `add` makes it active again. Returns the address as stored, and false when it
/// was inactive already.
pub fn deactivate(conn: &mut Conn, email: &str) -> Result<(String, bool), UserError> {
    let email = crate::roster::csv_input::normalise_email(email).map_err(UserError::Email)?;
    let found: Option<(i64, bool)> = crate::with_conn!(*conn, c => users::table
        .filter(users::email.eq(&email))
        .select((users::id, users::active))
        .first(c)
        .optional())?;
    let Some((id, was_active)) = found else {
        return Err(UserError::UnknownAccount(email));
    };
    end_access(conn, id)?;
    Ok((email, was_active))
}

/// Marks the account inactive and ends its sessions and sign-in links.
fn end_access(conn: &mut Conn, id: i64) -> Result<(), DbError> {
    crate::transaction!(*conn, c => {
        diesel::update(users::table.find(id))
            .set(users::active.eq(false))
            .execute(c)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(c)?;
        diesel::delete(login_tokens::table.filter(login_tokens::user_id.eq(id))).execute(c)?;
        Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}

/// Gives every head named in the departments file a head account for their
/// department. An existing head account moves to the department the file now names
/// (its active flag stays as HR set it); an admin stays an admin.
pub fn sync_heads(conn: &mut Conn) -> Result<usize, UserError> {
    let heads: Vec<(String, String)> = crate::with_conn!(*conn, c => departments::table
        .filter(departments::active.eq(true))
        .filter(departments::head_email.is_not_null())
        .select((departments::head_email.assume_not_null(), departments::name))
        .load(c))?;
    let mut added = 0;
    for (email, department) in heads {
        let Ok(email) = crate::roster::csv_input::normalise_email(&email) else {
            continue;
        };
        let role: Option<String> = crate::with_conn!(*conn, c => users::table
            .filter(users::email.eq(&email))
            .select(users::role)
            .first(c)
            .optional())?;
        match role.as_deref() {
            None => {
                if add(conn, &email, Role::Head, Some(&department))? {
                    added += 1;
                }
            }
            // A head now named for another department follows the departments file.
            // (Its `active` flag is left as HR set it.)
            Some("head") => {
                let department_id: Option<i64> = crate::with_conn!(*conn, c => departments::table
                    .filter(departments::name.eq(&department))
                    .select(departments::id)
                    .first(c)
                    .optional())?;
                if let Some(department_id) = department_id {
                    crate::with_conn!(*conn, c => diesel::update(users::table.filter(users::email.eq(&email)))
                        .set(users::department_id.eq(Some(department_id)))
                        .execute(c))?;
                }
            }
            Some(_) => {}
        }
    }
    Ok(added)
}

/// Head accounts the departments file no longer names: each `(email, department id)`
/// is a head the stored roster named for that department. An account that is still a
/// head of that department (and not named as head anywhere in `still_named`) is
/// deactivated, its sessions ended and its sign-in links revoked, unless `dry_run`.
/// Returns the addresses, sorted.
pub fn deactivate_replaced_heads(
    conn: &mut Conn,
    replaced: &[(String, i64)],
    still_named: &std::collections::HashSet<String>,
    dry_run: bool,
) -> Result<Vec<String>, DbError> {
    let mut gone = Vec::new();
    for (email, department_id) in replaced {
        let Ok(email) = crate::roster::csv_input::normalise_email(email) else {
            continue;
        };
        if still_named.contains(&email) {
            continue;
        }
        let id: Option<i64> = crate::with_conn!(*conn, c => users::table
            .filter(users::email.eq(&email))
            .filter(users::role.eq(Role::Head.as_str()))
            .filter(users::department_id.eq(Some(*department_id)))
            .filter(users::active.eq(true))
            .select(users::id)
            .first(c)
            .optional())?;
        let Some(id) = id else { continue };
        if !dry_run {
            end_access(conn, id)?;
        }
        gone.push(email);
    }
    gone.sort();
    gone.dedup();
    Ok(gone)
}
