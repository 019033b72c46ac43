use std::io::Write;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::surveys;
use crate::web::{AppState, Application};

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
    }
    surveys::sync(&mut conn, &loaded)?;
    drop(conn);
    let state = AppState {
        db,
        config: config.clone(),
    };
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(state)?;
        let host = config.bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
        println!("icsat is listening on http://{host}:{}", app.port);
        let _ = std::io::stdout().flush();
        tracing::info!(database = %config.database_url.display(), surveys = loaded.len(), "serving");
        app.server.await.map_err(AppError::Server)
    })
}
