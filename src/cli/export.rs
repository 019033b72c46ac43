use std::io::Write;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::exports::{self, ExportQuery};

/// `icsat export`: to FILE, or to standard output. A raw export shows a progress bar on
/// a terminal (stderr) and nothing otherwise.
pub fn export(
    config: &Config,
    query: &ExportQuery,
    raw: bool,
    output: Option<&Path>,
) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let sink: Box<dyn Write> = match output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| AppError::Output(format!("cannot create {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let result = if raw {
        // Hidden automatically when stderr is not a terminal (scripts, tests, CI).
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("exporting [{bar:30}] {pos}/{len} responses ({eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let rows = exports::raw(&mut conn, query, sink, &|done, total| {
            bar.set_length(total.max(done));
            bar.set_position(done);
        });
        bar.finish_and_clear();
        rows
    } else {
        exports::summary(&mut conn, query, sink)
    };
    let rows = match result {
        Ok(rows) => rows,
        Err(e) => {
            // No half-written file is left to be mistaken for an export.
            if let Some(path) = output {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.into());
        }
    };
    let what = if raw { "raw CSV" } else { "summary CSV" };
    let scope = query.department.unwrap_or("whole company");
    crate::audit::record(
        &mut conn,
        &crate::audit::cli_actor(),
        crate::audit::EXPORT,
        &format!("{}/{}", query.survey, query.wave),
        &format!("{what}, {scope}"),
    );
    if let Some(path) = output {
        let what = if raw { "responses" } else { "rows" };
        eprintln!("wrote {rows} {what} to {}", path.display());
    }
    Ok(())
}
