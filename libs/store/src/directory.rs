//! Staff, departments and the built-in customer directory, and the idempotent demo seed.

use std::collections::HashMap;

use komek_domain::events::Envelope;
use komek_domain::staff::{Department, DepartmentDeadlines, Role, User, WorkingHours};
use komek_domain::{Category, Lang};
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use crate::commit::{Store, StoreError};

/// A customer of the built-in directory (the demo stand-in for Billing/CRM). `komek-customers`
/// (`DirectoryRecord`) reads and writes the same records with more fields (email, segment,
/// balance, charges, payments, services); this type still reads them, ignoring those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryCustomer {
    pub msisdn: String,
    pub name: String,
    pub language: Lang,
    pub region: String,
    pub tariff: String,
}

/// One demo staff member, listed in the README and config/demo-logins.txt.
pub struct DemoStaff {
    pub login: &'static str,
    pub name: &'static str,
    pub role: Role,
    pub department: Option<&'static str>,
    pub languages: &'static [Lang],
    pub password: &'static str,
    /// Categories an agent takes; empty: all.
    pub categories: &'static [Category],
    /// Agents: 2 takes urgent work. Department staff: 1 first line, 2 second line, 3 head.
    pub level: u8,
}

const fn agent(
    login: &'static str,
    name: &'static str,
    languages: &'static [Lang],
    categories: &'static [Category],
    level: u8,
) -> DemoStaff {
    DemoStaff {
        login,
        name,
        role: Role::Agent,
        department: None,
        languages,
        password: "komek-agent",
        categories,
        level,
    }
}

const fn dept(
    login: &'static str,
    name: &'static str,
    department: &'static str,
    languages: &'static [Lang],
    level: u8,
) -> DemoStaff {
    DemoStaff {
        login,
        name,
        role: Role::DepartmentStaff,
        department: Some(department),
        languages,
        password: "komek-dept",
        categories: &[],
        level,
    }
}

/// The demo staff. Billing, network and roaming have the whole chain (first line, second line,
/// head), so a breached deadline has somewhere to go; the other departments a first line.
pub const DEMO_STAFF: &[DemoStaff] = &[
    agent(
        "aigerim",
        "Айгерім Сәрсенова",
        &[Lang::Kk, Lang::Ru],
        &[],
        2,
    ),
    agent("daniyar", "Данияр Ахметов", &[Lang::Ru, Lang::En], &[], 2),
    // The network specialist is new; everyone else takes urgent work.
    agent(
        "marat",
        "Марат Оспанов",
        &[Lang::Ru, Lang::Kk],
        &[Category::Network, Category::Internet, Category::Roaming],
        1,
    ),
    DemoStaff {
        login: "saule",
        name: "Сәуле Жұмабаева",
        role: Role::Supervisor,
        department: None,
        languages: &[Lang::Kk, Lang::Ru, Lang::En],
        password: "komek-super",
        categories: &[],
        level: 2,
    },
    dept("billing1", "Billing, first line", "billing", &[Lang::Ru], 1),
    dept(
        "billing2",
        "Billing, second line",
        "billing",
        &[Lang::Ru, Lang::Kk],
        2,
    ),
    dept("billing-head", "Billing, head", "billing", &[Lang::Ru], 3),
    dept(
        "network1",
        "Network operations, first line",
        "network",
        &[Lang::Ru],
        1,
    ),
    dept(
        "network2",
        "Network operations, second line",
        "network",
        &[Lang::Ru],
        2,
    ),
    dept(
        "network-head",
        "Network operations, head",
        "network",
        &[Lang::Ru, Lang::En],
        3,
    ),
    dept(
        "roaming1",
        "Roaming desk, first line",
        "roaming",
        &[Lang::En],
        1,
    ),
    dept(
        "roaming2",
        "Roaming desk, second line",
        "roaming",
        &[Lang::En, Lang::Ru],
        2,
    ),
    dept(
        "roaming-head",
        "Roaming desk, head",
        "roaming",
        &[Lang::Ru],
        3,
    ),
    dept("finance1", "Finance", "finance", &[Lang::Ru], 1),
    dept("legal1", "Legal", "legal", &[Lang::Kk], 1),
];

