//! Staff administration shared by the workspace's admin API (`/api/v1/admin/staff`) and the
//! `komek-admin` command line: the checks of every field, and each change written with its audit
//! event (`staff.changed`, [`AdminChange`]) in one Redis transaction, so nothing is half-written.
//!
//! Deactivation and a password reset also move the person's sessions cut-off
//! ([`crate::sessions_cut_off`]): their tokens stop working on the next request and the event
//! closes their live sockets on every replica. So does a change of role or department, since a
//! token carries both.

use komek_domain::events::{AdminChange, admin_action, kind};
use komek_domain::staff::{Presence, Role, User, UserView};
use komek_domain::{Category, Lang};
use komek_store::{Store, StoreError};
use komek_web::{ApiError, Code, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The shortest password an administrator may set.
pub const MIN_PASSWORD: usize = 12;
const MAX_PASSWORD: usize = 256;
const MAX_NAME: usize = 100;
const MAX_LOGIN: usize = 64;
const MAX_CAPACITY: u32 = 100;

/// Why a staff change was not made.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Fields that are not valid, each with why.
    #[error("{}", describe(.0))]
    Invalid(Vec<FieldError>),
    #[error("no staff member {0}")]
    NotFound(String),
    #[error("the login {0} is taken")]
    Taken(String),
    /// `first-supervisor` when the installation has one: nothing was written.
    #[error(
        "a supervisor already exists; nothing was done (supervisors add staff on the page or with `komek-admin staff create`)"
    )]
    SupervisorExists,
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl AdminError {
    fn field(field: &str, message: impl Into<String>) -> Self {
        AdminError::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(errors) => ApiError::Invalid(errors),
            AdminError::NotFound(_) => ApiError::NotFound("staff member"),
            AdminError::SupervisorExists => {
                ApiError::Conflict(Code::AlreadyDone, "a supervisor already exists".into())
            }
            AdminError::Taken(login) => {
                ApiError::Conflict(Code::AlreadyDone, format!("the login {login} is taken"))
            }
            AdminError::Hash(why) => {
                tracing::error!(error = %why, "password hashing failed");
                ApiError::Internal
            }
            AdminError::Store(e) => e.into(),
        }
    }
}

/// The role as an administrator names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Agent,
    Supervisor,
    /// Department staff (needs a department).
    Department,
}

impl From<StaffRole> for Role {
    fn from(r: StaffRole) -> Self {
        match r {
            StaffRole::Agent => Role::Agent,
            StaffRole::Supervisor => Role::Supervisor,
            StaffRole::Department => Role::DepartmentStaff,
        }
    }
}

/// A new staff member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    /// 1 to 64 of a-z, 0-9, `.`, `-` and `_`.
    #[schema(format = "login")]
    pub login: String,
    /// 1 to 100 characters.
    #[schema(pattern = r"\S", max_length = 100)]
    pub name: String,
    pub role: StaffRole,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    /// Categories an agent takes; empty or absent: every category.
    #[serde(default)]
    pub skills: Vec<Category>,
    /// At least one of `kk`, `ru`, `en`.
    #[schema(min_items = 1)]
    pub languages: Vec<Lang>,
    /// Agents: 1 (new) to 3 (senior), 2 and up take urgent requests. Department staff: 1 first
    /// line, 2 second line, 3 head. Absent: 1.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 3)]
    pub level: Option<u8>,
    /// Open requests an agent holds at once, 1 to 100. Absent: 10.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100)]
    pub capacity: Option<u32>,
    /// Department staff only: an existing department's code.
    #[serde(default)]
    pub department: Option<String>,
}

/// A change to a staff member: each field given replaces the stored one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    #[schema(pattern = r"\S", max_length = 100)]
    pub name: Option<String>,
    pub role: Option<StaffRole>,
    pub skills: Option<Vec<Category>>,
    #[schema(min_items = 1)]
    pub languages: Option<Vec<Lang>>,
    #[schema(minimum = 1, maximum = 3)]
    pub level: Option<u8>,
    #[schema(minimum = 1, maximum = 100)]
    pub capacity: Option<u32>,
    /// Department staff only; an existing department's code.
    pub department: Option<String>,
}

