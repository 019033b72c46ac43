//! The employee roster: who works here, in which department, with which attributes.
//! An import reads and checks both files completely, works out the changes in memory,
//! and writes them in one transaction: a bad file changes nothing.

pub mod csv_input;
pub mod plan;
pub mod store;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

pub use csv_input::RowError;

/// The roster column that names an employee's language (`de`, `fr-CA`): their emails and
/// form speak it when the survey has it. Optional; stored among the attributes.
pub const LANGUAGE: &str = "language";

use crate::db::{Db, DbError};

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{}\nroster not imported: {} problem(s) to fix; nothing was changed", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"), .0.len())]
    Invalid(Vec<RowError>),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// What an import changed (or, in a dry run, would change).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    pub employees_in_file: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub left: usize,
    pub departments_added: usize,
    pub departments_changed: usize,
    /// Heads the departments file no longer names, whose accounts were (or, in a dry
    /// run, would be) deactivated and signed out.
    pub heads_deactivated: Vec<String>,
    pub dry_run: bool,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} employees in the roster file", self.employees_in_file)?;
        writeln!(
            f,
            "employees: {} added, {} updated, {} unchanged, {} marked as left",
            self.added, self.updated, self.unchanged, self.left
        )?;
        write!(
            f,
            "departments: {} added, {} changed",
            self.departments_added, self.departments_changed
        )?;
        if !self.heads_deactivated.is_empty() {
            let done = if self.dry_run {
                "to be deactivated and signed out"
            } else {
                "deactivated and signed out"
            };
            write!(
                f,
                "\nheads no longer named, accounts {done}: {}",
                self.heads_deactivated.join(", ")
            )?;
        }
        if self.dry_run {
            write!(f, "\ndry run: nothing was changed")?;
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, RosterError> {
    std::fs::read(path).map_err(|e| RosterError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Checks the files, then (unless `dry_run`) applies them. Blocking: call it from a
/// command or through `spawn_blocking`.
pub fn import(
    db: &Db,
    roster_path: &Path,
    departments_path: Option<&Path>,
    dry_run: bool,
) -> Result<ImportSummary, RosterError> {
    let roster_name = roster_path.display().to_string();
    let roster_bytes = read(roster_path)?;
    let (department_rows, departments_name) = match departments_path {
        Some(path) => {
            let name = path.display().to_string();
            let rows =
                csv_input::parse_departments(&name, &read(path)?).map_err(RosterError::Invalid)?;
            (Some(rows), name)
        }
        None => (None, String::new()),
    };
    let known: Option<HashMap<String, u64>> = department_rows
        .as_ref()
        .map(|rows| rows.iter().map(|d| (d.name.clone(), d.row)).collect());
    let employees = csv_input::parse_roster(
        &roster_name,
        &roster_bytes,
        known.as_ref(),
        &departments_name,
    )
    .map_err(RosterError::Invalid)?;

    let mut conn = db.get()?;
    let stored_departments = store::load_departments(&mut conn)?;
    let stored_employees = store::load_employees(&mut conn)?;
    let plan = plan::plan(
        &roster_name,
        &employees,
        department_rows.as_deref(),
        &stored_departments,
        &stored_employees,
    )
    .map_err(RosterError::Invalid)?;
    // Heads the stored roster names whom the new departments file does not name for
    // that department any more (a replaced head must not keep reading it).
    let (replaced, still_named) = match &department_rows {
        Some(rows) => {
            let named: HashMap<&str, Option<&str>> = rows
                .iter()
                .map(|d| (d.name.as_str(), d.head_email.as_deref()))
                .collect();
            let replaced: Vec<(String, i64)> = stored_departments
                .iter()
                .filter_map(|d| {
                    let old = d.head_email.as_deref()?;
                    let new = named.get(d.name.as_str()).copied().flatten();
                    (new != Some(old)).then(|| (old.to_string(), d.id))
                })
                .collect();
            let still: std::collections::HashSet<String> =
                rows.iter().filter_map(|d| d.head_email.clone()).collect();
            (replaced, still)
        }
        None => Default::default(),
    };
    let mut summary = ImportSummary {
        employees_in_file: employees.len(),
        added: plan.added.len(),
        updated: plan.updated.len(),
        unchanged: plan.unchanged,
        left: plan.left.len(),
        departments_added: plan.new_departments.len(),
        departments_changed: plan.department_changes.len(),
        heads_deactivated: Vec::new(),
        dry_run,
    };
    if dry_run || plan.is_empty() {
        summary.heads_deactivated =
            crate::users::deactivate_replaced_heads(&mut conn, &replaced, &still_named, true)?;
        return Ok(summary);
    }
    // Hidden automatically when stderr is not a terminal (scripts, tests, CI).
    let bar = ProgressBar::new((plan.added.len() + plan.updated.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("writing employees");
    let result = store::apply(&mut conn, &plan, &|done| bar.set_position(done));
    bar.finish_and_clear();
    result?;
    // Heads named in the departments file get their account (outside the roster's
    // transaction: the roster stands even if this step fails, and is retried next time).
    if departments_path.is_some() {
        // Not a warning if it fails: the replaced heads would keep their access.
        summary.heads_deactivated =
            crate::users::deactivate_replaced_heads(&mut conn, &replaced, &still_named, false)?;
        if let Err(e) = crate::users::sync_heads(&mut conn) {
            tracing::warn!(error = %e, "could not give department heads their accounts");
        }
    }
    tracing::info!(
        added = summary.added,
        updated = summary.updated,
        left = summary.left,
        heads_deactivated = summary.heads_deactivated.len(),
        "roster imported"
    );
    Ok(summary)
}
