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
    if !dry_run {
        let text = summary.to_string();
        crate::audit::record(
            &mut db.get()?,
            &crate::audit::cli_actor(),
            crate::audit::ROSTER_IMPORT,
            &roster.display().to_string(),
            &text.lines().take(3).collect::<Vec<_>>().join("; "),
        );
    }
    println!("{summary}");
    Ok(())
}
