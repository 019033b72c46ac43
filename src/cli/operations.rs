//! Commands for those who run icsat: backup and restore, purge.

use std::path::Path;

use crate::config::Config;
use crate::error::AppError;

pub fn backup(config: &Config, file: &Path) -> Result<(), AppError> {
    let summary = crate::backup::backup(&config.database_url, file)?;
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
    let db = crate::db::Db::open(&config.database_url)?;
    let mut conn = db.get()?;
    let purged =
        crate::retention::purge(&mut conn, &config.retention, chrono::Utc::now(), dry_run)?;
    if dry_run {
        println!("would erase (dry run, nothing changed): {purged}");
    } else {
        println!("erased: {purged}");
    }
    Ok(())
}
