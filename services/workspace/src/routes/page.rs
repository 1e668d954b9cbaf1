//! The agents' and supervisors' page: a single-page app (`services/workspace/web/`) embedded in the
//! binary and served at `/`, `/app.js` and `/app.css` with the staff pages' strict policy
//! ([`komek_web::page`]). It talks only to this service's API and its live WebSocket.

use actix_web::web;
use komek_web::page::SinglePage;

pub const PAGE: SinglePage = SinglePage {
    index: include_str!("../../web/index.html"),
    script: include_str!("../../web/app.js"),
    styles: include_str!("../../web/app.css"),
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    PAGE.configure(cfg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_the_workspace_app_and_keeps_to_the_policy() {
        assert!(PAGE.html().contains("<script src=\"/app.js\""));
        assert!(PAGE.script.contains("const I18N"));
        assert!(PAGE.styles.contains("@media"));
        assert_eq!(PAGE.violations(), Vec::<String>::new());
    }
}
