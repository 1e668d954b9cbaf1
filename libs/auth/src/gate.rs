//! The token check behind `komek_web::access`: [`TokenGate`] verifies the caller (a bearer token,
//! or, for a WebSocket upgrade, which cannot send headers from a browser, `?token=`), checks the
//! person as stored now, and admits the roles the route's class admits. What it verified is left
//! in the request's extensions as a [`Staff`], which the handler's extractor takes from there.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use komek_web::ApiError;
use komek_web::access::{Access, Gate};

use crate::{Staff, Tokens, check_current};

/// Registered by [`crate::login::SignIn::register`] for every staff service.
pub struct TokenGate;

impl Gate for TokenGate {
    fn admit(
        &self,
        req: HttpRequest,
        access: Access,
    ) -> LocalBoxFuture<'static, Result<(), ApiError>> {
        Box::pin(async move {
            let staff = match live_token(&req) {
                Some(token) => live_staff(&req, &token).await?,
                None => Staff::from_request(&req, &mut Payload::None).await?,
            };
            if !access.admits(staff.0.role) {
                return Err(ApiError::Forbidden(komek_web::access::GATE_REFUSAL));
            }
            req.extensions_mut().insert(staff);
            Ok(())
        })
    }
}

/// The `token` query parameter of a WebSocket upgrade without an Authorization header.
fn live_token(req: &HttpRequest) -> Option<String> {
    let upgrade = req
        .headers()
        .get(actix_web::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade
        || req
            .headers()
            .contains_key(actix_web::http::header::AUTHORIZATION)
    {
        return None;
    }
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("token").cloned())
}

async fn live_staff(req: &HttpRequest, token: &str) -> Result<Staff, ApiError> {
    let (Some(tokens), Some(store)) = (
        req.app_data::<web::Data<Tokens>>(),
        req.app_data::<web::Data<komek_store::Store>>(),
    ) else {
        tracing::error!("Tokens or the Store are not registered as app data");
        return Err(ApiError::Internal);
    };
    let claims = tokens
        .verify(token)
        .ok_or(ApiError::Unauthorized("the token is invalid or expired"))?;
    check_current(store, &claims).await?;
    Ok(Staff(claims))
}
