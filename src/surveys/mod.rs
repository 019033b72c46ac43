//! The survey catalogue: definition files read from disk, checked against the roster and
//! against the versions that already ran, and stored as versions in the database.

pub mod feedback;

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::schema::{departments, employees, survey_versions, surveys, waves};
use crate::db::{Conn, DbError};
use crate::definitions::{
    check_catalogue_roster, check_departments, check_evolution, check_report_by, check_services,
    column_slug, parse_catalogue, parse_definition, Catalogue, Definition, Diagnostic,
    CATALOGUE_FILE,
};

/// A definition file that parsed and passed every rule that needs nothing else.
#[derive(Debug, Clone)]
pub struct LoadedDefinition {
    /// The path as given, for `FILE:LINE:COLUMN` messages.
    pub file: String,
    pub source: String,
    /// SHA-256 of the source: a changed file becomes a new version.
    pub hash: String,
    pub definition: Definition,
}

impl LoadedDefinition {
    pub fn slug(&self) -> &str {
        &self.definition.id.value
    }

    fn render(&self, diagnostics: &[Diagnostic]) -> Vec<String> {
        let mut sorted = diagnostics.to_vec();
        sorted.sort();
        sorted.iter().map(|d| d.render(&self.file)).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error("{}\n{} error(s) in survey definitions", .0.join("\n"), .0.len())]
    Invalid(Vec<String>),
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("no survey definitions (*.toml files) in {0}")]
    NoDefinitions(String),
    #[error("there is no survey {0:?}; known surveys: {1}")]
    UnknownSurvey(String, String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SurveyError {
    fn from(e: diesel::result::Error) -> Self {
        SurveyError::Db(DbError::Query(e))
    }
}

pub fn source_hash(source: &str) -> String {
    Sha256::digest(source.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The survey `.toml` files named by `paths` (files as given, folders' files sorted by
/// name), and the service catalogue among them (`services.toml`), if any.
fn definition_files(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Option<PathBuf>), SurveyError> {
    let (all, catalogue): (Vec<PathBuf>, Vec<PathBuf>) = survey_and_catalogue_files(paths)?
        .into_iter()
        .partition(|p| !is_catalogue(p));
    if catalogue.len() > 1 {
        return Err(SurveyError::Invalid(vec![format!(
            "{}:1:1: a second {CATALOGUE_FILE} (the first is {}); keep one service catalogue",
            catalogue[1].display(),
            catalogue[0].display()
        )]));
    }
    Ok((all, catalogue.into_iter().next()))
}

/// Whether `path` is the service catalogue: named `services.toml`, and not a survey
/// (a survey file of that name, with its `id` and `sections`, was one before the
/// catalogue existed and stays one).
fn is_catalogue(path: &Path) -> bool {
    if path.file_name().is_none_or(|n| n != CATALOGUE_FILE) {
        return false;
    }
    let Ok(source) = std::fs::read_to_string(path) else {
        // Unreadable: reported when it is read as the catalogue.
        return true;
    };
    match toml::de::DeTable::parse(&source) {
        Ok(root) => {
            let root = root.get_ref();
            !(root.contains_key("sections") || root.contains_key("id"))
        }
        Err(_) => true,
    }
}

fn survey_and_catalogue_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SurveyError> {
    let mut files = Vec::new();
    for path in paths {
        let read_error = |e: std::io::Error| SurveyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(read_error)?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "toml"))
                .collect();
            if found.is_empty() {
                return Err(SurveyError::NoDefinitions(path.display().to_string()));
            }
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(read_error(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file or folder",
            )));
        }
    }
    Ok(files)
}

/// What a definitions folder holds: its surveys and its service catalogue. Reads as
/// the list of surveys.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub surveys: Vec<LoadedDefinition>,
    pub catalogue: CatalogueFile,
}

/// The folder's `services.toml`.
#[derive(Debug, Clone, Default)]
pub enum CatalogueFile {
    /// No catalogue: services are only the `about` departments of sections.
    #[default]
    Absent,
    /// A catalogue with problems (listed with the other files'); the one stored stays.
    Invalid,
    Valid(LoadedCatalogue),
}

#[derive(Debug, Clone)]
pub struct LoadedCatalogue {
    pub file: String,
    pub source: String,
    pub catalogue: Catalogue,
}

impl CatalogueFile {
    pub fn catalogue(&self) -> Option<&Catalogue> {
        match self {
            CatalogueFile::Valid(loaded) => Some(&loaded.catalogue),
            _ => None,
        }
    }
}

impl std::ops::Deref for Loaded {
    type Target = [LoadedDefinition];
    fn deref(&self) -> &[LoadedDefinition] {
        &self.surveys
    }
}

