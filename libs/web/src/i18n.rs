//! `GET /i18n/{lang}.json`: a language's whole text catalogue ([`komek_i18n::catalogue`]) for the
//! staff pages, which fill the `{ $name }` placeables themselves. Every service mounts it, so a
//! page only ever asks its own origin.
//!
//! The body is an object of message id -> pattern text. It changes only with a new binary: it is
//! served with an `ETag` and may be cached briefly; an unknown language is a 404 problem+json.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use komek_domain::Lang;

use crate::ApiError;

/// One language's served catalogue: the JSON body and its entity tag.
struct Served {
    body: String,
    etag: String,
}

fn serve(lang: Lang) -> Served {
    let body = serde_json::to_string(&komek_i18n::catalogue(lang)).unwrap_or_else(|_| "{}".into());
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    Served {
        etag: format!("\"{}-{:016x}\"", lang.as_str(), h.finish()),
        body,
    }
}

static SERVED: LazyLock<[Served; 3]> =
    LazyLock::new(|| [serve(Lang::Kk), serve(Lang::Ru), serve(Lang::En)]);

/// Mounts `GET /i18n/{lang}.json`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/i18n/{lang}.json", web::get().to(catalogue));
}

/// A language's text catalogue for the staff pages: `{key: text}`; `ETag` and
/// `If-None-Match` (304).
#[utoipa::path(get, path = "/i18n/{lang}.json", tag = "ops",
    params(("lang" = String, Path, description = "`kk`, `ru` or `en` (another is 404)")),
    responses((status = 200, body = std::collections::BTreeMap<String, String>),
        (status = 304, description = "Not modified (the `ETag` given in `If-None-Match`)")))]
pub(crate) async fn catalogue(
    req: HttpRequest,
    lang: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let lang = komek_i18n::parse_lang(&lang)
        .filter(|l| l.as_str() == lang.as_str())
        .ok_or(ApiError::NotFound("language"))?;
    let served = &SERVED[match lang {
        Lang::Kk => 0,
        Lang::Ru => 1,
        Lang::En => 2,
    }];
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == served.etag));
    let mut res = if cached {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, served.etag.as_str()))
        // A new binary may bring new texts: a short lifetime, then revalidate with the ETag.
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    Ok(if cached {
        res.finish()
    } else {
        res.content_type("application/json; charset=utf-8")
            .body(served.body.clone())
    })
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test};

    use super::*;

    #[actix_web::test]
    async fn serves_each_catalogue_with_an_etag_and_404s_an_unknown_language() {
        let app = test::init_service(App::new().configure(configure)).await;
        let res = test::call_service(
            &app,
            test::TestRequest::get().uri("/i18n/kk.json").to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        let etag = res.headers().get(header::ETAG).cloned();
        let body: std::collections::BTreeMap<String, String> = test::read_body_json(res).await;
        assert_eq!(body, komek_i18n::catalogue(Lang::Kk));
        let Some(etag) = etag else { panic!("no ETag") };
        let again = test::TestRequest::get()
            .uri("/i18n/kk.json")
            .insert_header((header::IF_NONE_MATCH, etag))
            .to_request();
        assert_eq!(test::call_service(&app, again).await.status(), 304);
        for bad in ["/i18n/de.json", "/i18n/KK.json"] {
            let res =
                test::call_service(&app, test::TestRequest::get().uri(bad).to_request()).await;
            assert_eq!(res.status(), 404, "{bad}");
            assert_eq!(
                res.headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
                Some("application/problem+json")
            );
        }
    }
}
