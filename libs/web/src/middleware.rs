//! One server span per HTTP request, continuing the caller's W3C trace context, and the request
//! metrics (count and latency by method, route and status).

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
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
