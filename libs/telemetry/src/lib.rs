//! Telemetry for every Komek process, in one library.
//!
//! - [`init`] installs the tracing subscriber (JSON log lines carrying `trace_id`/`span_id`), the
//!   OpenTelemetry tracer (always: ids exist even when nothing is exported) and, when an endpoint is
//!   set, the OTLP/HTTP JSON exporter. It returns a [`TelemetryGuard`]; dropping it flushes spans.
//! - [`inject`] / [`extract`] carry the W3C trace context through any string map (AMQP headers, the
//!   event envelope), so one customer journey is one trace across services.
//! - [`attr`] names the span attributes once.

mod json_log;

use std::collections::HashMap;

use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Span attribute names, declared once.
pub mod attr {
    pub const MESSAGING_SYSTEM: &str = "messaging.system";
    pub const MESSAGING_DESTINATION: &str = "messaging.destination.name";
    pub const EVENT_TYPE: &str = "komek.event.type";
    pub const EVENT_ID: &str = "komek.event.id";
    pub const REQUEST_ID: &str = "komek.request.id";
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("telemetry: cannot build the OTLP exporter for {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("telemetry: a global subscriber is already installed: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
    #[error("telemetry: bad log filter: {0}")]
    Filter(#[from] tracing_subscriber::filter::ParseError),
}

/// Keeps the tracer alive; dropping it exports what is still buffered.
#[must_use = "dropping the guard flushes and stops span export"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(e) = self.provider.force_flush() {
            eprintln!("telemetry: flushing spans failed: {e}");
        }
        let _ = self.provider.shutdown();
    }
}

/// Installs logging and tracing for `service` (e.g. "komek-intake").
///
/// `filter` is a tracing filter; `RUST_LOG` wins when set. `otlp_endpoint` is the OTLP/HTTP base URL
/// (`/v1/traces` is added unless present); `None` keeps traces in-process only.
pub fn init(
    service: &str,
    filter: &str,
    otlp_endpoint: Option<&str>,
) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
    ]));
    let resource = Resource::builder()
        .with_service_name(service.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(base) = otlp_endpoint {
        let endpoint = if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|source| TelemetryError::Exporter { endpoint, source })?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let tracer = provider.tracer(service.to_owned());
    opentelemetry::global::set_tracer_provider(provider.clone());

    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => EnvFilter::try_new(env)?,
        _ => EnvFilter::try_new(filter)?,
    };
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_opentelemetry::layer().with_tracer(tracer))
        .with(
            tracing_subscriber::fmt::layer()
                .event_format(json_log::JsonWithTrace::new(service))
                .with_writer(std::io::stdout),
        )
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

/// The current span's context as W3C headers (`traceparent`, `tracestate`).
pub fn inject(span: &tracing::Span) -> HashMap<String, String> {
    let cx = span.context();
    let mut carrier = HashMap::new();
    opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
    carrier
}

/// Makes `span` a child of the context found in `carrier` (no-op when it holds none).
pub fn extract(span: &tracing::Span, carrier: &HashMap<String, String>) {
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(carrier));
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// The trace id of `span` as 32 hex digits (for responses and tests).
pub fn trace_id(span: &tracing::Span) -> String {
    span.context().span().span_context().trace_id().to_string()
}

/// A span in a customer journey's trace: `traceparent` is the W3C context recorded when the request
/// was accepted. Work on a request done later (an agent's action, a department's answer, a survey
/// answer) runs in such a span, so the whole journey is one trace across services; the HTTP span of
/// the action that caused it stays in its own trace and is linked from this one.
/// Without a recorded context this is the current span.
pub fn journey(step: &str, traceparent: Option<&str>) -> tracing::Span {
    let Some(tp) = traceparent else {
        return tracing::Span::current();
    };
    let caller = tracing::Span::current()
        .context()
        .span()
        .span_context()
        .clone();
    let span = tracing::info_span!("journey", otel.name = %step);
    extract(
        &span,
        &HashMap::from([("traceparent".to_owned(), tp.to_owned())]),
    );
    if caller.is_valid() {
        span.add_link(caller);
    }
    span
}

/// The current span's W3C `traceparent`, to record as a journey's context.
pub fn current_traceparent() -> Option<String> {
    inject(&tracing::Span::current()).remove("traceparent")
}
