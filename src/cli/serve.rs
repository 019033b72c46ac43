use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::watch;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::surveys;
use crate::waves::lifecycle::Mailer;
use crate::waves::scheduler;
use crate::web::{AppState, Application};

/// How often the scheduler looks for waves to open, remind or close.
const TICK: Duration = Duration::from_secs(20);
/// How often the number of responses sealed is logged.
const SEAL_LOG_EVERY: Duration = Duration::from_secs(3600);

/// Seals the responses waiting in the inbox, then ticks the scheduler, until the process
/// ends. Every action either takes is idempotent across processes, so several `serve`
/// processes may all run it.
async fn run_scheduler(db: Db, mailer: Arc<Mailer>, mut stop: watch::Receiver<bool>) {
    // Every TICK from one start to the next, not TICK after the last one ended: a seal
    // under load takes seconds, and sealing must keep pace with answering.
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sealed_this_hour = 0u64;
    let mut hour_started = std::time::Instant::now();
    loop {
        // A tick begun is finished (its steps are transactions, each safe to cut short,
        // but a finished one leaves less to redo); none begins once told to stop.
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.wait_for(|stop| *stop) => return,
        }
        // Through the shared writer, so that on SQLite sealing neither waits for the
        // write lock nor holds submissions waiting for it.
        let started = std::time::Instant::now();
        let metrics = crate::metrics::global();
        let sealed = match crate::responses::inbox::seal_grouped(&db).await {
            Ok(sealed) => {
                metrics.sealed(started, sealed);
                sealed
            }
            Err(e) => {
                tracing::error!(error = %e, "sealing failed; retrying");
                0
            }
        };
        // Only an hourly total, rounded down to tens: a line per seal with its count
        // and time would date single answers.
        sealed_this_hour += sealed as u64;
        if hour_started.elapsed() >= SEAL_LOG_EVERY {
            let rounded = sealed_this_hour / 10 * 10;
            if rounded > 0 {
                tracing::info!(
                    sealed_at_least = rounded,
                    "responses sealed in the past hour"
                );
            }
            sealed_this_hour = 0;
            hour_started = std::time::Instant::now();
        }
        let (db, mailer) = (db.clone(), mailer.clone());
        let outcome = tokio::task::spawn_blocking(move || -> Result<_, crate::waves::WaveError> {
            let mut conn = db.get()?;
            let report = scheduler::due(&mut conn, &mailer, Utc::now())?;
            audit_tick(&mut conn, &report);
            // Nudges to act on results; their failure is logged and tried next tick.
            match crate::nudges::run(&mut conn, &mailer, crate::db::now()) {
                Ok(n) if n != crate::nudges::Nudged::default() => {
                    tracing::info!(
                        released = n.released,
                        overdue = n.overdue,
                        digests = n.digests,
                        "nudges queued"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "nudges failed; retrying"),
            }
            Ok(report)
        })
        .await;
        let ok = matches!(outcome, Ok(Ok(_)));
        metrics
            .scheduler_ticks
            .with_label_values(&[if ok { "ok" } else { "failed" }])
            .inc();
        match outcome {
            Ok(Ok(report)) if report != scheduler::TickReport::default() => {
                tracing::info!(?report, "scheduler tick")
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "scheduler tick failed; retrying"),
            Err(e) => tracing::error!(error = %e, "scheduler task stopped; retrying"),
        }
    }
}

/// Audit entries for what a scheduler tick did.
fn audit_tick(conn: &mut crate::db::Conn, report: &scheduler::TickReport) {
    use crate::audit::{record, RELEASE, REMIND, WAVE_CLOSE, WAVE_OPEN};
    for (action, waves) in [
        (WAVE_OPEN, &report.opened),
        (REMIND, &report.reminded),
        (WAVE_CLOSE, &report.closed),
        (RELEASE, &report.released),
    ] {
        for wave in waves {
            record(conn, "scheduler", action, wave, "");
        }
    }
}

/// How often `serve` asks whether today's purge is due (see `retention::claim_daily`).
const PURGE_CHECK: Duration = Duration::from_secs(3600);

