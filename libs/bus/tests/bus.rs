//! The outbox relay and the consumer loop over the machine's real Redis and RabbitMQ: every event
//! written with a change reaches its consumer, failures end in the parking queue, and a broker
//! that goes away and comes back loses nothing.
//!
//! Each test has its own Redis prefix and AMQP names (`komek_testkit::test_settings`), stops its
//! loops through a watch channel and then removes its keys, queues and exchanges.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use komek_bus::{BusStatus, HandleError, Names};
use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::{Channel, Customer, Lang, Msisdn, Request, RequestNumber};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use secrecy::ExposeSecret;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(30);

/// Tracing with the W3C propagator, once per test binary: spans get real trace ids, so
/// `komek_bus::stamp` and the relay's headers carry a traceparent.
fn telemetry() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Ok(guard) =
            komek_telemetry::init("komek-bus-test", "warn,bus=info,komek_bus=info", None)
        {
            // Lives as long as the test binary.
            std::mem::forget(guard);
        }
    });
}

fn new_request(seq: u64) -> Request {
    let now = OffsetDateTime::now_utc();
    let customer = Customer {
        msisdn: Some(Msisdn::parse("+77051112233").unwrap()),
        email: None,
        name: None,
    };
    Request {
        channel: Channel::Sms,
        language: Lang::Kk,
        text: "Интернет жұмыс істемейді".into(),
        ..komek_testkit::new_request(RequestNumber::format("KM", seq), customer, now)
    }
}

/// A request and its `request.created` event, stamped with the current span's trace context.
fn request_with_event(seq: u64) -> (Request, Envelope) {
    let r = new_request(seq);
    let mut event = Envelope::new(
        kind::REQUEST_CREATED,
        r.id,
        &RequestCreated {
            number: r.number.clone(),
            channel: r.channel,
            language: r.language,
            category: r.category,
            priority: r.priority,
            msisdn: None,
        },
        r.created_at,
    );
    komek_bus::stamp(&mut event);
    (r, event)
}

/// Stores a request with its event in the outbox, as intake does; returns the event id.
async fn write(store: &Store, r: &Request, event: &Envelope) -> Uuid {
    let history = Request::record("customer:sms", "created", None, r.created_at);
    let created = store
        .create_request(r, &history, event, None, 3600)
        .await
        .unwrap();
    assert!(matches!(created, Created::New(_)), "{created:?}");
    event.id
}

/// Writes one unstamped event; returns its id.
async fn write_one(store: &Store, seq: u64) -> Uuid {
    let (r, e) = request_with_event(seq);
    write(store, &r, &e).await
}

/// The relay and one consumer, running until `stop`.
struct Loops {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Shared by both loops: ready when the relay and the consumer are connected.
    status: BusStatus,
}

impl Loops {
    fn start<H, F>(store: &Store, settings: &Settings, handler: H) -> Self
    where
        H: Fn(Envelope) -> F + Send + Sync + 'static,
        F: std::future::Future<Output = Result<(), HandleError>> + Send + 'static,
    {
        let (stop, rx) = watch::channel(false);
        let status = BusStatus::default();
        let relay_task = tokio::spawn(komek_bus::run_relay(
            store.clone(),
            settings.clone(),
            format!("test-relay-{}", Uuid::now_v7().simple()),
            status.clone(),
            rx.clone(),
        ));
        let consumer_task = tokio::spawn(komek_bus::run_consumer(
            settings.clone(),
            "workspace",
            status.clone(),
            handler,
            rx,
        ));
        Self {
            stop,
            tasks: vec![relay_task, consumer_task],
            status,
        }
    }

    /// Waits until the relay and the consumer are connected; each declared the topology first.
    async fn ready(&self) {
        let status = self.status.clone();
        komek_testkit::eventually(WAIT, "the relay and the consumer connected", || {
            let status = status.clone();
            async move { status.is_ready().then_some(()) }
        })
        .await;
    }

