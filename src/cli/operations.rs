//! Commands for those who run icsat: backup and restore, purge, audit.

use std::path::Path;

use crate::config::Config;
use crate::error::AppError;

pub fn backup(config: &Config, file: &Path) -> Result<(), AppError> {
    let summary = crate::backup::backup(&config.database_url, file)?;
    let db = crate::db::Db::connect(&config.database_url)?;
    crate::audit::record(
        &mut db.get()?,
        &crate::audit::cli_actor(),
        crate::audit::BACKUP,
        &file.display().to_string(),
        &format!("{} tables, {} rows", summary.tables, summary.rows),
    );
    println!(
        "backed up {} to {}: {} tables, {} rows",
        config.database_url.display(),
        file.display(),
        summary.tables,
        summary.rows
    );
    Ok(())
}

pub fn restore(config: &Config, file: &Path, force: bool) -> Result<(), AppError> {
    let summary = crate::backup::restore(&config.database_url, file, force)?;
    let db = crate::db::Db::connect(&config.database_url)?;
    crate::audit::record(
        &mut db.get()?,
        &crate::audit::cli_actor(),
        crate::audit::RESTORE,
        &file.display().to_string(),
        &format!("{} tables, {} rows", summary.tables, summary.rows),
    );
    println!(
        "restored {} into {}: {} tables, {} rows",
        file.display(),
        config.database_url.display(),
        summary.tables,
        summary.rows
    );
    Ok(())
}

pub fn purge(config: &Config, dry_run: bool) -> Result<(), AppError> {
    let db = crate::db::Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let purged =
        crate::retention::purge(&mut conn, &config.retention, chrono::Utc::now(), dry_run)?;
    if dry_run {
        println!("would erase (dry run, nothing changed): {purged}");
    } else {
        crate::audit::record(
            &mut conn,
            &crate::audit::cli_actor(),
            crate::audit::PURGE,
            "",
            &purged.to_string(),
        );
        println!("erased: {purged}");
    }
    Ok(())
}

/// `--since`: a day (from its start, UTC) or an RFC 3339 moment.
fn parse_since(text: &str) -> Result<chrono::NaiveDateTime, AppError> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.naive_utc())
        .map_err(|_| {
            AppError::BadArgument(format!(
                "--since {text:?}: write a day, 2026-12-01, or a moment, 2026-12-01T09:00:00Z"
            ))
        })
}

/// `icsat user list`: a table, or JSON.
pub fn accounts(
    accounts: &[crate::users::Account],
    format: super::ListFormat,
) -> Result<String, AppError> {
    Ok(match format {
        super::ListFormat::Json => {
            let mut out = serde_json::to_string_pretty(accounts)
                .map_err(|e| AppError::Output(e.to_string()))?;
            out.push('\n');
            out
        }
        super::ListFormat::Text if accounts.is_empty() => {
            "no accounts yet; `icsat user add EMAIL --role admin` creates one\n".to_string()
        }
        super::ListFormat::Text => {
            let width = accounts
                .iter()
                .map(|a| a.email.len())
                .max()
                .unwrap_or(5)
                .max(5);
            let mut out = format!(
                "{:width$}  {:5}  {:24}  {:8}  {:8}  CREATED\n",
                "EMAIL", "ROLE", "DEPARTMENT", "STATE", "SESSIONS"
            );
            for a in accounts {
                out.push_str(&format!(
                    "{:width$}  {:5}  {:24}  {:8}  {:8}  {}\n",
                    a.email,
                    a.role,
                    a.department.as_deref().unwrap_or("-"),
                    if a.active { "active" } else { "inactive" },
                    a.sessions,
                    a.created_at.format("%Y-%m-%d"),
                ));
            }
            out
        }
    })
}

pub fn audit(
    config: &Config,
    since: Option<&str>,
    format: super::ListFormat,
    limit: i64,
) -> Result<(), AppError> {
    let since = since.map(parse_since).transpose()?;
    if limit < 1 {
        return Err(AppError::BadArgument(
            "--limit: give a number of entries, 1 or more".into(),
        ));
    }
    let db = crate::db::Db::open_existing(&config.database_url)?;
    let entries = crate::audit::list(&mut db.get()?, since, None, limit)?;
    let mut out = String::new();
    match format {
        super::ListFormat::Json => {
            out = serde_json::to_string_pretty(&entries)
                .map_err(|e| AppError::Output(e.to_string()))?;
            out.push('\n');
        }
        super::ListFormat::Text if entries.is_empty() => out.push_str("no audit entries\n"),
        super::ListFormat::Text => {
            for e in &entries {
                out.push_str(&format!(
                    "{}  {}  {}  {}  {}\n",
                    e.at.format("%Y-%m-%d %H:%M:%S"),
                    e.actor,
                    e.action,
                    e.subject,
                    e.detail
                ));
            }
        }
    }
    use std::io::Write;
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(|e| AppError::Output(e.to_string()))
}
