//! `icsat results publish|unpublish` and `icsat action add|list|update`: closing the loop
//! from the command line, with HR's rights.

use super::{ActionCommand, ListFormat, ResultsCommand};
use crate::actions::{self, Action, Actor, Change, NewAction, Status};
use crate::auth::rights::Rights;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::publishing;
use crate::waves::lifecycle::Mailer;

pub fn results(config: &Config, command: ResultsCommand) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let now = crate::db::now();
    let actor = crate::audit::cli_actor();
    match command {
        ResultsCommand::Publish { wave, notify, days } => {
            let found = crate::waves::find_spec(&mut conn, &wave).map_err(AppError::Wave)?;
            let publication = publishing::publish(&mut conn, &found, &actor, days, now)?;
            let mut told = 0;
            if notify {
                let mailer = Mailer::from_config(config).map_err(AppError::Wave)?;
                let definition = crate::reports::wave_definition(&mut conn, found.version_id)?;
                told = publishing::notify(&mut conn, &mailer, &found, &definition, now)?;
            }
            crate::audit::record(
                &mut conn,
                &actor,
                crate::audit::PUBLISH,
                &wave,
                &format!(
                    "until {}; {told} notified",
                    publication.expires_at.format("%Y-%m-%d")
                ),
            );
            println!(
                "published {wave} until {} UTC{}",
                publication.expires_at.format("%Y-%m-%d %H:%M"),
                if notify {
                    format!("; {told} employees will get their link by email")
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        ResultsCommand::Unpublish { wave } => {
            let found = crate::waves::find_spec(&mut conn, &wave).map_err(AppError::Wave)?;
            if publishing::unpublish(&mut conn, &found, now)? {
                crate::audit::record(&mut conn, &actor, crate::audit::UNPUBLISH, &wave, "");
                println!("unpublished {wave}: its links no longer work");
            } else {
                println!("{wave} was not published; nothing changed");
            }
            Ok(())
        }
    }
}

fn status(text: Option<&str>) -> Result<Option<Status>, AppError> {
    Ok(text.map(Status::parse).transpose()?)
}

pub fn action(config: &Config, command: ActionCommand) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let now = crate::db::now();
    let actor = Actor {
        email: crate::audit::cli_actor(),
        rights: Rights::Admin,
    };
    match command {
        ActionCommand::Add {
            survey,
            title,
            wave,
            description,
            owner,
            department,
            service,
            questions,
            consumers,
            due,
            status: given,
        } => {
            let (_, definition) = crate::surveys::current(&mut conn, &survey)?;
            let new = NewAction {
                survey: survey.clone(),
                wave,
                title,
                description,
                owner: Some(owner),
                department,
                service,
                questions,
                consumers,
                due_on: due,
                status: status(given.as_deref())?,
            };
            let id = actions::add(&mut conn, &definition, &actor, &new, now)?;
            crate::audit::record(
                &mut conn,
                &actor.email,
                crate::audit::ACTION,
                &survey,
                &format!("added action {id}"),
            );
            println!("added action {id}");
            Ok(())
        }
        ActionCommand::List { survey, format } => {
            let listed = actions::list(&mut conn, Rights::Admin, survey.as_deref())?;
            match format {
                ListFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&listed)
                        .map_err(|e| AppError::Output(e.to_string()))?
                ),
                ListFormat::Text => print!("{}", text(&listed)),
            }
            Ok(())
        }
        ActionCommand::Update {
            id,
            status: given,
            note,
            due,
        } => {
            let change = Change {
                status: status(given.as_deref())?,
                note,
                due_on: due,
            };
            let action = actions::update(&mut conn, id, &actor, &change, now)?;
            crate::audit::record(
                &mut conn,
                &actor.email,
                crate::audit::ACTION,
                &action.survey,
                &format!("updated action {id}"),
            );
            println!("action {id}: {}", action.status.words());
            Ok(())
        }
    }
}

/// One action a few lines: what, whose, its state and latest note.
fn text(listed: &[Action]) -> String {
    if listed.is_empty() {
        return "no actions yet\n".into();
    }
    let mut out = String::new();
    for a in listed {
        out.push_str(&format!(
            "{:>4}  {} [{}] {}\n      {}{}; owner {}{}\n",
            a.id,
            a.survey,
            a.status.as_str(),
            a.title,
            a.department,
            a.service
                .as_ref()
                .map(|s| format!(", service {s}"))
                .unwrap_or_default(),
            a.owner,
            a.due_on.map(|d| format!(", due {d}")).unwrap_or_default(),
        ));
        if let Some(u) = a
            .updates
            .iter()
            .rev()
            .find(|u| u.note != actions::CREATED_NOTE && !u.note.is_empty())
        {
            out.push_str(&format!("      {}: {}\n", u.at.format("%Y-%m-%d"), u.note));
        }
    }
    out
}
