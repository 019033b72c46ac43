//! Reports: a wave's results and trends across waves, built from sufficient statistics
//! and passed through the one anonymity plan; text, JSON and CSV are views of them.

pub mod comments;
pub mod counts;
pub mod html;
pub mod org;
pub mod release;
pub mod render;
pub mod trend;
pub mod wave;

use crate::db::{Conn, DbError};
use crate::stats::StatsError;
use crate::surveys::SurveyError;

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
    #[error("there is no department {name:?}; departments: {known}")]
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
fn definitions(
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
        drop(released);
        let released = release::exact_final(conn, wave.id, &wave.label, &org, "a filtered view")?;
        let filtered = counts::count(conn, wave.id, &definition, &filters)?;
        check_filters(
            &definition,
            &org,
            scope,
            &released,
            &filtered,
            query.filters,
        )?;
        let planned = wave::Planned::new(&definition, &org, &filtered)?;
        wave::build(
            &definition,
            &wave.label,
            &org,
            &planned,
            scope,
            query.filters,
        )?
    };
    let order = definition
        .questions()
        .map(|(_, q)| q.id.value.clone())
        .collect();
    Ok((report, order))
}

/// Refuses a filtered view in which some shown group's filtered-out respondents number
/// between 1 and the threshold: subtracting the view from the unfiltered report would
/// show their answers.
fn check_filters(
    definition: &crate::definitions::Definition,
    org: &Org,
    scope: Option<i64>,
    released: &release::Released,
    filtered: &counts::WaveCounts,
    filter_text: &[String],
) -> Result<(), ReportError> {
    let min = u64::from(definition.min_group_size);
    let plan = crate::stats::plan(
        &wave::org_units(org, filtered),
        wave::threshold(definition)?,
    )?;
    let total = |counts: &counts::WaveCounts, members: &[i64]| -> u64 {
        members
            .iter()
            .map(|d| counts.respondents.get(d).copied().unwrap_or(0))
            .sum()
    };
    let mut groups: Vec<(crate::stats::Group<i64>, String, Vec<i64>)> = Vec::new();
    if scope.is_none() {
        groups.push((
            crate::stats::Group::Audience,
            "the whole audience".into(),
            org.departments.iter().map(|d| d.id).collect(),
        ));
    }
    for d in org.in_scope(scope) {
        groups.push((
            crate::stats::Group::Department(d.id),
            d.name.clone(),
            org.subtree(d.id),
        ));
    }
    for (group, name, members) in groups {
        let (group_total, kept) = (
            released.disclosure.respondents(&group),
            total(filtered, &members),
        );
        let top = matches!(group, crate::stats::Group::Audience) || Some(members[0]) == scope;
        // The view's own group must hold enough; inside it, only shown groups matter.
        if top || (kept > 0 && plan.group(&group, ()).is_shown()) {
            if let Err(refused) = crate::stats::check_filter(group_total, kept, min) {
                return Err(ReportError::FilterRefused {
                    filter: filter_text.join(" and "),
                    group: name,
                    reason: refused.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Every wave of a survey for one group, oldest first, each from its latest release.
pub fn trend_report(
    conn: &mut Conn,
    survey: &str,
    department: Option<&str>,
) -> Result<trend::TrendReport, ReportError> {
    let waves = survey_waves(conn, survey)?;
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
    Ok(trend::build(&inputs, &org, scope)?)
}