impl<'a> IntoIterator for &'a Loaded {
    type Item = &'a LoadedDefinition;
    type IntoIter = std::slice::Iter<'a, LoadedDefinition>;
    fn into_iter(self) -> Self::IntoIter {
        self.surveys.iter()
    }
}

/// Reads and checks every definition under `paths`, reporting the errors of all files
/// at once; survey ids must be unique across files.
pub fn load(paths: &[PathBuf]) -> Result<Loaded, SurveyError> {
    let (loaded, errors) = load_valid(paths)?;
    if errors.is_empty() {
        Ok(loaded)
    } else {
        Err(SurveyError::Invalid(errors))
    }
}

/// Reads the catalogue file: its problems as error lines when it has any.
fn read_catalogue(path: &Path) -> Result<Result<LoadedCatalogue, Vec<String>>, SurveyError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| SurveyError::Read {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    let Ok(source) = String::from_utf8(bytes) else {
        return Ok(Err(vec![format!(
            "{name}:1:1: the file is not valid UTF-8; save it as UTF-8"
        )]));
    };
    Ok(match parse_catalogue(&source) {
        Ok(catalogue) => Ok(LoadedCatalogue {
            file: name,
            source,
            catalogue,
        }),
        Err(diagnostics) => Err(diagnostics.iter().map(|d| d.render(&name)).collect()),
    })
}

/// The definitions that are valid, and the problems of those that are not (each an
/// error line; a file with problems is left out, as is a second file using an id
/// already taken, or one rating a service the catalogue lacks). Only an unreadable
/// folder or file fails the whole.
pub fn load_valid(paths: &[PathBuf]) -> Result<(Loaded, Vec<String>), SurveyError> {
    let mut loaded: Vec<LoadedDefinition> = Vec::new();
    let mut errors = Vec::new();
    let (files, catalogue_path) = definition_files(paths)?;
    let catalogue = match catalogue_path {
        None => CatalogueFile::Absent,
        Some(path) => match read_catalogue(&path)? {
            Ok(found) => CatalogueFile::Valid(found),
            Err(problems) => {
                errors.extend(problems);
                CatalogueFile::Invalid
            }
        },
    };
    for file in files {
        let name = file.display().to_string();
        let bytes = std::fs::read(&file).map_err(|e| SurveyError::Read {
            path: name.clone(),
            reason: e.to_string(),
        })?;
        let Ok(source) = String::from_utf8(bytes) else {
            errors.push(format!(
                "{name}:1:1: the file is not valid UTF-8; save it as UTF-8"
            ));
            continue;
        };
        match parse_definition(&source) {
            Ok(definition) => {
                // With a catalogue that has problems, the services named cannot be
                // checked now; `survey validate` reports the catalogue itself.
                if !matches!(catalogue, CatalogueFile::Invalid) {
                    let unknown = check_services(&definition, catalogue.catalogue());
                    if !unknown.is_empty() {
                        errors.extend(unknown.iter().map(|d| d.render(&name)));
                        continue;
                    }
                }
                let slug = definition.id.value.clone();
                if let Some(other) = loaded.iter().find(|d| d.slug() == slug) {
                    let pos = definition.id.pos;
                    errors.push(format!(
                        "{name}:{}:{}: the survey id \"{slug}\" is already used by {}; ids must be unique",
                        pos.line, pos.column, other.file
                    ));
                    continue;
                }
                loaded.push(LoadedDefinition {
                    file: name,
                    hash: source_hash(&source),
                    source,
                    definition,
                });
            }
            Err(diagnostics) => {
                let mut sorted = diagnostics;
                sorted.sort();
                errors.extend(sorted.iter().map(|d| d.render(&name)));
            }
        }
    }
    // Each service's feedback survey, generated from the catalogue.
    if let CatalogueFile::Valid(found) = &catalogue {
        for service in &found.catalogue.services {
            let Some(plan) = &service.feedback else {
                continue;
            };
            let source = feedback::definition_source(&found.catalogue, service, plan);
            let file = format!("{} (feedback of {})", found.file, service.id.value);
            match parse_definition(&source) {
                Ok(definition) => {
                    if let Some(other) = loaded.iter().find(|d| d.slug() == definition.id.value) {
                        errors.push(format!(
                            "{}:{}:{}: service \"{}\" asks for feedback in the survey \"{}\", but {} already uses that id; rename one",
                            found.file,
                            service.id.pos.line,
                            service.id.pos.column,
                            service.id.value,
                            definition.id.value,
                            other.file
                        ));
                        continue;
                    }
                    loaded.push(LoadedDefinition {
                        file,
                        hash: source_hash(&source),
                        source,
                        definition,
                    });
                }
                // The catalogue's rules make a plan that always reads; say so if not.
                Err(diagnostics) => errors.extend(diagnostics.iter().map(|d| d.render(&file))),
            }
        }
    }
    Ok((
        Loaded {
            surveys: loaded,
            catalogue,
        },
        errors,
    ))
}