/// Lower-case letters, digits, `.`, `-`, `_`: a login becomes part of a Redis key.
pub fn check_login(login: &str) -> Result<(), AdminError> {
    let ok = !login.is_empty()
        && login.len() <= MAX_LOGIN
        && login.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
        });
    if ok {
        Ok(())
    } else {
        Err(AdminError::field(
            "login",
            "1 to 64 of a-z, 0-9, ., - and _",
        ))
    }
}

/// A password an administrator may set.
pub fn check_password(password: &str) -> Result<(), AdminError> {
    let n = password.chars().count();
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        Ok(())
    } else {
        Err(AdminError::field(
            "password",
            format!("{MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ))
    }
}

async fn hash(password: String) -> Result<String, AdminError> {
    // argon2 is deliberately slow: off the async workers.
    blocking(move || crate::hash_password(&password).map_err(|e| e.to_string()))
        .await
        .map_err(AdminError::Hash)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    actix_web::web::block(f)
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
}

/// Checks the fields a user has after a create or an update; the department is looked up.
async fn check_user(store: &Store, u: &User) -> Result<(), AdminError> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, message: String| {
        errors.push(FieldError {
            field: field.to_owned(),
            message,
        })
    };
    let name = u.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        bad("name", format!("1 to {MAX_NAME} characters"));
    }
    if u.languages.is_empty() {
        bad("languages", "at least one of kk, ru, en".into());
    }
    if !(1..=3).contains(&u.level) {
        bad("level", "1 to 3".into());
    }
    if !(1..=MAX_CAPACITY).contains(&u.capacity) {
        bad("capacity", format!("1 to {MAX_CAPACITY}"));
    }
    match (u.role, u.department.as_deref()) {
        (Role::DepartmentStaff, None) => bad("department", "department staff need one".into()),
        (Role::DepartmentStaff, Some(code)) => {
            if store.department(code).await?.is_none() {
                bad("department", "no such department".into());
            }
        }
        (_, Some(_)) => bad(
            "department",
            "only department staff belong to a department".into(),
        ),
        (_, None) => {}
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AdminError::Invalid(errors))
    }
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn event(user: &User, by: &str, action: &str) -> komek_domain::events::Envelope {
    AdminChange::event(
        kind::STAFF_CHANGED,
        &user.login,
        by,
        action,
        &UserView::from(user),
    )
}

/// Creates a staff member; `by` is the administrator (a login, or `komek-admin`).
pub async fn create(store: &Store, by: &str, new: NewStaff) -> Result<User, AdminError> {
    // Every bad field at once: the login and password here, the rest by `check_user`.
    let mut errors: Vec<FieldError> = [check_login(&new.login), check_password(&new.password)]
        .into_iter()
        .filter_map(|r| match r {
            Err(AdminError::Invalid(e)) => Some(e),
            _ => None,
        })
        .flatten()
        .collect();
    let user = User {
        login: new.login,
        name: new.name.trim().to_owned(),
        role: new.role.into(),
        department: new.department.map(|d| d.trim().to_owned()),
        languages: dedup(new.languages),
        categories: dedup(new.skills),
        capacity: new.capacity.unwrap_or(10),
        level: new.level.unwrap_or(1),
        password_hash: String::new(),
        active: true,
        sessions_after: 0,
    };
    match check_user(store, &user).await {
        Ok(()) => {}
        Err(AdminError::Invalid(more)) => errors.extend(more),
        Err(other) => return Err(other),
    }
    if !errors.is_empty() {
        return Err(AdminError::Invalid(errors));
    }
    if store.user(&user.login).await?.is_some() {
        return Err(AdminError::Taken(user.login));
    }
    let user = User {
        password_hash: hash(new.password).await?,
        ..user
    };
    if !store
        .create_user(&user, &event(&user, by, admin_action::CREATED))
        .await?
    {
        return Err(AdminError::Taken(user.login));
    }
    tracing::info!(login = %user.login, role = ?user.role, by, "staff member created");
    Ok(user)
}

/// The stored staff member `login`.
pub async fn get(store: &Store, login: &str) -> Result<User, AdminError> {
    check_login(login)?;
    store
        .user(login)
        .await?
        .ok_or_else(|| AdminError::NotFound(login.to_owned()))
}

