//! Search over requests, and the resolved requests most like an open one (`komek_store::search`).

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::{Channel, Email, Msisdn, Request, RequestId, Status};
use komek_store::search::{MAX_PER_PAGE, SearchQuery, words};
use komek_web::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::templates::{CATEGORIES, given, parse_code};

#[derive(OpenApi)]
#[openapi(paths(search, similar), components(schemas(SearchView, SimilarView)))]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/search", web::get().to(search))
        .route("/api/v1/requests/{id}/similar", web::get().to(similar));
}

/// How many similar requests are suggested.
pub const SIMILAR: usize = 5;
const STATUSES: &[&str] = &[
    "new",
    "queued",
    "assigned",
    "in_progress",
    "waiting_customer",
    "escalated",
    "resolved",
    "closed",
    "reopened",
];
const CHANNELS: &[&str] = &["web", "call_center", "front_office", "email", "sms"];
const MAX_WORDS_CHARS: usize = 500;
const MAX_PAGE: u32 = 100_000;

/// Every filter given must hold; a blank one counts as absent.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// The request number, exactly (`KM-000123`).
    #[param(max_length = 32)]
    pub number: Option<String>,
    /// The customer's phone number in any spelling (`+77011234567`, `8 701 123 45 67`).
    #[param(format = "msisdn-or-blank")]
    pub phone: Option<String>,
    #[param(format = "email-address-or-blank", max_length = 254)]
    pub email: Option<String>,
    /// Words that must all occur in the subject or text (any case). At least one searchable
    /// word: 2 or more letters or digits, not a stop word ("и", "the", ...).
    #[param(pattern = r"^\s*$|[^\W_]{2}", max_length = 500)]
    pub words: Option<String>,
    /// `new`, `queued`, `assigned`, `in_progress`, `waiting_customer`, `escalated`, `resolved`, `closed`, `reopened`.
    #[param(value_type = Option<komek_domain::Status>)]
    pub status: Option<String>,
    /// `billing`, `network`, `internet`, `roaming`, `tariff`, `sim_card`, `other`.
    #[param(value_type = Option<komek_domain::Category>)]
    pub category: Option<String>,
    /// `web`, `call_center`, `front_office`, `email`, `sms`.
    #[param(value_type = Option<komek_domain::Channel>)]
    pub channel: Option<String>,
    /// The owning agent's login.
    #[param(max_length = 64)]
    pub owner: Option<String>,
    /// Created at or after this moment (RFC 3339, e.g. `2026-03-01T00:00:00+05:00`).
    #[param(
        pattern = r"^\s*$|^(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d)$"
    )]
    pub created_from: Option<String>,
    /// Created at or before this moment (RFC 3339); before `created_from`, nothing matches.
    #[param(
        pattern = r"^\s*$|^(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,9})?(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d)$"
    )]
    pub created_to: Option<String>,
    /// From 1 (default 1) to 100000.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100000)]
    pub page: Option<String>,
    /// 1 to 100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
}

/// One page of matching requests, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SearchView {
    /// How many requests match in all.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub items: Vec<Request>,
}

/// A resolved request like the one asked about, with how it was resolved.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SimilarView {
    pub id: RequestId,
    pub number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// How many searchable words it shares with the request.
    pub score: f64,
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// RFC 3339; a `+` that a query string turned into a space is put back (`...T10:00:00 05:00`).
fn moment(name: &str, raw: &str) -> Result<OffsetDateTime, FieldError> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .or_else(|e| OffsetDateTime::parse(&raw.replace(' ', "+"), &Rfc3339).map_err(|_| e))
        .map_err(|_| {
            field(
                name,
                "must be an RFC 3339 date-time, e.g. 2026-03-01T00:00:00+05:00",
            )
        })
}

/// The value, or `None` with its error noted.
fn keep<T>(errors: &mut Vec<FieldError>, r: Result<T, FieldError>) -> Option<T> {
    r.map_err(|e| errors.push(e)).ok()
}