/// Checks `about` and audience departments against a set of department names.
pub fn check_roster(loaded: &[LoadedDefinition], known: &dyn Fn(&str) -> bool) -> Vec<String> {
    loaded
        .iter()
        .flat_map(|def| def.render(&check_departments(&def.definition, known)))
        .collect()
}

/// Checks the catalogue's provider departments and owners against the roster.
pub fn check_catalogue(
    catalogue: &CatalogueFile,
    known: &dyn Fn(&str) -> bool,
    known_email: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    match catalogue {
        CatalogueFile::Valid(loaded) => {
            check_catalogue_roster(&loaded.catalogue, known, known_email)
                .iter()
                .map(|d| d.render(&loaded.file))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Checks `report_by` dimensions against a roster's columns (as slugs: see
/// [`roster_column_slugs`]).
pub fn check_roster_columns(loaded: &[LoadedDefinition], columns: &[String]) -> Vec<String> {
    loaded
        .iter()
        .flat_map(|def| def.render(&check_report_by(&def.definition, columns)))
        .collect()
}

/// Column headers as `report_by` names them, each once, sorted.
pub fn roster_column_slugs<'h>(headers: impl IntoIterator<Item = &'h str>) -> Vec<String> {
    let mut slugs: Vec<String> = headers.into_iter().map(column_slug).collect();
    slugs.sort();
    slugs.dedup();
    slugs
}

/// The columns of the roster in the database, as `report_by` names them: those any
/// active employee has a value in (a column left empty for everyone keeps nothing).
/// Empty before a roster is imported.
pub fn stored_columns(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    let rows: Vec<(String, bool, bool)> = crate::with_conn!(*conn, c => employees::table
        .filter(employees::active.eq(true))
        .select((
            employees::attributes,
            employees::location.is_not_null(),
            employees::hire_date.is_not_null(),
        ))
        .load(c))?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut headers: Vec<String> = ["email", "name", "department"].map(String::from).to_vec();
    let mut seen = std::collections::BTreeSet::new();
    for (attributes, has_location, has_hire_date) in &rows {
        if *has_location {
            seen.insert("location".to_string());
        }
        if *has_hire_date {
            seen.insert("hire_date".to_string());
        }
        // Stored by the roster import as a JSON object; anything else keeps nothing.
        let attributes: std::collections::BTreeMap<String, String> =
            serde_json::from_str(attributes).unwrap_or_default();
        seen.extend(attributes.into_keys());
    }
    headers.extend(seen);
    Ok(roster_column_slugs(headers.iter().map(String::as_str)))
}

/// Addresses of the active employees in the database, lower-cased.
pub fn stored_emails(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    let mut emails: Vec<String> = crate::with_conn!(*conn, c => employees::table
        .filter(employees::active.eq(true))
        .select(employees::email)
        .load::<String>(c))?;
    for email in &mut emails {
        *email = email.to_lowercase();
    }
    emails.sort();
    Ok(emails)
}

/// Names of the departments in the database (empty before a roster is imported).
pub fn stored_departments(conn: &mut Conn) -> Result<Vec<String>, DbError> {
    Ok(crate::with_conn!(*conn, c => departments::table
        .filter(departments::active.eq(true))
        .select(departments::name)
        .load::<String>(c))?)
}

/// The parsed versions of `slug` that waves ran with, oldest first.
fn versions_with_waves(conn: &mut Conn, slug: &str) -> Result<Vec<Definition>, DbError> {
    let sources: Vec<String> = crate::with_conn!(*conn, c => survey_versions::table
        .inner_join(surveys::table)
        .filter(surveys::slug.eq(slug))
        .filter(
            survey_versions::id.eq_any(waves::table.select(waves::version_id)),
        )
        .order(survey_versions::version)
        .select(survey_versions::source)
        .load(c))?;
    // A stored version was valid when stored; one that no longer parses (an older
    // release's rules) cannot constrain the new one and is passed over.
    Ok(sources
        .iter()
        .filter_map(|s| parse_definition(s).ok())
        .collect())
}

/// Rules that need history: a survey that ran waves keeps its anonymity, question
/// types and scales.
pub fn check_history(conn: &mut Conn, loaded: &[LoadedDefinition]) -> Result<Vec<String>, DbError> {
    let mut errors = Vec::new();
    for def in loaded {
        let previous = versions_with_waves(conn, def.slug())?;
        if !previous.is_empty() {
            errors.extend(def.render(&check_evolution(&previous, &def.definition)));
        }
    }
    Ok(errors)
}

/// What syncing did to one survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncedSurvey {
    pub slug: String,
    pub version: i32,
    pub new_version: bool,
}

/// Stores each definition as the current version of its survey (a new version when its
/// source changed), after checking it against the versions that ran waves. Safe to run
/// from several processes at once: conflicting inserts are absorbed and re-read.
pub fn sync(conn: &mut Conn, loaded: &Loaded) -> Result<Vec<SyncedSurvey>, SurveyError> {
    let errors = check_history(conn, loaded)?;
    if !errors.is_empty() {
        return Err(SurveyError::Invalid(errors));
    }
    match &loaded.catalogue {
        CatalogueFile::Absent => crate::services::store_catalogue(conn, None)?,
        CatalogueFile::Valid(found) => crate::services::store_catalogue(conn, Some(&found.source))?,
        CatalogueFile::Invalid => {}
    }
    let mut synced = Vec::new();
    for def in &loaded.surveys {
        let now = crate::db::now();
        let result = crate::transaction!(*conn, c => {
            diesel::insert_into(surveys::table)
                .values((surveys::slug.eq(def.slug()), surveys::created_at.eq(now)))
                .on_conflict_do_nothing()
                .execute(c)?;
            let survey_id: i64 = surveys::table
                .filter(surveys::slug.eq(def.slug()))
                .select(surveys::id)
                .first(c)?;
            let existing: Option<(i64, i32)> = survey_versions::table
                .filter(survey_versions::survey_id.eq(survey_id))
                .filter(survey_versions::source_hash.eq(&def.hash))
                .select((survey_versions::id, survey_versions::version))
                .first(c)
                .optional()?;
            let (version_id, version, new_version) = match existing {
                Some((id, version)) => (id, version, false),
                None => {
                    let last: Option<i32> = survey_versions::table
                        .filter(survey_versions::survey_id.eq(survey_id))
                        .select(diesel::dsl::max(survey_versions::version))
                        .first(c)?;
                    let version = last.unwrap_or(0) + 1;
                    let id: i64 = diesel::insert_into(survey_versions::table)
                        .values((
                            survey_versions::survey_id.eq(survey_id),
                            survey_versions::version.eq(version),
                            survey_versions::source.eq(&def.source),
                            survey_versions::source_hash.eq(&def.hash),
                            survey_versions::file_name.eq(&def.file),
                            survey_versions::loaded_at.eq(now),
                        ))
                        .returning(survey_versions::id)
                        .get_result(c)?;
                    (id, version, true)
                }
            };
            diesel::update(surveys::table.find(survey_id))
                .set(surveys::current_version_id.eq(version_id))
                .execute(c)?;
            Ok::<_, diesel::result::Error>(SyncedSurvey {
                slug: def.slug().to_string(),
                version,
                new_version,
            })
        })?;
        if result.new_version {
            tracing::info!(survey = %result.slug, version = result.version, "stored a new definition version");
        }
        synced.push(result);
    }
    Ok(synced)
}

/// The current definition of a stored survey, with its version id.
pub fn current(conn: &mut Conn, slug: &str) -> Result<(i64, Definition), SurveyError> {
    let row: Option<(i64, String)> = crate::with_conn!(*conn, c => surveys::table
        .inner_join(survey_versions::table.on(surveys::current_version_id.eq(survey_versions::id.nullable())))
        .filter(surveys::slug.eq(slug))
        .select((survey_versions::id, survey_versions::source))
        .first(c)
        .optional())
    .map_err(DbError::from)?;
    match row {
        Some((id, source)) => parse_definition(&source)
            .map(|d| (id, d))
            .map_err(|diagnostics| {
                SurveyError::Invalid(diagnostics.iter().map(|d| d.render(slug)).collect())
            }),
        None => {
            let known: Vec<String> = crate::with_conn!(*conn, c => surveys::table
                .select(surveys::slug)
                .order(surveys::slug)
                .load(c))
            .map_err(DbError::from)?;
            Err(SurveyError::UnknownSurvey(
                slug.to_string(),
                known.join(", "),
            ))
        }
    }
}

/// The default folder, or the paths given on the command line.
pub fn paths_or_default(paths: &[PathBuf], default: &Path) -> Vec<PathBuf> {
    if paths.is_empty() {
        vec![default.to_path_buf()]
    } else {
        paths.to_vec()
    }
}
