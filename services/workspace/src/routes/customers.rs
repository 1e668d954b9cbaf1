//! Customer 360 for agents (`komek_customers`): the customer behind a request, or found by phone
//! or email, with every request of theirs; and the CSV import into the built-in directory.
//!
//! A Billing/CRM outage (timeout, error, circuit breaker open) never fails these views: they
//! answer 200 with the requests and `degraded: true`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use komek_auth::Staff;
use komek_customers::view::{customer_view, request_customer_view};
use komek_customers::{Contact, Customers, DirectorySource, ImportError, ImportReport};
use komek_domain::{Email, Msisdn};
use komek_web::{ApiError, Code, FieldError};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::templates::given;

#[derive(OpenApi)]
#[openapi(
    paths(for_request, by_contact, import),
    components(schemas(
        komek_customers::CustomerView,
        komek_customers::Profile,
        komek_customers::Movement,
        komek_customers::Service,
        komek_customers::history::RequestSummary,
        ImportReport,
        komek_customers::RejectedLine
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/requests/{id}/customer", web::get().to(for_request))
        .route("/api/v1/customers", web::get().to(by_contact))
        .route("/api/v1/customers/import", web::post().to(import));
}

/// The largest CSV file `POST /api/v1/customers/import` takes (about 30 000 customers).
pub const IMPORT_LIMIT_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContactParams {
    /// The customer's phone number in any spelling (`+77011234567`, `8 701 123 45 67`).
    #[param(format = "msisdn-or-blank")]
    pub phone: Option<String>,
    /// The customer's email address.
    #[param(format = "email-address-or-blank", max_length = 254)]
    pub email: Option<String>,
}

/// The contacts of `p`, or every bad parameter at once (422); at least one is needed.
pub fn contacts(p: &ContactParams) -> Result<Vec<Contact>, ApiError> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    if let Some(phone) = given(&p.phone) {
        match Msisdn::parse(phone) {
            Ok(m) => out.push(Contact::Phone(m)),
            Err(e) => errors.push(FieldError {
                field: "phone".into(),
                message: e.to_string(),
            }),
        }
    }
    if let Some(email) = given(&p.email) {
        match Email::parse(email) {
            Ok(e) => out.push(Contact::Email(e)),
            Err(e) => errors.push(FieldError {
                field: "email".into(),
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() && out.is_empty() {
        errors.push(FieldError {
            field: "phone".into(),
            message: "give phone or email".into(),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

/// The customer behind a request: profile, recent charges and payments, services, and every
/// request of theirs on every channel. 200 with `degraded: true` when Billing/CRM is down.
#[utoipa::path(get, path = "/api/v1/requests/{id}/customer", security(("bearer" = [])),
    responses((status = 200, body = komek_customers::CustomerView), (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem)))]
pub async fn for_request(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    customers: web::Data<Customers>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let r = crate::routes::work::find_request(&staff, store, &id).await?;
    let view = request_customer_view(customers.get_ref(), store, &r).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The same view for a customer found by phone number or email (either or both).
#[utoipa::path(get, path = "/api/v1/customers", params(ContactParams), security(("bearer" = [])),
    responses((status = 200, body = komek_customers::CustomerView), (status = 403, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn by_contact(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    customers: web::Data<Customers>,
    params: web::Query<ContactParams>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_agent()?;
    let found = contacts(&params)?;
    let view = customer_view(customers.get_ref(), store, &found).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `text/csv`, with no charset or UTF-8.
fn is_csv(req: &HttpRequest) -> bool {
    let Some(ct) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = ct.split(';').map(str::trim);
    let csv = parts
        .next()
        .is_some_and(|m| m.eq_ignore_ascii_case("text/csv"));
    csv && parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

/// The CSV file of `POST /api/v1/customers/import` as the document shows it: its header line (the
/// required columns, then any of the optional ones), then the rows.
#[derive(utoipa::ToSchema)]
#[schema(
    pattern = r"^msisdn,name,language,region,tariff(?:,email)?(?:,segment)?(?:,balance_tenge)?(?:\r\n|\n)"
)]
#[allow(dead_code)]
pub struct CustomerCsv(String);

/// Import customer profiles into the built-in directory (supervisors). The body is a CSV file
/// (`text/csv`, UTF-8, header line; columns in the README). Rows are added or update the profile;
/// bad rows are reported by line and the rest imported; a bad header refuses the file (422).
#[utoipa::path(post, path = "/api/v1/customers/import", request_body(content = CustomerCsv, content_type = "text/csv"),
    security(("bearer" = [])),
    responses((status = 200, body = komek_customers::ImportReport), (status = 403, body = komek_web::error::Problem),
        (status = 409, body = komek_web::error::Problem), (status = 413, body = komek_web::error::Problem),
        (status = 415, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn import(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    customers: web::Data<Customers>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_supervisor()?;
    if !matches!(customers.get_ref(), Customers::Directory(_)) {
        return Err(ApiError::Conflict(
            Code::ExternalSource,
            "customers.source is \"http\": customer data comes from Billing/CRM, not the built-in directory".into(),
        ));
    }
    if !is_csv(&req) {
        return Err(ApiError::UnsupportedMediaType("text/csv (UTF-8)"));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            field: None,
            message: format!("the body could not be read: {e}"),
        })?;
        if body.len() + chunk.len() > IMPORT_LIMIT_BYTES {
            return Err(ApiError::TooLarge {
                limit: IMPORT_LIMIT_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    let report: ImportReport = DirectorySource::new(store.clone())
        .import_csv(&body[..])
        .await
        .map_err(|e| match e {
            ImportError::Header(message) => ApiError::invalid("header", message),
            ImportError::Store(e) => e.into(),
        })?;
    tracing::info!(
        by = staff.login(),
        added = report.added,
        updated = report.updated,
        unchanged = report.unchanged,
        rejected = report.rejected.len(),
        "customers imported"
    );
    Ok(HttpResponse::Ok().json(report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(phone: Option<&str>, email: Option<&str>) -> ContactParams {
        ContactParams {
            phone: phone.map(str::to_owned),
            email: email.map(str::to_owned),
        }
    }

    fn bad(p: &ContactParams) -> Vec<String> {
        match contacts(p) {
            Err(ApiError::Invalid(e)) => e.into_iter().map(|e| e.field).collect(),
            other => panic!("expected invalid fields, got {other:?}"),
        }
    }

    #[test]
    fn contacts_are_parsed_and_every_bad_one_named() {
        let got = contacts(&params(Some("8 701 123 45 67"), Some("A@x.kz"))).unwrap();
        assert_eq!(
            got.iter().map(Contact::as_str).collect::<Vec<_>>(),
            ["+77011234567", "a@x.kz"]
        );
        assert_eq!(bad(&params(Some("123"), Some("nope"))), ["phone", "email"]);
        assert_eq!(bad(&params(Some(" "), None)), ["phone"]);
    }

    #[test]
    fn only_utf8_csv_is_taken() {
        let with = |ct: &str| {
            let req = actix_web::test::TestRequest::default()
                .insert_header((header::CONTENT_TYPE, ct))
                .to_http_request();
            is_csv(&req)
        };
        assert!(with("text/csv"));
        assert!(with("Text/CSV; charset=UTF-8"));
        assert!(with("text/csv; header=present"));
        assert!(!with("text/csv; charset=windows-1251"));
        assert!(!with("application/json"));
        assert!(!is_csv(
            &actix_web::test::TestRequest::default().to_http_request()
        ));
    }

    #[test]
    fn the_openapi_document_has_the_customer_paths() {
        let doc = crate::routes::openapi();
        for path in [
            "/api/v1/requests/{id}/customer",
            "/api/v1/customers",
            "/api/v1/customers/import",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path}");
        }
        let schemas = doc.components.unwrap().schemas;
        for schema in ["CustomerView", "ImportReport", "Profile", "RequestSummary"] {
            assert!(schemas.contains_key(schema), "{schema}");
        }
    }
}
