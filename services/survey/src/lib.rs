//! komek-survey: asks the customer how it went once a request is resolved.
//!
//! - [`startup`]: the app factory, used by `main` and tests.
//! - [`consumer`]: `request.resolved` -> a survey with an unguessable, expiring link (once); the
//!   link's token is derived from the survey id, never stored or logged.
//! - [`routes`]: the survey page `GET /s/{token}` in the customer's language, its form's answer
//!   `POST /s/{token}`, and the JSON answer `POST /api/v1/surveys/{token}/responses`; one
//!   [`routes::record`] behind both answers.
//! - [`page`]: the survey page, a no-JavaScript form rendered from askama templates (`templates/`).

pub mod consumer;
pub mod page;
pub mod routes;
pub mod startup;

use sha2::{Digest, Sha256};

/// Surveys are stored under the hash of their token, so a key listing gives no usable link. The
/// token itself is stored nowhere: it is derived from the survey id when a link is shown or sent
/// (`survey.link_secret`, see [`consumer`]).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
