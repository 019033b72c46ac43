use std::path::{Path, PathBuf};

use chrono::Utc;

use crate::config::Config;
use crate::db::{DatabaseUrl, Db};
use crate::definitions::ScheduleKind;
use crate::error::AppError;
use crate::roster::csv_input;
use crate::surveys::{self, SurveyError};

/// The database, when there is one to consult: a URL that was given, or the default
/// SQLite file if it exists (validating must not create an empty database).
fn existing_db(config: &Config) -> Result<Option<Db>, AppError> {
    match &config.database_url {
        DatabaseUrl::Sqlite(path) if !config.database_url_given && !path.exists() => Ok(None),
        url => Ok(Some(Db::open(url)?)),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(path).map_err(|e| {
        AppError::Survey(SurveyError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    })
}

pub fn validate(
    config: &Config,
    paths: &[PathBuf],
    roster: Option<&Path>,
    departments: Option<&Path>,
) -> Result<(), AppError> {
    let paths = surveys::paths_or_default(paths, &config.definitions);
    let loaded = surveys::load(&paths)?;
    let mut errors = Vec::new();
    if let Some(roster) = roster {
        // Departments as the files name them: the departments file when given, else the
        // roster's department column.
        let names: Vec<String> = match departments {
            Some(path) => csv_input::parse_departments(&path.display().to_string(), &read(path)?)
                .map_err(crate::roster::RosterError::Invalid)?
                .into_iter()
                .map(|d| d.name)
                .collect(),
            None => {
                csv_input::parse_roster(&roster.display().to_string(), &read(roster)?, None, "")
                    .map_err(crate::roster::RosterError::Invalid)?
                    .into_iter()
                    .map(|e| e.department)
                    .collect()
            }
        };
        errors.extend(surveys::check_roster(&loaded, &|name| {
            names.iter().any(|n| n == name)
        }));
        let emails: Vec<String> =
            csv_input::parse_roster(&roster.display().to_string(), &read(roster)?, None, "")
                .map_err(crate::roster::RosterError::Invalid)?
                .into_iter()
                .map(|e| e.email.to_lowercase())
                .collect();
        errors.extend(surveys::check_catalogue(
            &loaded.catalogue,
            &|name| names.iter().any(|n| n == name),
            &|email| emails.contains(&email.trim().to_lowercase()),
        ));
        let headers = csv_input::roster_columns(&roster.display().to_string(), &read(roster)?)
            .map_err(crate::roster::RosterError::Invalid)?;
        let columns = surveys::roster_column_slugs(headers.iter().map(String::as_str));
        errors.extend(surveys::check_roster_columns(&loaded, &columns));
    } else if let Some(db) = existing_db(config)? {
        let mut conn = db.get()?;
        let stored = surveys::stored_departments(&mut conn)?;
        if !stored.is_empty() {
            errors.extend(surveys::check_roster(&loaded, &|name| {
                stored.iter().any(|n| n == name)
            }));
            let emails = surveys::stored_emails(&mut conn)?;
            errors.extend(surveys::check_catalogue(
                &loaded.catalogue,
                &|name| stored.iter().any(|n| n == name),
                &|email| emails.contains(&email.trim().to_lowercase()),
            ));
            let columns = surveys::stored_columns(&mut conn)?;
            errors.extend(surveys::check_roster_columns(&loaded, &columns));
        }
        errors.extend(surveys::check_history(&mut conn, &loaded)?);
    }
    if !errors.is_empty() {
        return Err(SurveyError::Invalid(errors).into());
    }
    for def in &loaded {
        println!("{}: ok ({})", def.file, def.slug());
    }
    if let surveys::CatalogueFile::Valid(found) = &loaded.catalogue {
        println!(
            "{}: ok ({} services)",
            found.file,
            found.catalogue.services.len()
        );
    }
    println!("{} survey definition(s) valid", loaded.len());
    Ok(())
}

pub fn list(config: &Config) -> Result<(), AppError> {
    let loaded = surveys::load(std::slice::from_ref(&config.definitions))?;
    let now = Utc::now();
    let rows: Vec<[String; 4]> = loaded
        .iter()
        .map(|def| {
            let d = &def.definition;
            let (schedule, next) = match &d.schedule {
                None => ("by hand".to_string(), "-".to_string()),
                Some(s) => {
                    let kind = match s.kind {
                        ScheduleKind::Once => "once".to_string(),
                        ScheduleKind::Annual => "annual".to_string(),
                        ScheduleKind::Pulse { every, sample } => match sample {
                            Some(share) => {
                                format!("pulse every {every}, {:.0}% sampled", share * 100.0)
                            }
                            None => format!("pulse every {every}"),
                        },
                    };
                    let next = s
                        .next_opening(now)
                        .map(|t| {
                            t.with_timezone(&s.timezone)
                                .format("%Y-%m-%d %H:%M %Z")
                                .to_string()
                        })
                        .unwrap_or_else(|| "none".to_string());
                    (format!("{kind}, open {}", s.open_for), next)
                }
            };
            [
                d.id.value.clone(),
                d.title.get(&d.language).to_string(),
                schedule,
                next,
            ]
        })
        .collect();
    let mut table = vec![["SURVEY", "TITLE", "SCHEDULE", "NEXT WAVE"]
        .map(String::from)
        .to_vec()];
    table.extend(rows.into_iter().map(|r| r.to_vec()));
    print!("{}", crate::reports::render::table(&table, ""));
    Ok(())
}
