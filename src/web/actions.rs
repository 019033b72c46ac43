//! Action plans on the web: `GET/POST /results/{survey}/actions` (the list and the form
//! to add one), `POST /results/{survey}/actions/{id}` (a progress update), and the same
//! as JSON: `GET /api/actions?survey=`, `POST /api/actions`, `POST /api/actions/{id}`.
//! Forms carry the session's CSRF field; JSON writes its `X-CSRF-Token` header (the
//! value `GET /api/actions` returns as `csrf`). Rights are `actions`'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tera::Context;

use super::access::{self, Denied, Output, Signed};
use super::results::{nav, urlencode};
use super::AppState;
use crate::actions::{self, Action, ActionError, Actor, Change, NewAction, Status};
use crate::auth::rights::Rights;

fn actor(signed: &Signed) -> Actor {
    Actor {
        email: signed.user.email.clone(),
        rights: signed.user.rights(),
    }
}

/// An action error as the reader gets it: what to fix (422), refused (403), unknown
/// (404), or the service's trouble (503).
fn refusal(state: &AppState, e: &ActionError, output: Output) -> HttpResponse {
    let (status, text) = match e {
        ActionError::Invalid(why) => (StatusCode::UNPROCESSABLE_ENTITY, why.clone()),
        ActionError::Refused(why) => return Denied::Forbidden(why.clone()).respond(state, output),
        ActionError::NotFound(_) => return Denied::NotFound(e.to_string()).respond(state, output),
        ActionError::Db(db) => {
            tracing::error!(error = %db, "an action could not be stored or read");
            return Denied::Unavailable.respond(state, output);
        }
    };
    match output {
        Output::Json => HttpResponse::build(status)
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({ "error": text })),
        _ => state.pages.app_message(
            status,
            "The action was not saved",
            &[
                format!("{text}."),
                "Go back, correct it and send it again.".into(),
            ],
            &state.config.help_contact,
        ),
    }
}

#[derive(Serialize)]
struct SurveyChoices {
    questions: Vec<(String, String)>,
    services: Vec<String>,
    waves: Vec<String>,
    departments: Vec<String>,
}

/// `GET /results/{survey}/actions`.
pub async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Html),
    };
    let survey = path.into_inner();
    let rights = signed.user.rights();
    let s = survey.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, ActionError> {
            let (_, definition) = crate::surveys::current(conn, &s)
                .map_err(|e| ActionError::Invalid(e.to_string()))?;
            let listed = actions::list(conn, rights, Some(&s))?;
            let org = crate::reports::org::Org::load(conn)?;
            let survey_id = crate::waves::survey_id(conn, &s)?;
            let waves = match survey_id {
                Some(id) => crate::waves::of_survey(conn, id)?
                    .into_iter()
                    .rev()
                    .map(|w| w.label)
                    .collect(),
                None => Vec::new(),
            };
            let lang = definition.language.clone();
            let all: Vec<String> = definition
                .services()
                .iter()
                .map(|s| s.to_string())
                .collect();
            let services: Vec<String> = match rights {
                Rights::Admin => all,
                Rights::Head { department_id } => all
                    .into_iter()
                    .filter(|s| {
                        org.by_name(s)
                            .is_some_and(|d| org.subtree(department_id).contains(&d.id))
                    })
                    .collect(),
            };
            let choices = SurveyChoices {
                questions: definition
                    .questions()
                    .map(|(_, q)| (q.id.value.clone(), q.text.get(&lang).to_string()))
                    .collect(),
                services,
                waves,
                departments: org.departments.iter().map(|d| d.name.clone()).collect(),
            };
            let title = definition.title.get(&lang).to_string();
            Ok((listed, choices, title))
        })
        .await;
    let (listed, choices, title) = match found {
        Ok(found) => found,
        Err(e) => return refusal(&state, &e, Output::Html),
    };
    let mut context = Context::new();
    context.insert("page_title", &format!("Actions: {title}"));
    context.insert("user", &nav(&state, &signed, None));
    context.insert("help", &state.config.help_contact);
    context.insert("csrf", &access::session_csrf(&state, &signed));
    context.insert("survey", &survey);
    context.insert("survey_path", &urlencode(&survey));
    context.insert("survey_title", &title);
    context.insert("actions", &listed);
    context.insert("choices", &choices);
    context.insert(
        "statuses",
        &Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.words()))
            .collect::<Vec<_>>(),
    );
    state
        .pages
        .render(StatusCode::OK, "results/actions.html", &context)
}

fn form_action(fields: &[(String, String)], survey: &str) -> NewAction {
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let many = |name: &str| {
        fields
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_string())
            .collect()
    };
    NewAction {
        survey: survey.to_string(),
        wave: one("wave"),
        title: one("title").unwrap_or_default(),
        description: one("description").unwrap_or_default(),
        owner: None,
        department: one("department"),
        service: one("service"),
        questions: many("question"),
        consumers: many("consumer"),
        due_on: one("due").and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
        status: one("status").and_then(|s| Status::parse(&s).ok()),
    }
}

fn pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// Checks what only a form can get wrong: a date or status that does not parse.
fn form_problem(fields: &[(String, String)]) -> Option<String> {
    for (k, v) in fields {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        if k == "due" && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() {
            return Some(format!(
                "the due date {v:?} is not a date; write it as YYYY-MM-DD"
            ));
        }
        if k == "status" {
            if let Err(e) = Status::parse(v) {
                return Some(e.to_string());
            }
        }
    }
    None
}

