//! What every Komek HTTP service shares.
//!
//! - [`access`]: who may call what: every route's [`access::Access`] declared once in a table,
//!   enforced before any handler ([`access::enforce`]) and written into the OpenAPI document.
//! - [`error`]: [`Code`], the one table of error codes (status, title, Retry-After), and
//!   [`ApiError`], which answers `application/problem+json` through it.
//! - [`openapi`]: completes each operation of the document with the answers every route shares
//!   (the gate's 401/403, the extractors' 400/413/415/422, 429, 503), all as problem+json.
//! - [`client`]: the client's address (trusting `X-Forwarded-For` only behind our proxy), which
//!   every rate limit counts by.
//! - [`body`]: [`StrictJson`], a JSON body extractor that refuses unknown fields and names the bad
//!   field; oversized bodies get 413.
//! - [`html`]: the customers' server-rendered pages: one CSP, their headers, `/web.css`, the
//!   page chrome (`templates/layout.html`) the page templates extend, and the one form-body parser.
//! - [`i18n`]: `GET /i18n/{lang}.json`, a language's text catalogue for the staff pages (every
//!   service mounts it).
//! - [`page`]: a staff page's embedded files (ES modules), served with one strict Content-Security-Policy.
//! - [`meta`]: `GET /api/v1/meta`, the codes of the domain's enums the staff pages show.
//! - [`ops`]: `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
//! - [`metrics`]: the `komek_*` metrics and the scrape-time reads behind `/metrics`.
//! - [`live`]: the staff pages' WebSocket sessions and the per-replica hub that pushes to them.
//! - [`middleware`]: one span per HTTP request (continuing the caller's trace) and request metrics.
//! - [`service`]: the app factory (`Runtime` -> `Application`) every service's `main` and tests use.
//! - `testing` (feature `testing`, for the services' tests only): a service spawned in-process,
//!   problem+json assertions, requests put straight into the store.

pub mod access;
pub mod body;
pub mod client;
pub mod error;
pub mod html;
pub mod i18n;
pub mod live;
pub mod meta;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod service;
#[cfg(feature = "testing")]
pub mod testing;

pub use body::StrictJson;
pub use error::{ApiError, Code, FieldError};
pub use service::{Application, Runtime, StartError, boot};
