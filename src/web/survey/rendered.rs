//! The empty survey form, rendered once per definition version, language and deadline.
//!
//! Every employee of a wave sees the same form but for two values: the link's token (in
//! the form's address) and the CSRF value. Rendering the whole template for each GET
//! cost more than storing the answers did, so the form is rendered once with two
//! placeholders, cut into pieces there, and each request joins the pieces with its own
//! two values. The placeholders are drawn at random when the process starts, so no
//! definition text can contain one. Only the empty form is kept: a form shown again
//! with the employee's answers and errors is rendered afresh.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::NaiveDateTime;

/// How many rendered forms are kept; past that the cache starts again (a handful of
/// definitions, languages and deadlines are live at any one time).
const KEEP: usize = 256;

/// What varies between two employees' forms.
#[derive(Clone, Copy)]
pub enum Slot {
    Token,
    Csrf,
}

enum Piece {
    Text(String),
    Slot(Slot),
}

/// A rendered form, cut at its placeholders.
pub struct Rendered {
    pieces: Vec<Piece>,
    len: usize,
}

impl Rendered {
    /// The form with this request's values in its slots. Both are URL- and HTML-safe
    /// (a token passed `tokens::plausible`, the CSRF value is hex), so they go in as
    /// they are, as the template would have written them.
    pub fn fill(&self, token: &str, csrf: &str) -> String {
        let mut page = String::with_capacity(self.len + 4 * (token.len() + csrf.len()));
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => page.push_str(text),
                Piece::Slot(Slot::Token) => page.push_str(token),
                Piece::Slot(Slot::Csrf) => page.push_str(csrf),
            }
        }
        page
    }
}

type Key = (i64, String, Option<NaiveDateTime>);

pub struct RenderedForms {
    token: String,
    csrf: String,
    forms: Mutex<HashMap<Key, Arc<Rendered>>>,
}

impl Default for RenderedForms {
    fn default() -> Self {
        let slot = || format!("slot{}", uuid::Uuid::new_v4().simple());
        RenderedForms {
            token: slot(),
            csrf: slot(),
            forms: Mutex::new(HashMap::new()),
        }
    }
}

impl RenderedForms {
    /// The placeholder to render in place of `slot`.
    pub fn placeholder(&self, slot: Slot) -> &str {
        match slot {
            Slot::Token => &self.token,
            Slot::Csrf => &self.csrf,
        }
    }

    /// The form of definition version `version_id` in `lang` with this deadline,
    /// rendered by `render` (given the placeholders) the first time.
    pub fn get<E>(
        &self,
        version_id: i64,
        lang: &str,
        closes_at: Option<NaiveDateTime>,
        render: impl FnOnce(&str, &str) -> Result<String, E>,
    ) -> Result<Arc<Rendered>, E> {
        let key = (version_id, lang.to_string(), closes_at);
        if let Some(found) = self
            .forms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return Ok(found.clone());
        }
        // Rendered outside the lock: two first requests may both render, harmlessly.
        let html = render(&self.token, &self.csrf)?;
        let rendered = Arc::new(self.cut(&html));
        let mut forms = self.forms.lock().unwrap_or_else(PoisonError::into_inner);
        if forms.len() >= KEEP {
            forms.clear();
        }
        forms.insert(key, rendered.clone());
        Ok(rendered)
    }

    fn cut(&self, html: &str) -> Rendered {
        let mut pieces = Vec::new();
        let mut rest = html;
        loop {
            let next = [(Slot::Token, &self.token), (Slot::Csrf, &self.csrf)]
                .into_iter()
                .filter_map(|(slot, mark)| {
                    rest.find(mark.as_str()).map(|at| (at, slot, mark.len()))
                })
                .min_by_key(|(at, _, _)| *at);
            let Some((at, slot, len)) = next else {
                pieces.push(Piece::Text(rest.to_string()));
                break;
            };
            pieces.push(Piece::Text(rest[..at].to_string()));
            pieces.push(Piece::Slot(slot));
            rest = &rest[at + len..];
        }
        Rendered {
            pieces,
            len: html.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_filled_where_the_placeholders_were() {
        let forms = RenderedForms::default();
        let mut renders = 0;
        for (token, csrf) in [("tok-one", "c1"), ("tok-two", "c2")] {
            let form = forms
                .get(1, "en", None, |t, c| {
                    renders += 1;
                    Ok::<_, ()>(format!(
                        "<form action=\"/s/{t}\"><input value=\"{c}\"></form>{t}"
                    ))
                })
                .expect("rendered");
            assert_eq!(
                form.fill(token, csrf),
                format!("<form action=\"/s/{token}\"><input value=\"{csrf}\"></form>{token}")
            );
        }
        assert_eq!(renders, 1, "rendered once for both");
        let other = forms
            .get(1, "de", None, |t, _| Ok::<_, ()>(format!("de {t}")))
            .expect("rendered");
        assert_eq!(other.fill("x", "y"), "de x");
    }
}