/// A posted form's account and fields, once its CSRF field and its dates and status
/// are good; or the response that refuses it.
async fn posted_form(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<(Signed, Vec<(String, String)>), Box<HttpResponse>> {
    let signed = access::signed_in(state, req)
        .await
        .map_err(|d| Box::new(d.respond(state, Output::Html)))?;
    let fields = pairs(body);
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !access::session_csrf_ok(state, &signed, csrf) {
        return Err(Box::new(
            Denied::Forbidden("the form expired; reload the page and try again".into())
                .respond(state, Output::Html),
        ));
    }
    if let Some(problem) = form_problem(&fields) {
        return Err(Box::new(refusal(
            state,
            &ActionError::Invalid(problem),
            Output::Html,
        )));
    }
    Ok((signed, fields))
}

/// `POST /results/{survey}/actions`: adds an action from the form.
pub async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let (signed, fields) = match posted_form(&state, &req, &body).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let survey = path.into_inner();
    let new = form_action(&fields, &survey);
    match create(&state, &signed, new).await {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!("/results/{}/actions#actions", urlencode(&survey)),
            ))
            .finish(),
        Err(e) => refusal(&state, &e, Output::Html),
    }
}

async fn create(state: &AppState, signed: &Signed, new: NewAction) -> Result<Action, ActionError> {
    let actor = actor(signed);
    state
        .db
        .run(move |conn| -> Result<Action, ActionError> {
            let (_, definition) = crate::surveys::current(conn, &new.survey)
                .map_err(|e| ActionError::Invalid(e.to_string()))?;
            let id = actions::add(conn, &definition, &actor, &new, crate::db::now())?;
            crate::audit::record(
                conn,
                &actor.email,
                crate::audit::ACTION,
                &new.survey,
                &format!("added action {id}"),
            );
            actions::get(conn, &new.survey, id)
        })
        .await
}

async fn change(
    state: &AppState,
    signed: &Signed,
    id: i64,
    change: Change,
) -> Result<Action, ActionError> {
    let actor = actor(signed);
    state
        .db
        .run(move |conn| -> Result<Action, ActionError> {
            let action = actions::update(conn, id, &actor, &change, crate::db::now())?;
            crate::audit::record(
                conn,
                &actor.email,
                crate::audit::ACTION,
                &action.survey,
                &format!("updated action {id}"),
            );
            Ok(action)
        })
        .await
}

/// `POST /results/{survey}/actions/{id}`: a progress update from the form.
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64)>,
    body: web::Bytes,
) -> HttpResponse {
    let (signed, fields) = match posted_form(&state, &req, &body).await {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let (survey, id) = path.into_inner();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let update = Change {
        status: get("status").and_then(|s| Status::parse(&s).ok()),
        note: get("note").unwrap_or_default(),
        due_on: get("due").and_then(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok()),
    };
    match change(&state, &signed, id, update).await {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header((
                "Location",
                format!("/results/{}/actions#action-{id}", urlencode(&survey)),
            ))
            .finish(),
        Err(e) => refusal(&state, &e, Output::Html),
    }
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    survey: Option<String>,
}

/// `GET /api/actions?survey=`.
pub async fn api_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Json),
    };
    let rights = signed.user.rights();
    let survey = query.into_inner().survey;
    match state
        .db
        .run(move |conn| actions::list(conn, rights, survey.as_deref()))
        .await
    {
        Ok(listed) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(serde_json::json!({
                "csrf": access::session_csrf(&state, &signed),
                "actions": listed,
            })),
        Err(e) => refusal(&state, &e, Output::Json),
    }
}

/// The JSON body of a write, after its CSRF header; or the response that refuses it.
fn json_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    signed: &Signed,
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, Box<HttpResponse>> {
    let token = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok());
    if !access::session_csrf_ok(state, signed, token) {
        return Err(Box::new(
            Denied::Forbidden(
                "send the X-CSRF-Token header with the csrf value of GET /api/actions".into(),
            )
            .respond(state, Output::Json),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        Box::new(refusal(
            state,
            &ActionError::Invalid(format!("the JSON body does not fit: {e}")),
            Output::Json,
        ))
    })
}

/// `POST /api/actions`: adds an action; 201 with it.
pub async fn api_add(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Json),
    };
    let new: NewAction = match json_body(&state, &signed, &req, &body) {
        Ok(new) => new,
        Err(response) => return *response,
    };
    match create(&state, &signed, new).await {
        Ok(action) => HttpResponse::Created()
            .insert_header(("Cache-Control", "no-store"))
            .json(action),
        Err(e) => refusal(&state, &e, Output::Json),
    }
}

/// `POST /api/actions/{id}`: a progress update; 200 with the action.
pub async fn api_update(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<i64>,
    body: web::Bytes,
) -> HttpResponse {
    let signed = match access::signed_in(&state, &req).await {
        Ok(s) => s,
        Err(d) => return d.respond(&state, Output::Json),
    };
    let update: Change = match json_body(&state, &signed, &req, &body) {
        Ok(update) => update,
        Err(response) => return *response,
    };
    match change(&state, &signed, path.into_inner(), update).await {
        Ok(action) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(action),
        Err(e) => refusal(&state, &e, Output::Json),
    }
}
