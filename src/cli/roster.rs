use std::path::Path;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;

pub fn import(
    config: &Config,
    roster: &Path,
    departments: Option<&Path>,
    dry_run: bool,
) -> Result<(), AppError> {
    let db = Db::open(&config.database_url)?;
    let summary = crate::roster::import(&db, roster, departments, dry_run)?;
    println!("{summary}");
    Ok(())
}
