//! Departments (working hours, deadlines per category) and their staff (levels: first line, second
//! line, head) as data. Supervisors manage every department; a head (department staff of level 3)
//! manages their own. Every decision is taken on the caller as stored now, not as the token says:
//! a change of role, department or level applies at once, and a removed account can do nothing.
//!
//! A changed deadline applies to the next deadline counted (a new escalation, the next tier);
//! running deadlines keep the due time they were given.

use actix_web::{HttpResponse, web};
use komek_auth::Staff;
use komek_domain::Lang;
use komek_domain::calendar::{Calendar, CalendarError};
use komek_domain::events::{AdminChange, Envelope, admin_action, kind};
use komek_domain::staff::{Department, DepartmentDeadlines, Role, User, UserView, WorkingHours};
use komek_store::Store;
use komek_web::{ApiError, Code, FieldError, StrictJson};
use serde::Deserialize;
use utoipa::{OpenApi, ToSchema};

use crate::Deps;

#[derive(OpenApi)]
#[openapi(
    paths(
        list_departments,
        get_department,
        put_department,
        department_staff,
        put_staff
    ),
    components(schemas(
        Department,
        WorkingHours,
        DepartmentDeadlines,
        DepartmentIn,
        StaffIn,
        UserView,
        komek_web::error::Problem
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/departments", web::get().to(list_departments))
        .route("/api/v1/departments/{code}", web::get().to(get_department))
        .route("/api/v1/departments/{code}", web::put().to(put_department))
        .route(
            "/api/v1/departments/{code}/staff",
            web::get().to(department_staff),
        )
        .route("/api/v1/staff/{login}", web::put().to(put_staff));
}

/// The level of a head: the top of a department's chain.
const HEAD_LEVEL: u8 = 3;
const MAX_MINUTES: u32 = 100_000;
const MAX_NAME: usize = 100;
const NEEDS_PASSWORD: &str = "a new login needs a password";

/// A department as a supervisor or its head writes it; the whole record is replaced.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentIn {
    /// 1 to 100 characters.
    #[schema(format = "text", max_length = 100)]
    pub name: String,
    /// The department's own hours; absent: the company calendar.
    #[serde(default)]
    pub hours: Option<WorkingHours>,
    /// Working minutes per tier (1 to 100000), by category; absent: 480 for every category.
    #[serde(default)]
    pub deadlines: Option<DepartmentDeadlines>,
}

/// A department staff member as a supervisor or their head writes them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffIn {
    /// 1 to 100 characters.
    #[schema(format = "text", max_length = 100)]
    pub name: String,
    /// The department's code; a head may only name their own.
    #[schema(max_length = 32)]
    pub department: String,
    /// 1 first line, 2 second line, 3 head.
    #[schema(minimum = 1, maximum = 3)]
    pub level: u8,
    /// At least one of `kk`, `ru`, `en`.
    #[schema(min_items = 1)]
    pub languages: Vec<Lang>,
    /// Required for a new login (12 to 256 characters); absent on an update: the password stays.
    #[serde(default)]
    #[schema(min_length = 12, max_length = 256)]
    pub password: Option<String>,
}

/// The caller as stored now; one whose account is gone may do nothing.
async fn caller(store: &Store, staff: &Staff) -> Result<User, ApiError> {
    store
        .user(staff.login())
        .await?
        .ok_or(ApiError::Forbidden("this account no longer exists"))
}

fn is_head_of(user: &User, department: &str) -> bool {
    user.role == Role::DepartmentStaff
        && user.level >= HEAD_LEVEL
        && user.department.as_deref() == Some(department)
}

/// Supervisors manage every department; heads their own.
fn manages(user: &User, department: &str) -> bool {
    user.role == Role::Supervisor || is_head_of(user, department)
}

fn bad(errors: &mut Vec<FieldError>, field: impl Into<String>, message: impl Into<String>) {
    errors.push(FieldError {
        field: field.into(),
        message: message.into(),
    });
}

/// Lower-case letters, digits, `-`, `_` (and `.` where `dot`), 1 to `max` characters.
fn is_code(s: &str, max: usize, dot: bool) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'-'
                || b == b'_'
                || (dot && b == b'.')
        })
}

fn check_name(errors: &mut Vec<FieldError>, raw: &str) -> String {
    if let Err(e) = komek_domain::text::BoundedText::<MAX_NAME>::parse(raw) {
        bad(errors, "name", e.required(MAX_NAME));
    }
    raw.trim().to_owned()
}

fn check_hours(errors: &mut Vec<FieldError>, company: &Calendar, h: &WorkingHours) {
    if h.working_days.iter().any(|d| !(1..=7).contains(d)) {
        bad(
            errors,
            "hours.working_days",
            "weekday numbers 1 (Monday) to 7 (Sunday)",
        );
        return;
    }
    if let Err(e) = company.with_hours(&h.working_days, &h.open, &h.close, false) {
        let field = match &e {
            CalendarError::Time(t) if *t == h.open => "hours.open",
            CalendarError::Time(_) | CalendarError::Hours => "hours.close",
            CalendarError::NoDays => "hours.working_days",
            // The zone and holidays are the company's, checked when the settings load.
            CalendarError::Zone(_) | CalendarError::Date(_) => "hours",
        };
        bad(errors, field, e.to_string());
    }
}

