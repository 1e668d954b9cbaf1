//! `komek-admin`: what an operator does from a shell, with the same settings as the services
//! (config layers, `KOMEK__*` variables, `_FILE` secrets).
//!
//! - `first-supervisor`: the first account of an empty installation (refused once any supervisor
//!   exists); from then on supervisors manage staff on the page or with `staff`.
//! - `staff create|update|deactivate|activate|password|list`: the same checks and audit events as
//!   the workspace's admin API ([`komek_auth::staff`]).
//! - `customers import FILE.csv`: the built-in directory's CSV import ([`komek_customers`]).
//! - `outbox`: what waits to be published.
//! - `parked list|replay`: the parking queue ([`parked`]).
//!
//! Exit codes: 0 done, 2 a usage or validation error (one line naming the field), 1 anything else.

pub mod parked;

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use komek_auth::staff::{self as admin, AdminError, NewStaff, StaffPatch, StaffRole};
use komek_domain::staff::{Role, User};
use komek_domain::{Category, Lang};
use komek_settings::Settings;
use komek_store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "komek-admin",
    version,
    about = "Komek administration: the first supervisor, staff, customer import, the outbox and parked messages"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the first supervisor of an empty installation (refused once any supervisor exists).
    FirstSupervisor {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        /// Languages, comma-separated (kk, ru, en).
        #[arg(long, value_delimiter = ',', value_parser = parse_lang, default_values = ["kk", "ru"])]
        languages: Vec<Lang>,
        /// Read the password from this file (first line); without it, from standard input.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Agents, supervisors and department staff.
    #[command(subcommand)]
    Staff(StaffCommand),
    /// The built-in customer directory.
    #[command(subcommand)]
    Customers(CustomersCommand),
    /// Events stored and not yet confirmed by the broker: how many, and how old the oldest is.
    Outbox,
    /// Messages in the parking queue (events a consumer could not handle).
    #[command(subcommand)]
    Parked(ParkedCommand),
}

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff member.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: RoleArg,
        #[command(flatten)]
        fields: Fields,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Change the given fields of a staff member.
    Update {
        login: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        role: Option<RoleArg>,
        #[command(flatten)]
        fields: Fields,
    },
    /// No more sign-in; every session ends at once.
    Deactivate { login: String },
    /// Sign-in allowed again (old sessions stay ended).
    Activate { login: String },
    /// Set a new password (from --password-file or standard input); every session ends.
    Password {
        login: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Every staff member.
    List,
}

#[derive(Debug, Args)]
pub struct Fields {
    /// Categories an agent takes, comma-separated (billing, network, internet, roaming, tariff,
    /// sim_card, other); none: every category.
    #[arg(long, value_delimiter = ',', value_parser = parse_category)]
    skills: Option<Vec<Category>>,
    /// Languages, comma-separated (kk, ru, en); on create, kk,ru when absent.
    #[arg(long, value_delimiter = ',', value_parser = parse_lang)]
    languages: Option<Vec<Lang>>,
    /// 1 to 3 (agents: 2 and up take urgent requests; department staff: 3 is the head).
    #[arg(long)]
    level: Option<u8>,
    /// Open requests an agent holds at once, 1 to 100.
    #[arg(long)]
    capacity: Option<u32>,
    /// Department staff: the department's code.
    #[arg(long)]
    department: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Agent,
    Supervisor,
    Department,
}

impl From<RoleArg> for StaffRole {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Agent => StaffRole::Agent,
            RoleArg::Supervisor => StaffRole::Supervisor,
            RoleArg::Department => StaffRole::Department,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CustomersCommand {
    /// Import a CSV file (the format of config/demo-customers.csv); exit 1 when rows were rejected.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ParkedCommand {
    /// List parked messages (they stay parked).
    List,
    /// Move parked messages back to the queue they came from (all, or those of --queue).
    Replay {
        /// The original queue, e.g. komek.workspace.
        #[arg(long)]
        queue: Option<String>,
    },
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_owned()))
        .map_err(|_| format!("{s:?} is not one of kk, ru, en"))
}

fn parse_category(s: &str) -> Result<Category, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_owned())).map_err(|_| {
        format!("{s:?} is not one of billing, network, internet, roaming, tariff, sim_card, other")
    })
}

/// Why a command failed; [`CliError::exit_code`] says how the process ends.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A field or argument is not valid (exit 2); the message names it.
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failed(_) => 1,
        }
    }

    fn failed(e: impl std::fmt::Display) -> Self {
        CliError::Failed(e.to_string())
    }
}

impl From<AdminError> for CliError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(_) => CliError::Usage(e.to_string()),
            other => CliError::Failed(other.to_string()),
        }
    }
}

impl From<komek_store::StoreError> for CliError {
    fn from(e: komek_store::StoreError) -> Self {
        CliError::failed(e)
    }
}

/// Runs `cli` against the installation `settings` name, reading a password from `input` when no
/// file is given, and writing what it did to `out`.
pub async fn run(
    cli: Cli,
    settings: &Settings,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if let Command::Parked(p) = &cli.command {
        return match p {
            ParkedCommand::List => parked::list(settings, out).await,
            ParkedCommand::Replay { queue } => {
                parked::replay(settings, queue.as_deref(), out).await
            }
        };
    }
    let store = Store::connect(&settings.redis)
        .await
        .map_err(|e| CliError::Failed(format!("cannot reach Redis: {e}")))?;
    match cli.command {
        Command::FirstSupervisor {
            login,
            name,
            languages,
            password_file,
        } => {
            admin::check_login(&login)?;
            let password = password(password_file.as_ref(), input)?;
            let u = admin::first_supervisor(&store, &login, &name, password, languages).await?;
            say(
                out,
                format!("supervisor {} created; sign in on the page", u.login),
            )
        }
        Command::Staff(s) => staff(&store, s, input, out).await,
        Command::Customers(CustomersCommand::Import { file }) => import(&store, &file, out).await,
        Command::Outbox => outbox(&store, out).await,
        Command::Parked(_) => Ok(()),
    }
}

