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
    // Failed mail with the server's reply, so HR can correct addresses.
    for w in waves.iter().filter(|w| w.mail_failed > 0) {
        println!("\nfailed mail for {}/{}:", w.survey, w.label);
        for (recipient, reply) in crate::mail::failures(&mut conn, w.id)? {
            println!("  {recipient}: {reply}");
        }
    }
    Ok(())
}
