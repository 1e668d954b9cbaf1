//! A store under a fresh prefix, and requests stored as intake stores them.

use komek_domain::events::{Envelope, RequestCreated, kind};
use komek_domain::{Category, Channel, Customer, Email, Msisdn, Request, RequestNumber};
use komek_settings::Settings;
use komek_store::Store;
use komek_store::requests::Created;
use time::OffsetDateTime;

/// A store on the test settings' Redis under a prefix of its own; [`cleanup`] removes its keys.
pub async fn store(tag: &str) -> (Store, Settings) {
    let settings = komek_testkit::test_settings(tag);
    let store = Store::connect(&settings.redis).await.unwrap();
    (store, settings)
}

/// Deletes every key under the test's prefix (this crate touches only Redis).
pub async fn cleanup(settings: &Settings) {
    let store = Store::connect(&settings.redis).await.unwrap();
    store.delete_all().await.unwrap();
}

/// Stores a new request from `phone` and/or `email` on `channel`, created at `created_at`, with
/// its search index entries, as intake does.
pub async fn request(
    store: &Store,
    phone: Option<&str>,
    email: Option<&str>,
    channel: Channel,
    text: &str,
    created_at: OffsetDateTime,
) -> Request {
    let seq = store.next_number().await.unwrap();
    let customer = Customer {
        msisdn: phone.map(|p| Msisdn::parse(p).unwrap()),
        email: email.map(|e| Email::parse(e).unwrap()),
        name: None,
    };
    let r = Request {
        channel,
        category: Category::Billing,
        text: text.to_owned(),
        ..komek_testkit::new_request(RequestNumber::format("KM", seq), customer, created_at)
    };
    let payload = RequestCreated {
        number: r.number.clone(),
        channel,
        language: r.language,
        category: r.category,
        priority: r.priority,
        msisdn: None,
    };
    let history = Request::record("customer:web", "created", None, created_at);
    let event = Envelope::new(kind::REQUEST_CREATED, r.id, &payload, created_at);
    match store
        .create_request(&r, &history, &event, None, 3600)
        .await
        .unwrap()
    {
        Created::New(stored) => stored,
        other => panic!("expected a new request, got {other:?}"),
    }
}