async fn staff(
    store: &Store,
    cmd: StaffCommand,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let by = admin::BY_CLI;
    match cmd {
        StaffCommand::Create {
            login,
            name,
            role,
            fields,
            password_file,
        } => {
            admin::check_login(&login)?;
            let password = password(password_file.as_ref(), input)?;
            let u = admin::create(
                store,
                by,
                NewStaff {
                    login,
                    name,
                    role: role.into(),
                    password,
                    skills: fields.skills.unwrap_or_default(),
                    languages: fields.languages.unwrap_or_else(|| vec![Lang::Kk, Lang::Ru]),
                    level: fields.level,
                    capacity: fields.capacity,
                    department: fields.department,
                },
            )
            .await?;
            say(out, format!("created {}", line(&u)))
        }
        StaffCommand::Update {
            login,
            name,
            role,
            fields,
        } => {
            let u = admin::update(
                store,
                by,
                &login,
                StaffPatch {
                    name,
                    role: role.map(Into::into),
                    skills: fields.skills,
                    languages: fields.languages,
                    level: fields.level,
                    capacity: fields.capacity,
                    department: fields.department,
                },
            )
            .await?;
            say(out, format!("updated {}", line(&u)))
        }
        StaffCommand::Deactivate { login } => {
            let u = admin::set_active(store, by, &login, false).await?;
            say(
                out,
                format!("deactivated {}; their sessions have ended", u.login),
            )
        }
        StaffCommand::Activate { login } => {
            let u = admin::set_active(store, by, &login, true).await?;
            say(out, format!("activated {}", u.login))
        }
        StaffCommand::Password {
            login,
            password_file,
        } => {
            admin::check_login(&login)?;
            let password = password(password_file.as_ref(), input)?;
            let u = admin::set_password(store, by, &login, password).await?;
            say(
                out,
                format!(
                    "new password set for {}; their sessions have ended",
                    u.login
                ),
            )
        }
        StaffCommand::List => {
            for u in store.staff().await? {
                say(out, line(&u))?;
            }
            Ok(())
        }
    }
}

/// One staff member on one line: login, role, department, level, capacity, languages, skills,
/// whether active, name.
fn line(u: &User) -> String {
    let role = match u.role {
        Role::Agent => "agent",
        Role::Supervisor => "supervisor",
        Role::DepartmentStaff => "department",
    };
    let langs: Vec<&str> = u.languages.iter().map(|l| l.as_str()).collect();
    let skills: Vec<&str> = u.categories.iter().map(|c| c.as_str()).collect();
    format!(
        "{}\t{role}\t{}\tlevel {}\tcapacity {}\t{}\t{}\t{}\t{}",
        u.login,
        u.department.as_deref().unwrap_or("-"),
        u.level,
        u.capacity,
        langs.join(","),
        if skills.is_empty() {
            "all".to_owned()
        } else {
            skills.join(",")
        },
        if u.active { "active" } else { "inactive" },
        u.name
    )
}

/// The password from `file` (its first line) or from `input` (one line); the line end is not part
/// of it.
fn password(file: Option<&PathBuf>, input: &mut dyn BufRead) -> Result<String, CliError> {
    let mut raw = String::new();
    match file {
        Some(f) => {
            raw = std::fs::read_to_string(f).map_err(|e| {
                CliError::Usage(format!("password-file: cannot read {}: {e}", f.display()))
            })?;
        }
        None => {
            input
                .read_line(&mut raw)
                .map_err(|e| CliError::Usage(format!("password: cannot read stdin: {e}")))?;
        }
    }
    let first = raw.lines().next().unwrap_or_default().to_owned();
    admin::check_password(&first)?;
    Ok(first)
}

fn say(out: &mut dyn Write, line: impl std::fmt::Display) -> Result<(), CliError> {
    writeln!(out, "{line}").map_err(CliError::failed)
}

async fn import(store: &Store, file: &PathBuf, out: &mut dyn Write) -> Result<(), CliError> {
    let f = std::fs::File::open(file)
        .map_err(|e| CliError::Usage(format!("file: cannot open {}: {e}", file.display())))?;
    let dir = komek_customers::DirectorySource::new(store.clone());
    let report = dir.import_csv(f).await.map_err(|e| match e {
        komek_customers::ImportError::Header(h) => CliError::Usage(format!("file: {h}")),
        other => CliError::failed(other),
    })?;
    say(
        out,
        format!(
            "added {}, updated {}, unchanged {}, rejected {}",
            report.added,
            report.updated,
            report.unchanged,
            report.rejected.len()
        ),
    )?;
    for r in &report.rejected {
        say(out, format!("line {}: {}", r.line, r.reason))?;
    }
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(format!(
            "{} rows were not imported",
            report.rejected.len()
        )))
    }
}

/// The outbox stream: entries not yet confirmed by the broker, and the age of the oldest (its
/// stream id is its time). One stream serves every service; each replica's relay publishes it.
async fn outbox(store: &Store, out: &mut dyn Write) -> Result<(), CliError> {
    let key = store.keys().outbox();
    let g = store.outbox_gauges().await?;
    let len = g.entries;
    let age = (len > 0).then_some(g.oldest_age_secs as i64);
    match age {
        Some(secs) => say(
            out,
            format!("outbox {key}: {len} entries, oldest {secs} s old"),
        ),
        None => say(out, format!("outbox {key}: {len} entries")),
    }
}
