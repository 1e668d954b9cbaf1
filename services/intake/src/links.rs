//! The secrets a customer is given: the status token (with the acknowledgment) and the survey
//! link (once the request is resolved). Neither is stored or logged in clear: a status token is
//! kept as its SHA-256 only ([`komek_store::Keys::status_token`]), a survey link is derived again
//! from the survey id each time it is shown or sent ([`komek_settings::SurveySettings::token`]).

use base64::Engine;
use komek_domain::{Request, RequestId, Status};
use komek_settings::Settings;
use komek_store::requests::Created;
use komek_store::{Store, StoreError};
use sha2::{Digest, Sha256};

/// The hash a status token is stored and found under.
pub fn status_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether `token` could be a status token (43 URL-safe characters as issued; a little slack
/// either way), before any Redis read.
pub fn well_formed(token: &str) -> bool {
    (32..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new status token for request `id`: 256 random bits, base64url; only its hash is stored.
pub async fn issue_status_token(store: &Store, id: RequestId) -> Result<String, StoreError> {
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    store.add_status_token(&status_hash(&token), id).await?;
    Ok(token)
}

/// The status token to give back for an accepted submission: a new request gets one, and so
/// does a retry with the same idempotency key (the client may have lost the first answer; the
/// token is not stored, so a fresh one is issued). A submission joined to another open request
/// (a duplicate) gets none: whoever knows a phone number and a text must not get a way into
/// that request.
pub async fn status_token_for(
    store: &Store,
    created: &Created,
    idempotency_key: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let id = match created {
        Created::New(r) => r.id,
        Created::Replayed(r) => {
            let Some(key) = idempotency_key else {
                return Ok(None);
            };
            match store.idempotency(key).await? {
                Some(rec) if rec.request_id == r.id => r.id,
                _ => return Ok(None),
            }
        }
        Created::KeyReused => return Ok(None),
    };
    issue_status_token(store, id).await.map(Some)
}

/// The survey link of request `id`, if the survey service has made one: derived from the survey
/// id kept at `survey:req:{id}`.
pub async fn survey_link(
    store: &Store,
    settings: &Settings,
    id: RequestId,
) -> Result<Option<String>, StoreError> {
    let Some(kept) = store
        .get_string(&store.keys().survey_of_request(id))
        .await?
    else {
        return Ok(None);
    };
    Ok(match kept.parse::<uuid::Uuid>() {
        Ok(survey) => Some(settings.survey.link_for(survey)),
        // Written before links were derived: the token itself, until it expires (survey.ttl).
        Err(_) if well_formed(&kept) => Some(settings.survey.link(&kept)),
        Err(_) => None,
    })
}

/// [`survey_link`] for the customer's status: only once the request is resolved or closed.
pub async fn survey_url(
    store: &Store,
    settings: &Settings,
    r: &Request,
) -> Result<Option<String>, StoreError> {
    if r.status != Status::Resolved && r.status != Status::Closed {
        return Ok(None);
    }
    survey_link(store, settings, r.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_tokens_are_recognised_before_any_read() {
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([7u8; 32]);
        assert!(well_formed(&token));
        assert!(!well_formed("KM-000001"));
        assert!(!well_formed(&format!("{}=", &token[..40])));
        assert!(!well_formed(&"a".repeat(65)));
        assert_eq!(status_hash(&token).len(), 64);
    }
}
