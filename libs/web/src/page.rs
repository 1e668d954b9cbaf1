//! Staff pages: a single-page app (`index.html`, `app.js`, `app.css`) embedded in the service's
//! binary and served at `/`, `/app.js` and `/app.css` with one strict Content-Security-Policy.
//! The page talks only to its own service (and, for the workspace, its live WebSocket), so the
//! policy allows nothing but this origin.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

/// Scripts, styles and everything else from this origin only; no inline code; the API and the
/// live WebSocket (`connect-src` names `ws:`/`wss:`, which older browsers do not count as 'self').
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       font-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

/// One embedded file with the page's security headers.
pub fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Small files, and a new binary may bring new ones: always revalidate.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// A page's three files (`include_str!` of the service's `web/` folder).
#[derive(Debug, Clone, Copy)]
pub struct SinglePage {
    pub index: &'static str,
    pub script: &'static str,
    pub styles: &'static str,
}

impl SinglePage {
    /// Mounts `GET /`, `GET /app.js` and `GET /app.css`.
    pub fn configure(self, cfg: &mut web::ServiceConfig) {
        cfg.route(
            "/",
            web::get().to(move || async move { asset("text/html; charset=utf-8", self.index) }),
        )
        .route(
            "/app.js",
            web::get()
                .to(move || async move { asset("text/javascript; charset=utf-8", self.script) }),
        )
        .route(
            "/app.css",
            web::get().to(move || async move { asset("text/css; charset=utf-8", self.styles) }),
        );
    }

    /// What in the files would break the policy or insert text as HTML; empty when nothing.
    /// Each service's unit tests assert it on its own page.
    pub fn violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        for (name, text) in [
            ("index.html", self.index),
            ("app.js", self.script),
            ("app.css", self.styles),
        ] {
            for external in ["http://", "https://", "@import"] {
                if text.contains(external) {
                    found.push(format!("{name} loads from elsewhere ({external})"));
                }
            }
        }
        let inline = [
            " style=",
            "<style",
            " onclick=",
            " onload=",
            " onsubmit=",
            " onchange=",
            " oninput=",
            " onerror=",
        ];
        // Only `<script src=...>`: an inline script would need 'unsafe-inline'.
        let inline_script = self.index.match_indices("<script").any(|(at, _)| {
            !self.index[at..]
                .split('>')
                .next()
                .is_some_and(|tag| tag.contains(" src="))
        });
        if inline_script {
            found.push("index.html has an inline script".to_owned());
        }
        for needle in inline {
            if self.index.contains(needle) {
                found.push(format!("index.html has inline {needle}"));
            }
        }
        for sink in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ] {
            if self.script.contains(sink) {
                found.push(format!("app.js uses {sink}"));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test as web_test};

    use super::*;

    const PAGE: SinglePage = SinglePage {
        index: "<!doctype html><script src=\"/app.js\" defer></script>",
        script: "document.body.textContent = 'x';",
        styles: "@media (max-width: 1px) {}",
    };

    #[actix_web::test]
    async fn the_files_have_their_types_and_a_strict_policy() {
        let app = web_test::init_service(App::new().configure(|c| PAGE.configure(c))).await;
        for (path, ty, body) in [
            ("/", "text/html", PAGE.index),
            ("/app.js", "text/javascript", PAGE.script),
            ("/app.css", "text/css", PAGE.styles),
        ] {
            let res =
                web_test::call_service(&app, web_test::TestRequest::get().uri(path).to_request())
                    .await;
            assert!(res.status().is_success(), "{path}");
            let h = res.headers();
            let ct = h.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
            assert!(ct.starts_with(ty), "{path}: {ct}");
            let csp = h
                .get(header::CONTENT_SECURITY_POLICY)
                .unwrap()
                .to_str()
                .unwrap();
            assert!(csp.contains("default-src 'none'"), "{csp}");
            assert!(csp.contains("script-src 'self'"), "{csp}");
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(h.get(header::X_FRAME_OPTIONS).unwrap(), "DENY");
            assert_eq!(web_test::read_body(res).await, body.as_bytes());
        }
    }

    #[test]
    fn violations_are_named() {
        assert!(PAGE.violations().is_empty(), "{:?}", PAGE.violations());
        let bad = SinglePage {
            index: "<script>alert(1)</script><p style=\"x\"></p>",
            script: "node.innerHTML = s; fetch('https://elsewhere')",
            styles: "",
        };
        let found = bad.violations();
        for needle in ["inline script", "inline  style=", "innerHTML", "https://"] {
            assert!(
                found.iter().any(|f| f.contains(needle)),
                "{needle}: {found:?}"
            );
        }
    }
}