    /// Stops both loops and waits for them, so nothing re-declares queues during cleanup.
    async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            tokio::time::timeout(WAIT, t)
                .await
                .expect("loop stops on shutdown")
                .unwrap();
        }
    }
}

async fn channel(settings: &Settings) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(settings.amqp.url.expose_secret(), Default::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    (conn, ch)
}

/// (ready messages, consumers) of a queue, without changing it.
async fn queue_counts(ch: &lapin::Channel, queue: &str) -> (u32, u32) {
    let q = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    (q.message_count(), q.consumer_count())
}

fn ids(seen: &Mutex<Vec<Uuid>>) -> Vec<Uuid> {
    seen.lock().unwrap().clone()
}

/// 30 requests are written with their events inside one traced span, before any loop runs. The
/// relay publishes them and the workspace consumer receives each exactly once: 30 deliveries,
/// 30 distinct envelope ids, nothing left unacked in the queue, and the outbox is empty.
/// The trace goes along: each envelope carries the span's traceparent, the consumer's handler runs
/// in that same trace (the relay put the context in the AMQP headers and the consumer read it
/// back), and the copies in a test's tap queue (bound with `#`) show the `traceparent` header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_and_consumer_deliver_every_event_exactly_once() {
    telemetry();
    let settings = komek_testkit::test_settings("bus-once");
    let store = Store::connect(&settings.redis).await.unwrap();

    let span = tracing::info_span!("journey-under-test");
    let trace_id = komek_telemetry::trace_id(&span);
    assert_ne!(
        trace_id, "00000000000000000000000000000000",
        "telemetry gives spans real ids"
    );
    let batch: Vec<(Request, Envelope)> = {
        let _in_span = span.enter();
        (1..=30).map(request_with_event).collect()
    };
    let mut written = HashSet::new();
    for (r, e) in &batch {
        written.insert(write(&store, r, e).await);
    }
    assert_eq!(store.outbox_len().await.unwrap(), 30);

    let tap = komek_testkit::tap(&settings).await;
    let seen = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let traces = Arc::new(Mutex::new(Vec::<(Option<String>, String)>::new()));
    let (seen2, traces2) = (seen.clone(), traces.clone());
    let loops = Loops::start(&store, &settings, move |env: Envelope| {
        // Runs inside the consumer's span for this delivery.
        let handler_trace = komek_telemetry::trace_id(&tracing::Span::current());
        traces2
            .lock()
            .unwrap()
            .push((env.traceparent.clone(), handler_trace));
        seen2.lock().unwrap().push(env.id);
        async { Ok(()) }
    });

    komek_testkit::eventually(WAIT, "30 events consumed and the outbox drained", || {
        let (seen, store) = (seen.clone(), store.clone());
        async move { (ids(&seen).len() >= 30 && store.outbox_len().await.unwrap() == 0).then_some(()) }
    })
    .await;
    loops.stop().await;

    let (_conn, ch) = channel(&settings).await;
    let names = Names::new(&settings.amqp.prefix);
    let queue = names.queue("workspace");
    // Once the consumer's connection is gone, anything it had not acked would be back as ready.
    komek_testkit::eventually(WAIT, "the consumer has left the queue", || {
        let (ch, queue) = (ch.clone(), queue.clone());
        async move { (queue_counts(&ch, &queue).await.1 == 0).then_some(()) }
    })
    .await;
    assert_eq!(
        queue_counts(&ch, &queue).await.0,
        0,
        "every delivery was acked"
    );

    let seen = ids(&seen);
    assert_eq!(seen.len(), 30, "each event delivered once");
    assert_eq!(seen.iter().copied().collect::<HashSet<_>>(), written);
    assert_eq!(store.outbox_len().await.unwrap(), 0);

    for (traceparent, handler_trace) in traces.lock().unwrap().iter() {
        let tp = traceparent
            .as_deref()
            .expect("the envelope carries the traceparent it was stamped with");
        assert!(tp.contains(&trace_id), "{tp} is not in trace {trace_id}");
        assert_eq!(
            handler_trace, &trace_id,
            "the handler runs in the journey's trace"
        );
    }
    let mut tapped = 0;
    while let Some(msg) = ch
        .basic_get(tap.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let headers = msg
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        let tp = match headers.inner().get("traceparent") {
            Some(AMQPValue::LongString(s)) => s.to_string(),
            other => panic!(
                "no traceparent header on {:?}: {other:?}",
                msg.delivery.properties.message_id()
            ),
        };
        assert!(
            tp.contains(&trace_id),
            "header {tp} is not in trace {trace_id}"
        );
        tapped += 1;
    }
    assert_eq!(tapped, 30, "every published event has a copy in the tap");

    komek_testkit::cleanup(&settings).await;
}

