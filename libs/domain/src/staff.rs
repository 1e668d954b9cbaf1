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
    /// Categories an agent takes; empty means every category.
    #[serde(default)]
    pub categories: Vec<crate::Category>,
    /// How many open requests an agent holds at once.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Qualification, 1 (new) to 3 (senior): urgent requests go to level 2 and up.
    #[serde(default = "default_level")]
    pub level: u8,
    /// argon2id PHC string.
    pub password_hash: String,
    /// A deactivated person cannot sign in, and every token they hold stops working at once.
    /// Records stored before the flag existed read as active.
    #[serde(default = "default_active")]
    pub active: bool,
    /// Unix seconds: tokens issued before this are refused (set by deactivation and by a
    /// password reset, so both end every open session). 0: no cut-off.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sessions_after: i64,
}

fn default_active() -> bool {
    true
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn default_capacity() -> u32 {
    10
}

fn default_level() -> u8 {
    1
}

/// The lowest level that takes urgent requests.
pub const URGENT_LEVEL: u8 = 2;

impl User {
    /// Whether this person may take requests of `category`.
    pub fn takes(&self, category: crate::Category) -> bool {
        self.categories.is_empty() || self.categories.contains(&category)
    }

    /// Whether this person is qualified for requests of `priority`.
    pub fn qualified_for(&self, priority: crate::Priority) -> bool {
        priority != crate::Priority::Urgent || self.level >= URGENT_LEVEL
    }
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
    #[serde(default)]
    pub categories: Vec<crate::Category>,
    #[serde(default)]
    pub capacity: u32,
    #[serde(default)]
    pub level: u8,
    /// False once deactivated (absent in older records: active).
    #[serde(default = "default_active")]
    pub active: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self {
            login: u.login.clone(),
            name: u.name.clone(),
            role: u.role,
            department: u.department.clone(),
            languages: u.languages.clone(),
            categories: u.categories.clone(),
            capacity: u.capacity,
            level: u.level,
            active: u.active,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Department {
    /// Short code used in APIs: billing, network, roaming, finance, legal...
    pub code: String,
    pub name: String,
    /// The department's own working hours; none means the company calendar (`[calendar]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<WorkingHours>,
    /// How long each tier of the department has to answer an escalation, per category.
    #[serde(default)]
    pub deadlines: DepartmentDeadlines,
}

/// Working hours that replace the company's for one department (holidays stay the company's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkingHours {
    /// Monday = 1 ... Sunday = 7.
    #[schema(min_items = 1, inline, value_type = Vec<WeekDay>)]
    pub working_days: Vec<u8>,
    /// "HH:MM", local time of the company's time zone; before `close`.
    #[schema(pattern = r"^(?:[01]\d|2[0-3]):[0-5]\d$")]
    pub open: String,
    /// "HH:MM" ("24:00" closes at midnight); after `open`.
    #[schema(pattern = r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")]
    pub close: String,
    /// Whether the company's holidays are days off for this department too (the default); a
    /// round-the-clock operations centre says `false`.
    #[serde(default = "observes_holidays")]
    pub holidays: bool,
}

fn observes_holidays() -> bool {
    true
}

/// Working minutes (in the department's hours) one tier has before the escalation moves up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentDeadlines {
    #[serde(default = "default_department_minutes")]
    #[schema(minimum = 1, maximum = 100000)]
    pub default_minutes: u32,
    /// Overrides by request category: 1 to 100000 working minutes each.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeMap<crate::Category, TierMinutes>)]
    pub by_category: std::collections::BTreeMap<crate::Category, u32>,
}

/// A day of the week in [`WorkingHours`]: Monday = 1 ... Sunday = 7 (the document's type).
#[derive(ToSchema)]
#[schema(minimum = 1, maximum = 7)]
#[allow(dead_code)]
struct WeekDay(u8);

/// Working minutes of one tier, 1 to 100000 (the document's type).
#[derive(ToSchema)]
#[schema(minimum = 1, maximum = 100000)]
#[allow(dead_code)]
struct TierMinutes(u32);

fn default_department_minutes() -> u32 {
    480
}

impl Default for DepartmentDeadlines {
    fn default() -> Self {
        Self {
            default_minutes: default_department_minutes(),
            by_category: Default::default(),
        }
    }
}

impl DepartmentDeadlines {
    pub fn minutes_for(&self, category: Option<crate::Category>) -> u32 {
        category
            .and_then(|c| self.by_category.get(&c).copied())
            .unwrap_or(self.default_minutes)
    }
}

/// Presence of an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }
}
