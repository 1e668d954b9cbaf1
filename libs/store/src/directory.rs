//! Staff, departments and the built-in customer directory, and the idempotent demo seed.

use komek_domain::staff::{Department, Role, User};
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

/// One demo staff member: (login, name, role, department, languages, password, categories (empty: all)).
pub type DemoStaff = (
    &'static str,
    &'static str,
    Role,
    Option<&'static str>,
    &'static [Lang],
    &'static str,
    &'static [Category],
);

/// The demo staff, listed in the README and config/demo-logins.txt.
pub const DEMO_STAFF: &[DemoStaff] = &[
    (
        "aigerim",
        "Айгерім Сәрсенова",
        Role::Agent,
        None,
        &[Lang::Kk, Lang::Ru],
        "komek-agent",
        &[],
    ),
    (
        "daniyar",
        "Данияр Ахметов",
        Role::Agent,
        None,
        &[Lang::Ru, Lang::En],
        "komek-agent",
        &[],
    ),
    (
        "marat",
        "Марат Оспанов",
        Role::Agent,
        None,
        &[Lang::Ru, Lang::Kk],
        "komek-agent",
        &[Category::Network, Category::Internet, Category::Roaming],
    ),
    (
        "saule",
        "Сәуле Жұмабаева",
        Role::Supervisor,
        None,
        &[Lang::Kk, Lang::Ru, Lang::En],
        "komek-super",
        &[],
    ),
    (
        "billing1",
        "Billing, first line",
        Role::DepartmentStaff,
        Some("billing"),
        &[Lang::Ru],
        "komek-dept",
        &[],
    ),
    (
        "network1",
        "Network operations",
        Role::DepartmentStaff,
        Some("network"),
        &[Lang::Ru],
        "komek-dept",
        &[],
    ),
    (
        "roaming1",
        "Roaming desk",
        Role::DepartmentStaff,
        Some("roaming"),
        &[Lang::En],
        "komek-dept",
        &[],
    ),
    (
        "finance1",
        "Finance",
        Role::DepartmentStaff,
        Some("finance"),
        &[Lang::Ru],
        "komek-dept",
        &[],
    ),
    (
        "legal1",
        "Legal",
        Role::DepartmentStaff,
        Some("legal"),
        &[Lang::Kk],
        "komek-dept",
        &[],
    ),
];

pub const DEMO_DEPARTMENTS: &[(&str, &str)] = &[
    ("billing", "Billing"),
    ("network", "Network operations"),
    ("roaming", "Roaming"),
    ("finance", "Finance"),
    ("legal", "Legal"),
    ("vas", "Value-added services"),
    ("sales", "Sales"),
];

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
        for (code, name) in DEMO_DEPARTMENTS {
            self.add_department(&Department {
                code: (*code).into(),
                name: (*name).into(),
                hours: None,
                deadlines: Default::default(),
            })
            .await?;
        }
        let mut added = 0;
        for (login, name, role, dept, langs, password, categories) in DEMO_STAFF {
            if self.user(login).await?.is_some() {
                let mut c = self.conn();
                let _: i64 = c.sadd(self.keys().staff(), *login).await?;
                continue;
            }
            let user = User {
                login: (*login).into(),
                name: (*name).into(),
                role: *role,
                department: dept.map(str::to_owned),
                languages: langs.to_vec(),
                categories: categories.to_vec(),
                capacity: 10,
                // The network specialist is new; everyone else takes urgent work.
                level: if *login == "marat" { 1 } else { 2 },
                password_hash: hash(password),
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