/// Runs the retention purge once a day; of several processes on one database, whichever
/// takes the day's lease first.
async fn run_retention(db: Db, retention: crate::retention::Retention) {
    let holder = uuid::Uuid::new_v4().to_string();
    let mut every = tokio::time::interval(PURGE_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let (db, holder) = (db.clone(), holder.clone());
        let outcome = tokio::task::spawn_blocking(move || -> Result<_, crate::db::DbError> {
            let mut conn = db.get()?;
            let now = Utc::now();
            if !crate::retention::claim_daily(&mut conn, &holder, now)? {
                return Ok(None);
            }
            let purged = crate::retention::purge(&mut conn, &retention, now, false)?;
            crate::audit::record(
                &mut conn,
                "serve",
                crate::audit::PURGE,
                "",
                &purged.to_string(),
            );
            Ok(Some(purged))
        })
        .await;
        match outcome {
            Ok(Ok(Some(purged))) => tracing::info!(%purged, "retention purge"),
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "retention purge failed; tried again within a day")
            }
            Err(e) => tracing::error!(error = %e, "retention task stopped; retrying"),
        }
    }
}

/// The definitions `serve` can use, and the problems of those it cannot. One invalid
/// file (or one whose change its stored waves refuse) must not stop the surveys that
/// are open from being answered: it is left out, loudly, and its survey keeps the
/// last version stored.
fn valid_definitions(
    conn: &mut crate::db::Conn,
    config: &Config,
) -> Result<(surveys::Loaded, Vec<String>), AppError> {
    let (read, mut problems) = surveys::load_valid(std::slice::from_ref(&config.definitions))?;
    let mut valid = Vec::with_capacity(read.len());
    let catalogue = read.catalogue.clone();
    for def in read.surveys {
        let refused = surveys::check_history(conn, std::slice::from_ref(&def))?;
        if refused.is_empty() {
            valid.push(def);
        } else {
            problems.extend(refused);
        }
    }
    for problem in &problems {
        tracing::error!("{problem}");
    }
    if !problems.is_empty() {
        tracing::error!(
            problems = problems.len(),
            "survey definitions with problems are not loaded; their surveys keep the version stored last, everything else is served (`icsat survey validate` lists the problems)"
        );
    }
    Ok((
        surveys::Loaded {
            surveys: valid,
            catalogue,
        },
        problems,
    ))
}

/// Opens the database, stores the current definitions, and runs the web service until
/// interrupted.
pub fn serve(config: Config) -> Result<(), AppError> {
    let db = Db::open(&config.database_url)?;
    let mut conn = db.get()?;
    let (loaded, problems) = valid_definitions(&mut conn, &config)?;
    let departments = surveys::stored_departments(&mut conn)?;
    if !departments.is_empty() {
        for problem in surveys::check_roster(&loaded, &|name| departments.iter().any(|d| d == name))
        {
            tracing::warn!("{problem}");
        }
        // A dimension the roster lacks only stays empty: warned of, as departments are.
        for problem in surveys::check_roster_columns(&loaded, &surveys::stored_columns(&mut conn)?)
        {
            tracing::warn!("{problem}");
        }
        let emails = surveys::stored_emails(&mut conn)?;
        for problem in surveys::check_catalogue(
            &loaded.catalogue,
            &|name| departments.iter().any(|d| d == name),
            &|email| emails.contains(&email.trim().to_lowercase()),
        ) {
            tracing::warn!("{problem}");
        }
    }
    surveys::sync(&mut conn, &loaded)?;
    drop(conn);
    let mailer = Arc::new(Mailer::from_config(&config).map_err(AppError::Wave)?);
    let secret = match &config.secret {
        Some(secret) => secret.clone(),
        None => crate::db::settings::secret(&mut db.get()?)?,
    };
    let pages =
        crate::web::pages::Pages::new().map_err(|e| AppError::Output(format!("templates: {e}")))?;
    let state = AppState {
        definition_problems: Arc::new(problems),
        db: db.clone(),
        config: config.clone(),
        secret,
        pages: Arc::new(pages),
        limiter: Arc::new(crate::web::default_limiter()),
        definitions: Arc::new(crate::web::cache::DefinitionCache::default()),
        submissions: Arc::new(crate::responses::submit::SubmissionWriter::start(&db)?),
        forms: Arc::default(),
        heard: Arc::default(),
        mailer: mailer.clone(),
        feedback_limits: Arc::default(),
    };
    let transport = crate::mail::Transport::from_config(&config)?;
    let timeout = config.shutdown_timeout;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(state)?;
        let handle = app.server.handle();
        actix_web::rt::spawn(run_retention(db.clone(), config.retention));
        let (stop, stopped) = watch::channel(false);
        let scheduler = actix_web::rt::spawn(run_scheduler(db.clone(), mailer, stopped.clone()));
        let worker = crate::mail::worker_name();
        let mut sender_stopped = stopped.clone();
        let sender = actix_web::rt::spawn(crate::mail::run_sender_as(
            db.clone(),
            transport,
            crate::mail::SendOptions::default(),
            worker.clone(),
            async move {
                let _ = sender_stopped.wait_for(|stop| *stop).await;
            },
        ));
        let host = config.bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        println!("icsat is listening on http://{host}:{}", app.port);
        let _ = std::io::stdout().flush();
        tracing::info!(database = %config.database_url.display(), surveys = loaded.len(), "serving");
        let mut server = app.server;
        let signal = tokio::select! {
            served = &mut server => {
                // The server stopped by itself: an error, as nothing else stops it.
                let _ = stop.send(true);
                let _ = tokio::time::timeout(Duration::from_secs(15), sender).await;
                return served.map_err(AppError::Server);
            }
            signal = shutdown_signal() => signal,
        };
        shut_down(Stopping {
            signal,
            timeout,
            db,
            worker,
            server,
            handle,
            stop,
            scheduler,
            sender,
        })
        .await;
        Ok(())
    })
}

