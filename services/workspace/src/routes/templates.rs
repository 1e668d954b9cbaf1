//! Reply templates: agents list them and get them filled in for one request; supervisors create,
//! replace and delete them (they are data, not code: `komek_store::templates`).

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::template::{PLACEHOLDERS, Template, render_for, unknown_placeholders};
use komek_domain::{Category, Lang};
use komek_web::{ApiError, FieldError, StrictJson};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(list, create, replace, delete, for_request),
    components(schemas(TemplateIn, RenderedTemplate, Template))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/templates", web::get().to(list))
        .route("/api/v1/templates", web::post().to(create))
        .route("/api/v1/templates/{id}", web::put().to(replace))
        .route("/api/v1/templates/{id}", web::delete().to(delete))
        .route(
            "/api/v1/requests/{id}/templates",
            web::get().to(for_request),
        );
}

const MAX_NAME: usize = 100;
const MAX_BODY: usize = 4000;

/// Category codes as the API spells them.
pub const CATEGORIES: &[&str] = &[
    "billing", "network", "internet", "roaming", "tariff", "sim_card", "other",
];
/// Language codes as the API spells them.
pub const LANGUAGES: &[&str] = &["kk", "ru", "en"];

/// A lower-case wire value (`sim_card`, `kk`) as one of our enums, or a field error listing `allowed`.
pub(crate) fn parse_code<T: DeserializeOwned>(
    field: &str,
    raw: &str,
    allowed: &[&str],
) -> Result<T, FieldError> {
    serde_json::from_value(serde_json::Value::String(raw.trim().to_lowercase())).map_err(|_| {
        FieldError {
            field: field.to_owned(),
            message: format!("unknown value {raw:?}; one of: {}", allowed.join(", ")),
        }
    })
}

/// A query value, or `None` when the parameter is absent or blank.
pub(crate) fn given(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateFilter {
    /// Only this category (`billing`, `network`, `internet`, `roaming`, `tariff`, `sim_card`, `other`).
    #[param(value_type = Option<komek_domain::Category>)]
    pub category: Option<String>,
    /// Only this language (`kk`, `ru`, `en`).
    #[param(value_type = Option<komek_domain::Lang>)]
    pub language: Option<String>,
}

/// A template as a supervisor writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateIn {
    /// `billing`, `network`, `internet`, `roaming`, `tariff`, `sim_card` or `other`.
    #[schema(value_type = komek_domain::Category)]
    pub category: String,
    /// `kk`, `ru` or `en`.
    #[schema(value_type = komek_domain::Lang)]
    pub language: String,
    /// A short title, 1 to 100 characters.
    #[schema(format = "text", max_length = 100)]
    pub name: String,
    /// The text, 1 to 4000 characters; placeholders `{customer_name}`, `{number}`, `{deadline}`.
    #[schema(format = "text", max_length = 4000)]
    pub body: String,
}

/// A template filled in for one request.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RenderedTemplate {
    pub id: Uuid,
    pub name: String,
    /// The body with its placeholders filled in, ready to send or edit.
    pub text: String,
}

/// The template `id` as `body` makes it, edited by the caller now; 422 as [`validate`].
fn template(id: Uuid, body: &TemplateIn, staff: &Staff) -> Result<Template, ApiError> {
    let (category, language, name, body) = validate(body)?;
    Ok(Template {
        id,
        category,
        language,
        name,
        body,
        updated_by: staff.login().to_owned(),
        updated_at: OffsetDateTime::now_utc(),
    })
}