/// A demo department: code, name, hours (days, open, close; none: the company calendar), the
/// minutes each tier has by default, and overrides by category.
pub type DemoDepartment = (
    &'static str,
    &'static str,
    Option<(&'static [u8], &'static str, &'static str)>,
    u32,
    &'static [(Category, u32)],
);

const WEEKDAYS: &[u8] = &[1, 2, 3, 4, 5];
const EVERY_DAY: &[u8] = &[1, 2, 3, 4, 5, 6, 7];

pub const DEMO_DEPARTMENTS: &[DemoDepartment] = &[
    (
        "billing",
        "Billing",
        Some((WEEKDAYS, "09:00", "18:00")),
        240,
        &[],
    ),
    // Outages do not wait for the morning.
    (
        "network",
        "Network operations",
        Some((EVERY_DAY, "00:00", "24:00")),
        240,
        &[(Category::Network, 120), (Category::Internet, 120)],
    ),
    (
        "roaming",
        "Roaming",
        Some((EVERY_DAY, "08:00", "22:00")),
        240,
        &[(Category::Roaming, 180)],
    ),
    (
        "finance",
        "Finance",
        Some((WEEKDAYS, "09:00", "18:00")),
        960,
        &[],
    ),
    (
        "legal",
        "Legal",
        Some((WEEKDAYS, "09:00", "18:00")),
        2400,
        &[],
    ),
    ("vas", "Value-added services", None, 480, &[]),
    ("sales", "Sales", None, 480, &[(Category::Tariff, 240)]),
];

/// The demo departments as stored.
pub fn demo_departments() -> Vec<Department> {
    DEMO_DEPARTMENTS
        .iter()
        .map(|(code, name, hours, minutes, by_category)| Department {
            code: (*code).into(),
            name: (*name).into(),
            hours: hours.map(|(days, open, close)| WorkingHours {
                working_days: days.to_vec(),
                open: open.into(),
                close: close.into(),
                // The network operations centre works round the clock, holidays included.
                holidays: *code != "network",
            }),
            deadlines: DepartmentDeadlines {
                default_minutes: *minutes,
                by_category: by_category.iter().copied().collect(),
            },
        })
        .collect()
}

pub const DEMO_CUSTOMERS: &[(&str, &str, Lang, &str, &str)] = &[
    (
        "+77011234567",
        "Асқар Нұрланұлы",
        Lang::Kk,
        "Almaty",
        "Komek Unlimited",
    ),
    (
        "+77051112233",
        "Ольга Петрова",
        Lang::Ru,
        "Astana",
        "Komek Smart 15",
    ),
    (
        "+77771234567",
        "John Smith",
        Lang::En,
        "Shymkent",
        "Komek Travel",
    ),
];

/// KEYS: user, staff set, outbox; ARGV: user JSON, login, event type, event JSON. The same outbox
/// fields as the commit script (`type`, `event`).
const CREATE_USER_LUA: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SADD', KEYS[2], ARGV[2])
  redis.call('XADD', KEYS[3], '*', 'type', ARGV[3], 'event', ARGV[4])
  return 1
end
return 0
"#;

impl Store {
    pub async fn user(&self, login: &str) -> Result<Option<User>, StoreError> {
        self.get_json(&self.keys().user(login)).await
    }

    /// Stores a user unless one with that login exists; returns whether it was written.
    pub async fn add_user(&self, user: &User) -> Result<bool, StoreError> {
        let mut c = self.conn();
        let json = serde_json::to_string(user).unwrap_or_default();
        let written: bool = redis::cmd("SET")
            .arg(self.keys().user(&user.login))
            .arg(json)
            .arg("NX")
            .query_async::<Option<String>>(&mut c)
            .await?
            .is_some();
        let _: i64 = c.sadd(self.keys().staff(), &user.login).await?;
        Ok(written)
    }

    /// Every staff member, by login.
    pub async fn staff(&self) -> Result<Vec<User>, StoreError> {
        let mut c = self.conn();
        let mut logins: Vec<String> = c.smembers(self.keys().staff()).await?;
        logins.sort();
        let mut out = Vec::with_capacity(logins.len());
        for l in logins {
            if let Some(u) = self.user(&l).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    pub async fn department(&self, code: &str) -> Result<Option<Department>, StoreError> {
        let mut c = self.conn();
        let raw: Option<String> = c.hget(self.keys().departments(), code).await?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub async fn departments(&self) -> Result<Vec<Department>, StoreError> {
        let mut c = self.conn();
        let all: Vec<String> = c.hvals(self.keys().departments()).await?;
        let mut out: Vec<Department> = all
            .iter()
            .filter_map(|s| serde_json::from_str(s).ok())
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(out)
    }

    /// Stores a user, replacing the one with that login (the admin API).
    ///
    /// With `event`, the event (the admin change, for the audit trail) is appended to the outbox in
    /// the same transaction, so a change is never stored without its record or the other way round.
    pub async fn put_user(&self, user: &User, event: Option<&Envelope>) -> Result<(), StoreError> {
        let mut c = self.conn();
        let json = serde_json::to_string(user).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .set(self.keys().user(&user.login), json)
            .ignore()
            .sadd(self.keys().staff(), &user.login)
            .ignore();
        self.outbox_entry(&mut pipe, event);
        let _: () = pipe.query_async(&mut c).await?;
        Ok(())
    }

    /// Stores a new user with its audit event in the outbox, in one script: nothing is written
    /// when the login is taken. Returns whether it was written.
    pub async fn create_user(&self, user: &User, event: &Envelope) -> Result<bool, StoreError> {
        let mut c = self.conn();
        let written: i64 = redis::Script::new(CREATE_USER_LUA)
            .key(self.keys().user(&user.login))
            .key(self.keys().staff())
            .key(self.keys().outbox())
            .arg(serde_json::to_string(user).unwrap_or_default())
            .arg(&user.login)
            .arg(&event.kind)
            .arg(serde_json::to_string(event).unwrap_or_default())
            .invoke_async(&mut c)
            .await?;
        Ok(written == 1)
    }

    /// Whether any supervisor is stored, active or not (`komek-admin first-supervisor` makes the
    /// first one only).
    pub async fn has_supervisor(&self) -> Result<bool, StoreError> {
        Ok(self
            .staff()
            .await?
            .iter()
            .any(|u| u.role == Role::Supervisor))
    }

    /// Adds `XADD outbox * type … event …` (the fields the relay reads) to a transaction.
    fn outbox_entry(&self, pipe: &mut redis::Pipeline, event: Option<&Envelope>) {
        if let Some(e) = event {
            pipe.cmd("XADD")
                .arg(self.keys().outbox())
                .arg("*")
                .arg("type")
                .arg(&e.kind)
                .arg("event")
                .arg(serde_json::to_string(e).unwrap_or_default())
                .ignore();
        }
    }

    /// The department staff of `code`, by login.
    pub async fn department_staff(&self, code: &str) -> Result<Vec<User>, StoreError> {
        Ok(self
            .staff()
            .await?
            .into_iter()
            .filter(|u| u.role == Role::DepartmentStaff && u.department.as_deref() == Some(code))
            .collect())
    }

    /// Stores a department, replacing the one with that code (the admin API); with `event`, in
    /// one transaction with its outbox entry (see [`Store::put_user`]).
    pub async fn put_department(
        &self,
        d: &Department,
        event: Option<&Envelope>,
    ) -> Result<(), StoreError> {
        let mut c = self.conn();
        let json = serde_json::to_string(d).unwrap_or_default();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset(self.keys().departments(), &d.code, json)
            .ignore();
        self.outbox_entry(&mut pipe, event);
        let _: () = pipe.query_async(&mut c).await?;
        Ok(())
    }

    /// Stores a department unless one with that code exists (the seed).
    pub async fn add_department(&self, d: &Department) -> Result<(), StoreError> {
        let mut c = self.conn();
        let json = serde_json::to_string(d).unwrap_or_default();
        let _: bool = c.hset_nx(self.keys().departments(), &d.code, json).await?;
        Ok(())
    }

    pub async fn directory_customer(
        &self,
        msisdn: &str,
    ) -> Result<Option<DirectoryCustomer>, StoreError> {
        let mut c = self.conn();
        let raw: Option<String> = c.hget(self.keys().customers(), msisdn).await?;
        Ok(raw.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Seeds departments, demo staff and demo customers; existing entries are left as they are.
    /// `hash` turns a password into its stored hash (argon2 lives in komek-auth).
    pub async fn seed_demo(&self, hash: impl Fn(&str) -> String) -> Result<usize, StoreError> {
        for d in demo_departments() {
            self.add_department(&d).await?;
        }
        // The demo passwords are shared and public: hashing each once keeps start-up quick.
        let mut hashes: HashMap<&str, String> = HashMap::new();
        let mut added = 0;
        for s in DEMO_STAFF {
            if self.user(s.login).await?.is_some() {
                let mut c = self.conn();
                let _: i64 = c.sadd(self.keys().staff(), s.login).await?;
                continue;
            }
            let user = User {
                login: s.login.into(),
                name: s.name.into(),
                role: s.role,
                department: s.department.map(str::to_owned),
                languages: s.languages.to_vec(),
                categories: s.categories.to_vec(),
                capacity: 10,
                level: s.level,
                password_hash: hashes
                    .entry(s.password)
                    .or_insert_with(|| hash(s.password))
                    .clone(),
                active: true,
                sessions_after: 0,
            };
            if self.add_user(&user).await? {
                added += 1;
            }
        }
        let mut c = self.conn();
        for (msisdn, name, language, region, tariff) in DEMO_CUSTOMERS {
            let cust = DirectoryCustomer {
                msisdn: (*msisdn).into(),
                name: (*name).into(),
                language: *language,
                region: (*region).into(),
                tariff: (*tariff).into(),
            };
            let _: bool = c
                .hset_nx(
                    self.keys().customers(),
                    *msisdn,
                    serde_json::to_string(&cust).unwrap_or_default(),
                )
                .await?;
        }
        self.seed_templates().await?;
        Ok(added)
    }
}
