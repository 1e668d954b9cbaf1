//! Staff administration for supervisors: agents, supervisors and department staff (whom the
//! escalation service's `/api/v1/staff/{login}` also manages, with heads of department).
//! The checks and the audit events (`staff.changed`, written with each change) are
//! [`komek_auth::staff`]'s, shared with `komek-admin`.
//!
//! The caller is re-read from the store on every call, as escalation's admin does: a supervisor
//! who lost the role a moment ago manages nobody.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_auth::staff::{self as admin, NewStaff, StaffPatch, StaffRole};
use komek_domain::staff::{Role, User, UserView};
use komek_store::Store;
use komek_web::{ApiError, StrictJson};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(list, create, get, update, password, deactivate, activate),
    components(schemas(NewStaff, StaffPatch, StaffRole, PasswordIn, UserView))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/admin/staff", web::get().to(list))
        .route("/api/v1/admin/staff", web::post().to(create))
        .route("/api/v1/admin/staff/{login}", web::get().to(get))
        .route("/api/v1/admin/staff/{login}", web::patch().to(update))
        .route(
            "/api/v1/admin/staff/{login}/password",
            web::post().to(password),
        )
        .route(
            "/api/v1/admin/staff/{login}/deactivate",
            web::post().to(deactivate),
        )
        .route(
            "/api/v1/admin/staff/{login}/activate",
            web::post().to(activate),
        );
}

/// A new password, set by a supervisor.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordIn {
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// The caller as stored now, if a supervisor.
async fn supervisor(store: &Store, staff: &Staff) -> Result<User, ApiError> {
    staff.require_supervisor()?;
    match store.user(staff.login()).await? {
        Some(u) if u.role == Role::Supervisor && u.active => Ok(u),
        _ => Err(ApiError::Forbidden("this needs a supervisor")),
    }
}

fn view(u: &User) -> HttpResponse {
    HttpResponse::Ok().json(UserView::from(u))
}

/// Every staff member, by login (supervisors).
#[utoipa::path(get, path = "/api/v1/admin/staff", security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 401, body = komek_web::error::Problem),
        (status = 403, body = komek_web::error::Problem)))]
pub async fn list(staff: Staff, store: web::Data<Store>) -> Result<HttpResponse, ApiError> {
    supervisor(&store, &staff).await?;
    let all: Vec<UserView> = store.staff().await?.iter().map(UserView::from).collect();
    Ok(HttpResponse::Ok().json(all))
}

/// Create a staff member (supervisors). 409 when the login is taken.
#[utoipa::path(post, path = "/api/v1/admin/staff", request_body = NewStaff, security(("bearer" = [])),
    responses((status = 201, body = UserView), (status = 400, body = komek_web::error::Problem),
        (status = 403, body = komek_web::error::Problem), (status = 409, body = komek_web::error::Problem),
        (status = 422, body = komek_web::error::Problem)))]
pub async fn create(
    staff: Staff,
    store: web::Data<Store>,
    StrictJson(body): StrictJson<NewStaff>,
) -> Result<HttpResponse, ApiError> {
    let me = supervisor(&store, &staff).await?;
    let u = admin::create(&store, &me.login, body).await?;
    Ok(HttpResponse::Created().json(UserView::from(&u)))
}

/// One staff member (supervisors).
#[utoipa::path(get, path = "/api/v1/admin/staff/{login}", security(("bearer" = [])),
    params(("login" = String, Path, pattern = r"^[a-z0-9._-]{1,64}$", description = "1 to 64 of a-z, 0-9, `.`, `-` and `_`")),
    responses((status = 200, body = UserView), (status = 403, body = komek_web::error::Problem),
        (status = 404, body = komek_web::error::Problem)))]
pub async fn get(
    staff: Staff,
    store: web::Data<Store>,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    supervisor(&store, &staff).await?;
    Ok(view(&admin::get(&store, &login).await?))
}

/// Change the given fields (supervisors). A new role or department ends the person's sessions.
#[utoipa::path(patch, path = "/api/v1/admin/staff/{login}", request_body = StaffPatch, security(("bearer" = [])),
    params(("login" = String, Path, pattern = r"^[a-z0-9._-]{1,64}$", description = "1 to 64 of a-z, 0-9, `.`, `-` and `_`")),
    responses((status = 200, body = UserView), (status = 400, body = komek_web::error::Problem),
        (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem),
        (status = 422, body = komek_web::error::Problem)))]
pub async fn update(
    staff: Staff,
    store: web::Data<Store>,
    login: web::Path<String>,
    StrictJson(body): StrictJson<StaffPatch>,
) -> Result<HttpResponse, ApiError> {
    let me = supervisor(&store, &staff).await?;
    if login.as_str() == me.login && body.role.is_some_and(|r| r != StaffRole::Supervisor) {
        return Err(ApiError::invalid(
            "role",
            "you cannot take the supervisor role from yourself",
        ));
    }
    Ok(view(&admin::update(&store, &me.login, &login, body).await?))
}

/// Set a new password (supervisors); every session opened with the old one ends.
#[utoipa::path(post, path = "/api/v1/admin/staff/{login}/password", request_body = PasswordIn, security(("bearer" = [])),
    params(("login" = String, Path, pattern = r"^[a-z0-9._-]{1,64}$", description = "1 to 64 of a-z, 0-9, `.`, `-` and `_`")),
    responses((status = 200, body = UserView), (status = 400, body = komek_web::error::Problem),
        (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem),
        (status = 422, body = komek_web::error::Problem)))]
pub async fn password(
    staff: Staff,
    store: web::Data<Store>,
    login: web::Path<String>,
    StrictJson(body): StrictJson<PasswordIn>,
) -> Result<HttpResponse, ApiError> {
    let me = supervisor(&store, &staff).await?;
    Ok(view(
        &admin::set_password(&store, &me.login, &login, body.password).await?,
    ))
}

/// Deactivate (supervisors): no more sign-in, and every session (API and live socket) ends at
/// once, on every replica. Any role; not oneself.
#[utoipa::path(post, path = "/api/v1/admin/staff/{login}/deactivate", security(("bearer" = [])),
    params(("login" = String, Path, pattern = r"^[a-z0-9._-]{1,64}$", description = "1 to 64 of a-z, 0-9, `.`, `-` and `_`")),
    responses((status = 200, body = UserView), (status = 403, body = komek_web::error::Problem),
        (status = 404, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn deactivate(
    staff: Staff,
    store: web::Data<Store>,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = supervisor(&store, &staff).await?;
    if login.as_str() == me.login {
        return Err(ApiError::Forbidden("you cannot deactivate yourself"));
    }
    Ok(view(
        &admin::set_active(&store, &me.login, &login, false).await?,
    ))
}

/// Activate again (supervisors): sign-in works again; sessions ended before stay ended.
#[utoipa::path(post, path = "/api/v1/admin/staff/{login}/activate", security(("bearer" = [])),
    params(("login" = String, Path, pattern = r"^[a-z0-9._-]{1,64}$", description = "1 to 64 of a-z, 0-9, `.`, `-` and `_`")),
    responses((status = 200, body = UserView), (status = 403, body = komek_web::error::Problem),
        (status = 404, body = komek_web::error::Problem)))]
pub async fn activate(
    staff: Staff,
    store: web::Data<Store>,
    login: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = supervisor(&store, &staff).await?;
    Ok(view(
        &admin::set_active(&store, &me.login, &login, true).await?,
    ))
}
