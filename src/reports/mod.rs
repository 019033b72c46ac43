//! Reports: a wave's results and trends across waves, built from sufficient statistics
//! and passed through the one anonymity plan; text, JSON and CSV are views of them.

pub mod comments;
pub mod counts;
pub mod cube;
pub mod filtered;
pub mod html;
pub mod org;
pub mod release;
pub mod render;
pub mod trend;
pub mod wave;

use crate::db::{Conn, DbError};
use crate::stats::StatsError;
use crate::surveys::SurveyError;

/// " (did you mean "X"?)" when one of the comma-separated `known` names is close to
/// `name`, else nothing.
fn did_you_mean(name: &str, known: &str) -> String {
    crate::definitions::closest(name, known.split(", "))
        .map(|close| format!(" (did you mean {close:?}?)"))
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("survey {survey} has no wave {label:?}; its waves: {known}")]
    UnknownWave {
        survey: String,
        label: String,
        known: String,
    },
    #[error("survey {0} has no waves yet")]
    NoWaves(String),
    #[error(
        "there is no department {name:?}{}; departments: {known}",
        did_you_mean(name, known)
    )]
    UnknownDepartment { name: String, known: String },
    #[error("{0}")]
    BadFilter(String),
    #[error("the filter {filter} is refused for {group}: {reason}; a narrower view could reveal fewer people than the threshold")]
    FilterRefused {
        filter: String,
        group: String,
        reason: String,
    },
    #[error("{0}")]
    Corrupt(String),
    #[error("cannot compute the report: {0}")]
    Stats(#[from] StatsError),
    #[error(transparent)]
    Survey(#[from] SurveyError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A wave's definition version, parsed.
pub fn wave_definition(
    conn: &mut Conn,
    version_id: i64,
) -> Result<crate::definitions::Definition, ReportError> {
    use crate::db::schema::survey_versions;
    use diesel::prelude::*;
    let source: String = crate::with_conn!(*conn, c => survey_versions::table
        .find(version_id)
        .select(survey_versions::source)
        .first(c))
    .map_err(DbError::from)?;
    parse_stored(&source)
}

fn parse_stored(source: &str) -> Result<crate::definitions::Definition, ReportError> {
    crate::definitions::parse_definition(source).map_err(|diagnostics| {
        ReportError::Survey(SurveyError::Invalid(
            diagnostics
                .iter()
                .map(|d| d.render("stored definition"))
                .collect(),
        ))
    })
}

use counts::AttributeFilter;
use org::Org;

/// What a wave report was asked for.
pub struct WaveQuery<'a> {
    pub survey: &'a str,
    /// The latest wave when `None`.
    pub wave: Option<&'a str>,
    /// A department subtree, or every group.
    pub department: Option<&'a str>,
    /// `ATTRIBUTE=VALUE` filters, all applied.
    pub filters: &'a [String],
}

fn survey_waves(conn: &mut Conn, slug: &str) -> Result<Vec<crate::waves::Wave>, ReportError> {
    use crate::db::schema::{surveys, waves};
    use diesel::prelude::*;
    // One query in the usual case; the error cases ask again to say what is missing.
    let waves: Vec<crate::waves::Wave> = crate::with_conn!(*conn, c => waves::table
        .inner_join(surveys::table)
        .filter(surveys::slug.eq(slug))
        .order((waves::opens_at, waves::label))
        .select(crate::waves::Wave::as_select())
        .load(c))
    .map_err(DbError::from)?;
    if !waves.is_empty() {
        return Ok(waves);
    }
    if crate::waves::survey_id(conn, slug)?.is_none() {
        // Let the catalogue say which surveys exist.
        return Err(crate::surveys::current(conn, slug)
            .err()
            .map_or(ReportError::NoWaves(slug.to_string()), ReportError::from));
    }
    Err(ReportError::NoWaves(slug.to_string()))
}

/// The parsed definitions of several versions, read with one query; in the order asked.
pub(crate) fn definitions(
    conn: &mut Conn,
    version_ids: &[i64],
) -> Result<Vec<crate::definitions::Definition>, ReportError> {
    use crate::db::schema::survey_versions;
    use diesel::prelude::*;
    let mut distinct = version_ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let sources: Vec<(i64, String)> = crate::with_conn!(*conn, c => survey_versions::table
        .filter(survey_versions::id.eq_any(&distinct))
        .select((survey_versions::id, survey_versions::source))
        .load(c))
    .map_err(DbError::from)?;
    let mut parsed = std::collections::BTreeMap::new();
    for (id, source) in sources {
        parsed.insert(id, parse_stored(&source)?);
    }
    version_ids
        .iter()
        .map(|id| {
            parsed
                .get(id)
                .cloned()
                .ok_or(ReportError::Db(DbError::Query(
                    diesel::result::Error::NotFound,
                )))
        })
        .collect()
}

fn scope(org: &Org, department: Option<&str>) -> Result<Option<i64>, ReportError> {
    department
        .map(|name| {
            org.by_name(name)
                .map(|d| d.id)
                .ok_or_else(|| ReportError::UnknownDepartment {
                    name: name.to_string(),
                    known: org.known_names(),
                })
        })
        .transpose()
}

/// The report of one wave, with the question ids in the definition's order. It reads
/// the wave's latest release (no figure at all before the first); a filtered view is
/// only made of a closed wave, from its final release's respondents.
pub fn wave_report(
    conn: &mut Conn,
    query: &WaveQuery,
) -> Result<(wave::WaveReport, Vec<String>), ReportError> {
    let waves = survey_waves(conn, query.survey)?;
    let chosen = match query.wave {
        None => waves.last(),
        Some(label) => waves.iter().find(|w| w.label == label),
    };
    let Some(wave) = chosen else {
        return Err(ReportError::UnknownWave {
            survey: query.survey.to_string(),
            label: query.wave.unwrap_or_default().to_string(),
            known: waves
                .iter()
                .map(|w| w.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let definition = wave_definition(conn, wave.version_id)?;
    let org = Org::load(conn)?;
    let scope = scope(&org, query.department)?;
    let filters: Vec<AttributeFilter> = query
        .filters
        .iter()
        .map(|f| AttributeFilter::parse(f))
        .collect::<Result<_, _>>()
        .map_err(ReportError::BadFilter)?;
    if filters.len() > counts::MAX_FILTERS {
        return Err(ReportError::BadFilter(format!(
            "at most {} filters at once",
            counts::MAX_FILTERS
        )));
    }
    let released = release::latest(conn, wave.id)?;
    let report = if filters.is_empty() {
        match &released {
            Some(released) => wave::build(&definition, &wave.label, &org, released, scope, &[])?,
            None => {
                let nothing =
                    wave::Planned::new(&definition, &org, &counts::WaveCounts::default())?;
                wave::build(&definition, &wave.label, &org, &nothing, scope, &[])?
            }
        }
    } else {
        filtered::view(
            conn,
            &definition,
            &org,
            &filtered::ViewQuery {
                wave_id: wave.id,
                wave_label: &wave.label,
                scope,
                filters: &filters,
            },
        )?
    };
    let order = definition
        .questions()
        .map(|(_, q)| q.id.value.clone())
        .collect();
    Ok((report, order))
}

/// Every wave of a survey for one group, oldest first, each from its latest release.
pub fn trend_report(
    conn: &mut Conn,
    survey: &str,
    department: Option<&str>,
) -> Result<trend::TrendReport, ReportError> {
    trend_report_last(conn, survey, department, None)
}

/// [`trend_report`] of the last `last` waves (each still compared with the wave before
/// it): only those waves' releases and the one before are read, so a page of the last
/// 12 of 36 waves costs 13 releases, not 36.
pub fn trend_report_last(
    conn: &mut Conn,
    survey: &str,
    department: Option<&str>,
    last: Option<usize>,
) -> Result<trend::TrendReport, ReportError> {
    let mut waves = survey_waves(conn, survey)?;
    if let Some(n) = last {
        let keep = n.saturating_add(1);
        if waves.len() > keep {
            waves.drain(..waves.len() - keep);
        }
    }
    let org = Org::load(conn)?;
    let scope = scope(&org, department)?;
    let version_ids: Vec<i64> = waves.iter().map(|w| w.version_id).collect();
    let definitions = definitions(conn, &version_ids)?;
    let wave_ids: Vec<i64> = waves.iter().map(|w| w.id).collect();
    let mut released = release::latest_many(conn, &wave_ids)?;
    let mut figures: Vec<Box<dyn wave::Figures>> = Vec::with_capacity(waves.len());
    for (wave, definition) in waves.iter().zip(&definitions) {
        match released.remove(&wave.id) {
            Some(r) => figures.push(Box::new(r)),
            None => figures.push(Box::new(wave::Planned::new(
                definition,
                &org,
                &counts::WaveCounts::default(),
            )?)),
        }
    }
    let inputs: Vec<trend::TrendWave> = waves
        .iter()
        .zip(&definitions)
        .zip(&figures)
        .map(|((wave, definition), figures)| trend::TrendWave {
            label: wave.label.clone(),
            definition,
            figures: figures.as_ref(),
        })
        .collect();
    let mut report = trend::build(&inputs, &org, scope)?;
    if let Some(n) = last {
        report.keep_last(n);
    }
    Ok(report)
}
