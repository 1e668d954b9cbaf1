//! The error code table: every error a client can see, its HTTP status, its title and whether it
//! carries `Retry-After`, declared once in [`Code`] (in the style of meilisearch's error table).
//! Every error body is built from it by [`ApiError`]'s `ResponseError`; nothing else writes
//! problem+json by hand. Causes are logged here with their chain; the client sees only the safe
//! message.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Whether an answer with a code tells the client when to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// No `Retry-After`: trying again the same way will not help.
    Never,
    /// `Retry-After` with this many seconds.
    After(u64),
    /// `Retry-After` with the seconds the error carries (the rest of a rate-limit window).
    Given,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The stable `code` of the body, and the last segment of its `type` URI.
    pub code: &'static str,
    pub status: StatusCode,
    pub title: &'static str,
    pub retry: Retry,
}

/// Declares [`Code`] and its table from one list, so a code cannot be added without its status,
/// title and retry rule.
macro_rules! codes {
    ($( $(#[doc = $doc:literal])+ $variant:ident = $code:tt, $status:ident, $title:literal, $retry:expr; )+) => {
        /// Every error code a client can see. The `code` of a problem+json body is one of these;
        /// README.md's error table lists them with their meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[schema(as = ProblemCode)]
        pub enum Code {
            $( $(#[doc = $doc])+ #[serde(rename = $code)] $variant, )+
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The code's row: its string, HTTP status, title and retry rule.
            pub const fn row(self) -> Row {
                match self {
                    $(Code::$variant => Row {
                        code: $code,
                        status: StatusCode::$status,
                        title: $title,
                        retry: $retry,
                    },)+
                }
            }
        }
    };
}

/// Seconds a client waits before trying again when the data store is away.
const UNAVAILABLE_RETRY_SECS: u64 = 2;

codes! {
    /// The request is malformed: a body that is not JSON, an unknown field, a bad query.
    BadRequest = "bad_request", BAD_REQUEST, "Bad request", Retry::Never;
    /// Some fields are not valid; `errors` lists each with its message.
    InvalidFields = "invalid_fields", UNPROCESSABLE_ENTITY, "Invalid fields", Retry::Never;
    /// The body is larger than the endpoint accepts.
    TooLarge = "too_large", PAYLOAD_TOO_LARGE, "Body too large", Retry::Never;
    /// The body has another content type than the endpoint accepts.
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", Retry::Never;
    /// No valid bearer token, or a wrong login or password.
    Unauthorized = "unauthorized", UNAUTHORIZED, "Unauthorized", Retry::Never;
    /// The caller's role or department may not do this.
    Forbidden = "forbidden", FORBIDDEN, "Forbidden", Retry::Never;
    /// No such thing (or not one the caller may see).
    NotFound = "not_found", NOT_FOUND, "Not found", Retry::Never;
    /// The path exists, but not with this method; `Allow` lists the ones it has.
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed", Retry::Never;
    /// A conflict with no more specific code (before the codes below, every 409 said this).
    Conflict = "conflict", CONFLICT, "Conflict", Retry::Never;
    /// This was already done (a repeated write, or a precondition that no longer holds).
    AlreadyDone = "already_done", CONFLICT, "Already done", Retry::Never;
    /// The record kept changing while it was being saved; trying again may succeed.
    Contended = "contended", CONFLICT, "Changed while saving", Retry::Never;
    /// The request's status does not allow this step (e.g. resolving an escalated request).
    InvalidTransition = "invalid_transition", CONFLICT, "Not in this status", Retry::Never;
    /// Another agent took the request, or it moved on, since it was offered or read.
    TakenMeanwhile = "taken_meanwhile", CONFLICT, "Taken meanwhile", Retry::Never;
    /// The agent already works as many requests as their capacity allows.
    AtCapacity = "at_capacity", CONFLICT, "At capacity", Retry::Never;
    /// The request is not offered to the caller (the offer may have expired).
    NotOffered = "not_offered", CONFLICT, "Not offered to you", Retry::Never;
    /// The request does not wait for this escalation (another one is current, or none).
    EscalationNotCurrent = "escalation_not_current", CONFLICT, "Not the current escalation", Retry::Never;
    /// The department has not asked anything that is still unanswered.
    NothingAsked = "nothing_asked", CONFLICT, "Nothing asked", Retry::Never;
    /// The request is resolved or closed: there is nothing left to resolve.
    RequestNotOpen = "request_not_open", CONFLICT, "Request not open", Retry::Never;
    /// The request is closed: the customer makes a new request instead.
    RequestClosed = "request_closed", CONFLICT, "Request closed", Retry::Never;
    /// The request belongs to another open problem; unlink it there first.
    LinkedElsewhere = "linked_elsewhere", CONFLICT, "Linked to another problem", Retry::Never;
    /// Customer data comes from Billing/CRM (`customers.source = "http"`), not the built-in directory.
    ExternalSource = "external_source", CONFLICT, "Customer data is external", Retry::Never;
    /// The survey is already answered.
    AlreadyAnswered = "already_answered", CONFLICT, "Already answered", Retry::Never;
    /// The problem's status does not allow this step (e.g. resolving a dismissed problem).
    InvalidProblemTransition = "invalid_problem_transition", CONFLICT, "Problem not in this status", Retry::Never;
    /// The escalation's status does not allow this step (e.g. answering it twice).
    InvalidEscalationTransition = "invalid_escalation_transition", CONFLICT, "Escalation not in this status", Retry::Never;
    /// The person exists but is not department staff (staff settings change only department staff).
    NotDepartmentStaff = "not_department_staff", CONFLICT, "Not department staff", Retry::Never;
    /// This Idempotency-Key was already used with another request body.
    IdempotencyKeyReused = "idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency-Key reused", Retry::Never;
    /// Too many requests from this contact or address; `Retry-After` says when the window ends.
    RateLimited = "rate_limited", TOO_MANY_REQUESTS, "Too many requests", Retry::Given;
    /// The service cannot reach its data store; `Retry-After` says when to try again.
    Unavailable = "unavailable", SERVICE_UNAVAILABLE, "Service unavailable", Retry::After(UNAVAILABLE_RETRY_SECS);
    /// Something went wrong on our side; it has been logged.
    Internal = "internal", INTERNAL_SERVER_ERROR, "Internal error", Retry::Never;
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        self.row().code
    }

    pub const fn status(self) -> StatusCode {
        self.row().status
    }

    pub const fn title(self) -> &'static str {
        self.row().title
    }

    /// The problem type URI.
    pub fn type_uri(self) -> String {
        format!("https://komek.kz/problems/{}", self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One bad field of a request body or query.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// An error as a handler returns it: its [`Code`] and what the client is told.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    BadRequest {
        field: Option<String>,
        message: String,
    },
    #[error("some fields are not valid")]
    Invalid(Vec<FieldError>),
    #[error("the request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// The content type the endpoint wants, e.g. `application/json`.
    #[error("the request body must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("sign in first: {0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// A 403 naming what was refused, one entry per item (e.g. the request numbers a department
    /// may not link), in `errors` like a 422's fields.
    #[error("{0}")]
    ForbiddenItems(&'static str, Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this path does not take this method")]
    MethodNotAllowed,
    /// A 409 of the kind `code` names (one of the codes with status 409), with its message.
    #[error("{1}")]
    Conflict(Code, String),
    #[error("this Idempotency-Key was already used with another request body")]
    IdempotencyMismatch,
    #[error("too many requests from this contact or address; try again later")]
    RateLimited { retry_after_secs: u64 },
    #[error("the service cannot reach its data store; try again shortly")]
    Unavailable,
    #[error("something went wrong on our side; it has been logged")]
    Internal,
}

impl ApiError {
    /// The error's row in the table.
    pub fn code(&self) -> Code {
        match self {
            ApiError::BadRequest { .. } => Code::BadRequest,
            ApiError::Invalid(_) => Code::InvalidFields,
            ApiError::TooLarge { .. } => Code::TooLarge,
            ApiError::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            ApiError::Unauthorized(_) => Code::Unauthorized,
            ApiError::Forbidden(_) | ApiError::ForbiddenItems(..) => Code::Forbidden,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::MethodNotAllowed => Code::MethodNotAllowed,
            ApiError::Conflict(code, _) => *code,
            ApiError::IdempotencyMismatch => Code::IdempotencyKeyReused,
            ApiError::RateLimited { .. } => Code::RateLimited,
            ApiError::Unavailable => Code::Unavailable,
            ApiError::Internal => Code::Internal,
        }
    }

    /// The `Retry-After` seconds the table gives this error, if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match (self.code().row().retry, self) {
            (Retry::After(secs), _) => Some(secs),
            (Retry::Given, ApiError::RateLimited { retry_after_secs }) => Some(*retry_after_secs),
            (Retry::Given | Retry::Never, _) => None,
        }
    }

    /// The status and `Retry-After` of this error, without a body: for answers that are not
    /// problem+json (an HTML page, a gateway's callback).
    pub fn head(&self) -> HttpResponseBuilder {
        let mut res = HttpResponse::build(self.code().status());
        if let Some(secs) = self.retry_after_secs() {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        res
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// Logs the full cause chain of an unexpected error and returns the opaque 500.
    pub fn internal(e: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = e, "internal error");
        ApiError::Internal
    }
}

impl From<komek_store::StoreError> for ApiError {
    fn from(e: komek_store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = &e as &dyn std::error::Error, "store unavailable");
            ApiError::Unavailable
        } else {
            ApiError::internal(&e)
        }
    }
}

/// The problem+json body (RFC 9457). Named `ProblemDetails` in the documents, apart from the
/// escalation service's problem records (`Problem`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProblemDetails)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: Code,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl ApiError {
    /// The body of this error.
    pub fn problem(&self) -> Problem {
        let code = self.code();
        let errors = match self {
            ApiError::Invalid(e) | ApiError::ForbiddenItems(_, e) => e.clone(),
            ApiError::BadRequest {
                field: Some(f),
                message,
            } => {
                vec![FieldError {
                    field: f.clone(),
                    message: message.clone(),
                }]
            }
            _ => Vec::new(),
        };
        Problem {
            kind: code.type_uri(),
            title: code.title().to_owned(),
            status: code.status().as_u16(),
            detail: self.to_string(),
            code,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        self.head()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            ))
            .body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<komek_store::requests::UpdateError<ApiError>> for ApiError {
    fn from(e: komek_store::requests::UpdateError<ApiError>) -> Self {
        ApiError::from_update(e, "request")
    }
}

impl ApiError {
    /// A failed versioned write of a `what` (`request`, `problem`, ...): 404 naming it when the
    /// document is gone, the rejection as it is, 409 for a repeat or a write that kept losing.
    pub fn from_update(
        e: komek_store::requests::UpdateError<ApiError>,
        what: &'static str,
    ) -> Self {
        use komek_store::requests::UpdateError as U;
        match e {
            U::NotFound => ApiError::NotFound(what),
            U::Rejected(e) => e,
            U::Duplicate | U::Precondition(_) => {
                ApiError::Conflict(Code::AlreadyDone, "this was already done".into())
            }
            U::Contended => ApiError::Conflict(
                Code::Contended,
                "it changed while we were saving; try again".into(),
            ),
            U::Store(e) => e.into(),
        }
    }
}

impl From<komek_domain::TransitionError> for ApiError {
    fn from(e: komek_domain::TransitionError) -> Self {
        ApiError::Conflict(Code::InvalidTransition, e.to_string())
    }
}

/// Asserts that an OpenAPI document's `ProblemDetails` schema names its `code` as the `ProblemCode` enum
/// and that the enum lists every code of the table: the one check for this crate's own schema
/// and for each service's `/openapi.json` (`testing::openapi_lists_every_code`).
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::expect_used)]
pub(crate) fn assert_lists_every_code(doc: &serde_json::Value) {
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["ProblemDetails"]["properties"]["code"]["$ref"], "#/components/schemas/ProblemCode",
        "the ProblemDetails schema's code names the code enum: {doc}"
    );
    let listed: Vec<&str> = schemas["ProblemCode"]["enum"]
        .as_array()
        .expect("ProblemCode is a string enum")
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    let all: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, all, "ProblemCode lists every code");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashSet;

    use actix_web::body::MessageBody;
    use actix_web::http::header::HeaderMap;
    use serde_json::Value;

    use super::*;

    /// One error of every code (a conflict of each 409 code).
    fn one_of_each() -> Vec<ApiError> {
        Code::ALL
            .iter()
            .map(|code| match code {
                Code::BadRequest => ApiError::BadRequest {
                    field: Some("text".into()),
                    message: "not JSON".into(),
                },
                Code::InvalidFields => ApiError::invalid("csat", "1 to 5"),
                Code::TooLarge => ApiError::TooLarge { limit: 10 },
                Code::UnsupportedMediaType => ApiError::UnsupportedMediaType("application/json"),
                Code::Unauthorized => ApiError::Unauthorized("no token"),
                Code::Forbidden => ApiError::Forbidden("supervisors only"),
                Code::NotFound => ApiError::NotFound("request"),
                Code::IdempotencyKeyReused => ApiError::IdempotencyMismatch,
                Code::RateLimited => ApiError::RateLimited {
                    retry_after_secs: 17,
                },
                Code::Unavailable => ApiError::Unavailable,
                Code::Internal => ApiError::Internal,
                c => ApiError::Conflict(*c, format!("a {c}")),
            })
            .collect()
    }

    /// The answer to `e`: status, headers and the parsed body.
    fn body(e: &ApiError) -> (StatusCode, HeaderMap, Value) {
        let res = e.error_response();
        let (status, headers) = (res.status(), res.headers().clone());
        let raw = res.into_body().try_into_bytes().unwrap();
        (status, headers, serde_json::from_slice(&raw).unwrap())
    }

    #[test]
    fn every_code_has_its_own_snake_case_string_and_serializes_as_it() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} is declared twice");
            assert!(
                !s.is_empty()
                    && s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_')
                    && !s.starts_with('_')
                    && !s.ends_with('_'),
                "{s} is not snake_case"
            );
            assert_eq!(serde_json::to_value(c).unwrap(), Value::from(s));
            assert!(!c.title().is_empty());
        }
    }

    #[test]
    fn statuses_are_the_ones_clients_always_got() {
        let status = |c: Code| c.status().as_u16();
        assert_eq!(status(Code::BadRequest), 400);
        assert_eq!(status(Code::InvalidFields), 422);
        assert_eq!(status(Code::TooLarge), 413);
        assert_eq!(status(Code::UnsupportedMediaType), 415);
        assert_eq!(status(Code::Unauthorized), 401);
        assert_eq!(status(Code::Forbidden), 403);
        assert_eq!(status(Code::NotFound), 404);
        assert_eq!(status(Code::IdempotencyKeyReused), 422);
        assert_eq!(status(Code::RateLimited), 429);
        assert_eq!(status(Code::Unavailable), 503);
        assert_eq!(status(Code::Internal), 500);
        // Every code that replaced the old `conflict` keeps its 409.
        let conflicts: Vec<&str> = Code::ALL
            .iter()
            .filter(|c| status(**c) == 409)
            .map(|c| c.as_str())
            .collect();
        assert_eq!(
            conflicts,
            [
                "conflict",
                "already_done",
                "contended",
                "invalid_transition",
                "taken_meanwhile",
                "at_capacity",
                "not_offered",
                "escalation_not_current",
                "nothing_asked",
                "request_not_open",
                "request_closed",
                "linked_elsewhere",
                "external_source",
                "already_answered",
                "invalid_problem_transition",
                "invalid_escalation_transition",
                "not_department_staff",
            ]
        );
        for e in one_of_each() {
            assert_eq!(e.status_code(), e.code().status(), "{e:?}");
        }
    }

    #[test]
    fn every_body_is_problem_json_from_its_row() {
        for e in one_of_each() {
            let code = e.code();
            let (status, headers, p) = body(&e);
            assert_eq!(status, code.status());
            assert_eq!(
                headers.get(header::CONTENT_TYPE).unwrap(),
                "application/problem+json"
            );
            assert_eq!(p["type"], format!("https://komek.kz/problems/{code}"));
            assert_eq!(p["title"], code.title());
            assert_eq!(p["status"], code.status().as_u16());
            assert_eq!(p["code"], code.as_str());
            assert_eq!(p["detail"], e.to_string());
            let fields: Vec<&str> = p["errors"]
                .as_array()
                .map(|a| a.iter().filter_map(|f| f["field"].as_str()).collect())
                .unwrap_or_default();
            match code {
                Code::BadRequest => assert_eq!(fields, ["text"]),
                Code::InvalidFields => assert_eq!(fields, ["csat"]),
                _ => assert!(p.get("errors").is_none(), "{p}"),
            }
        }
    }

    #[test]
    fn retry_after_on_every_429_and_503_and_nowhere_else() {
        for e in one_of_each() {
            let (status, headers, _) = body(&e);
            let retry = headers
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
            match status.as_u16() {
                429 | 503 => assert!(retry.is_some_and(|s| s >= 1), "{e:?}"),
                _ => assert_eq!(retry, None, "{e:?}"),
            }
            let head = e.head().finish();
            assert_eq!(head.status(), status);
            assert_eq!(
                head.headers().get(header::RETRY_AFTER),
                headers.get(header::RETRY_AFTER)
            );
        }
        let limited = ApiError::RateLimited {
            retry_after_secs: 17,
        };
        assert_eq!(body(&limited).1.get(header::RETRY_AFTER).unwrap(), "17");
        assert_eq!(
            body(&ApiError::Unavailable)
                .1
                .get(header::RETRY_AFTER)
                .unwrap(),
            "2"
        );
    }

    /// A client learns the codes from README.md's error table (its section "Error codes"): every
    /// code is a row there with its status, and the table names no code that does not exist.
    #[test]
    fn the_readme_lists_every_code_with_its_status() {
        let readme = include_str!("../../../README.md");
        let rows: Vec<(String, u16)> = readme
            .lines()
            .skip_while(|l| *l != "### Error codes")
            .skip(1)
            .take_while(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                let status = cells.get(2)?.parse().ok()?;
                Some((code.to_owned(), status))
            })
            .collect();
        for c in Code::ALL {
            assert!(
                rows.contains(&(c.as_str().to_owned(), c.status().as_u16())),
                "README.md's error table has no row `{c}` | {}",
                c.status().as_u16()
            );
        }
        for (code, _) in &rows {
            assert!(
                Code::ALL.iter().any(|c| c.as_str() == code),
                "README.md lists `{code}`, which is no code"
            );
        }
    }

    /// The OpenAPI schema of `Problem` names its `code` as the `ProblemCode` enum of every code.
    #[test]
    fn the_openapi_schema_lists_every_code() {
        use utoipa::OpenApi;
        #[derive(OpenApi)]
        #[openapi(components(schemas(Problem)))]
        struct Doc;
        let doc = serde_json::to_value(Doc::openapi()).unwrap();
        assert_lists_every_code(&doc);
    }

    /// The staff pages show an error in their language by its code (`staff-err-{code}` in the
    /// catalogue, `staff.js`): every code has its text in kk, ru and en, so a new code cannot
    /// reach a Kazakh page as English or as its bare status.
    #[test]
    fn every_code_has_a_staff_text_in_every_language() {
        for lang in komek_i18n::ALL {
            let texts = komek_i18n::catalogue(lang);
            let missing: Vec<String> = Code::ALL
                .iter()
                .map(|c| format!("staff-err-{}", c.as_str().replace('_', "-")))
                .filter(|key| !texts.contains_key(key))
                .collect();
            assert!(missing.is_empty(), "{lang:?} lacks {missing:?}");
        }
    }
}