/// A handler that says an event can never be handled (`Reject`) sees it once; the message goes
/// straight to the parking queue, and the service queue is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_event_goes_to_parking() {
    telemetry();
    let settings = komek_testkit::test_settings("bus-reject");
    let store = Store::connect(&settings.redis).await.unwrap();
    let event_id = write_one(&store, 1).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = calls.clone();
    let loops = Loops::start(&store, &settings, move |_env| {
        calls2.fetch_add(1, Ordering::SeqCst);
        async { Err(HandleError::Reject("test: never handleable".into())) }
    });

    loops.ready().await;
    let (_conn, ch) = channel(&settings).await;
    let names = Names::new(&settings.amqp.prefix);
    let parked = parked_envelope(&ch, &names).await;
    loops.stop().await;
    assert_eq!(parked.id, event_id);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a rejected event is not redelivered"
    );
    assert_eq!(queue_counts(&ch, &names.queue("workspace")).await.0, 0);

    komek_testkit::cleanup(&settings).await;
}

/// With `amqp.delivery_limit` = 2 and no in-place retry window, a handler that always asks for a
/// retry sees the event once per delivery: the first and each of the 2 redeliveries; then the
/// broker dead-letters it to the parking queue, and the service queue is empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_retried_past_the_delivery_limit_goes_to_parking() {
    telemetry();
    let mut settings = komek_testkit::test_settings("bus-retry");
    settings.amqp.delivery_limit = 2;
    settings.amqp.retry_window = Duration::ZERO;
    let store = Store::connect(&settings.redis).await.unwrap();
    let event_id = write_one(&store, 1).await;

    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = calls.clone();
    let loops = Loops::start(&store, &settings, move |_env| {
        calls2.fetch_add(1, Ordering::SeqCst);
        async { Err(HandleError::Retry("test: dependency down".into())) }
    });

    loops.ready().await;
    let (_conn, ch) = channel(&settings).await;
    let names = Names::new(&settings.amqp.prefix);
    let parked = parked_envelope(&ch, &names).await;
    loops.stop().await;
    assert_eq!(parked.id, event_id);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "first delivery + delivery_limit redeliveries"
    );
    assert_eq!(queue_counts(&ch, &names.queue("workspace")).await.0, 0);
    // Counted for /metrics (this process's registry, shared with the other tests here: at least
    // this test's two retries and one parking, and its event's publish).
    let count = |c: &Option<prometheus::IntCounterVec>| {
        c.as_ref().unwrap().with_label_values(&["workspace"]).get()
    };
    assert!(count(&komek_bus::metrics::EVENTS_RETRIED) >= 2);
    assert!(count(&komek_bus::metrics::EVENTS_PARKED) >= 1);
    assert!(komek_bus::metrics::RELAY_PUBLISHED.as_ref().unwrap().get() >= 1);

    komek_testkit::cleanup(&settings).await;
}

