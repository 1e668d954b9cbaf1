//! Staff pages: a single-page app (`index.html`, the ES module `app.js` with the modules it imports
//! from `js/`, `app.css`) embedded in the service's binary and served at `/`, `/app.js`,
//! `/js/{name}.js` and `/app.css` with one strict Content-Security-Policy (`script-src 'self'`
//! covers module scripts and their imports). The page talks only to its own service (and, for the
//! workspace, its live WebSocket), so the policy allows nothing but this origin.
//!
//! What the staff pages share lives here once (`libs/web/assets/`): the shell every page's markup
//! goes into ([`SHELL`]: head, top bar, flash, sign-in form), and the module and stylesheet
//! served at `/staff.js` and `/staff.css` ([`SHARED_SCRIPT`]: texts from the catalogue, the
//! enum codes from [`crate::meta`], sign-in and session, the API helper with translated
//! problem+json errors, element and format helpers; [`SHARED_STYLES`]: the base layout).
//! [`SinglePage::configure`] also mounts `GET /api/v1/meta` ([`crate::meta`]), which the shared
//! module reads at start.

use actix_web::body::MessageBody;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};

/// Scripts, styles and everything else from this origin only; no inline code; the API and the
/// live WebSocket of this origin only: CSP Level 3 counts `ws:`/`wss:` to our own host as
/// 'self' (every current browser does), so `connect-src 'self'` lets the page open its own live
/// socket and nothing else; naming `ws: wss:` would let injected script talk to any host.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

