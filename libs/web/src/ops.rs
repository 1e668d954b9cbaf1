//! Operational endpoints every service serves: liveness, readiness, metrics and its OpenAPI document.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use komek_bus::BusStatus;
use komek_store::Store;
use serde_json::json;

use crate::metrics::Scrape;

/// These endpoints in every service's document (merged by `Runtime::serve`), with the staff
/// pages' text catalogue.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(healthz, readyz, metrics, openapi, crate::i18n::catalogue),
    components(schemas(Health, Ready))
)]
pub struct ApiDoc;

/// `/healthz`: the process answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// `/readyz`: whether this replica takes traffic, and why not.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Ready {
    /// `ready`, `not_ready` or `draining`.
    pub status: String,
    /// `up` or `down` (absent while draining).
    pub redis: Option<String>,
    /// `up` or `down` (absent while draining).
    pub rabbitmq: Option<String>,
    /// Why it is draining.
    pub reason: Option<String>,
}

/// What readiness checks: the service is not shutting down, the store answers and the broker
/// loops are connected.
#[derive(Clone)]
pub struct Readiness {
    pub store: Store,
    pub bus: BusStatus,
    /// Set on SIGTERM/SIGINT: from then on `/readyz` answers 503 so traffic moves elsewhere
    /// while this process still serves what reaches it.
    pub draining: Arc<AtomicBool>,
}

/// The service's OpenAPI document, rendered once at start.
#[derive(Clone)]
pub struct OpenApiJson(pub String);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics))
        .route("/openapi.json", web::get().to(openapi));
}

/// Liveness: the process answers (it checks nothing else).
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: Redis and RabbitMQ reachable and not shutting down.
#[utoipa::path(get, path = "/readyz", tag = "ops",
    responses((status = 200, body = Ready), (status = 503, body = Ready, description = "Not ready, or draining")))]
async fn readyz(r: web::Data<Readiness>) -> HttpResponse {
    if r.draining.load(Ordering::Relaxed) {
        return HttpResponse::ServiceUnavailable()
            .json(json!({"status": "draining", "reason": "shutting down"}));
    }
    let redis = r.store.ping().await.is_ok();
    let rabbitmq = r.bus.is_ready();
    let body = json!({
        "status": if redis && rabbitmq { "ready" } else { "not_ready" },
        "redis": if redis { "up" } else { "down" },
        "rabbitmq": if rabbitmq { "up" } else { "down" },
    });
    if redis && rabbitmq {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, body = String, content_type = "text/plain")))]
async fn metrics(scrape: web::Data<Scrape>) -> HttpResponse {
    scrape.collect().await;
    let encoder = prometheus::TextEncoder::new();
    match encoder.encode_to_string(&prometheus::gather()) {
        Ok(text) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4")
            .body(text),
        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops",
    responses((status = 200, body = Object, description = "OpenAPI 3.1")))]
async fn openapi(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
