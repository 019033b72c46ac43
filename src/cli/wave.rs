use chrono::{Duration, Utc};

use crate::config::Config;
use crate::db::Db;
use crate::definitions::wave_label;
use crate::error::AppError;
use crate::waves::lifecycle::{self, Mailer, Opened};
use crate::waves::{self, Origin, WaveError};

pub fn open(config: &Config, survey: &str, label: Option<&str>) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let loaded = crate::surveys::load(std::slice::from_ref(&config.definitions))?;
    crate::surveys::sync(&mut conn, &loaded)?;
    let (_, definition) = crate::surveys::current(&mut conn, survey)?;
    let now = Utc::now();
    let tz = lifecycle::timezone(&definition);
    let closes_at = match &definition.schedule {
        Some(schedule) => schedule.open_for.add_to(now, tz),
        // A survey run only by hand stays open two weeks.
        None => now + Duration::days(14),
    };
    let label = label.map_or_else(|| wave_label(now, tz), str::to_string);
    let mailer = Mailer::from_config(config).map_err(AppError::Wave)?;
    match lifecycle::open(
        &mut conn,
        &mailer,
        survey,
        &label,
        now,
        closes_at,
        Origin::Manual,
    )
    .map_err(AppError::Wave)?
    {
        Opened::New { invited, .. } => {
            crate::audit::record(
                &mut conn,
                &crate::audit::cli_actor(),
                crate::audit::WAVE_OPEN,
                &format!("{survey}/{label}"),
                &format!("{invited} invited"),
            );
            println!(
                "opened wave {label} of {survey}: {invited} invitations queued; closes {}",
                closes_at.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z")
            );
            Ok(())
        }
        Opened::Existing { .. } => Err(AppError::Wave(WaveError::Label(format!(
            "survey {survey} already has a wave labelled {label:?}; give another with --label"
        )))),
    }
}

pub fn remind(config: &Config, spec: &str) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let wave = waves::find_spec(&mut conn, spec).map_err(AppError::Wave)?;
    let mailer = Mailer::from_config(config).map_err(AppError::Wave)?;
    let reminded = lifecycle::remind(&mut conn, &mailer, &wave).map_err(AppError::Wave)?;
    crate::audit::record(
        &mut conn,
        &crate::audit::cli_actor(),
        crate::audit::REMIND,
        spec,
        &format!("{reminded} reminders queued"),
    );
    println!(
        "reminders queued for {reminded} people who have not answered wave {}",
        wave.label
    );
    Ok(())
}

pub fn close(config: &Config, spec: &str) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let wave = waves::find_spec(&mut conn, spec).map_err(AppError::Wave)?;
    if lifecycle::close(&mut conn, &wave).map_err(AppError::Wave)? {
        crate::audit::record(
            &mut conn,
            &crate::audit::cli_actor(),
            crate::audit::WAVE_CLOSE,
            spec,
            "final release made",
        );
        println!("closed wave {}", wave.label);
        Ok(())
    } else {
        Err(AppError::Wave(WaveError::NotOpen(wave.label)))
    }
}

pub fn list(config: &Config) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let waves = waves::status::list(&mut conn).map_err(AppError::Wave)?;
    if waves.is_empty() {
        println!(
            "no waves yet: `icsat wave open SURVEY` opens one, `icsat serve` opens scheduled ones"
        );
        return Ok(());
    }
    let mut rows = vec![[
        "SURVEY",
        "WAVE",
        "STATUS",
        "INVITED",
        "ANSWERED",
        "RATE",
        "MAIL QUEUED",
        "SENT",
        "FAILED",
        "CLOSES",
    ]
    .map(String::from)
    .to_vec()];
    for w in &waves {
        rows.push(vec![
            w.survey.clone(),
            w.label.clone(),
            w.status.clone(),
            w.invited.to_string(),
            w.responded.to_string(),
            w.rate
                .map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0)),
            w.mail_queued.to_string(),
            w.mail_sent.to_string(),
            w.mail_failed.to_string(),
            w.closes_at.clone().unwrap_or_default(),
        ]);
    }
    print!("{}", crate::reports::render::table(&rows, ""));
    // Undelivered mail by reason; `icsat mail failed` lists every message.
    for w in waves.iter().filter(|w| w.mail_failed > 0) {
        let failed = crate::mail::failed(&mut conn, w.id)?;
        println!(
            "\n{} undelivered for {}/{} (`icsat mail failed {}/{}` lists them):",
            failed.len(),
            w.survey,
            w.label,
            w.survey,
            w.label
        );
        for g in crate::mail::failure_groups(&failed) {
            println!("  {:>5}  {}", g.count, g.reason);
        }
    }
    Ok(())
}

/// `icsat mail failed [WAVE]`: every undelivered message of a wave (or of every wave),
/// grouped by reason, with the server's reply.
pub fn failed_mail(
    config: &Config,
    spec: Option<&str>,
    format: crate::cli::ListFormat,
) -> Result<(), AppError> {
    let db = Db::open_existing(&config.database_url)?;
    let mut conn = db.get()?;
    let chosen: Vec<(String, i64)> = match spec {
        Some(spec) => {
            let wave = waves::find_spec(&mut conn, spec).map_err(AppError::Wave)?;
            vec![(spec.to_string(), wave.id)]
        }
        None => waves::status::list(&mut conn)
            .map_err(AppError::Wave)?
            .into_iter()
            .filter(|w| w.mail_failed > 0)
            .map(|w| (format!("{}/{}", w.survey, w.label), w.id))
            .collect(),
    };
    let mut listed = Vec::new();
    for (name, id) in chosen {
        listed.push((name, crate::mail::failed(&mut conn, id)?));
    }
    if let crate::cli::ListFormat::Json = format {
        let json: Vec<serde_json::Value> = listed
            .iter()
            .map(|(wave, failed)| {
                serde_json::json!({
                    "wave": wave,
                    "groups": crate::mail::failure_groups(failed),
                    "messages": failed,
                })
            })
            .collect();
        let text =
            serde_json::to_string_pretty(&json).map_err(|e| AppError::Output(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    if listed.iter().all(|(_, failed)| failed.is_empty()) {
        println!("no undelivered mail");
        return Ok(());
    }
    for (wave, failed) in listed.iter().filter(|(_, f)| !f.is_empty()) {
        println!("{wave}: {} undelivered", failed.len());
        for group in crate::mail::failure_groups(failed) {
            println!("\n  {} x {}", group.count, group.reason);
            for f in failed
                .iter()
                .filter(|f| crate::mail::reason_group(&f.reason) == group.reason)
            {
                let fix = if f.resendable {
                    ""
                } else {
                    "  (fix the roster)"
                };
                println!("    {}{fix}", f.recipient);
            }
        }
        println!();
    }
    Ok(())
}
