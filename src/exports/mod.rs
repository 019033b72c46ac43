//! `icsat export`: CSV for spreadsheets. The summary is the wave report (one row per
//! group and question) with each figure's change from the wave before; the raw export is
//! one row per response, streamed page by page so memory stays flat whatever the size.
//!
//! Both open in Excel and LibreOffice as they are: UTF-8 with a byte order mark, CRLF line
//! ends, and text cells that a spreadsheet would run as a formula neutralised (numbers are
//! written as numbers, so `-12.5` stays a number). Every column is listed in the README,
//! section "CSV export".

mod comments;
mod raw;
mod summary;

use std::io::Write;

pub use comments::{question_texts, wave_comments};
pub use raw::raw;
pub use summary::{summary, SUMMARY_COLUMNS};

use crate::db::{Conn, DbError};
use crate::reports::ReportError;

/// The byte order mark that tells Excel a CSV file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot write the export: {0}")]
    Write(String),
    #[error(
        "{group} has fewer than {threshold} responses in wave {wave}: there is nothing that may be exported"
    )]
    TooFew {
        group: String,
        threshold: u64,
        wave: String,
    },
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> Self {
        ExportError::Write(e.to_string())
    }
}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        ExportError::Write(e.to_string())
    }
}

impl From<crate::stats::StatsError> for ExportError {
    fn from(e: crate::stats::StatsError) -> Self {
        ExportError::Report(ReportError::Stats(e))
    }
}

/// What to export.
#[derive(Debug, Clone, Copy)]
pub struct ExportQuery<'a> {
    pub survey: &'a str,
    pub wave: &'a str,
    /// A department subtree, or everything.
    pub department: Option<&'a str>,
}

/// A CSV writer that starts with the BOM and ends lines with CRLF, as spreadsheets
/// expect.
pub fn spreadsheet_writer<W: Write>(mut out: W) -> Result<csv::Writer<W>, ExportError> {
    out.write_all(BOM)?;
    Ok(csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out))
}

/// A number cell: empty when undefined, never NaN, never in exponent form.
pub fn number(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => String::new(),
    }
}

/// The waves of a survey, oldest first, and the index of `label` among them.
fn find_wave(
    conn: &mut Conn,
    survey: &str,
    label: &str,
) -> Result<(Vec<crate::waves::Wave>, usize), ExportError> {
    let survey_id = match crate::waves::survey_id(conn, survey)? {
        Some(id) => id,
        None => {
            return Err(match crate::surveys::current(conn, survey) {
                Err(e) => ReportError::Survey(e).into(),
                Ok(_) => ReportError::NoWaves(survey.to_string()).into(),
            })
        }
    };
    let waves = crate::waves::of_survey(conn, survey_id)?;
    if waves.is_empty() {
        return Err(ReportError::NoWaves(survey.to_string()).into());
    }
    match waves.iter().position(|w| w.label == label) {
        Some(i) => Ok((waves, i)),
        None => Err(ReportError::UnknownWave {
            survey: survey.to_string(),
            label: label.to_string(),
            known: waves
                .iter()
                .map(|w| w.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into()),
    }
}