/// A handler fails transiently twice (Redis away, say) and then succeeds. The consumer retries it
/// in place within `amqp.retry_window_ms`: the third call succeeds, the message is acked, nothing
/// is parked and nothing is left in the queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failure_is_retried_in_place_then_acked() {
    telemetry();
    let mut settings = komek_testkit::test_settings("bus-inplace");
    settings.amqp.retry_window = Duration::from_secs(30);
    let store = Store::connect(&settings.redis).await.unwrap();
    let event_id = write_one(&store, 1).await;

    let calls = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let calls2 = calls.clone();
    let loops = Loops::start(&store, &settings, move |env: Envelope| {
        let n = {
            let mut c = calls2.lock().unwrap();
            c.push(env.id);
            c.len()
        };
        async move {
            if n < 3 {
                Err(HandleError::Retry(format!("test: try {n} fails")))
            } else {
                Ok(())
            }
        }
    });
    komek_testkit::eventually(WAIT, "the third try succeeds", || {
        let calls = calls.clone();
        async move { (ids(&calls).len() >= 3).then_some(()) }
    })
    .await;
    loops.ready().await;
    loops.stop().await;

    let (_conn, ch) = channel(&settings).await;
    let names = Names::new(&settings.amqp.prefix);
    komek_testkit::eventually(WAIT, "the consumer has left the queue", || {
        let (ch, queue) = (ch.clone(), names.queue("workspace"));
        async move { (queue_counts(&ch, &queue).await.1 == 0).then_some(()) }
    })
    .await;
    assert_eq!(
        ids(&calls),
        vec![event_id; 3],
        "one event, handled on the third try"
    );
    assert_eq!(
        queue_counts(&ch, &names.queue("workspace")).await.0,
        0,
        "acked, not requeued"
    );
    assert_eq!(queue_counts(&ch, &names.parking).await.0, 0, "not parked");

    komek_testkit::cleanup(&settings).await;
}

/// Waits for one message in the parking queue and returns its envelope. The relay has declared
/// the topology by then (`Loops::ready`), so the queue exists.
async fn parked_envelope(ch: &lapin::Channel, names: &Names) -> Envelope {
    let msg = komek_testkit::eventually(WAIT, "the event in the parking queue", || {
        let (ch, parking) = (ch.clone(), names.parking.clone());
        async move {
            ch.basic_get(parking.as_str().into(), BasicGetOptions { no_ack: true })
                .await
                .unwrap()
        }
    })
    .await;
    Envelope::decode(&msg.delivery.data).unwrap()
}

/// The relay and the consumer reach RabbitMQ through a proxy. Events are written before the
/// proxy is cut, while it is cut (before and after the loops noticed), and after it is restored.
/// Events written while the broker is away wait in the outbox. After the restore, every event
/// written is consumed and the outbox is empty.
///
/// Delivery is at least once: a publish whose confirm was lost in the cut is published again, and
/// a delivery whose ack was lost is redelivered, each with the same envelope id (consumers
/// deduplicate by it). So this test counts distinct envelope ids: all written ones are seen, and
/// nothing else is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_survives_a_cut_broker() {
    telemetry();
    let direct = komek_testkit::test_settings("bus-cut");
    let target: SocketAddr = "127.0.0.1:5672".parse().unwrap();
    let proxy = komek_testkit::proxy::TcpProxy::start(target).await;
    let mut settings = direct.clone();
    settings.amqp.url = format!("amqp://guest:guest@{}/%2f", proxy.addr).into();
    settings.amqp.reconnect_max = Duration::from_millis(500);
    let store = Store::connect(&settings.redis).await.unwrap();

    let seen = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let seen2 = seen.clone();
    let loops = Loops::start(&store, &settings, move |env: Envelope| {
        seen2.lock().unwrap().push(env.id);
        async { Ok(()) }
    });
    let distinct = |seen: &Arc<Mutex<Vec<Uuid>>>| ids(seen).into_iter().collect::<HashSet<_>>();

    let mut written = HashSet::new();
    for seq in 1..=10 {
        written.insert(write_one(&store, seq).await);
    }
    komek_testkit::eventually(
        WAIT,
        "the first 10 events consumed through the proxy",
        || {
            let (seen, written) = (seen.clone(), written.clone());
            async move { (distinct(&seen) == written).then_some(()) }
        },
    )
    .await;

    proxy.cut();
    for seq in 11..=20 {
        written.insert(write_one(&store, seq).await);
    }
    let status = loops.status.clone();
    komek_testkit::eventually(
        WAIT,
        "the relay or the consumer notices the broker is gone",
        || {
            let status = status.clone();
            async move { (!status.is_ready()).then_some(()) }
        },
    )
    .await;
    for seq in 21..=30 {
        written.insert(write_one(&store, seq).await);
    }
    assert!(
        store.outbox_len().await.unwrap() >= 20,
        "events written during the cut wait in the outbox"
    );

    proxy.restore();
    for seq in 31..=40 {
        written.insert(write_one(&store, seq).await);
    }
    komek_testkit::eventually(
        WAIT,
        "all 40 events consumed and the outbox drained",
        || {
            let (seen, written, store) = (seen.clone(), written.clone(), store.clone());
            async move {
                (distinct(&seen) == written && store.outbox_len().await.unwrap() == 0).then_some(())
            }
        },
    )
    .await;
    loops.stop().await;

    let seen = ids(&seen);
    assert_eq!(written.len(), 40);
    assert_eq!(
        distinct_of(&seen),
        written,
        "every written event was consumed, and nothing else"
    );
    assert!(
        seen.len() >= 40,
        "at least once: {} deliveries for 40 events",
        seen.len()
    );

    komek_testkit::cleanup(&direct).await;
}