/// The document every staff page is served in; the page's `index.html` takes the place of [`SLOT`].
pub const SHELL: &str = include_str!("../assets/staff.html");
/// Where in [`SHELL`] the page's own markup goes.
pub const SLOT: &str = "<!--page-->";
/// Served at `/staff.js` (an ES module the page's modules import; preloaded by the shell).
pub const SHARED_SCRIPT: &str = include_str!("../assets/staff.js");
/// Served at `/staff.css`, before the page's `/app.css`.
pub const SHARED_STYLES: &str = include_str!("../assets/staff.css");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// One embedded file with the page's security headers.
pub fn asset(content_type: &'static str, body: impl MessageBody + 'static) -> HttpResponse {
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

/// A page's files (`include_str!` of the service's `web/` folder); `index` is the page's own
/// markup, served inside [`SHELL`].
#[derive(Debug, Clone, Copy)]
pub struct SinglePage {
    pub index: &'static str,
    /// The entry module, served at `/app.js`.
    pub script: &'static str,
    /// The modules `app.js` imports, `(file name, source)`, each served at `/js/{file name}`.
    pub modules: &'static [(&'static str, &'static str)],
    pub styles: &'static str,
}

impl SinglePage {
    /// The document served at `/`: [`SHELL`] with the page's markup in its [`SLOT`].
    pub fn html(&self) -> String {
        SHELL.replacen(SLOT, self.index, 1)
    }

    /// Every script of the page with the path it is served at.
    fn scripts(&self) -> Vec<(String, &'static str)> {
        let mut all = vec![
            ("/app.js".to_owned(), self.script),
            ("/staff.js".to_owned(), SHARED_SCRIPT),
        ];
        all.extend(
            self.modules
                .iter()
                .map(|(name, src)| (format!("/js/{name}"), *src)),
        );
        all
    }

    /// Mounts `GET /`, `GET /app.js`, `GET /js/{module}`, `GET /app.css`, `GET /staff.js`,
    /// `GET /staff.css` and `GET /api/v1/meta`.
    pub fn configure(self, cfg: &mut web::ServiceConfig) {
        let html = Bytes::from(self.html());
        let file = |content_type: &'static str, body: &'static str| {
            web::get().to(move || async move { asset(content_type, body) })
        };
        cfg.route(
            "/",
            web::get().to(move || {
                let html = html.clone();
                async move { asset(HTML, html) }
            }),
        )
        .route("/app.js", file(JS, self.script))
        .route("/app.css", file(CSS, self.styles))
        .route("/staff.js", file(JS, SHARED_SCRIPT))
        .route("/staff.css", file(CSS, SHARED_STYLES));
        for (name, source) in self.modules {
            cfg.route(&format!("/js/{name}"), file(JS, source));
        }
        crate::meta::configure(cfg);
    }

    /// The access rules of what [`SinglePage::configure`] mounts: the files (anonymous: the
    /// page signs in from the browser, and its files hold no data) and `GET /api/v1/meta`.
    pub fn rules(self) -> Vec<crate::access::Rule> {
        use crate::access::{Access::Anonymous, rule};
        use actix_web::http::Method;
        let mut v: Vec<_> = ["/", "/app.js", "/app.css", "/staff.js", "/staff.css"]
            .into_iter()
            .map(|p| rule(Method::GET, p, Anonymous))
            .collect();
        v.extend(
            self.modules
                .iter()
                .map(|(name, _)| rule(Method::GET, format!("/js/{name}"), Anonymous)),
        );
        v.push(rule(Method::GET, crate::meta::PATH, Anonymous));
        v
    }

    /// What in the files (the page's and the shared ones) would break the policy or insert text
    /// as HTML; empty when nothing. Each service's unit tests assert it on its own page.
    pub fn violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        let html = self.html();
        let scripts = self.scripts();
        let served: Vec<&str> = scripts.iter().map(|(path, _)| path.as_str()).collect();
        for (path, text) in &scripts {
            for spec in imports(text) {
                let target = match spec.strip_prefix("./") {
                    // Relative to the importing module's folder.
                    Some(rest) => format!("{}/{rest}", &path[..path.rfind('/').unwrap_or(0)]),
                    None => spec.to_owned(),
                };
                if !served.contains(&target.as_str()) {
                    found.push(format!("{path} imports {spec}, which is not served"));
                }
            }
        }
        let files = [
            ("index.html", html.as_str()),
            ("app.css", self.styles),
            ("staff.css", SHARED_STYLES),
        ];
        let script_files = scripts.iter().map(|(path, text)| (path.as_str(), *text));
        for (name, text) in files.into_iter().chain(script_files) {
            for external in ["http://", "https://", "@import"] {
                if text.contains(external) {
                    found.push(format!("{name} loads from elsewhere ({external})"));
                }
            }
        }
        let order = |needle: &str| html.find(needle).unwrap_or(usize::MAX);
        if order("/staff.js") > order("/app.js") || order("/staff.css") > order("/app.css") {
            found.push("index.html does not load the shared files before its own".to_owned());
        }
        if !html.contains("<script type=\"module\" src=\"/app.js\"") {
            found.push("index.html does not load /app.js as a module".to_owned());
        }
        if self.index.contains("<html") || self.index.contains("<head") {
            found.push("index.html is a whole document, not the page's markup".to_owned());
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
        let inline_script = html.match_indices("<script").any(|(at, _)| {
            !html[at..]
                .split('>')
                .next()
                .is_some_and(|tag| tag.contains(" src="))
        });
        if inline_script {
            found.push("index.html has an inline script".to_owned());
        }
        for needle in inline {
            if html.contains(needle) {
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
            for (name, text) in &scripts {
                if text.contains(sink) {
                    found.push(format!("{name} uses {sink}"));
                }
            }
        }
        found
    }
}

impl SinglePage {
    /// What breaks the shape every staff page shares (the entry module loaded as `/app.js`, a
    /// `setup({...})` call in it, a narrow-screen `@media` rule) plus [`Self::violations`]; empty
    /// when nothing. Each service's unit tests assert it on its own page.
    pub fn app_violations(&self) -> Vec<String> {
        let mut found = Vec::new();
        if !self
            .html()
            .contains("<script type=\"module\" src=\"/app.js\"")
        {
            found.push("the page does not load /app.js as a module".to_owned());
        }
        if !self.script.contains("setup({") {
            found.push("app.js does not call setup({...})".to_owned());
        }
        if !self.styles.contains("@media") {
            found.push("app.css has no @media rule".to_owned());
        }
        found.extend(self.violations());
        found
    }

    /// Every check a staff page's unit test makes, in one list (empty when it passes):
    /// [`Self::app_violations`], [`Self::missing_texts`] with `prefix` and `labelled`, and
    /// [`Self::unserved_modules`] of `js_dir` (the service's `web/js`).
    pub fn check(
        &self,
        prefix: &str,
        labelled: &[(&str, &[String])],
        js_dir: &std::path::Path,
    ) -> Vec<String> {
        let mut found = self.app_violations();
        found.extend(
            self.missing_texts(prefix, labelled)
                .into_iter()
                .map(|m| format!("no text {m}")),
        );
        match self.unserved_modules(js_dir) {
            Ok(odd) => found.extend(odd),
            Err(e) => found.push(format!("{}: {e}", js_dir.display())),
        }
        found
    }

    /// The files of `dir` (the service's `web/js`) the page does not serve as modules, and the
    /// modules it serves that `dir` lacks; empty when the two agree.
    pub fn unserved_modules(&self, dir: &std::path::Path) -> std::io::Result<Vec<String>> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            files.push(entry?.file_name().to_string_lossy().into_owned());
        }
        let served: Vec<&str> = self.modules.iter().map(|(name, _)| *name).collect();
        let mut odd: Vec<String> = files
            .iter()
            .filter(|f| !served.contains(&f.as_str()))
            .map(|f| format!("{f} is not served"))
            .collect();
        odd.extend(
            served
                .iter()
                .filter(|name| !files.iter().any(|f| f == *name))
                .map(|name| format!("{name} is served but not in the folder")),
        );
        odd.sort();
        Ok(odd)
    }
}

