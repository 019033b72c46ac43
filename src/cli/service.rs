//! `icsat service list|report`: the catalogue's services and their scorecards, as HR
//! sees them (the command line has HR's rights).

use std::fmt::Write as _;

use super::{IntegrationCommand, ListFormat, ScorecardFormat, ServiceCommand};
use crate::auth::rights::Rights;
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::exports::{number, spreadsheet_writer};
use crate::services;
use crate::services::scorecard::{self, Point, Scorecard, Viewer};

pub fn run(config: &Config, command: ServiceCommand) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    // The folder's catalogue is the one HR just edited: store it first, as `serve` does.
    let loaded = crate::surveys::load(std::slice::from_ref(&config.definitions))?;
    crate::surveys::sync(&mut conn, &loaded)?;
    let catalogue = services::catalogue(&mut conn)?;
    match command {
        ServiceCommand::List { format } => {
            let rows = scorecard::catalogue_rows(&mut conn, &catalogue)?;
            match format {
                ListFormat::Json => println!("{}", json(&serde_json::json!({ "services": rows }))?),
                ListFormat::Text => {
                    for row in &rows {
                        let figures = row
                            .latest
                            .as_ref()
                            .map_or_else(|| "no figures yet".to_string(), line);
                        println!(
                            "{:<16} {:<28} {:<14} {figures}",
                            row.service.id,
                            row.service.name,
                            row.standing.as_str()
                        );
                    }
                }
            }
        }
        ServiceCommand::Report { id, format } => {
            let viewer = Viewer {
                rights: Rights::Admin,
                email: "",
            };
            let card = scorecard::scorecard(&mut conn, &catalogue, &id, viewer)?;
            match format {
                ScorecardFormat::Json => println!("{}", json(&card)?),
                ScorecardFormat::Text => print!("{}", text(&card)),
                ScorecardFormat::Csv => csv(&card)?,
            }
        }
    }
    Ok(())
}