fn distinct_of(seen: &[Uuid]) -> HashSet<Uuid> {
    seen.iter().copied().collect()
}

/// Publishes `kind` (a bare envelope with a new request id) to the test's exchange; returns its id.
async fn publish(ch: &lapin::Channel, names: &Names, kind: &str) -> Uuid {
    let env = Envelope::new(
        kind,
        komek_domain::RequestId::new(),
        &serde_json::json!({}),
        OffsetDateTime::now_utc(),
    );
    ch.basic_publish(
        names.exchange.as_str().into(),
        kind.into(),
        Default::default(),
        &serde_json::to_vec(&env).unwrap(),
        Default::default(),
    )
    .await
    .unwrap()
    .await
    .unwrap();
    env.id
}

/// A live feed bound to `request.queued` and `escalation.*` hears those and nothing else: after
/// its queue is bound, a `request.created`, an `offer.made`, an `escalation.accepted` and a
/// `request.queued` are published in that order on one channel; once the last has arrived (the
/// broker keeps one publisher's order in a queue), the feed has seen exactly the escalation
/// event and the queued one. The two unbound kinds never reached its queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_feed_hears_only_its_keys() {
    let settings = komek_testkit::test_settings("bus-fanout");
    let names = Names::new(&settings.amqp.prefix);
    let (_conn, ch) = channel(&settings).await;
    komek_bus::topology::declare(&ch, &names, settings.amqp.delivery_limit)
        .await
        .unwrap();

    let seen = Arc::new(Mutex::new(Vec::<(String, Uuid)>::new()));
    let (stop, rx) = watch::channel(false);
    let for_feed = seen.clone();
    let feed = tokio::spawn(komek_bus::run_fanout(
        settings.clone(),
        "test-fanout".into(),
        vec![kind::REQUEST_QUEUED.into(), "escalation.*".into()],
        move |env: Envelope| {
            for_feed.lock().unwrap().push((env.kind.clone(), env.id));
            async {}
        },
        rx,
    ));
    // The feed's queue is bound once one of these probes gets through.
    let probes = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    komek_testkit::eventually(WAIT, "the live feed bound", || {
        let (ch, names, seen, probes) = (ch.clone(), names.clone(), seen.clone(), probes.clone());
        async move {
            let id = publish(&ch, &names, kind::REQUEST_QUEUED).await;
            let probes = {
                let mut p = probes.lock().unwrap();
                p.push(id);
                p.clone()
            };
            let seen = seen.lock().unwrap();
            seen.iter().any(|(_, s)| probes.contains(s)).then_some(())
        }
    })
    .await;
    seen.lock().unwrap().clear();

    publish(&ch, &names, kind::REQUEST_CREATED).await;
    publish(&ch, &names, kind::OFFER_MADE).await;
    let accepted = publish(&ch, &names, kind::ESCALATION_ACCEPTED).await;
    let last = publish(&ch, &names, kind::REQUEST_QUEUED).await;
    komek_testkit::eventually(WAIT, "the last event reached the feed", || {
        let seen = seen.clone();
        async move {
            seen.lock()
                .unwrap()
                .iter()
                .any(|(_, s)| *s == last)
                .then_some(())
        }
    })
    .await;
    let got: Vec<(String, Uuid)> = seen
        .lock()
        .unwrap()
        .iter()
        // Probes of the binding loop above may still arrive: they are request.queued too.
        .filter(|(k, id)| k != kind::REQUEST_QUEUED || *id == last)
        .cloned()
        .collect();
    assert_eq!(
        got,
        vec![
            (kind::ESCALATION_ACCEPTED.to_owned(), accepted),
            (kind::REQUEST_QUEUED.to_owned(), last),
        ],
        "only the bound kinds reach the feed"
    );
    let _ = stop.send(true);
    tokio::time::timeout(WAIT, feed)
        .await
        .expect("the feed stops on shutdown")
        .unwrap();
    komek_testkit::cleanup(&settings).await;
}

