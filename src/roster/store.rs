//! Reading the current roster from the database and writing a [`Plan`] in one transaction.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::plan::{attributes_json, Plan, StoredDepartment, StoredEmployee};
use crate::db::schema::{departments, employees};
use crate::db::{Conn, DbError};

/// Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound parameters.
const INSERT_BATCH: usize = 1000;

type DepartmentRow = (i64, String, Option<i64>, Option<String>, bool);
type EmployeeRow = (
    i64,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<NaiveDate>,
    String,
    bool,
);

pub fn load_departments(conn: &mut Conn) -> Result<Vec<StoredDepartment>, DbError> {
    let rows: Vec<DepartmentRow> = crate::with_conn!(*conn, c => departments::table
        .select((
            departments::id,
            departments::name,
            departments::parent_id,
            departments::head_email,
            departments::active,
        ))
        .order(departments::id)
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(
            |(id, name, parent_id, head_email, active)| StoredDepartment {
                id,
                name,
                parent_id,
                head_email,
                active,
            },
        )
        .collect())
}

pub fn load_employees(conn: &mut Conn) -> Result<Vec<StoredEmployee>, DbError> {
    let rows: Vec<EmployeeRow> = crate::with_conn!(*conn, c => employees::table
        .select((
            employees::id,
            employees::email,
            employees::name,
            employees::department_id,
            employees::manager_email,
            employees::location,
            employees::hire_date,
            employees::attributes,
            employees::active,
        ))
        .load(c))?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                email,
                name,
                department_id,
                manager_email,
                location,
                hire_date,
                attributes,
                active,
            )| {
                StoredEmployee {
                    id,
                    email,
                    name,
                    department_id,
                    manager_email,
                    location,
                    hire_date,
                    attributes,
                    active,
                }
            },
        )
        .collect())
}

#[derive(Insertable)]
#[diesel(table_name = employees)]
struct NewEmployee<'a> {
    email: &'a str,
    name: &'a str,
    department_id: i64,
    manager_email: Option<&'a str>,
    location: Option<&'a str>,
    hire_date: Option<NaiveDate>,
    attributes: String,
    active: bool,
    left_at: Option<NaiveDateTime>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Writes the plan in one transaction, so any failure leaves the roster exactly as it
/// was. `progress` is told how many employees were written so far.
pub fn apply(conn: &mut Conn, plan: &Plan, progress: &dyn Fn(u64)) -> Result<(), DbError> {
    crate::transaction!(*conn, c => {
                let now = crate::db::now();
                for name in &plan.new_departments {
                    diesel::insert_into(departments::table)
                        .values((
                            departments::name.eq(name),
                            departments::active.eq(true),
                            departments::created_at.eq(now),
                            departments::updated_at.eq(now),
                        ))
                        .execute(c)?;
                }
                let ids: HashMap<String, i64> = departments::table
                    .select((departments::name, departments::id))
                    .load::<(String, i64)>(c)?
                    .into_iter()
                    .collect();
                let id_of = |name: &str| ids.get(name).copied().ok_or(diesel::result::Error::NotFound);
                for change in &plan.department_changes {
                    let parent_id = match &change.parent {
                        Some(parent) => Some(id_of(parent)?),
                        None => None,
                    };
                    diesel::update(departments::table.filter(departments::name.eq(&change.name)))
                        .set((
                            departments::parent_id.eq(parent_id),
                            departments::head_email.eq(&change.head_email),
                            departments::active.eq(change.active),
                            departments::updated_at.eq(now),
                        ))
                        .execute(c)?;
                }
                let mut written = 0u64;
                for chunk in plan.added.chunks(INSERT_BATCH) {
                    let rows = chunk
                        .iter()
                        .map(|e| {
                            Ok(NewEmployee {
                                email: &e.email,
                                name: &e.name,
                                department_id: id_of(&e.department)?,
                                manager_email: e.manager_email.as_deref(),
                                location: e.location.as_deref(),
                                hire_date: e.hire_date,
                                attributes: attributes_json(&e.attributes),
                                active: true,
                                left_at: None,
                                created_at: now,
                                updated_at: now,
                            })
                        })
                        .collect::<Result<Vec<_>, diesel::result::Error>>()?;
                    diesel::insert_into(employees::table).values(&rows).execute(c)?;
                    written += chunk.len() as u64;
                    progress(written);
                }
                for (id, e) in &plan.updated {
                    diesel::update(employees::table.find(*id))
                        .set((
                            employees::name.eq(&e.name),
                            employees::department_id.eq(id_of(&e.department)?),
                            employees::manager_email.eq(&e.manager_email),
                            employees::location.eq(&e.location),
                            employees::hire_date.eq(e.hire_date),
                            employees::attributes.eq(attributes_json(&e.attributes)),
                            employees::active.eq(true),
                            employees::left_at.eq(None::<NaiveDateTime>),
                            employees::updated_at.eq(now),
                        ))
                        .execute(c)?;
                    written += 1;
                    if written.is_multiple_of(1000) {
                        progress(written);
                    }
                }
                for chunk in plan.left.chunks(INSERT_BATCH) {
                    diesel::update(employees::table.filter(employees::id.eq_any(chunk)))
                        .set((
                            employees::active.eq(false),
                            employees::left_at.eq(Some(now)),
                            employees::updated_at.eq(now),
                        ))
                        .execute(c)?;
                }
                progress(written);
                Ok::<(), diesel::result::Error>(())
    })?;
    Ok(())
}
