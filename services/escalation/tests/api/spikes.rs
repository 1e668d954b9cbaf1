//! Spike detection from a generated stream of `request.created` events, fed through the real
//! outbox relay, RabbitMQ and the escalation consumer: a day of normal traffic stays quiet, a
//! burst in one category and region opens exactly one candidate problem.

use std::sync::Arc;

use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::problem::{Problem, ProblemStatus};
use komek_domain::{Category, Channel, Lang, Priority, RequestId, RequestNumber};
use komek_escalation::Deps;
use komek_store::problems::ProblemFilter;
use komek_web::testing::{Fixture, stored_request};
use redis::AsyncCommands;
use time::{Duration, OffsetDateTime};

use crate::helpers::WAIT;

/// A small deterministic generator (Knuth's MMIX LCG): the same stream on every run.
struct Lcg(u64);

impl Lcg {
    /// Uniform in (0, 1].
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

/// The demo directory's customers (seeded) by region, and a number it does not know.
const ALMATY: &str = "+77011234567";
const ASTANA: &str = "+77051112233";
const SHYMKENT: &str = "+77771234567";
const UNKNOWN: &str = "+77009998877";

/// One generated new request: when, what, from whom (`None`: no stored request at all).
struct Arrival {
    at: OffsetDateTime,
    category: Category,
    msisdn: Option<&'static str>,
}

/// Normal traffic: Poisson arrivals per (category, customer) at `per_window` requests per 15
/// minutes, from `start` to `end`.
fn normal_traffic(rng: &mut Lcg, start: OffsetDateTime, end: OffsetDateTime) -> Vec<Arrival> {
    let streams: [(Category, Option<&'static str>, f64); 9] = [
        (Category::Network, Some(ALMATY), 1.5),
        (Category::Network, Some(ASTANA), 1.0),
        (Category::Network, Some(UNKNOWN), 0.8),
        (Category::Billing, Some(ALMATY), 1.2),
        (Category::Billing, Some(SHYMKENT), 0.7),
        (Category::Billing, None, 1.0),
        (Category::Internet, Some(ASTANA), 0.9),
        (Category::Internet, Some(SHYMKENT), 0.6),
        (Category::Roaming, None, 0.4),
    ];
    let mut out = Vec::new();
    for (category, msisdn, per_window) in streams {
        let mean_gap_secs = 15.0 * 60.0 / per_window;
        let mut at = start;
        loop {
            at += Duration::seconds_f64(-rng.next().ln() * mean_gap_secs);
            if at >= end {
                break;
            }
            out.push(Arrival {
                at,
                category,
                msisdn,
            });
        }
    }
    out
}

/// The `request.created` event of `arrival`, for a stored request (or a made-up id when none).
async fn event(store: &komek_store::Store, a: &Arrival) -> Envelope {
    let (id, number) = match a.msisdn {
        Some(msisdn) => {
            let r = stored_request(
                store,
                "Нет связи",
                Channel::Sms,
                Fixture {
                    msisdn,
                    language: Some(Lang::Ru),
                    category: a.category,
                    ..Fixture::default()
                },
            )
            .await;
            (r.id, r.number)
        }
        None => (RequestId::new(), RequestNumber("KM-000000-000000".into())),
    };
    let payload = RequestCreated {
        number,
        channel: Channel::Sms,
        language: Lang::Ru,
        category: a.category,
        priority: Priority::Normal,
        msisdn: None,
    };
    Envelope::new(kind::REQUEST_CREATED, id, &payload, a.at)
}

/// Counted so far across every spike key (each request once).
async fn counted(store: &komek_store::Store) -> u64 {
    let mut c = store.conn();
    let keys: Vec<String> = c
        .keys(format!("{}:spike:recent:*", store.keys().prefix()))
        .await
        .unwrap();
    let mut n = 0;
    for k in keys {
        let card: u64 = c.zcard(&k).await.unwrap();
        n += card;
    }
    n
}

/// A day of normal traffic in several categories and regions (some requests absent from the
/// store: region unknown), then 30 network requests from Almaty in 13 minutes. Every event goes
/// through the outbox, the relay, RabbitMQ and the consumer. Exactly one candidate problem opens,
/// for network in Almaty, department network, with the burst linked to it; a redelivered event
/// changes no count and opens nothing more.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_opens_one_candidate_and_normal_traffic_none() {
    let mut settings = komek_testkit::test_settings("esc-spikes");
    settings.spikes.enabled = true;
    settings.spikes.by_region = true;
    settings.spikes.window_minutes = 15;
    settings.spikes.baseline_windows = 96;
    settings.spikes.min_count = 10;
    settings.spikes.factor = 3.0;
    settings.spikes.sigmas = 4.0;
    let store = komek_store::Store::connect(&settings.redis).await.unwrap();
    store.seed_demo(|p| p.to_owned()).await.unwrap();

    let now = OffsetDateTime::now_utc();
    let mut rng = Lcg(20_240_601);
    let mut arrivals = normal_traffic(&mut rng, now - Duration::hours(24), now);
    let burst_start = now - Duration::minutes(14);
    for i in 0..30 {
        arrivals.push(Arrival {
            at: burst_start + Duration::seconds(26 * i),
            category: Category::Network,
            msisdn: Some(ALMATY),
        });
    }
    arrivals.sort_by_key(|a| a.at);
    let mut events = Vec::with_capacity(arrivals.len());
    for a in &arrivals {
        events.push(event(&store, a).await);
    }
    // The stored requests' own `request.created` (stamped now) are not the stream under test.
    let _: () = store.conn().del(store.keys().outbox()).await.unwrap();
    for e in &events {
        store.enqueue_event(e).await.unwrap();
    }

    let started = std::time::Instant::now();
    let mut app =
        komek_web::testing::spawn(settings.clone(), komek_escalation::startup::build).await;
    let total = events.len() as u64;
    komek_testkit::eventually(WAIT, "every request.created counted", || {
        let store = store.clone();
        async move { (counted(&store).await == total).then_some(()) }
    })
    .await;
    eprintln!(
        "{total} request.created events through RabbitMQ and the consumer in {:?}",
        started.elapsed()
    );

    let all = ProblemFilter {
        statuses: vec![],
        department: None,
        limit: 100,
    };
    // Counting comes before the candidate in the handler: a counted event's candidate may still
    // be on its way, so wait for it (that no second one opens is checked after the burst joined).
    let problems: Vec<Problem> = komek_testkit::eventually(WAIT, "the candidate opened", || {
        let (store, all) = (store.clone(), all.clone());
        async move {
            let found = store.problems(&all).await.unwrap();
            (!found.is_empty()).then_some(found)
        }
    })
    .await;
    assert_eq!(problems.len(), 1, "one spike, one candidate: {problems:#?}");
    let p = &problems[0];
    assert_eq!(p.status, ProblemStatus::Candidate);
    assert_eq!(p.created_by, "system:spike");
    assert_eq!(p.category, Some(Category::Network));
    assert_eq!(p.region.as_deref(), Some("Almaty"));
    assert_eq!(p.department.as_deref(), Some("network"));
    assert!(p.title.starts_with("Spike: "), "{}", p.title);
    let spike = p.spike.clone().unwrap();
    assert!(
        spike.baseline_mean > 0.5 && spike.baseline_mean < 3.0,
        "{spike:?}"
    );
    assert!(spike.count as f64 >= spike.threshold);
    // The candidate links the window that fired and every later burst request. The consumer
    // handles several deliveries at once, so wait for the burst's own requests, not a count.
    let burst_ids: Vec<RequestId> = events
        .iter()
        .filter(|e| e.occurred_at >= burst_start)
        .filter(|e| e.payload::<RequestCreated>().unwrap().category == Category::Network)
        .map(|e| e.request_id)
        .collect();
    komek_testkit::eventually(WAIT, "every burst request linked to the candidate", || {
        let store = store.clone();
        let (id, burst_ids) = (p.id, burst_ids.clone());
        async move {
            let linked = store.problem_request_ids(id).await.unwrap();
            let burst_almaty = burst_ids.iter().filter(|b| linked.contains(b)).count();
            (burst_almaty >= 30).then_some(())
        }
    })
    .await;

    // The window was linked once; later requests of the key link only themselves.
    assert!(
        store
            .get_string(&store.keys().spike_backfilled(p.id))
            .await
            .unwrap()
            .is_some(),
        "the candidate's window is marked linked"
    );

    // A redelivery (same event again, handled directly) counts nothing twice and opens nothing.
    let deps = Arc::new(Deps {
        store: store.clone(),
        settings: settings.clone(),
    });
    let last = events.last().unwrap().clone();
    komek_escalation::spikes::on_request_created(deps.clone(), last.clone())
        .await
        .unwrap();
    komek_escalation::spikes::on_request_created(deps, last)
        .await
        .unwrap();
    assert_eq!(counted(&store).await, total);
    let counts: Vec<u64> = store
        .conn()
        .hvals(store.keys().spike_counts("network", "Almaty"))
        .await
        .unwrap();
    let in_windows: u64 = counts.iter().sum();
    let recent: u64 = store
        .conn()
        .zcard(store.keys().spike_recent("network", "Almaty"))
        .await
        .unwrap();
    assert_eq!(in_windows, recent, "window counts match the ids counted");
    assert_eq!(store.problems(&all).await.unwrap().len(), 1);

    app.stop().await;
    komek_testkit::cleanup(&settings).await;
}
