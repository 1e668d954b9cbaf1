//! A survey link is the customer's only credential for their survey: it is stored nowhere and
//! logged nowhere (docs/security.md, "6. Survey links").

use std::sync::{Arc, Mutex};

use komek_domain::events::{Envelope, RequestResolved, kind};
use komek_domain::{Lang, RequestId, RequestNumber};
use komek_store::Store;
use time::OffsetDateTime;
use tracing::instrument::WithSubscriber;

/// What the consumer logs, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// After a resolution the survey consumer makes a survey. Its link still opens the survey (its
/// token hashes to the stored survey), yet no value under the test's prefix holds the token
/// (`survey:req:{id}` keeps the survey id) and the consumer's log line names neither the token
/// nor the link.
#[tokio::test(flavor = "multi_thread")]
async fn the_survey_token_is_stored_and_logged_nowhere() {
    let settings = komek_testkit::test_settings("survey-secrets");
    let store = Store::connect(&settings.redis).await.unwrap();
    let request_id = RequestId::new();
    let resolved = RequestResolved {
        number: RequestNumber("KM-000042".into()),
        language: Lang::Ru,
        resolution: "Reset the APN settings".into(),
        agent: "daniyar".into(),
        escalation_id: None,
    };
    let env = Envelope::new(
        kind::REQUEST_RESOLVED,
        request_id,
        &resolved,
        OffsetDateTime::now_utc(),
    );

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    komek_survey::consumer::handle(store.clone(), settings.clone(), env)
        .with_subscriber(subscriber)
        .await
        .unwrap();

    let kept = store
        .get_string(&store.keys().survey_of_request(request_id))
        .await
        .unwrap()
        .expect("survey:req is written");
    let survey_id: uuid::Uuid = kept.parse().expect("survey:req keeps the survey id");
    let token = settings.survey.token(survey_id);
    let link = settings.survey.link(&token);
    let survey = store
        .survey(&komek_survey::token_hash(&token))
        .await
        .unwrap()
        .expect("the derived link opens the survey");
    assert_eq!(survey.request_id, request_id);

    for (key, value) in komek_testkit::stored_text(&settings).await {
        assert!(!value.contains(&token), "{key} holds the survey token");
        assert!(!key.contains(&token), "{key} names the survey token");
    }
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("survey created"), "{logged}");
    assert!(
        !logged.contains(&token),
        "the log holds the token: {logged}"
    );
    assert!(!logged.contains(&link), "the log holds the link: {logged}");
    assert!(!logged.contains("/s/"), "the log holds a link: {logged}");

    komek_testkit::cleanup(&settings).await;
}
