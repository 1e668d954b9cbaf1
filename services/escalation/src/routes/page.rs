//! (being written)

use actix_web::web;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