fn check_deadlines(errors: &mut Vec<FieldError>, d: &DepartmentDeadlines) {
    let range = format!("1 to {MAX_MINUTES} working minutes");
    if !(1..=MAX_MINUTES).contains(&d.default_minutes) {
        bad(errors, "deadlines.default_minutes", range.clone());
    }
    for (category, minutes) in &d.by_category {
        if !(1..=MAX_MINUTES).contains(minutes) {
            bad(
                errors,
                format!("deadlines.by_category.{}", category.as_str()),
                range.clone(),
            );
        }
    }
}

fn department_from(
    settings: &komek_settings::Settings,
    code: &str,
    body: DepartmentIn,
) -> Result<Department, ApiError> {
    let mut errors = Vec::new();
    if !is_code(code, 32, false) {
        bad(&mut errors, "code", "1 to 32 of a-z, 0-9, - and _");
    }
    let name = check_name(&mut errors, &body.name);
    if let Some(h) = &body.hours {
        check_hours(&mut errors, &settings.calendar, h);
    }
    let deadlines = body.deadlines.unwrap_or_default();
    check_deadlines(&mut errors, &deadlines);
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    Ok(Department {
        code: code.to_owned(),
        name,
        hours: body.hours,
        deadlines,
    })
}

/// Every department, by code (any signed-in staff: agents choose where to escalate).
#[utoipa::path(get, path = "/api/v1/departments", security(("bearer" = [])),
    responses((status = 200, body = [Department]), (status = 401, body = komek_web::error::Problem)))]
pub async fn list_departments(
    _staff: Staff,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(store.departments().await?))
}

/// One department.
#[utoipa::path(get, path = "/api/v1/departments/{code}", security(("bearer" = [])),
    responses((status = 200, body = Department), (status = 404, body = komek_web::error::Problem)))]
pub async fn get_department(
    _staff: Staff,
    store: web::Data<Store>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let d = store
        .department(&code)
        .await?
        .ok_or(ApiError::NotFound("department"))?;
    Ok(HttpResponse::Ok().json(d))
}

/// Create or replace a department: its name, hours and deadlines (supervisors any; heads their
/// own). 201 when it was created.
#[utoipa::path(put, path = "/api/v1/departments/{code}", request_body = DepartmentIn, security(("bearer" = [])),
    responses((status = 200, body = Department), (status = 201, body = Department),
        (status = 403, body = komek_web::error::Problem), (status = 422, body = komek_web::error::Problem)))]
pub async fn put_department(
    staff: Staff,
    deps: web::Data<Deps>,
    code: web::Path<String>,
    StrictJson(body): StrictJson<DepartmentIn>,
) -> Result<HttpResponse, ApiError> {
    let store = &deps.store;
    let me = caller(store, &staff).await?;
    if !manages(&me, &code) {
        return Err(ApiError::Forbidden(
            "this needs a supervisor or the department's head",
        ));
    }
    let d = department_from(&deps.settings, &code, body)?;
    let existed = store.department(&d.code).await?.is_some();
    let event = admin_event(kind::DEPARTMENT_CHANGED, &d.code, &me.login, existed, &d);
    store.put_department(&d, Some(&event)).await?;
    tracing::info!(department = %d.code, by = %me.login, created = !existed, "department saved");
    Ok(if existed {
        HttpResponse::Ok().json(d)
    } else {
        HttpResponse::Created().json(d)
    })
}

/// A department's staff, by login (supervisors; the department's own staff).
#[utoipa::path(get, path = "/api/v1/departments/{code}/staff", security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 403, body = komek_web::error::Problem), (status = 404, body = komek_web::error::Problem)))]
pub async fn department_staff(
    staff: Staff,
    store: web::Data<Store>,
    code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let me = caller(&store, &staff).await?;
    let own = me.role == Role::DepartmentStaff && me.department.as_deref() == Some(code.as_str());
    if me.role != Role::Supervisor && !own {
        return Err(ApiError::Forbidden(
            "this needs a supervisor or the department's staff",
        ));
    }
    if store.department(&code).await?.is_none() {
        return Err(ApiError::NotFound("department"));
    }
    let list: Vec<UserView> = store
        .department_staff(&code)
        .await?
        .iter()
        .map(UserView::from)
        .collect();
    Ok(HttpResponse::Ok().json(list))
}

