//! Internal services on the web: `GET /services` (the catalogue, each service's latest
//! company-wide figures against its targets), `GET /services/{id}` (its scorecard), and
//! the same as JSON under `/api/services`. For signed-in HR and heads; what each sees is
//! `services::scorecard`'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::Context;

use super::access::{self, Denied, Output, Signed};
use super::results::nav;
use super::AppState;
use crate::services::scorecard::{self, CatalogueRow, Check, Point, Scorecard, Standing, Viewer};
use crate::services::{self, ServiceError};

/// A service error as the reader gets it.
fn refusal(state: &AppState, e: &ServiceError, output: Output) -> HttpResponse {
    match e {
        ServiceError::UnknownService { .. } => {
            Denied::NotFound(e.to_string()).respond(state, output)
        }
        ServiceError::NoCatalogue => match output {
            Output::Json => HttpResponse::NotFound()
                .insert_header(("Cache-Control", "no-store"))
                .json(serde_json::json!({ "error": e.to_string() })),
            _ => state.pages.app_message(
                StatusCode::NOT_FOUND,
                "No service catalogue yet",
                &[
                    "HR has not described the internal services yet.".into(),
                    "They do it in services.toml, in the survey definitions folder.".into(),
                ],
                &state.config.help_contact,
            ),
        },
        other => {
            tracing::error!(error = %other, "a service scorecard could not be built");
            Denied::Unavailable.respond(state, output)
        }
    }
}

/// One figure as a cell shows it.
fn one(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{v:.digits$}"))
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".to_string(), |s| format!("{:.0}%", s * 100.0))
}

fn standing_words(standing: Standing) -> &'static str {
    match standing {
        Standing::Met => "meets its targets",
        Standing::Missed => "misses a target",
        Standing::NoTarget => "no target set",
        Standing::NoFigures => "no figures to show",
    }
}

fn measure_words(measure: &str) -> &'static str {
    match measure {
        "satisfaction" => "Satisfaction",
        "favorable" => "Favourable",
        "nps" => "NPS",
        "effort" => "Ease (effort)",
        "lost_hours" => "Hours lost",
        _ => "Figure",
    }
}

#[derive(Serialize)]
struct CheckView {
    measure: &'static str,
    target: String,
    value: String,
    met: bool,
}

fn check_view(check: &Check) -> CheckView {
    let show = |v: f64| match check.measure {
        "favorable" => format!("{v:.0}%"),
        "effort" | "lost_hours" => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    };
    CheckView {
        measure: measure_words(check.measure),
        target: show(check.target),
        value: show(check.value),
        met: check.met,
    }
}

#[derive(Serialize)]
struct PointView {
    when: String,
    source: String,
    provisional: bool,
    hidden: bool,
    satisfaction: String,
    favorable: String,
    nps: String,
    effort: String,
    lost_hours: String,
    n: String,
    standing: Standing,
    standing_words: &'static str,
    checks: Vec<CheckView>,
}

fn point_view(point: &Point) -> PointView {
    let shown = point.figures.shown();
    PointView {
        when: point.opens_at.format("%Y-%m-%d").to_string(),
        source: format!("{} / {}", point.survey, point.wave),
        provisional: point.provisional,
        hidden: shown.is_none(),
        satisfaction: one(shown.and_then(|m| m.satisfaction), 0),
        favorable: percent(shown.and_then(|m| m.favorable)),
        nps: one(shown.and_then(|m| m.nps), 0),
        effort: one(shown.and_then(|m| m.effort), 1),
        lost_hours: one(shown.and_then(|m| m.lost_hours), 1),
        n: shown.map_or_else(|| "–".to_string(), |m| m.n.to_string()),
        standing: point.standing,
        standing_words: standing_words(point.standing),
        checks: point.checks.iter().map(check_view).collect(),
    }
}

#[derive(Serialize)]
struct CatalogueView {
    id: String,
    name: String,
    provider: String,
    description: Option<String>,
    latest: Option<PointView>,
    change: Option<String>,
    standing: Standing,
    standing_words: &'static str,
}

fn catalogue_view(row: &CatalogueRow) -> CatalogueView {
    CatalogueView {
        id: row.service.id.clone(),
        name: row.service.name.clone(),
        provider: row.service.provider.clone(),
        description: row.service.description.clone(),
        latest: row.latest.as_ref().map(point_view),
        change: row.change.map(|c| format!("{c:+.0}")),
        standing: row.standing,
        standing_words: standing_words(row.standing),
    }
}

