use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::surveys;
use crate::waves::lifecycle::Mailer;
use crate::waves::scheduler;
use crate::web::{AppState, Application};

/// How often the scheduler looks for waves to open, remind or close.
const TICK: Duration = Duration::from_secs(20);

/// Seals the responses waiting in the inbox, then ticks the scheduler, until the process
/// ends. Every action either takes is idempotent across processes, so several `serve`
/// processes may all run it.
async fn run_scheduler(db: Db, mailer: Arc<Mailer>) {
    // Every TICK from one start to the next, not TICK after the last one ended: a seal
    // under load takes seconds, and sealing must keep pace with answering.
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
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
        if sealed > 0 {
            let ms = started.elapsed().as_millis() as u64;
            tracing::info!(sealed, ms, "responses sealed");
        }
        let (db, mailer) = (db.clone(), mailer.clone());
        let outcome = tokio::task::spawn_blocking(move || -> Result<_, crate::waves::WaveError> {
            let mut conn = db.get()?;
            scheduler::due(&mut conn, &mailer, Utc::now())
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

/// Opens the database, stores the current definitions, and runs the web service until
/// interrupted.
pub fn serve(config: Config) -> Result<(), AppError> {
    let db = Db::open(&config.database_url)?;
    let loaded = surveys::load(std::slice::from_ref(&config.definitions))?;
    let mut conn = db.get()?;
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
        db: db.clone(),
        config: config.clone(),
        secret,
        pages: Arc::new(pages),
        limiter: Arc::new(crate::web::default_limiter()),
        definitions: Arc::new(crate::web::cache::DefinitionCache::default()),
    };
    let transport = crate::mail::Transport::from_config(&config)?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(state)?;
        actix_web::rt::spawn(run_scheduler(db.clone(), mailer));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let sender = actix_web::rt::spawn(crate::mail::run_sender(db.clone(), transport, async move {
            let _ = stopped.await;
        }));
        let host = config.bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        println!("icsat is listening on http://{host}:{}", app.port);
        let _ = std::io::stdout().flush();
        tracing::info!(database = %config.database_url.display(), surveys = loaded.len(), "serving");
        let served = app.server.await.map_err(AppError::Server);
        // Let the sender finish the message in flight and hand back its claims.
        let _ = stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(15), sender).await;
        served
    })
}
