//! Who works in Komek: users with a role, and the departments requests are escalated to.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    DepartmentStaff,
}

/// A staff member as stored; the password hash never leaves the store (see [`UserView`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub login: String,
    pub name: String,
    pub role: Role,
    /// The department of department staff; none for agents and supervisors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Languages the person works in.
    pub languages: Vec<crate::Lang>,
    /// argon2id PHC string.
    pub password_hash: String,
}

/// A user as shown to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    pub login: String,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    pub languages: Vec<crate::Lang>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            login: u.login.clone(),
            name: u.name.clone(),
            role: u.role,
            department: u.department.clone(),
            languages: u.languages.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Department {
    /// Short code used in APIs: billing, network, roaming, finance, legal...
    pub code: String,
    pub name: String,
}
