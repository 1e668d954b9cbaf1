//! The agents' and supervisors' page: a single-page app (`services/workspace/web/`) embedded in the
//! binary and served at `/`, `/app.js` (the entry module), `/js/*.js` (one module per panel) and
//! `/app.css` with the staff pages' strict policy ([`komek_web::page`]), together with
//! `GET /api/v1/meta` (the enum codes the page shows, [`komek_web::meta`]). It talks only to this
//! service's API and its live WebSocket.

use actix_web::web;
use komek_web::page::SinglePage;

/// One entry of [`SinglePage::modules`]: `web/js/{name}`, served at `/js/{name}`.
macro_rules! module {
    ($name:literal) => {
        ($name, include_str!(concat!("../../web/js/", $name)))
    };
}

pub const PAGE: SinglePage = SinglePage {
    index: include_str!("../../web/index.html"),
    script: include_str!("../../web/app.js"),
    modules: &[
        module!("state.js"),
        module!("feed.js"),
        module!("presence.js"),
        module!("offers.js"),
        module!("queue.js"),
        module!("search.js"),
        module!("request.js"),
        module!("customer.js"),
        module!("supervision.js"),
        module!("problems.js"),
        module!("templates.js"),
        module!("people.js"),
    ],
    styles: include_str!("../../web/app.css"),
};

/// What the page serves besides the files: the enum codes (`GET /api/v1/meta`).
pub use komek_web::meta::ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    PAGE.configure(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_keeps_to_the_policy_and_has_every_text_and_module() {
        let m = komek_web::meta::meta_codes();
        let labelled: &[(&str, &[String])] = &[
            ("st_", &m.statuses),
            ("pr_", &m.priorities),
            ("cat_", &m.categories),
            ("ch_", &m.channels),
            ("lang_", &m.languages),
            ("role_", &m.roles),
            ("presence_", &m.presences),
            ("pst_", &m.problem_statuses),
            ("kind_", &m.message_kinds),
        ];
        let js = concat!(env!("CARGO_MANIFEST_DIR"), "/web/js");
        assert_eq!(
            PAGE.check("ws", labelled, js.as_ref()),
            Vec::<String>::new()
        );
    }
}
