//! The department's HTTP contract. Staff see and answer only their own department's escalations;
//! another department's escalation answers 404, exactly like one that does not exist.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::escalation::{Escalation, EscalationStatus};
use komek_domain::events::{EscalationAnswered, kind};
use komek_store::{Op, Store};
use komek_web::{ApiError, StrictJson};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

#[derive(OpenApi)]
#[openapi(
    paths(list, get_one, answer),
    components(schemas(Escalation, EscalationStatus, AnswerIn, komek_web::error::Problem))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/escalations", web::get().to(list))
        .route("/api/v1/escalations/{id}", web::get().to(get_one))
        .route("/api/v1/escalations/{id}/answer", web::post().to(answer));
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerIn {
    pub text: String,
}

async fn own(store: &Store, staff: &Staff, raw: &str) -> Result<Escalation, ApiError> {
    let dept = staff.require_department()?;
    let id: Uuid = raw.parse().map_err(|_| ApiError::NotFound("escalation"))?;
    match store.escalation(id).await? {
        Some(e) if e.department == dept => Ok(e),
        _ => Err(ApiError::NotFound("escalation")),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `open` (default): the department's queue, oldest first; `answered`: newest first.
    #[serde(default)]
    pub status: Option<EscalationStatus>,
}

/// The caller's department's escalations (at most 500).
#[utoipa::path(get, path = "/api/v1/escalations", params(ListQuery),
    responses((status = 200, body = [Escalation]), (status = 403, body = komek_web::error::Problem)))]
pub async fn list(
    staff: Staff,
    store: web::Data<Store>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let dept = staff.require_department()?;
    let answered = query.status == Some(EscalationStatus::Answered);
    Ok(HttpResponse::Ok().json(store.department_escalations(dept, answered, 500).await?))
}

/// One escalation of the caller's department.
#[utoipa::path(get, path = "/api/v1/escalations/{id}", responses((status = 200, body = Escalation), (status = 404, body = komek_web::error::Problem)))]
pub async fn get_one(
    staff: Staff,
    store: web::Data<Store>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(own(&store, &staff, &id).await?))
}

/// Answer an escalation; the answer returns to the request and its agent.
#[utoipa::path(post, path = "/api/v1/escalations/{id}/answer", request_body = AnswerIn,
    responses((status = 200, body = Escalation), (status = 404, body = komek_web::error::Problem), (status = 409, body = komek_web::error::Problem)))]
pub async fn answer(
    staff: Staff,
    store: web::Data<Store>,
    id: web::Path<String>,
    StrictJson(body): StrictJson<AnswerIn>,
) -> Result<HttpResponse, ApiError> {
    let found = own(&store, &staff, &id).await?;
    let text = body.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 10_000 {
        return Err(ApiError::invalid("text", "1 to 10000 characters"));
    }
    let now = OffsetDateTime::now_utc();
    let by = staff.login().to_owned();
    let (open, answered) = (
        store.keys().department_escalations(&found.department),
        store.keys().department_answered(&found.department),
    );
    let score = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let esc = store
        .update_doc(&store.keys().escalation(found.id), |e: &mut Escalation| {
            e.answer(&by, &text, Default::default(), now)
                .map_err(|err| ApiError::Conflict(err.to_string()))?;
            let payload = EscalationAnswered {
                escalation_id: e.id,
                department: e.department.clone(),
                by: by.clone(),
                text: text.clone(),
                outcome: Default::default(),
            };
            let event = komek_bus::journey_event(
                kind::ESCALATION_ANSWERED,
                e.request_id,
                e.trace.as_deref(),
                &payload,
                now,
            );
            let member = e.id.to_string();
            Ok((
                Some(event),
                vec![
                    Op::ZRem {
                        key: open.clone(),
                        member: member.clone(),
                    },
                    Op::ZAdd {
                        key: answered.clone(),
                        member,
                        score,
                    },
                ],
            ))
        })
        .await?;
    tracing::info!(escalation_id = %esc.id, request_id = %esc.request_id, "escalation answered");
    Ok(HttpResponse::Ok().json(esc))
}