impl SinglePage {
    /// The texts the page's files name that the catalogue lacks in some language: every
    /// `t('key')`, `data-i18n="key"` and `data-i18n-placeholder="key"` of the page, the shell and
    /// the shared module, and every label of a code family (`("st_", statuses)`: `st_new`, ...),
    /// looked up as the page does (`{prefix}-key`, else `staff-key`, underscores as hyphens).
    /// Empty when all are there; each service's unit tests assert it on its own page.
    pub fn missing_texts(&self, prefix: &str, labelled: &[(&str, &[String])]) -> Vec<String> {
        let html = self.html();
        let mut keys: Vec<String> = Vec::new();
        let mut sources: Vec<&str> = vec![html.as_str()];
        sources.extend(self.scripts().into_iter().map(|(_, text)| text));
        for text in sources {
            for open in [
                "t('",
                "data-i18n=\"",
                "data-i18n-placeholder=\"",
                "'data-i18n': '",
            ] {
                for (at, _) in text.match_indices(open) {
                    // `t('` must be the function, not the end of another name (`select('`).
                    let before = text[..at].chars().next_back();
                    if open == "t('"
                        && before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                    {
                        continue;
                    }
                    let rest = &text[at + open.len()..];
                    let key: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    // A key built at run time (`t('done_' + path)`) is checked by its family.
                    let after = &rest[key.len()..];
                    let closed = after.starts_with('"')
                        || after.starts_with("')")
                        || after.starts_with("',");
                    if !key.is_empty() && closed {
                        keys.push(key);
                    }
                }
            }
        }
        for (family, codes) in labelled {
            keys.extend(
                codes
                    .iter()
                    .map(|c| format!("{family}{}", c.replace('.', "_"))),
            );
        }
        keys.sort();
        keys.dedup();
        let mut missing = Vec::new();
        for lang in komek_i18n::ALL {
            let texts = komek_i18n::catalogue(lang);
            for key in &keys {
                let id = key.replace('_', "-");
                if !texts.contains_key(&format!("{prefix}-{id}"))
                    && !texts.contains_key(&format!("staff-{id}"))
                {
                    missing.push(format!("{}: {key}", lang.as_str()));
                }
            }
        }
        missing
    }
}

