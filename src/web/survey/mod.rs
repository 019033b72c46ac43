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
use crate::i18n::{self, Phrase};
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

/// What the request says about its reader's language: the `lang` the link or the form
/// carries, and the browser's `Accept-Language`.
struct Asked<'a> {
    lang: Option<&'a str>,
    accept: Option<&'a str>,
}

impl<'a> Asked<'a> {
    fn new(req: &'a HttpRequest, lang: Option<&'a str>) -> Asked<'a> {
        Asked {
            lang,
            accept: req
                .headers()
                .get("accept-language")
                .and_then(|v| v.to_str().ok()),
        }
    }

    /// The language of a page shown before the survey is known (a bad link): one the
    /// product speaks, else English.
    fn any(&self) -> String {
        let shipped: Vec<String> = i18n::SHIPPED.iter().map(|l| l.to_string()).collect();
        let mut wanted: Vec<&str> = self.lang.into_iter().collect();
        wanted.extend(self.accept.map(i18n::accept_language).unwrap_or_default());
        i18n::pick(&shipped, "en", &wanted)
    }

    /// The survey language to show `definition` in.
    fn of(&self, definition: &Definition) -> String {
        view::language(definition, self.lang, self.accept)
    }
}

/// A survey page with a heading and one or more sentences from the catalogue.
fn said(
    state: &AppState,
    status: StatusCode,
    lang: &str,
    heading: &str,
    lines: &[String],
) -> HttpResponse {
    let words = i18n::words(lang);
    state.pages.message(
        status,
        lang,
        words.get(heading),
        lines,
        &state.config.mail_from,
    )
}

/// Looks the token up and answers every state but "open and not yet answered".
async fn lookup(
    state: &AppState,
    req: &HttpRequest,
    token: String,
    for_post: bool,
    asked: &Asked<'_>,
) -> Found {
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
            let lang = asked.any();
            let words = i18n::words(&lang);
            // Only failures are counted, after the lookup: a valid link is always served.
            if let Err(wait) = state.limiter.hit(&super::access::client(state, req)) {
                let mut page = said(
                    state,
                    StatusCode::TOO_MANY_REQUESTS,
                    &lang,
                    "message.too_many_title",
                    &[words.get("message.too_many").into()],
                );
                super::limits::set_retry_after(&mut page, wait);
                return Found::Page(page);
            }
            return Found::Page(said(
                state,
                StatusCode::NOT_FOUND,
                &lang,
                "message.invalid_title",
                &[words.get("message.invalid").into()],
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "survey lookup failed");
            let lang = asked.any();
            return Found::Page(said(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                &lang,
                "message.unavailable_title",
                &[i18n::words(&lang).get("message.unavailable").into()],
            ));
        }
    };
    let lang = asked.of(&definition);
    let words = i18n::words(&lang);
    let tz = timezone(&definition);
    let now = crate::db::now();
    let when = |t: chrono::NaiveDateTime| words.date_time(&t.and_utc().with_timezone(&tz));
    if invitation.responded_on.is_some() {
        let status = if for_post {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        return Found::Page(said(
            state,
            status,
            &lang,
            "message.answered_title",
            &[words.get("message.answered").into()],
        ));
    }
    if invitation.wave.opens_at > now {
        return Found::Page(said(
            state,
            StatusCode::GONE,
            &lang,
            "message.not_open_title",
            &[words.fill(
                "message.not_open",
                &[("when", &when(invitation.wave.opens_at))],
            )],
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
        return Found::Page(said(
            state,
            StatusCode::GONE,
            &lang,
            "message.closed_title",
            &[words.fill("message.closed", &[("when", &at)])],
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
    let asked = Asked::new(&req, query.lang.as_deref());
    match lookup(&state, &req, token.clone(), false, &asked).await {
        Found::Page(page) => page,
        Found::Open(found) => {
            let (invitation, definition) = *found;
            let lang = asked.of(&definition);
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
                    said(
                        &state,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &lang,
                        "message.unavailable_title",
                        &[i18n::words(&lang).get("message.unavailable").into()],
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
    let entered = form::read(&body);
    let sent_lang = entered.as_ref().ok().and_then(|e| e.lang.clone());
    let asked = Asked::new(&req, sent_lang.as_deref());
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        let lang = asked.any();
        return said(
            &state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &lang,
            "message.unreadable_title",
            &[i18n::words(&lang).get("message.unreadable").into()],
        );
    }
    let (invitation, definition) = match lookup(&state, &req, token.clone(), true, &asked).await {
        Found::Page(page) => return page,
        Found::Open(found) => *found,
    };
    let lang = asked.of(&definition);
    let words = i18n::words(&lang);
    let csrf = csrf_token(&state.secret, invitation.id);
    let (entered, result) = match entered {
        Ok(entered) => {
            let csrf_ok = entered
                .csrf
                .as_deref()
                .is_some_and(|given| super::access::constant_time_eq(&csrf, given));
            if !csrf_ok {
                let errors = form::FormErrors {
                    general: vec![Phrase::new("error.expired")],
                    ..Default::default()
                };
                (entered, Err(errors))
            } else {
                let result = form::validate(&definition, &entered, &lang);
                (entered, result)
            }
        }
        Err(errors) => (form::Entered::default(), Err(errors)),
    };
    let submission = match result {
        Ok(submission) => submission,
        Err(errors) => {
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
    let (status, heading, lines) = match stored {
        Ok(Outcome::Stored) => (
            StatusCode::OK,
            "message.thanks_title",
            vec![
                words
                    .get(if anonymous {
                        "message.thanks_anonymous"
                    } else {
                        "message.thanks_confidential"
                    })
                    .to_string(),
                words.get("message.thanks_close").to_string(),
            ],
        ),
        Ok(Outcome::AlreadyAnswered) => (
            StatusCode::CONFLICT,
            "message.answered_title",
            vec![words.get("message.answered").to_string()],
        ),
        Ok(Outcome::Closed) => (
            StatusCode::GONE,
            "message.closed_title",
            vec![words.get("message.closed_late").to_string()],
        ),
        Err(e) => {
            tracing::error!(error = %e, "storing a response failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "message.not_saved_title",
                vec![words.get("message.not_saved").to_string()],
            )
        }
    };
    said(&state, status, &lang, heading, &lines)
}
