//! Offers to the caller (offered assignment, `crate::offers`): the requests offered to them,
//! accepting one (it becomes theirs, the same claim as a pull) and declining one.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::events::Envelope;
use komek_domain::staff::User;
use komek_domain::{Request, RequestId};
use komek_store::Store;
use komek_web::{ApiError, Code};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(accept_offer, decline_offer, my_offers))]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/offers", web::get().to(my_offers))
        .route("/api/v1/offers/{id}/accept", web::post().to(accept_offer))
        .route("/api/v1/offers/{id}/decline", web::post().to(decline_offer));
}

async fn me(staff: &Staff, store: &Store) -> Result<User, ApiError> {
    staff.require_agent()?;
    store
        .user(staff.login())
        .await?
        .ok_or(ApiError::Unauthorized("this account no longer exists"))
}

/// Accept a request offered to the caller: it becomes theirs.
#[utoipa::path(post, path = "/api/v1/offers/{id}/accept", security(("bearer" = [])),
    responses((status = 200, body = Request), (status = 409, body = komek_web::error::Problem)))]
pub async fn accept_offer(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let user = me(&staff, store).await?;
    let id: RequestId = id.parse().map_err(|_| ApiError::NotFound("offer"))?;
    if store.offered_to(id).await?.as_deref() != Some(user.login.as_str()) {
        return Err(ApiError::Conflict(
            Code::NotOffered,
            "this request is not offered to you (the offer may have expired)".into(),
        ));
    }
    let stamp = |e: &mut Envelope, r: &Request| {
        let _journey = komek_telemetry::journey(&e.kind, r.trace.as_deref()).entered();
        komek_bus::stamp(e);
    };
    let r = store.assign(id, &user, &stamp).await.map_err(|e| match e {
        komek_store::requests::UpdateError::Store(e) => ApiError::from(e),
        komek_store::requests::UpdateError::Precondition(0) => {
            ApiError::Conflict(Code::AtCapacity, "you are at capacity".into())
        }
        _ => ApiError::Conflict(
            Code::TakenMeanwhile,
            "this request was taken meanwhile".into(),
        ),
    })?;
    // The assignment's commit ended the offer (the store drops it as the request leaves the queue).
    tracing::info!(request_id = %id, agent = %user.login, "offer accepted");
    Ok(HttpResponse::Ok().json(r))
}

/// Decline an offer: the request goes back to its queue and to another agent if one fits.
#[utoipa::path(post, path = "/api/v1/offers/{id}/decline", security(("bearer" = [])),
    responses((status = 204, description = "Declined"), (status = 409, body = komek_web::error::Problem)))]
pub async fn decline_offer(
    staff: Staff,
    deps: web::Data<crate::Deps>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = me(&staff, &deps.store).await?;
    let id: RequestId = id.parse().map_err(|_| ApiError::NotFound("offer"))?;
    crate::offers::decline(&deps, id, &user)
        .await
        .map_err(|e| match e {
            crate::offers::OfferError::NotYours => {
                ApiError::Conflict(Code::NotOffered, e.to_string())
            }
            crate::offers::OfferError::Store(e) => e.into(),
        })?;
    Ok(HttpResponse::NoContent().finish())
}

/// Requests currently offered to the caller.
#[utoipa::path(get, path = "/api/v1/offers", security(("bearer" = [])), responses((status = 200, body = [Request])))]
pub async fn my_offers(
    staff: Staff,
    deps: web::Data<crate::Deps>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let user = me(&staff, store).await?;
    let out = store.offers_to(&user.login).await?;
    Ok(HttpResponse::Ok().json(out))
}
