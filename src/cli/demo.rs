use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::db::{DatabaseUrl, Db};
use crate::demo::{self, DemoOptions};
use crate::error::AppError;
use crate::waves::lifecycle::Mailer;

/// The demo's own database when none is configured: rebuilt on every run.
const DEMO_FILE: &str = "icsat-demo.db";
/// Where the shipped definitions are written when there is no definitions folder (an
/// installed binary run from any folder).
const DEMO_DEFINITIONS: &str = "icsat-demo-definitions";

/// Deletes the demo file (with SQLite's WAL and shared-memory files) so each run starts
/// from scratch.
fn fresh_demo_file(path: &Path) -> Result<(), AppError> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(AppError::Output(format!(
                    "cannot remove the old demo database {}: {e}",
                    file.display()
                )))
            }
        }
    }
    Ok(())
}

/// `icsat demo`: builds the demo company, prints how to sign in, then serves.
pub fn demo(mut config: Config, options: &DemoOptions, then_serve: bool) -> Result<(), AppError> {
    if config.database_url_given {
        eprintln!(
            "Building the demo in {} (it must be empty).",
            config.database_url.display()
        );
    } else {
        let path = PathBuf::from(DEMO_FILE);
        fresh_demo_file(&path)?;
        config.database_url = DatabaseUrl::Sqlite(path);
        eprintln!(
            "Building the demo in {DEMO_FILE} in the current folder (rebuilt from scratch on \
             every run; set ICSAT_DATABASE_URL to use another, empty, database)."
        );
    }
    // The demo never sends mail: invitations are written as .eml files.
    config.smtp_url = None;
    if !config.definitions.is_dir() {
        let dir = PathBuf::from(DEMO_DEFINITIONS);
        eprintln!(
            "No survey definitions in {}: using the shipped ones, written to {DEMO_DEFINITIONS}/.",
            config.definitions.display()
        );
        config.definitions = demo::shipped::write_to(&dir)
            .map_err(|e| AppError::Output(format!("cannot write {}: {e}", dir.display())))?;
    }
    let started = Instant::now();
    let db = Db::open(&config.database_url)?;
    let mailer = Mailer::from_config(&config).map_err(AppError::Wave)?;
    // Hidden automatically when stderr is not a terminal (scripts, tests, CI).
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("building the demo [{bar:30}] {pos}/{len} waves")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let built = demo::build(
        &db,
        &config.definitions,
        &mailer,
        options,
        chrono::Utc::now(),
        &|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        },
    );
    bar.finish_and_clear();
    let summary = built?;
    println!(
        "Demo built in {:.1} s: {} employees in {} departments, {} waves, {} invitations, \
         {} responses; wave {} is open.",
        started.elapsed().as_secs_f64(),
        summary.employees,
        summary.departments,
        summary.waves,
        summary.invitations,
        summary.responses,
        summary.open_wave
    );
    println!(
        "Its invitations are written as .eml files to {}/ while the demo runs.",
        config.outbox_dir.display()
    );
    let mut conn = db.get()?;
    print!(
        "{}",
        demo::sign_in_links(&mut conn, &config.base_url, &summary)
    );
    drop(conn);
    drop(db);
    if then_serve {
        super::serve::serve(config)
    } else {
        Ok(())
    }
}