/// A broker upgraded from a version with the `{p}.audit` queue: `declare` removes that queue
/// (and declaring again, when it is gone, still succeeds on the same channel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declare_removes_the_retired_audit_queue() {
    let settings = komek_testkit::test_settings("bus-retired");
    let names = Names::new(&settings.amqp.prefix);
    let audit = format!("{}.audit", settings.amqp.prefix);
    assert_eq!(names.retired_queues(), vec![audit.clone()]);
    let (conn, ch) = channel(&settings).await;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert("x-max-length".into(), AMQPValue::LongLongInt(100_000));
    ch.queue_declare(
        audit.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        args,
    )
    .await
    .unwrap();

    komek_bus::topology::declare(&ch, &names, settings.amqp.delivery_limit)
        .await
        .unwrap();
    komek_bus::topology::declare(&ch, &names, settings.amqp.delivery_limit)
        .await
        .unwrap();
    // A passive declare of a missing queue closes its channel: use one of its own.
    let probe = conn.create_channel().await.unwrap();
    let gone = probe
        .queue_declare(
            audit.as_str().into(),
            QueueDeclareOptions {
                passive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await;
    assert!(gone.is_err(), "the old audit queue is gone: {gone:?}");
    assert!(!names.all_queues().contains(&audit));
    komek_testkit::cleanup(&settings).await;
}

/// With no queue bound to a type no service consumes (no live feed is running here), its event
/// still leaves the outbox: the relay publishes such types without `mandatory`, so the broker
/// drops it instead of returning it and stalling the relay. A consumed type in the same outbox is
/// delivered as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_only_live_feeds_bind_does_not_stall_the_relay() {
    let settings = komek_testkit::test_settings("bus-unbound");
    let store = Store::connect(&settings.redis).await.unwrap();
    let (r, mut queued) = request_with_event(1);
    queued.kind = kind::REQUEST_QUEUED.to_owned();
    write(&store, &r, &queued).await;
    let created = write_one(&store, 2).await;
    let seen = Arc::new(Mutex::new(Vec::<Uuid>::new()));
    let seen2 = seen.clone();
    let loops = Loops::start(&store, &settings, move |env: Envelope| {
        seen2.lock().unwrap().push(env.id);
        async { Ok(()) }
    });
    komek_testkit::eventually(WAIT, "the outbox drained", || {
        let (seen, store) = (seen.clone(), store.clone());
        async move {
            (ids(&seen).contains(&created) && store.outbox_len().await.unwrap() == 0).then_some(())
        }
    })
    .await;
    loops.stop().await;
    assert_eq!(
        ids(&seen),
        vec![created],
        "request.queued goes to no service queue"
    );
    komek_testkit::cleanup(&settings).await;
}
