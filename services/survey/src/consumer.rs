//! `request.resolved` -> one survey per resolution, with an unguessable token.
//!
//! The token is derived from the survey's id with `survey.link_secret`
//! ([`komek_settings::SurveySettings::token`]), so nothing stores it: the survey is kept under
//! the token's hash, `survey:req:{id}` keeps the survey id, and whoever shows or sends the link
//! (the status page, the notifier) computes it again. Neither the token nor a link is ever logged.

use komek_bus::HandleError;
use komek_domain::events::{Envelope, RequestChanged, RequestResolved, kind};
use komek_domain::survey::Survey;
use komek_settings::Settings;
use komek_store::{Op, Outcome, Store};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn handle(store: Store, settings: Settings, env: Envelope) -> Result<(), HandleError> {
    if env.kind != kind::REQUEST_RESOLVED {
        return Err(HandleError::Reject(format!(
            "survey does not handle {}",
            env.kind
        )));
    }
    let p: RequestResolved = env
        .payload()
        .map_err(|e| HandleError::Reject(e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let survey = Survey {
        id: Uuid::now_v7(),
        request_id: env.request_id,
        number: p.number.clone(),
        language: p.language,
        created_at: now,
        expires_at: now + settings.survey.ttl,
        answer: None,
        trace: env.traceparent.clone(),
    };
    let mut event = Envelope::new(
        kind::SURVEY_CREATED,
        env.request_id,
        &RequestChanged {
            number: p.number.clone(),
            actor: "system:survey".into(),
            detail: None,
        },
        now,
    );
    komek_bus::stamp(&mut event);
    // 256 bits nobody can compute without the secret: the link is the only credential a customer has.
    let token = settings.survey.token(survey.id);
    let k = store.keys();
    let ttl = settings.survey.ttl.as_secs();
    let outcome = store
        .create_doc(
            &k.survey(&crate::token_hash(&token)),
            &survey,
            Some(&event),
            Some(k.handled("survey", env.id)),
            vec![Op::Set {
                key: k.survey_of_request(env.request_id),
                value: survey.id.to_string(),
                ttl_secs: ttl,
            }],
        )
        .await
        .map_err(|e| HandleError::Retry(e.to_string()))?;
    match outcome {
        Outcome::Done { .. } => {
            tracing::info!(request_id = %env.request_id, number = %p.number, survey_id = %survey.id, "survey created");
            Ok(())
        }
        Outcome::Duplicate | Outcome::Conflict { .. } => Ok(()),
        Outcome::Precondition(i) => Err(HandleError::Reject(format!("precondition {i} failed"))),
    }
}