fn number_in(name: &str, raw: &str, min: u32, max: u32) -> Result<u32, FieldError> {
    raw.parse::<u32>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| field(name, format!("must be a whole number from {min} to {max}")))
}

/// The query of `p`, or every bad parameter at once (422).
pub fn query(p: &SearchParams) -> Result<SearchQuery, ApiError> {
    let mut errors = Vec::new();
    let mut q = SearchQuery::default();
    if let Some(n) = given(&p.number) {
        q.number = keep(
            &mut errors,
            if n.chars().count() <= 32 {
                Ok(n.to_uppercase())
            } else {
                Err(field("number", "at most 32 characters"))
            },
        );
    }
    if let Some(phone) = given(&p.phone) {
        q.phone = keep(
            &mut errors,
            Msisdn::parse(phone).map_err(|e| field("phone", e.to_string())),
        );
    }
    if let Some(email) = given(&p.email) {
        q.email = keep(
            &mut errors,
            Email::parse(email).map_err(|e| field("email", e.to_string())),
        );
    }
    if let Some(w) = given(&p.words) {
        let found = words(w);
        q.words = keep(&mut errors, if w.chars().count() > MAX_WORDS_CHARS {
            Err(field("words", format!("at most {MAX_WORDS_CHARS} characters")))
        } else if found.is_empty() {
            Err(field("words", "no searchable word: words need 2 or more letters or digits and are not stop words"))
        } else {
            Ok(found)
        })
        .unwrap_or_default();
    }
    if let Some(s) = given(&p.status) {
        q.status = keep(&mut errors, parse_code::<Status>("status", s, STATUSES));
    }
    if let Some(c) = given(&p.category) {
        q.category = keep(&mut errors, parse_code("category", c, CATEGORIES));
    }
    if let Some(c) = given(&p.channel) {
        q.channel = keep(&mut errors, parse_code::<Channel>("channel", c, CHANNELS));
    }
    if let Some(o) = given(&p.owner) {
        q.owner = keep(
            &mut errors,
            if o.chars().count() <= 64 {
                Ok(o.to_owned())
            } else {
                Err(field("owner", "at most 64 characters"))
            },
        );
    }
    if let Some(t) = given(&p.created_from) {
        q.created_from = keep(&mut errors, moment("created_from", t));
    }
    if let Some(t) = given(&p.created_to) {
        q.created_to = keep(&mut errors, moment("created_to", t));
    }
    if let Some(n) = given(&p.page) {
        q.page = keep(&mut errors, number_in("page", n, 1, MAX_PAGE)).unwrap_or(1);
    }
    if let Some(n) = given(&p.per_page) {
        q.per_page = keep(&mut errors, number_in("per_page", n, 1, MAX_PER_PAGE)).unwrap_or(20);
    }
    if errors.is_empty() {
        Ok(q)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// Search requests by number, contact, words, status, category, channel, owner and creation time.
#[utoipa::path(get, path = "/api/v1/search", params(SearchParams), security(("bearer" = [])),
    responses((status = 200, body = SearchView), (status = 400, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn search(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_agent()?;
    let q = query(&params)?;
    let page = store.search(&q).await?;
    Ok(HttpResponse::Ok().json(SearchView {
        total: page.total,
        page: q.page,
        per_page: q.per_page,
        items: page.items,
    }))
}

/// The resolved requests sharing the most words with this one (at most 5), with their resolutions.
#[utoipa::path(get, path = "/api/v1/requests/{id}/similar", security(("bearer" = [])),
    responses((status = 200, body = [SimilarView]), (status = 404, body = komek_web::error::Problem)))]
pub async fn similar(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let r = crate::routes::work::find_request(&staff, store, &id).await?;
    let found: Vec<SimilarView> = store
        .similar(&r, SIMILAR)
        .await?
        .into_iter()
        .map(|(s, score)| SimilarView {
            id: s.id,
            number: s.number.0,
            subject: s.subject,
            text: s.text,
            resolution: s.resolution,
            score,
        })
        .collect();
    Ok(HttpResponse::Ok().json(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> SearchParams {
        let encoded: String = pairs
            .iter()
            .map(|(k, v)| format!("{k}={}&", v.replace('+', "%2B").replace(' ', "+")))
            .collect();
        from_query(&encoded)
    }

    /// What actix's `web::Query` does with a query string.
    fn from_query(qs: &str) -> SearchParams {
        web::Query::<SearchParams>::from_query(qs)
            .map(web::Query::into_inner)
            .unwrap_or_default()
    }

    fn bad_fields(p: &SearchParams) -> Vec<String> {
        match query(p) {
            Err(ApiError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }

    #[test]
    fn the_openapi_document_has_the_new_paths() {
        let doc = crate::routes::openapi();
        for path in [
            "/api/v1/search",
            "/api/v1/requests/{id}/similar",
            "/api/v1/templates",
            "/api/v1/templates/{id}",
            "/api/v1/requests/{id}/templates",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let schemas = doc.components.unwrap().schemas;
        for schema in [
            "SearchView",
            "SimilarView",
            "Template",
            "TemplateIn",
            "RenderedTemplate",
        ] {
            assert!(schemas.contains_key(schema), "{schema}");
        }
    }

    #[test]
    fn good_values_become_a_query() {
        let q = query(&params(&[
            ("number", "km-000123"),
            ("phone", "8 701 123 45 67"),
            ("email", "A@X.kz"),
            ("words", "Интернет жоқ"),
            ("status", "in_progress"),
            ("category", "sim_card"),
            ("channel", "CALL_CENTER"),
            ("owner", "aigerim"),
            ("created_from", "2026-03-01T00:00:00+05:00"),
            ("created_to", "2026-03-02T00:00:00Z"),
            ("page", "2"),
            ("per_page", "100"),
        ]))
        .unwrap();
        assert_eq!(q.number.as_deref(), Some("KM-000123"));
        assert_eq!(q.phone.unwrap().as_str(), "+77011234567");
        assert_eq!(q.email.unwrap().as_str(), "a@x.kz");
        assert_eq!(q.words, vec!["интернет", "жоқ"]);
        assert_eq!(q.status, Some(Status::InProgress));
        assert_eq!(q.category, Some(komek_domain::Category::SimCard));
        assert_eq!(q.channel, Some(Channel::CallCenter));
        assert_eq!(q.created_from.unwrap().unix_timestamp(), 1_772_305_200);
        assert_eq!((q.page, q.per_page), (2, 100));
    }

    #[test]
    fn a_plus_turned_into_a_space_is_still_an_offset() {
        let q = query(&from_query("created_from=2026-03-01T00:00:00+05:00")).unwrap();
        assert_eq!(q.created_from.unwrap().unix_timestamp(), 1_772_305_200);
    }

    #[test]
    fn blank_values_are_absent_and_defaults_apply() {
        let q = query(&params(&[("status", ""), ("words", "  ")])).unwrap();
        assert_eq!(
            (q.status, q.words.len(), q.page, q.per_page),
            (None, 0, 1, 20)
        );
    }

    #[test]
    fn every_bad_value_is_named() {
        let fields = bad_fields(&params(&[
            ("phone", "12345"),
            ("email", "nope"),
            ("words", "и в the"),
            ("status", "done"),
            ("category", "food"),
            ("channel", "fax"),
            ("created_from", "yesterday"),
            ("page", "0"),
            ("per_page", "101"),
        ]));
        assert_eq!(
            fields,
            [
                "phone",
                "email",
                "words",
                "status",
                "category",
                "channel",
                "created_from",
                "page",
                "per_page"
            ]
        );
        // A reversed range is a valid query that nothing matches (the store's range is empty).
        let reversed = params(&[
            ("created_from", "2026-03-02T00:00:00Z"),
            ("created_to", "2026-03-01T00:00:00Z"),
        ]);
        assert!(query(&reversed).is_ok());
    }
}
