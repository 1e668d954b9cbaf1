//! komek-intake: where every customer request enters Komek.
//!
//! - [`startup`]: the app factory used by `main` and the tests.
//! - [`routes`]: the router and the OpenAPI document of intake's public contract.
//! - [`requests`]: `POST /api/v1/requests` (idempotent acceptance, acknowledgment in the customer's
//!   language, the status token), `GET /api/v1/requests/{number}/public` and
//!   `GET /api/v1/status/{token}` (status for the customer).
//! - [`lookup`]: how a customer finds their request (number + contact, or the status token) and
//!   the limits on failed lookups.
//! - [`links`]: the customer's secrets: status tokens (stored as hashes) and survey links
//!   (derived from the survey id).
//! - [`api`]: the shapes the handlers share: `Accepted`, `PublicStatus`, `ContactQuery`, the
//!   `Idempotency-Key` header.
//! - [`contacts`]: calls and visits logged by an agent, with first-contact resolution.
//! - [`intake`]: a submission validated once ([`intake::Valid`]), then turned into a stored request and its `request.created` event.
//! - [`sms`]: the SMS channel through Kannel: `GET /api/v1/channels/sms/inbound` (its get-url) and
//!   the `sendsms` client.
//! - [`notify`]: the notifier, intake's consumer: every customer-visible message sent on the
//!   request's own channel, deduplicated per (event, recipient), its delivery status published.
//! - [`pages`]: the customer's web pages (askama templates in `templates/`): request form,
//!   confirmation, status page with the conversation and a message form.
//! - [`web_form`]: what those forms do: anti-spam, validation and acceptance, a customer message.
//! - [`messages`]: a customer's message for their request, sent to the workspace as
//!   `request.customer_message` (page and `POST /api/v1/requests/{number}/messages`).
//! - [`antispam`]: rate limits per client address and per contact.
//! - [`email`]: the email channel's outbound mailer (SMTP relay, threaded) and inbound parsing
//!   (MIME, HTML to text, quoted history, which request a reply answers).
//! - [`smtp`]: intake's inbound SMTP listener (`email.smtp_port`): a mail becomes a request or a
//!   customer message on the request it answers.

pub mod antispam;
pub mod api;
pub mod contacts;
pub mod email;
pub mod intake;
pub mod links;
pub mod lookup;
pub mod messages;
pub mod notify;
pub mod pages;
pub mod requests;
pub mod routes;
pub mod sms;
pub mod smtp;
pub mod startup;
pub mod web_form;

#[cfg(test)]
mod fuzz_tests;