/// The template `body` checked, or every bad field at once (422).
fn validate(body: &TemplateIn) -> Result<(Category, Lang, String, String), ApiError> {
    let mut errors = Vec::new();
    let category = parse_code::<Category>("category", &body.category, CATEGORIES)
        .map_err(|e| errors.push(e))
        .ok();
    let language = parse_code::<Lang>("language", &body.language, LANGUAGES)
        .map_err(|e| errors.push(e))
        .ok();
    let mut bad = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.to_owned(),
            message,
        })
    };
    let name = body.name.trim();
    if let Err(e) = komek_domain::text::BoundedText::<MAX_NAME>::parse(&body.name) {
        bad("name", e.required(MAX_NAME));
    }
    let text = body.body.trim();
    if let Err(e) = komek_domain::text::BoundedText::<MAX_BODY>::parse(&body.body) {
        bad("body", e.required(MAX_BODY));
    }
    let unknown = unknown_placeholders(text);
    if !unknown.is_empty() {
        let list = |names: &[String]| {
            names
                .iter()
                .map(|n| format!("{{{n}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let known: Vec<String> = PLACEHOLDERS.iter().map(|p| (*p).to_owned()).collect();
        bad(
            "body",
            format!(
                "unknown placeholder {}; known: {}",
                list(&unknown),
                list(&known)
            ),
        );
    }
    match (category, language) {
        (Some(c), Some(l)) if errors.is_empty() => Ok((c, l, name.to_owned(), text.to_owned())),
        _ => Err(ApiError::Invalid(errors)),
    }
}

fn template_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound("template"))
}

/// Templates, optionally of one category and/or language.
#[utoipa::path(get, path = "/api/v1/templates", params(TemplateFilter), security(("bearer" = [])),
    responses((status = 200, body = [Template]), (status = 422, body = komek_web::error::Problem)))]
pub async fn list(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    query: web::Query<TemplateFilter>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_agent()?;
    let mut errors = Vec::new();
    let category = given(&query.category).and_then(|c| {
        parse_code("category", c, CATEGORIES)
            .map_err(|e| errors.push(e))
            .ok()
    });
    let language = given(&query.language).and_then(|l| {
        parse_code("language", l, LANGUAGES)
            .map_err(|e| errors.push(e))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(HttpResponse::Ok().json(store.list_templates(category, language).await?))
}

/// Create a template (supervisors).
#[utoipa::path(post, path = "/api/v1/templates", request_body = TemplateIn, security(("bearer" = [])),
    responses((status = 201, body = Template), (status = 403, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn create(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    StrictJson(body): StrictJson<TemplateIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_supervisor()?;
    let t = template(Uuid::now_v7(), &body, &staff)?;
    store.put_template(&t).await?;
    tracing::info!(template_id = %t.id, by = staff.login(), "template created");
    Ok(HttpResponse::Created().json(t))
}

/// Replace a template (supervisors).
#[utoipa::path(put, path = "/api/v1/templates/{id}", request_body = TemplateIn, security(("bearer" = [])),
    responses((status = 200, body = Template), (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn replace(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<TemplateIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_supervisor()?;
    let id = template_id(&id)?;
    let t = template(id, &body, &staff)?;
    if store.template(id).await?.is_none() {
        return Err(ApiError::NotFound("template"));
    }
    store.put_template(&t).await?;
    tracing::info!(template_id = %t.id, by = staff.login(), "template replaced");
    Ok(HttpResponse::Ok().json(t))
}

/// Delete a template (supervisors).
#[utoipa::path(delete, path = "/api/v1/templates/{id}", security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem)))]
pub async fn delete(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    staff.require_supervisor()?;
    let id = template_id(&id)?;
    if !store.delete_template(id).await? {
        return Err(ApiError::NotFound("template"));
    }
    tracing::info!(template_id = %id, by = staff.login(), "template deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// The templates of the request's category and language, filled in for it. A category with no
/// template in that language gets the language's `other` templates.
#[utoipa::path(get, path = "/api/v1/requests/{id}/templates", security(("bearer" = [])),
    responses((status = 200, body = [RenderedTemplate]), (status = 404, body = komek_web::error::Problem)))]
pub async fn for_request(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let r = crate::routes::work::find_request(&staff, store, &id).await?;
    let mut templates = store
        .list_templates(Some(r.category), Some(r.language))
        .await?;
    if templates.is_empty() && r.category != Category::Other {
        templates = store
            .list_templates(Some(Category::Other), Some(r.language))
            .await?;
    }
    let rendered: Vec<RenderedTemplate> = templates
        .iter()
        .map(|t| RenderedTemplate {
            id: t.id,
            name: t.name.clone(),
            text: render_for(t, &r),
        })
        .collect();
    Ok(HttpResponse::Ok().json(rendered))
}
