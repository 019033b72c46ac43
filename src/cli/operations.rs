//! Commands for those who run icsat: backup and restore.

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
