//! One customer journey over the four real binaries, on the real Redis and RabbitMQ, in one trace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use komek_e2e::otlp::Receiver;
use komek_e2e::{Mesh, MeshOptions, WAIT};
use komek_testkit::eventually;

/// The Kazakh journey ([`komek_e2e::journey::kazakh`]: web request, agent, billing, resolved,
/// survey with CSAT 1, reopened). The OTLP receiver then holds spans of this journey from all four
/// services under the trace id the customer's first call started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazakh_request_from_intake_to_reopening_survey_in_one_trace() {
    let otlp = Receiver::start().await;
    let mesh = Mesh::start(MeshOptions {
        tag: "journey",
        otlp: Some(otlp.endpoint.clone()),
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    komek_e2e::journey::kazakh(&mesh, &http, "7011234567", Some(&traceparent)).await;

    // One trace across the four services.
    let services: BTreeSet<String> = eventually(
        WAIT,
        "spans of all four services in the journey's trace",
        || {
            let spans = otlp.spans.all();
            async move {
                let s: BTreeSet<String> = spans
                    .iter()
                    .filter(|s| s.trace_id == trace_id)
                    .map(|s| s.service.clone())
                    .collect();
                (s.len() == 4).then_some(s)
            }
        },
    )
    .await;
    assert_eq!(
        services.into_iter().collect::<Vec<_>>(),
        [
            "komek-escalation",
            "komek-intake",
            "komek-survey",
            "komek-workspace"
        ]
    );
    // The logs carry the same trace id.
    assert!(
        mesh.log("intake")
            .contains(&format!("\"trace_id\":\"{trace_id}\""))
    );

    let settings = mesh.settings.clone();
    drop(mesh);
    otlp.stop().await;
    komek_testkit::cleanup(&settings).await;
}