/// `icsat integration add|list|revoke`.
pub fn integration(config: &Config, command: IntegrationCommand) -> Result<(), AppError> {
    use crate::services::feedback;
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let now = crate::db::now();
    let actor = crate::audit::cli_actor();
    match command {
        IntegrationCommand::Add { name } => {
            let key = feedback::add_integration(&mut conn, &name, now)?;
            crate::audit::record(
                &mut conn,
                &actor,
                crate::audit::INTEGRATION_ADD,
                name.trim(),
                "",
            );
            println!("{key}");
            eprintln!(
                "The key of {}: shown this once, keep it in the ticketing system. It calls POST {}/api/feedback-requests with Authorization: Bearer KEY.",
                name.trim(),
                config.base_url
            );
        }
        IntegrationCommand::Revoke { name } => {
            feedback::revoke_integration(&mut conn, &name, now)?;
            crate::audit::record(
                &mut conn,
                &actor,
                crate::audit::INTEGRATION_REVOKE,
                name.trim(),
                "",
            );
            println!("{}: revoked", name.trim());
        }
        IntegrationCommand::List { format } => {
            let all = feedback::integrations(&mut conn)?;
            match format {
                ListFormat::Json => {
                    println!("{}", json(&serde_json::json!({ "integrations": all }))?)
                }
                ListFormat::Text => {
                    for i in &all {
                        println!(
                            "{:<24} made {}  {} requests, {} asked{}",
                            i.name,
                            i.created_at.format("%Y-%m-%d"),
                            i.requests,
                            i.asked,
                            i.revoked_at
                                .map(|t| format!(", revoked {}", t.format("%Y-%m-%d")))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string_pretty(value).map_err(|e| AppError::Output(e.to_string()))
}

/// A point's figures on one line.
fn line(p: &Point) -> String {
    let Some(m) = p.figures.shown() else {
        return format!("{}/{}: not shown (too few answered)", p.survey, p.wave);
    };
    let mut out = format!("{}/{}: ", p.survey, p.wave);
    let _ = write!(out, "satisfaction {}", fixed(m.satisfaction, 0));
    let _ = write!(
        out,
        ", favourable {}",
        m.favorable
            .map_or("-".into(), |f| format!("{:.0}%", f * 100.0))
    );
    if m.nps.is_some() {
        let _ = write!(out, ", NPS {}", fixed(m.nps, 0));
    }
    if m.effort.is_some() {
        let _ = write!(out, ", ease {}", fixed(m.effort, 1));
    }
    if m.lost_hours.is_some() {
        let _ = write!(out, ", hours lost {}", fixed(m.lost_hours, 1));
    }
    let _ = write!(out, ", n {}", m.n);
    if p.provisional {
        out.push_str(" (provisional)");
    }
    for c in &p.checks {
        let _ = write!(
            out,
            "; {} target {} {}",
            c.measure,
            c.target,
            if c.met { "met" } else { "MISSED" }
        );
    }
    out
}

fn fixed(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.digits$}"))
}

fn text(card: &Scorecard) -> String {
    let mut out = String::new();
    let s = &card.service;
    let _ = writeln!(out, "{} ({}), provided by {}", s.name, s.id, s.provider);
    for level in &s.levels {
        let _ = writeln!(out, "  promise: {level}");
    }
    let _ = writeln!(out, "\nWhole company, oldest first:");
    if card.history.is_empty() {
        let _ = writeln!(out, "  no wave rates it yet");
    }
    for p in &card.history {
        let _ = writeln!(out, "  {} {}", p.opens_at.format("%Y-%m-%d"), line(p));
    }
    let _ = writeln!(out, "\nBy consumer department, latest:");
    for row in &card.consumers {
        let indent = "  ".repeat(row.depth + 1);
        match &row.latest {
            Some(p) => {
                let _ = writeln!(out, "{indent}{}: {}", row.department, line(p));
            }
            None => {
                let _ = writeln!(out, "{indent}{}: not shown", row.department);
            }
        }
    }
    if !card.actions.is_empty() {
        let _ = writeln!(out, "\nActions:");
        for a in &card.actions {
            let _ = writeln!(out, "  #{} {} [{}]", a.id, a.title, a.status.as_str());
        }
    }
    out
}

fn csv(card: &Scorecard) -> Result<(), AppError> {
    let stdout = std::io::stdout();
    let mut w = spreadsheet_writer(stdout.lock()).map_err(|e| AppError::Output(e.to_string()))?;
    let fail = |e: csv::Error| AppError::Output(e.to_string());
    w.write_record([
        "service",
        "department",
        "survey",
        "wave",
        "opens_at",
        "provisional",
        "shown",
        "satisfaction",
        "favorable",
        "nps",
        "effort",
        "lost_hours",
        "n",
        "standing",
    ])
    .map_err(fail)?;
    let rows = card.history.iter().map(|p| ("", p)).chain(
        card.consumers
            .iter()
            .flat_map(|row| row.points.iter().map(move |p| (row.department.as_str(), p))),
    );
    for (department, p) in rows {
        let m = p.figures.shown();
        w.write_record([
            card.service.id.as_str(),
            department,
            &p.survey,
            &p.wave,
            &p.opens_at.format("%Y-%m-%d %H:%M").to_string(),
            if p.provisional { "true" } else { "false" },
            if m.is_some() { "true" } else { "false" },
            &number(m.and_then(|m| m.satisfaction)),
            &number(m.and_then(|m| m.favorable)),
            &number(m.and_then(|m| m.nps)),
            &number(m.and_then(|m| m.effort)),
            &number(m.and_then(|m| m.lost_hours)),
            &m.map_or(String::new(), |m| m.n.to_string()),
            p.standing.as_str(),
        ])
        .map_err(fail)?;
    }
    w.flush().map_err(|e| AppError::Output(e.to_string()))?;
    Ok(())
}
