//! Server-rendered pages: one Tera instance, built once at start from templates embedded
//! in the binary (so it runs from any folder), autoescaping every `.html` template.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use tera::{Context, Tera};

const TEMPLATES: [(&str, &str); 3] = [
    ("base.html", include_str!("../../templates/base.html")),
    (
        "survey/form.html",
        include_str!("../../templates/survey/form.html"),
    ),
    (
        "survey/message.html",
        include_str!("../../templates/survey/message.html"),
    ),
];

pub const STYLESHEET: &str = include_str!("../../templates/static/icsat.css");

pub struct Pages {
    tera: Tera,
}

impl Pages {
    pub fn new() -> Result<Pages, tera::Error> {
        let mut tera = Tera::default();
        tera.add_raw_templates(TEMPLATES)?;
        Ok(Pages { tera })
    }

    /// Renders `template` as a no-store HTML page (survey pages hold personal links and
    /// answers: nothing may keep them).
    pub fn render(&self, status: StatusCode, template: &str, context: &Context) -> HttpResponse {
        match self.tera.render(template, context) {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .insert_header(("Cache-Control", "no-store"))
                .body(body),
            Err(e) => {
                tracing::error!(template, error = %e, "a page failed to render");
                HttpResponse::InternalServerError()
                    .content_type("text/plain; charset=utf-8")
                    .body("This page could not be shown. Please try again later.\n")
            }
        }
    }

    /// A page with a heading and a few sentences (errors, states, thanks).
    pub fn message(
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
        self.render(status, "survey/message.html", &context)
    }
}
