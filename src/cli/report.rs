use std::io::Write;

use super::Format;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::reports::{self, render, WaveQuery};

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
    let db = Db::open(&config.database_url)?;
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
        Format::Json => json(&report)?,
        Format::Csv => {
            render::wave_csv(&report, &order).map_err(|e| AppError::Output(e.to_string()))?
        }
        Format::Html => return Err(AppError::NotYet("report --format html")),
    };
    write_out(&bytes)
}

pub fn trend(
    config: &Config,
    survey: &str,
    department: Option<&str>,
    format: Format,
) -> Result<(), AppError> {
    let db = Db::open(&config.database_url)?;
    let mut conn = db.get()?;
    let report = reports::trend_report(&mut conn, survey, department)?;
    let bytes = match format {
        Format::Text => render::trend_text(&report).into_bytes(),
        Format::Json => json(&report)?,
        Format::Csv => render::trend_csv(&report).map_err(|e| AppError::Output(e.to_string()))?,
        Format::Html => return Err(AppError::NotYet("trend --format html")),
    };
    write_out(&bytes)
}
