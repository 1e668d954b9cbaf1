//! A minimal OTLP/HTTP JSON trace receiver for tests: it accepts `POST /v1/traces` and keeps
//! (service name, span name, trace id) of every span.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanSeen {
    pub service: String,
    pub name: String,
    pub trace_id: String,
}

#[derive(Clone, Default)]
pub struct Spans(Arc<Mutex<Vec<SpanSeen>>>);

impl Spans {
    pub fn all(&self) -> Vec<SpanSeen> {
        self.0.lock().unwrap().clone()
    }
}

pub struct Receiver {
    pub endpoint: String,
    pub spans: Spans,
    handle: actix_web::dev::ServerHandle,
}

fn collect(body: &Value, out: &mut Vec<SpanSeen>) {
    for rs in body["resourceSpans"].as_array().into_iter().flatten() {
        let service = rs["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .and_then(|a| a["value"]["stringValue"].as_str())
            .unwrap_or_default()
            .to_owned();
        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
            for span in ss["spans"].as_array().into_iter().flatten() {
                out.push(SpanSeen {
                    service: service.clone(),
                    name: span["name"].as_str().unwrap_or_default().to_owned(),
                    trace_id: span["traceId"].as_str().unwrap_or_default().to_lowercase(),
                });
            }
        }
    }
}

async fn traces(spans: web::Data<Spans>, body: web::Bytes) -> HttpResponse {
    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
        let mut found = Vec::new();
        collect(&v, &mut found);
        spans.0.lock().unwrap().extend(found);
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .body("{}")
}

impl Receiver {
    pub async fn start() -> Self {
        let spans = Spans::default();
        let data = web::Data::new(spans.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
                .route("/v1/traces", web::post().to(traces))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            spans,
            handle,
        }
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
