use std::io::Write;

use super::Format;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::reports::{self, html, render, WaveQuery};

fn write_out(bytes: &[u8]) -> Result<(), AppError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| AppError::Output(e.to_string()))
}

fn json(value: &impl serde::Serialize) -> Result<Vec<u8>, AppError> {
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|e| AppError::Output(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub fn report(
    config: &Config,
    survey: &str,
    wave: Option<&str>,
    department: Option<&str>,
    filters: &[String],
    format: Format,
) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let query = WaveQuery {
        survey,
        wave,
        department,
        filters,
    };
    let (report, order) = reports::wave_report(&mut conn, &query)?;
    let bytes = match format {
        Format::Text => render::wave_text(&report, &order).into_bytes(),
        // Filtered views are about who answered, not about what was done.
        Format::Json if filters.is_empty() => json(&crate::actions::report_json(
            &mut conn,
            crate::auth::rights::Rights::Admin,
            &report,
            survey,
            &report.wave,
        )?)?,
        Format::Json => json(&report)?,
        Format::Csv => {
            render::wave_csv(&report, &order).map_err(|e| AppError::Output(e.to_string()))?
        }
        Format::Html => {
            let (texts, comment_threshold) =
                crate::exports::question_texts(&mut conn, survey, &report.wave)?;
            // Comments are left out of filtered views: a filter narrows who wrote them.
            let comments = if filters.is_empty() {
                crate::exports::wave_comments(
                    &mut conn,
                    &crate::exports::ExportQuery {
                        survey,
                        wave: &report.wave,
                        department,
                    },
                )?
            } else {
                None
            };
            let view = match (&comments, filters.is_empty()) {
                (Some(list), _) if !list.is_empty() => html::Comments::Shown(list),
                (Some(_), _) | (None, false) => html::Comments::Absent,
                (None, true) => html::Comments::Withheld {
                    threshold: comment_threshold,
                },
            };
            html::wave_html(&report, &order, &texts, &view).into_bytes()
        }
    };
    write_out(&bytes)
}

pub fn trend(
    config: &Config,
    survey: &str,
    department: Option<&str>,
    last: Option<usize>,
    format: Format,
) -> Result<(), AppError> {
    if last == Some(0) {
        return Err(AppError::BadArgument(
            "--last: give a number of waves, 1 or more".into(),
        ));
    }
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let report = reports::trend_report_last(&mut conn, survey, department, last)?;
    let bytes = match format {
        Format::Text => render::trend_text(&report).into_bytes(),
        Format::Json => json(&crate::actions::trend_json(
            &mut conn,
            crate::auth::rights::Rights::Admin,
            &report,
        )?)?,
        Format::Csv => render::trend_csv(&report).map_err(|e| AppError::Output(e.to_string()))?,
        Format::Html => html::trend_html(&report).into_bytes(),
    };
    write_out(&bytes)
}