/// The module specifiers of `import ... from '...'` and `import '...'` lines in `source`.
fn imports(source: &str) -> Vec<&str> {
    source
        .lines()
        .map(str::trim_start)
        .filter(|l| {
            l.starts_with("import ") || l.starts_with("} from ") || l.starts_with("export * from ")
        })
        .filter_map(|l| {
            let quote = l.rfind(['\'', '"'])?;
            let open = l[..quote].rfind(['\'', '"'])?;
            let spec = &l[open + 1..quote];
            (spec.starts_with('/') || spec.starts_with("./")).then_some(spec)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test as web_test};

    use super::*;

    const PAGE: SinglePage = SinglePage {
        index: "<section id=\"app-view\" hidden></section>",
        script: "import { el } from '/staff.js';\nimport { x } from './js/x.js';\ndocument.body.textContent = x;",
        modules: &[(
            "x.js",
            "import { t } from '/staff.js';\nexport const x = 'x';",
        )],
        styles: "@media (max-width: 1px) {}",
    };

    #[actix_web::test]
    async fn the_files_have_their_types_and_a_strict_policy() {
        let app = web_test::init_service(App::new().configure(|c| PAGE.configure(c))).await;
        let html = PAGE.html();
        for (path, ty, body) in [
            ("/", "text/html", html.as_str()),
            ("/app.js", "text/javascript", PAGE.script),
            ("/app.css", "text/css", PAGE.styles),
            ("/staff.js", "text/javascript", SHARED_SCRIPT),
            ("/staff.css", "text/css", SHARED_STYLES),
            ("/js/x.js", "text/javascript", PAGE.modules[0].1),
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
        let res = web_test::call_service(
            &app,
            web_test::TestRequest::get()
                .uri("/api/v1/meta")
                .to_request(),
        )
        .await;
        assert!(
            res.status().is_success(),
            "the page's codes are served with it"
        );
    }

    #[test]
    fn the_page_goes_into_the_shell_after_the_shared_files() {
        let html = PAGE.html();
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains(PAGE.index) && !html.contains(SLOT), "{html}");
        let at = |needle: &str| html.find(needle).unwrap();
        assert!(at("/staff.css") < at("/app.css") && at("/staff.js") < at("/app.js"));
        assert!(at("id=\"login-view\"") < at(PAGE.index));
        for id in [
            "lang-select",
            "whoami",
            "signout",
            "flash",
            "login-form",
            "login-error",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
        }
    }

    #[test]
    fn missing_texts_are_named() {
        let page = SinglePage {
            index: "<p data-i18n=\"signin\"></p><p data-i18n=\"no_such_text\"></p>",
            script: "t('signout'); t('done_' + x); select('x'); t('also_missing', { n: 1 });",
            modules: &[],
            styles: "",
        };
        let codes = ["in_progress".to_owned(), "no_such_status".to_owned()];
        let missing = page.missing_texts("ws", &[("st_", &codes)]);
        for lang in ["kk", "ru", "en"] {
            for key in ["no_such_text", "also_missing", "st_no_such_status"] {
                assert!(
                    missing.contains(&format!("{lang}: {key}")),
                    "{key}: {missing:?}"
                );
            }
        }
        assert_eq!(missing.len(), 9, "{missing:?}");
    }

    #[test]
    fn violations_are_named() {
        assert!(PAGE.violations().is_empty(), "{:?}", PAGE.violations());
        let bad = SinglePage {
            index: "<html><script>alert(1)</script><p style=\"x\"></p>",
            script: "node.innerHTML = s; fetch('https://elsewhere')\nimport { y } from './js/y.js';",
            modules: &[],
            styles: "",
        };
        let found = bad.violations();
        for needle in [
            "inline script",
            "inline  style=",
            "innerHTML",
            "https://",
            "whole document",
            "imports ./js/y.js, which is not served",
        ] {
            assert!(
                found.iter().any(|f| f.contains(needle)),
                "{needle}: {found:?}"
            );
        }
    }
}