/// What a shutdown stops.
struct Stopping {
    signal: &'static str,
    timeout: Duration,
    db: Db,
    worker: String,
    server: actix_web::dev::Server,
    handle: actix_web::dev::ServerHandle,
    stop: watch::Sender<bool>,
    scheduler: actix_web::rt::task::JoinHandle<()>,
    sender: actix_web::rt::task::JoinHandle<()>,
}

/// Stops within `timeout` of the signal: no new connection is accepted, requests in
/// flight finish (a submission answered "saved" has committed), then the inbox is sealed,
/// and the mail sender finishes the message in flight and hands back its other claims.
/// Whatever is still running at the end is cut short: each step is a transaction, so
/// nothing half-done is stored, and a sender's claims are handed back explicitly.
async fn shut_down(s: Stopping) {
    let started = Instant::now();
    let deadline = started + s.timeout;
    // Kept for the last steps (handing back claims) and the exit itself.
    let margin = (s.timeout / 10).min(Duration::from_secs(1));
    let watchdog_deadline = deadline;
    std::thread::spawn(move || {
        std::thread::sleep(watchdog_deadline.saturating_duration_since(Instant::now()));
        tracing::warn!("shutdown took longer than ICSAT_SHUTDOWN_TIMEOUT: stopping now");
        std::process::exit(0);
    });
    tracing::info!(
        signal = s.signal,
        timeout_s = s.timeout.as_secs(),
        "shutting down: finishing requests in flight"
    );
    let _ = s.stop.send(true);
    let until = tokio::time::Instant::from_std(deadline - margin);
    let stopping = s.handle.stop(true);
    let mut server = s.server;
    // The server's own future runs the stop: both are polled.
    let drained = tokio::time::timeout_at(until, async {
        let _ = tokio::join!(stopping, &mut server);
    })
    .await;
    if drained.is_err() {
        tracing::warn!("shutdown: requests still in flight were cut off");
    }
    // Every response answered "saved" is in the inbox now; seal it, so that nothing
    // waits for the next start.
    match tokio::time::timeout_at(until, crate::responses::inbox::seal_grouped(&s.db)).await {
        Ok(Ok(_)) => tracing::info!("shutdown: inbox sealed"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "shutdown: sealing failed; the next start seals")
        }
        Err(_) => tracing::warn!("shutdown: sealing took too long; the next start seals"),
    }
    let sender_abort = s.sender.abort_handle();
    if tokio::time::timeout_at(until, s.sender).await.is_err() {
        sender_abort.abort();
        tracing::warn!("shutdown: a delivery was still in flight; its message is handed back");
    }
    // A pass stopped early hands back its claims itself; this also covers one cut short.
    let last = tokio::time::Instant::from_std(deadline);
    match tokio::time::timeout_at(last, crate::mail::release_claims(&s.db, &s.worker)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "shutdown: mail leases not handed back; they run out")
        }
        Err(_) => tracing::warn!("shutdown: mail leases not handed back in time; they run out"),
    }
    let scheduler_abort = s.scheduler.abort_handle();
    if tokio::time::timeout_at(last, s.scheduler).await.is_err() {
        scheduler_abort.abort();
    }
    tracing::info!(ms = started.elapsed().as_millis() as u64, "stopped");
}

/// Waits for SIGTERM (systemd, containers) or SIGINT (Ctrl-C); returns its name.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => {
                tracing::warn!("cannot listen for SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
