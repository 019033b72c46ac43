//! `/api/...`: the same reports as JSON, with the same rights. 401 when not signed in,
//! 403 outside the account's rights, 404 for what does not exist.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::access::{self, Denied, Output};
use super::data::{self, ViewError};
use super::results::ViewQuery;
use super::AppState;

fn json<T: Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(value)
}

async fn respond<T, F>(state: &AppState, req: &HttpRequest, work: F) -> HttpResponse
where
    T: Serialize + Send + 'static,
    F: FnOnce(
            &mut crate::db::Conn,
            crate::auth::Rights,
            &super::cache::DefinitionCache,
        ) -> Result<T, ViewError>
        + Send
        + 'static,
{
    let signed = match access::signed_in(state, req).await {
        Ok(s) => s,
        Err(d) => return d.respond(state, Output::Json),
    };
    let rights = signed.user.rights();
    let cache = state.definitions.clone();
    match state.db.run(move |conn| work(conn, rights, &cache)).await {
        Ok(value) => json(&value),
        Err(e) => Denied::from(e).respond(state, Output::Json),
    }
}

/// `GET /api/surveys`.
pub async fn surveys(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    respond(&state, &req, |conn, rights, _| data::surveys(conn, rights)).await
}

/// `GET /api/surveys/{id}/waves`.
pub async fn waves(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let survey = path.into_inner();
    respond(&state, &req, move |conn, rights, _| {
        data::surveys(conn, rights)?
            .into_iter()
            .find(|s| s.id == survey)
            .map(|s| s.waves)
            .ok_or_else(|| ViewError::NotFound(format!("there is no survey {survey:?}")))
    })
    .await
}

/// `GET /api/surveys/{id}/waves/{label}/report?department=&where=`: the report, or with
/// `where=DIMENSION=VALUE` the audited filtered view (its report, or `refused` and why).
pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ViewQuery>,
) -> HttpResponse {
    let (survey, label) = path.into_inner();
    let department = query.department.clone().filter(|d| !d.is_empty());
    let filter = query.filter().map(str::to_string);
    respond(&state, &req, move |conn, rights, cache| {
        let view = data::wave_view(
            conn,
            cache,
            rights,
            &survey,
            Some(&label),
            department.as_deref(),
        )?;
        // `?where=DIMENSION=VALUE`: the filtered view, or why it is refused.
        Ok(match filter {
            Some(filter) => {
                serde_json::to_value(data::filtered(conn, &view, &filter)?).unwrap_or_default()
            }
            // The actions of the period before the wave, beside its changes.
            None => crate::actions::report_json(conn, rights, &view.report, &survey, &label)?,
        })
    })
    .await
}

#[derive(Serialize)]
struct Comments {
    survey: String,
    wave: String,
    department: Option<String>,
    /// `false`: the group is under the comment threshold; no comment is given.
    shown: bool,
    comments: Vec<crate::reports::wave::Comment>,
}

/// `GET /api/surveys/{id}/waves/{label}/comments?department=`.
pub async fn comments(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<ViewQuery>,
) -> HttpResponse {
    let (survey, label) = path.into_inner();
    let department = query.department.clone().filter(|d| !d.is_empty());
    respond(&state, &req, move |conn, rights, cache| {
        let view = data::wave_view(
            conn,
            cache,
            rights,
            &survey,
            Some(&label),
            department.as_deref(),
        )?;
        let found = data::comments(conn, &view)?;
        Ok(Comments {
            survey: view.report.survey.clone(),
            wave: view.report.wave.clone(),
            department: view.report.department.clone(),
            shown: found.is_some(),
            comments: found.unwrap_or_default(),
        })
    })
    .await
}

#[derive(serde::Deserialize)]
pub struct TrendQuery {
    department: Option<String>,
    /// `true`: the whole company's trend (every account may compare with it).
    company: Option<bool>,
}

/// `GET /api/surveys/{id}/trend?department=`.
pub async fn trend(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<TrendQuery>,
) -> HttpResponse {
    let survey = path.into_inner();
    let department = query.department.clone().filter(|d| !d.is_empty());
    let company = query.company.unwrap_or(false);
    respond(&state, &req, move |conn, rights, _| {
        let trend = data::trend(conn, rights, &survey, department.as_deref(), company)?;
        Ok(crate::actions::trend_json(conn, rights, &trend)?)
    })
    .await
}

/// The OpenAPI 3.1 document of these routes, written by hand beside this file; the
/// test suite calls every route it lists and checks every `/api/` route is listed.
pub const OPENAPI: &str = include_str!("openapi.json");

/// `GET /api/openapi.json`.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(OPENAPI)
}

/// Unknown `/api/` paths answer JSON too.
pub async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({"error": "no such API route"}))
}