async fn load_catalogue(state: &AppState) -> Result<Vec<CatalogueRow>, ServiceError> {
    state
        .db
        .run(move |conn| -> Result<_, ServiceError> {
            let catalogue = services::catalogue(conn)?;
            scorecard::catalogue_rows(conn, &catalogue)
        })
        .await
}

async fn load_scorecard(
    state: &AppState,
    signed: &Signed,
    id: String,
) -> Result<Scorecard, ServiceError> {
    let rights = signed.user.rights();
    let email = signed.user.email.clone();
    state
        .db
        .run(move |conn| -> Result<_, ServiceError> {
            let catalogue = services::catalogue(conn)?;
            scorecard::scorecard(
                conn,
                &catalogue,
                &id,
                Viewer {
                    rights,
                    email: &email,
                },
            )
        })
        .await
}

fn base_context(state: &AppState, signed: &Signed, title: &str) -> Context {
    let mut context = Context::new();
    context.insert("page_title", title);
    context.insert("user", &nav(state, signed, None));
    context.insert("help", &state.config.help_contact);
    context
}

/// `GET /services`.
pub async fn catalogue(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    let rows = match load_catalogue(&state).await {
        Ok(rows) => rows,
        Err(e) => return refusal(&state, &e, Output::Html),
    };
    let mut context = base_context(&state, &signed, "Internal services");
    let views: Vec<CatalogueView> = rows.iter().map(catalogue_view).collect();
    context.insert("services", &views);
    state
        .pages
        .render(StatusCode::OK, "services/catalogue.html", &context)
}

/// `GET /services/{id}`.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    let card = match load_scorecard(&state, &signed, path.into_inner()).await {
        Ok(card) => card,
        Err(e) => return refusal(&state, &e, Output::Html),
    };
    let mut context = base_context(
        &state,
        &signed,
        &format!("Scorecard: {}", card.service.name),
    );
    context.insert("service", &card.service);
    context.insert("owner_view", &card.owner_view);
    context.insert("min_group_size", &card.min_group_size);
    context.insert("latest", &card.latest.as_ref().map(point_view));
    let history: Vec<PointView> = card.history.iter().rev().map(point_view).collect();
    context.insert("history", &history);
    #[derive(Serialize)]
    struct ConsumerView {
        department: String,
        depth: usize,
        provider: bool,
        latest: Option<PointView>,
        earlier: usize,
    }
    let consumers: Vec<ConsumerView> = card
        .consumers
        .iter()
        .map(|row| ConsumerView {
            department: row.department.clone(),
            depth: row.depth,
            provider: row.provider,
            latest: row.latest.as_ref().map(point_view),
            earlier: row
                .points
                .iter()
                .filter(|p| p.figures.shown().is_some())
                .count(),
        })
        .collect();
    context.insert("consumers", &consumers);
    #[derive(Serialize)]
    struct QuestionView {
        text: String,
        kind: &'static str,
        favorable: String,
        mean: String,
        n: String,
        hidden: bool,
    }
    let questions: Vec<QuestionView> = card
        .questions
        .iter()
        .map(|q| {
            let scale = match q.figures.shown() {
                Some(crate::stats::QuestionSummary::Scale(s)) => Some(s),
                _ => None,
            };
            QuestionView {
                text: q.text.clone(),
                kind: q.kind,
                favorable: percent(scale.and_then(|s| s.favorable)),
                mean: one(scale.and_then(|s| s.mean), 2),
                n: scale.map_or_else(|| "–".to_string(), |s| s.n.to_string()),
                hidden: q.figures.shown().is_none(),
            }
        })
        .collect();
    context.insert("questions", &questions);
    context.insert("comments", &card.comments);
    context.insert("actions", &card.actions);
    state
        .pages
        .render(StatusCode::OK, "services/scorecard.html", &context)
}

/// `GET /api/services`.
pub async fn api_list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if let Err(d) = access::signed_in(&state, &req).await {
        return d.respond(&state, Output::Json);
    }
    let rows = match load_catalogue(&state).await {
        Ok(rows) => rows,
        // No catalogue yet: no services, as a list.
        Err(ServiceError::NoCatalogue) => Vec::new(),
        Err(e) => return refusal(&state, &e, Output::Json),
    };
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(serde_json::json!({ "services": rows }))
}

/// `GET /api/services/{id}`.
pub async fn api_scorecard(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Json),
    };
    match load_scorecard(&state, &signed, path.into_inner()).await {
        Ok(card) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(card),
        Err(e) => refusal(&state, &e, Output::Json),
    }
}
