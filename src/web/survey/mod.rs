//! `GET /s/{token}` and `POST /s/{token}`: the one screen every employee sees.

pub mod form;
pub mod rendered;
mod view;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::AppState;
use crate::definitions::{Anonymity, Definition};
use crate::responses::submit::{self, Invitation, Outcome};
use crate::waves::lifecycle::timezone;

/// Largest form body accepted: far above any real survey, far below harm.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(serde::Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

/// The CSRF token of an invitation's form: a keyed hash only this service can make.
fn csrf_token(secret: &str, invitation_id: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("survey-form:{invitation_id}").as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

enum Found {
    Page(HttpResponse),
    Open(Box<(Invitation, Arc<Definition>)>),
}

/// Looks the token up and answers every state but "open and not yet answered".
async fn lookup(state: &AppState, req: &HttpRequest, token: String, for_post: bool) -> Found {
    let pages = &state.pages;
    let help = &state.config.mail_from;
    let cache = state.definitions.clone();
    let found = state
        .db
        .run(move |conn| -> Result<_, crate::reports::ReportError> {
            let Some(invitation) = submit::find_by_token(conn, &token)? else {
                return Ok(None);
            };
            let definition = cache.get(conn, invitation.wave.version_id)?;
            Ok(Some((invitation, definition)))
        })
        .await;
    let (invitation, definition) = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            // Only failures are counted, after the lookup: a valid link is always served.
            if let Err(wait) = state.limiter.hit(&super::access::client(state, req)) {
                let mut page = pages.message(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many attempts",
                    &["Too many survey links that do not exist were tried from your network. Please wait a few minutes and open the link from your email again.".into()],
                    help,
                );
                super::limits::set_retry_after(&mut page, wait);
                return Found::Page(page);
            }
            return Found::Page(pages.message(
                StatusCode::NOT_FOUND,
                "This survey link is not valid",
                &["Please open the link from your invitation email again, and copy it whole if you paste it.".into()],
                help,
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "survey lookup failed");
            return Found::Page(pages.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "The survey is unavailable right now",
                &["Please try again in a few minutes; nothing you entered was lost, because nothing was sent.".into()],
                help,
            ));
        }
    };
    let tz = timezone(&definition);
    let now = crate::db::now();
    let when = |t: chrono::NaiveDateTime| {
        t.and_utc()
            .with_timezone(&tz)
            .format("%A %-d %B %Y, %H:%M %Z")
            .to_string()
    };
    if invitation.responded_on.is_some() {
        let status = if for_post {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        return Found::Page(pages.message(
            status,
            "You have already answered",
            &["Your answers were saved earlier; nothing more was stored. Thank you for taking part.".into()],
            help,
        ));
    }
    if invitation.wave.opens_at > now {
        return Found::Page(pages.message(
            StatusCode::GONE,
            "This survey is not open yet",
            &[format!(
                "It opens on {}. Please come back then.",
                when(invitation.wave.opens_at)
            )],
            help,
        ));
    }
    let closed =
        invitation.wave.status != "open" || invitation.wave.closes_at.is_some_and(|t| t <= now);
    if closed {
        let at = invitation
            .wave
            .closed_at
            .or(invitation.wave.closes_at)
            .map(when)
            .unwrap_or_default();
        return Found::Page(pages.message(
            StatusCode::GONE,
            "This survey has closed",
            &[format!(
                "It closed on {at}. Thank you for your interest; the next one will come by email."
            )],
            help,
        ));
    }
    Found::Open(Box::new((invitation, definition)))
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    query: web::Query<LangQuery>,
) -> HttpResponse {
    let token = token.into_inner();
    match lookup(&state, &req, token.clone(), false).await {
        Found::Page(page) => page,
        Found::Open(found) => {
            let (invitation, definition) = *found;
            let lang = view::language(&definition, query.lang.as_deref());
            let form = state.forms.get(
                invitation.wave.version_id,
                &lang,
                invitation.wave.closes_at,
                |token, csrf| {
                    let context = view::form_context(&view::FormInput {
                        definition: &definition,
                        invitation: &invitation,
                        token,
                        csrf,
                        lang: &lang,
                        entered: None,
                        errors: None,
                        help: &state.config.mail_from,
                    });
                    state.pages.render_html("survey/form.html", &context)
                },
            );
            match form {
                Ok(form) => crate::web::pages::Pages::html(
                    StatusCode::OK,
                    form.fill(&token, &csrf_token(&state.secret, invitation.id)),
                ),
                Err(e) => {
                    tracing::error!(error = %e, "the survey form failed to render");
                    state.pages.message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "The survey is unavailable right now",
                        &["Please try again in a few minutes.".into()],
                        &state.config.mail_from,
                    )
                }
            }
        }
    }
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let token = token.into_inner();
    let help = state.config.mail_from.clone();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return state.pages.message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The answers could not be read",
            &["Please send the survey form from its page.".into()],
            &help,
        );
    }
    let (invitation, definition) = match lookup(&state, &req, token.clone(), true).await {
        Found::Page(page) => return page,
        Found::Open(found) => *found,
    };
    let csrf = csrf_token(&state.secret, invitation.id);
    let entered = form::read(&body);
    let lang_of = |entered: &form::Entered| view::language(&definition, entered.lang.as_deref());
    let (entered, result) = match entered {
        Ok(entered) => {
            let csrf_ok = entered
                .csrf
                .as_deref()
                .is_some_and(|given| super::access::constant_time_eq(&csrf, given));
            if !csrf_ok {
                let errors = form::FormErrors {
                    general: vec!["This form has expired or did not come from this survey's page. Please check your answers and send again.".into()],
                    ..Default::default()
                };
                (entered, Err(errors))
            } else {
                let result = form::validate(&definition, &entered);
                (entered, result)
            }
        }
        Err(errors) => (form::Entered::default(), Err(errors)),
    };
    let submission = match result {
        Ok(submission) => submission,
        Err(errors) => {
            let lang = lang_of(&entered);
            let context = view::form_context(&view::FormInput {
                definition: &definition,
                invitation: &invitation,
                token: &token,
                csrf: &csrf,
                lang: &lang,
                entered: Some(&entered),
                errors: Some(&errors),
                help: &help,
            });
            return state.pages.render(
                StatusCode::UNPROCESSABLE_ENTITY,
                "survey/form.html",
                &context,
            );
        }
    };
    let anonymous = definition.anonymity.value == Anonymity::Anonymous;
    let stored = state
        .submissions
        .submit(invitation, anonymous, submission.answers, crate::db::now())
        .await;
    if let Ok(Outcome::Stored) = stored {
        crate::metrics::global().submissions_stored.inc();
    }
    match stored {
        Ok(Outcome::Stored) => state.pages.message(
            StatusCode::OK,
            "Thank you: your answers are saved",
            &[
                if anonymous {
                    "Your answers are stored without your name, and results are only shown for groups large enough that nobody can be singled out.".to_string()
                } else {
                    "Your answers are confidential: results are only shown for groups large enough that nobody can be singled out.".to_string()
                },
                "You can close this page.".into(),
            ],
            &help,
        ),
        Ok(Outcome::AlreadyAnswered) => state.pages.message(
            StatusCode::CONFLICT,
            "You have already answered",
            &["Your answers were saved earlier; nothing more was stored. Thank you for taking part.".into()],
            &help,
        ),
        Ok(Outcome::Closed) => state.pages.message(
            StatusCode::GONE,
            "This survey has closed",
            &["It closed before your answers arrived, so they were not stored. Thank you for your interest.".into()],
            &help,
        ),
        Err(e) => {
            tracing::error!(error = %e, "storing a response failed");
            state.pages.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Your answers could not be saved",
                &["Nothing was stored. Please go back and send the form again in a few minutes.".into()],
                &help,
            )
        }
    }
}
