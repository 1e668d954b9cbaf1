//! One server span per HTTP request, continuing the caller's W3C trace context, and the request
//! metrics (count and latency by method, route and status) ([`observe`]); the security headers
//! every response carries ([`security_headers`]).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use prometheus::{HistogramOpts, HistogramVec};
use tracing::Instrument;

fn latency() -> Option<&'static HistogramVec> {
    static H: OnceLock<Option<HistogramVec>> = OnceLock::new();
    H.get_or_init(|| {
        let h = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by method, route and status",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["method", "route", "status"],
        )
        .ok()?;
        prometheus::register(Box::new(h.clone())).ok()?;
        Some(h)
    })
    .as_ref()
}

/// Use with `actix_web::middleware::from_fn(komek_web::middleware::observe)`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .iter()
        .filter_map(|h| {
            req.headers()
                .get(*h)
                .and_then(|v| v.to_str().ok())
                .map(|v| ((*h).to_owned(), v.to_owned()))
        })
        .collect();
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    komek_telemetry::extract(&span, &carrier);
    let started = Instant::now();
    let res = next.call(req).instrument(span.clone()).await;
    let status = match &res {
        Ok(r) => r.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    span.record("http.response.status_code", status);
    if let Some(h) = latency() {
        h.with_label_values(&[method.as_str(), route.as_str(), &status.to_string()])
            .observe(started.elapsed().as_secs_f64());
    }
    res
}

/// A year, in the form HSTS preload lists ask for.
const HSTS: &str = "max-age=31536000; includeSubDomains";

/// Headers every response carries, whatever produced it (a handler, an error, actix's own 404):
/// no content sniffing, no Referer leaving us (status and survey links carry secrets), and, when
/// the request came over TLS, HSTS. Komek is served over TLS by the ingress, which says so in
/// `X-Forwarded-Proto`; actix reads that header from anyone, but HSTS on a plain-HTTP answer is
/// ignored by browsers (RFC 6797 section 8.1), so a forged header gains nothing. A handler's own
/// value (a page's stricter policy) is kept.
/// Use with `actix_web::middleware::from_fn(komek_web::middleware::security_headers)`.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let tls = req.connection_info().scheme() == "https";
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test as web_test, web};

    use super::*;

    /// Every answer carries the headers, an error and a route that does not exist included; a
    /// handler's own Referrer-Policy stands; HSTS only when the ingress says the client used TLS.
    #[actix_web::test]
    async fn every_response_carries_the_security_headers() {
        let app = web_test::init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(security_headers))
                .route("/ok", web::get().to(HttpResponse::Ok))
                .route(
                    "/own",
                    web::get().to(|| async {
                        HttpResponse::Ok()
                            .insert_header((header::REFERRER_POLICY, "same-origin"))
                            .finish()
                    }),
                )
                .route(
                    "/fails",
                    web::get().to(|| async { Err::<HttpResponse, _>(crate::ApiError::Internal) }),
                ),
        )
        .await;
        for path in ["/ok", "/fails", "/nowhere"] {
            let res =
                web_test::call_service(&app, web_test::TestRequest::get().uri(path).to_request())
                    .await;
            let h = res.headers();
            assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
            assert_eq!(h.get(header::REFERRER_POLICY).unwrap(), "no-referrer");
            assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "{path}");
        }
        let res =
            web_test::call_service(&app, web_test::TestRequest::get().uri("/own").to_request())
                .await;
        assert_eq!(
            res.headers().get(header::REFERRER_POLICY).unwrap(),
            "same-origin"
        );
        let res = web_test::call_service(
            &app,
            web_test::TestRequest::get()
                .uri("/ok")
                .insert_header(("x-forwarded-proto", "https"))
                .to_request(),
        )
        .await;
        assert_eq!(
            res.headers()
                .get(header::STRICT_TRANSPORT_SECURITY)
                .unwrap(),
            HSTS
        );
    }
}
