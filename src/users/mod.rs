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
        "there is no department {name:?}; import it with the roster first (departments: {known})"
    )]
    UnknownDepartment { name: String, known: String },
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
            crate::transaction!(*conn, c => {
                diesel::update(users::table.find(id))
                    .set(users::active.eq(false))
                    .execute(c)?;
                diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(c)?;
                diesel::delete(login_tokens::table.filter(login_tokens::user_id.eq(id)))
                    .execute(c)?;
                Ok::<(), diesel::result::Error>(())
            })?;
        }
        gone.push(email);
    }
    gone.sort();
    gone.dedup();
    Ok(gone)
}