/// Applies `patch` to `login`. A new role or department ends the person's sessions (a token
/// carries both).
pub async fn update(
    store: &Store,
    by: &str,
    login: &str,
    patch: StaffPatch,
) -> Result<User, AdminError> {
    let before = get(store, login).await?;
    let mut user = before.clone();
    if let Some(name) = patch.name {
        user.name = name.trim().to_owned();
    }
    if let Some(role) = patch.role {
        user.role = role.into();
        if user.role != Role::DepartmentStaff {
            user.department = None;
        }
    }
    if let Some(skills) = patch.skills {
        user.categories = dedup(skills);
    }
    if let Some(languages) = patch.languages {
        user.languages = dedup(languages);
    }
    if let Some(level) = patch.level {
        user.level = level;
    }
    if let Some(capacity) = patch.capacity {
        user.capacity = capacity;
    }
    if let Some(d) = patch.department {
        user.department = Some(d.trim().to_owned());
    }
    check_user(store, &user).await?;
    let action = if user.role != before.role || user.department != before.department {
        user.sessions_after = crate::sessions_cut_off();
        admin_action::ROLE_CHANGED
    } else {
        admin_action::UPDATED
    };
    store
        .put_user(&user, Some(&event(&user, by, action)))
        .await?;
    // Who is online speaking which language is kept per language: an online agent's new
    // languages count at once (and a new role leaves the pool until they go online again).
    if user.languages != before.languages || action == admin_action::ROLE_CHANGED {
        let now = store.presence_of(&user.login).await?;
        if now == Presence::Online {
            store.set_presence(&before, Presence::Offline).await?;
            if action != admin_action::ROLE_CHANGED {
                store.set_presence(&user, Presence::Online).await?;
            }
        }
    }
    tracing::info!(login = %user.login, by, action, "staff member updated");
    Ok(user)
}

/// Deactivates (`active` false: no sign-in, every session ends at once) or activates `login`.
/// Doing what is already done changes nothing and writes no event.
pub async fn set_active(
    store: &Store,
    by: &str,
    login: &str,
    active: bool,
) -> Result<User, AdminError> {
    let mut user = get(store, login).await?;
    if user.active == active {
        return Ok(user);
    }
    user.active = active;
    let action = if active {
        admin_action::ACTIVATED
    } else {
        // Activating again later must not bring the old tokens back.
        user.sessions_after = crate::sessions_cut_off();
        admin_action::DEACTIVATED
    };
    store
        .put_user(&user, Some(&event(&user, by, action)))
        .await?;
    if !active {
        // Offline, so routing offers them nothing more; what they hold stays theirs until a
        // supervisor reassigns it.
        store.set_presence(&user, Presence::Offline).await?;
    }
    tracing::info!(login = %user.login, by, action, "staff member");
    Ok(user)
}

/// Sets a new password for `login`; every session opened with the old one ends.
pub async fn set_password(
    store: &Store,
    by: &str,
    login: &str,
    password: String,
) -> Result<User, AdminError> {
    check_password(&password)?;
    let mut user = get(store, login).await?;
    user.password_hash = hash(password).await?;
    user.sessions_after = crate::sessions_cut_off();
    store
        .put_user(&user, Some(&event(&user, by, admin_action::PASSWORD_RESET)))
        .await?;
    tracing::info!(login = %user.login, by, "password reset");
    Ok(user)
}

/// Creates the first supervisor, refused once any supervisor exists (so running it twice is
/// harmless).
pub async fn first_supervisor(
    store: &Store,
    login: &str,
    name: &str,
    password: String,
    languages: Vec<Lang>,
) -> Result<User, AdminError> {
    if store.has_supervisor().await? {
        return Err(AdminError::SupervisorExists);
    }
    create(
        store,
        BY_CLI,
        NewStaff {
            login: login.to_owned(),
            name: name.to_owned(),
            role: StaffRole::Supervisor,
            password,
            skills: Vec::new(),
            languages,
            level: Some(2),
            capacity: None,
            department: None,
        },
    )
    .await
}

/// Who the audit trail names for changes made with `komek-admin`.
pub const BY_CLI: &str = "komek-admin";