/// Create or update a department staff member (supervisors any department; heads their own).
/// A new login needs a password; an update without one keeps it. 201 when created.
#[utoipa::path(put, path = "/api/v1/staff/{login}", request_body = StaffIn, security(("bearer" = [])),
    params(("login" = String, Path, pattern = r"^[a-z0-9._-]{1,64}$", description = "1 to 64 of a-z, 0-9, `.`, `-` and `_`")),
    responses((status = 200, body = UserView), (status = 201, body = UserView),
        (status = 403, body = komek_web::error::Problem), (status = 409, body = komek_web::error::Problem),
        (status = 422, body = komek_web::error::Problem)))]
pub async fn put_staff(
    staff: Staff,
    store: web::Data<Store>,
    login: web::Path<String>,
    StrictJson(body): StrictJson<StaffIn>,
) -> Result<HttpResponse, ApiError> {
    let me = caller(&store, &staff).await?;
    let department = body.department.trim().to_owned();
    if !manages(&me, &department) {
        return Err(ApiError::Forbidden(
            "this needs a supervisor or the head of that department",
        ));
    }
    // Checked before the lookup: the login becomes part of a key.
    if !is_code(&login, 64, true) {
        return Err(ApiError::invalid(
            "login",
            "1 to 64 of a-z, 0-9, ., - and _",
        ));
    }
    let existing = store.user(&login).await?;
    if let Some(u) = &existing {
        if u.role != Role::DepartmentStaff {
            return Err(ApiError::Conflict(
                Code::NotDepartmentStaff,
                format!("{} is not department staff", u.login),
            ));
        }
        // A head moves nobody out of another department into theirs.
        if !manages(&me, u.department.as_deref().unwrap_or_default()) {
            return Err(ApiError::Forbidden(
                "this person works in a department you do not manage",
            ));
        }
    }
    let mut errors = Vec::new();
    let name = check_name(&mut errors, &body.name);
    if !(1..=HEAD_LEVEL).contains(&body.level) {
        bad(
            &mut errors,
            "level",
            "1 (first line), 2 (second line) or 3 (head)",
        );
    }
    if body.languages.is_empty() {
        bad(&mut errors, "languages", "at least one of kk, ru, en");
    }
    match (&body.password, &existing) {
        (None, None) => bad(&mut errors, "password", NEEDS_PASSWORD),
        // The same rule as the workspace's staff administration.
        (Some(p), _) if komek_auth::staff::check_password(p).is_err() => {
            bad(&mut errors, "password", "12 to 256 characters")
        }
        _ => {}
    }
    if store.department(&department).await?.is_none() {
        bad(&mut errors, "department", "no such department");
    }
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    let new_password = body.password.is_some() && existing.is_some();
    let password_hash = match body.password {
        // argon2 is deliberately slow: off the async workers.
        Some(p) => web::block(move || komek_auth::hash_password(&p))
            .await
            .map_err(|e| ApiError::internal(&e))?
            .map_err(|e| {
                tracing::error!(error = %e, "password hashing failed");
                ApiError::Internal
            })?,
        None => existing
            .as_ref()
            .map(|u| u.password_hash.clone())
            .ok_or_else(|| ApiError::invalid("password", NEEDS_PASSWORD))?,
    };
    let mut languages: Vec<Lang> = Vec::with_capacity(body.languages.len());
    for l in body.languages {
        if !languages.contains(&l) {
            languages.push(l);
        }
    }
    let user = User {
        login: login.to_string(),
        name,
        role: Role::DepartmentStaff,
        department: Some(department),
        languages,
        categories: existing
            .as_ref()
            .map(|u| u.categories.clone())
            .unwrap_or_default(),
        capacity: existing.as_ref().map_or(10, |u| u.capacity),
        level: body.level,
        password_hash,
        // Deactivation belongs to the staff admin API (workspace) and komek-admin; an update
        // here keeps it and the sessions cut-off as they are.
        active: existing.as_ref().is_none_or(|u| u.active),
        // A new password ends the sessions opened with the old one.
        sessions_after: if new_password {
            komek_auth::sessions_cut_off()
        } else {
            existing.as_ref().map_or(0, |u| u.sessions_after)
        },
    };
    let view = UserView::from(&user);
    let event = admin_event(
        kind::STAFF_CHANGED,
        &user.login,
        &me.login,
        existing.is_some(),
        &view,
    );
    store.put_user(&user, Some(&event)).await?;
    tracing::info!(login = %user.login, department = ?user.department, level = user.level, by = %me.login,
        created = existing.is_none(), "department staff saved");
    Ok(if existing.is_some() {
        HttpResponse::Ok().json(view)
    } else {
        HttpResponse::Created().json(view)
    })
}

/// The audit record of an admin change: created or updated.
fn admin_event<T: serde::Serialize>(
    kind: &str,
    subject: &str,
    by: &str,
    existed: bool,
    value: &T,
) -> Envelope {
    let action = if existed {
        admin_action::UPDATED
    } else {
        admin_action::CREATED
    };
    AdminChange::event(kind, subject, by, action, value)
}
