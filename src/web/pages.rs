//! Server-rendered pages: one Tera instance, built once at start from templates embedded
//! in the binary (so it runs from any folder), autoescaping every `.html` template.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use tera::{Context, Tera};

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    (
        "survey/form.html",
        include_str!("../../templates/survey/form.html"),
    ),
    (
        "survey/message.html",
        include_str!("../../templates/survey/message.html"),
    ),
    ("app.html", include_str!("../../templates/app.html")),
    (
        "heard/page.html",
        include_str!("../../templates/heard/page.html"),
    ),
    (
        "app_message.html",
        include_str!("../../templates/app_message.html"),
    ),
    (
        "auth/login.html",
        include_str!("../../templates/auth/login.html"),
    ),
    (
        "auth/confirm.html",
        include_str!("../../templates/auth/confirm.html"),
    ),
    (
        "admin/index.html",
        include_str!("../../templates/admin/index.html"),
    ),
    (
        "admin/resend.html",
        include_str!("../../templates/admin/resend.html"),
    ),
    (
        "admin/wave.html",
        include_str!("../../templates/admin/wave.html"),
    ),
    (
        "admin/trend.html",
        include_str!("../../templates/admin/trend.html"),
    ),
    (
        "admin/follow_up.html",
        include_str!("../../templates/admin/follow_up.html"),
    ),
    (
        "admin/audit.html",
        include_str!("../../templates/admin/audit.html"),
    ),
    (
        "results/index.html",
        include_str!("../../templates/results/index.html"),
    ),
    (
        "results/survey.html",
        include_str!("../../templates/results/survey.html"),
    ),
    (
        "results/picker.html",
        include_str!("../../templates/results/picker.html"),
    ),
    (
        "results/report.html",
        include_str!("../../templates/results/report.html"),
    ),
    (
        "results/services.html",
        include_str!("../../templates/results/services.html"),
    ),
    (
        "results/actions.html",
        include_str!("../../templates/results/actions.html"),
    ),
    (
        "results/trends.html",
        include_str!("../../templates/results/trends.html"),
    ),
    (
        "services/catalogue.html",
        include_str!("../../templates/services/catalogue.html"),
    ),
    (
        "services/scorecard.html",
        include_str!("../../templates/services/scorecard.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("../../templates/static/icsat.css");

pub struct Pages {
    tera: Tera,
}

impl Pages {
    pub fn new() -> Result<Pages, tera::Error> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())?;
        Ok(Pages { tera })
    }

    /// The HTML of `template`, for pages kept rendered (`web::survey::rendered`).
    pub fn render_html(&self, template: &str, context: &Context) -> Result<String, tera::Error> {
        self.tera.render(template, context)
    }

    /// `body` as a no-store HTML page.
    pub fn html(status: StatusCode, body: String) -> HttpResponse {
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body)
    }

    /// Renders `template` as a no-store HTML page (survey pages hold personal links and
    /// answers: nothing may keep them).
    pub fn render(&self, status: StatusCode, template: &str, context: &Context) -> HttpResponse {
        match self.tera.render(template, context) {
            Ok(body) => Pages::html(status, body),
            Err(e) => {
                tracing::error!(template, error = %e, "a page failed to render");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("This page could not be shown. Please try again later.\n")
            }
        }
    }

    /// A page of the results site with a heading and a few sentences.
    pub fn app_message(
        &self,
        status: StatusCode,
        heading: &str,
        lines: &[String],
        help: &str,
    ) -> HttpResponse {
        let mut context = Context::new();
        context.insert("page_title", heading);
        context.insert("heading", heading);
        context.insert("lines", lines);
        context.insert("help", help);
        self.render(status, "app_message.html", &context)
    }

    /// A survey page with a heading and a few sentences (errors, states, thanks), around
    /// the product's words in `lang`.
    pub fn message(
        &self,
        status: StatusCode,
        lang: &str,
        heading: &str,
        lines: &[String],
        help: &str,
    ) -> HttpResponse {
        let mut context = Context::new();
        context.insert("lang", lang);
        context.insert("dir", crate::i18n::direction(lang));
        context.insert("p", &crate::i18n::words(lang).section("page", &[]));
        context.insert("page_title", heading);
        context.insert("heading", heading);
        context.insert("lines", lines);
        context.insert("help", help);
        self.render(status, "survey/message.html", &context)
    }
}
