//! Schema conformance (issue 12): each service answers as its own OpenAPI document
//! (`GET /openapi.json`) says, for every role. Schemathesis (`st`, pinned in
//! `.tools/schemathesis` by `scripts/deps.sh schemathesis`, which `make test` runs) generates
//! requests from the document of each of the four services and runs `--checks all` on the answers.
//! It is run anonymously (no `Authorization` header) and as each signed-in role: agent, department
//! staff, department head, supervisor (last: its run may deactivate staff or reset passwords).
//! Every run must show:
//!
//! - 0 server errors (no 5xx);
//! - 0 undocumented statuses and 0 undocumented content types (nor bodies or headers that do not
//!   match the documented ones);
//! - 0 schema-valid requests refused (a request the document allows is not answered 4xx as
//!   malformed), and schema-invalid ones refused;
//! - 405 (with `Allow`) for a method a path does not declare;
//!
//! plus the other checks of `--checks all` (missing required headers, ignored auth, ...).
//!
//! `POST /api/v1/auth/logout` and `POST /api/v1/auth/refresh` are left out of the role runs: the
//! fuzzer would end (or rotate) the very session the run is signed in with, and every later answer
//! would be a 401; tests/sessions.rs covers what they do. They are checked in an anonymous run of
//! their own on each service (`--include-path-regex`).
//!
//! The mesh runs with a high `auth.login_per_address`: the fuzzed sign-ins (wrong passwords) would
//! otherwise soon throttle 127.0.0.1, and then the test's own sign-ins. Each role signs in just
//! before its runs, so its token (`auth.token_ttl_minutes`, 15) does not expire during them.
//!
//! Signed-in runs pass their token through `tests/schemathesis/signed-in.toml` (`KOMEK_TOKEN`,
//! applied by the document's `bearer` security scheme, so `ignored_auth` and
//! `missing_required_header` know what they leave out) rather than a bare `-H`; every run loads
//! `tests/schemathesis/hooks.py` (a fresh `Idempotency-Key` per generated call, as a client's is).
//!
//! Knobs: `KOMEK_SCHEMATHESIS_EXAMPLES` (cases per operation, default 10),
//! `KOMEK_SCHEMATHESIS_SEED` (default 1: fixed, so a CI failure reproduces). Each run's full
//! output and JUnit report are in `target/schemathesis/<service>-<role>/` (`output.txt`,
//! `junit-<time>.xml`); a failure prints its command. To rerun one against a mesh of your own
//! (`make run`; the workspace is on 8082), from the repository's root:
//!
//! ```text
//! TOKEN=$(curl -s -H 'content-type: application/json' \
//!     -d '{"login":"saule","password":"komek-super"}' \
//!     http://127.0.0.1:8082/api/v1/auth/login | jq -r .token)
//! SCHEMATHESIS_HOOKS=tests/schemathesis/hooks.py KOMEK_TOKEN=$TOKEN .tools/schemathesis/bin/st \
//!     --config-file tests/schemathesis/signed-in.toml run http://127.0.0.1:8082/openapi.json \
//!     --checks all --max-examples 10 --seed 1 --request-timeout 30 --no-color \
//!     --exclude-path-regex '^/api/v1/auth/(logout|refresh)$'
//! ```
//!
//! (Anonymously: without `KOMEK_TOKEN` and `--config-file`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use komek_e2e::{Mesh, MeshOptions, SERVICES, target_dir};

/// The signed-in roles, in the order they run: (role, login, password).
const ROLES: [(&str, &str, &str); 4] = [
    ("agent", "aigerim", "komek-agent"),
    ("department", "billing1", "komek-dept"),
    ("head", "billing-head", "komek-dept"),
    ("supervisor", "saule", "komek-super"),
];

/// Logout and refresh: left out of every role run (they end or rotate the run's own session). A
/// regex rather than two `--exclude-path`: refresh is only on the workspace and escalation, and st
/// warns about a filter that matches nothing.
const SESSION_ENDING: &str = "^/api/v1/auth/(logout|refresh)$";

/// Lines of a failed run's output the assertion shows (all of it is in its `output.txt`).
const TAIL: usize = 120;

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// What `st` runs with, under the repository's root.
struct Tools {
    root: PathBuf,
    /// The venv's `st`.
    st: PathBuf,
    /// Schemathesis hooks (`SCHEMATHESIS_HOOKS`): a fresh `Idempotency-Key` per generated call.
    hooks: PathBuf,
    /// Config of the signed-in runs: the token (`KOMEK_TOKEN`) through the document's `bearer`
    /// security scheme, so the checks that leave credentials out know what they leave out.
    signed_in: PathBuf,
}

impl Tools {
    /// Panics with how to get `st` when it is missing.
    fn find() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the e2e crate is in the repository")
            .to_owned();
        let st = root.join(".tools/schemathesis/bin/st");
        assert!(
            st.exists(),
            "{} is missing: run scripts/deps.sh schemathesis (make test does)",
            st.display()
        );
        let hooks = root.join("tests/schemathesis/hooks.py");
        let signed_in = root.join("tests/schemathesis/signed-in.toml");
        for f in [&hooks, &signed_in] {
            assert!(f.exists(), "{} is missing", f.display());
        }
        Self {
            root,
            st,
            hooks,
            signed_in,
        }
    }

    /// `path` as written from the repository's root.
    fn rel<'a>(&self, path: &'a Path) -> std::path::Display<'a> {
        path.strip_prefix(&self.root).unwrap_or(path).display()
    }
}

/// One `st run`.
struct Run {
    service: &'static str,
    /// The role, or what the run is (`anonymous-sessions` for logout/refresh).
    label: String,
    /// The signed-in role's access token.
    token: Option<String>,
    /// The arguments from `run` on.
    args: Vec<String>,
}

impl Run {
    /// The command as a shell in the repository's root would take it, the token left out.
    fn shell(&self, tools: &Tools) -> String {
        let mut words = vec![format!("SCHEMATHESIS_HOOKS={}", tools.rel(&tools.hooks))];
        if self.token.is_some() {
            words.push("KOMEK_TOKEN=$TOKEN".into());
        }
        words.push(tools.rel(&tools.st).to_string());
        if self.token.is_some() {
            words.push(format!("--config-file {}", tools.rel(&tools.signed_in)));
        }
        for a in &self.args {
            if a.contains([' ', '$', '(', '|', '^']) {
                words.push(format!("'{a}'"));
            } else {
                words.push(a.clone());
            }
        }
        words.join(" ")
    }
}

/// What a run left: its exit status, the last [`TAIL`] lines of its output, its summary line.
struct Outcome {
    ok: bool,
    status: String,
    tail: String,
    summary: String,
}

/// Runs `st` for `run`, its stdout and stderr (interleaved) into `dir/output.txt`, in `dir` (so
/// its example database, `.schemathesis/`, stays out of the repository).
async fn st(tools: &Tools, run: &Run, dir: &Path, request_number: &str) -> Outcome {
    let mut cmd = Command::new(&tools.st);
    cmd.env("SCHEMATHESIS_HOOKS", &tools.hooks)
        .env("KOMEK_REQUEST_NUMBER", request_number);
    if let Some(token) = &run.token {
        cmd.env("KOMEK_TOKEN", token)
            .arg("--config-file")
            .arg(&tools.signed_in);
    }
    cmd.args(&run.args);
    let (st, dir) = (tools.st.clone(), dir.to_owned());
    tokio::task::spawn_blocking(move || {
        // Only this run's report and output; no example database (`.schemathesis/`) of an
        // earlier run replaying its failures first.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out_path = dir.join("output.txt");
        let out = std::fs::File::create(&out_path).unwrap();
        let status = cmd
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .status()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", st.display()));
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL)..].join("\n");
        let summary = lines
            .iter()
            .rev()
            .find(|l| l.starts_with("===") && l.ends_with("==="))
            .map_or_else(|| "(no summary line)".to_owned(), |l| (*l).to_owned());
        Outcome {
            ok: status.success(),
            status: status.to_string(),
            tail,
            summary,
        }
    })
    .await
    .unwrap()
}

/// Panics if a service of the mesh has been sent SIGTERM (the mesh itself stops them with
/// SIGKILL): something outside the test stopped it, and the runs against it say nothing.
fn assert_not_stopped_from_outside(mesh: &Mesh) {
    for svc in SERVICES {
        assert!(
            !mesh.log(svc).contains(r#""signal":"SIGTERM""#),
            "komek-{svc} was stopped by a SIGTERM from outside the test (see {}); rerun",
            mesh.logs.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_conforms_to_its_document_for_every_role() {
    let tools = Tools::find();
    let examples = env_number("KOMEK_SCHEMATHESIS_EXAMPLES", 10);
    let seed = env_number("KOMEK_SCHEMATHESIS_SEED", 1);
    let reports = target_dir().join("schemathesis");
    std::fs::create_dir_all(&reports).unwrap();
    let reports = reports.canonicalize().unwrap();
    let mesh = Mesh::start(MeshOptions {
        tag: "e2e-schema",
        env: vec![("KOMEK__AUTH__LOGIN_PER_ADDRESS".into(), "1000000".into())],
        ..Default::default()
    })
    .await;
    let http = reqwest::Client::new();
    // A request that exists, for the hooks' links to problems (`KOMEK_REQUEST_NUMBER`).
    let made = mesh
        .post_request(
            &http,
            &serde_json::json!({"channel": "web", "customer": {"msisdn": "+77011234567"},
                "text": "Деньги списали дважды за тариф"}),
        )
        .await;
    let request_number = made["number"].as_str().unwrap().to_owned();
    let started = Instant::now();

    let common = |service: &'static str, label: &str| -> Vec<String> {
        let mut args: Vec<String> = vec![
            "run".into(),
            mesh.url(service, "/openapi.json"),
            "--checks".into(),
            "all".into(),
            "--max-examples".into(),
            examples.to_string(),
            "--seed".into(),
            seed.to_string(),
            "--request-timeout".into(),
            "30".into(),
            "--no-color".into(),
            "--report".into(),
            "junit".into(),
            "--report-dir".into(),
        ];
        args.push(
            reports
                .join(format!("{service}-{label}"))
                .display()
                .to_string(),
        );
        args
    };
    let role_run = |service: &'static str, label: &str, token: Option<&str>| -> Run {
        let mut args = common(service, label);
        args.extend(["--exclude-path-regex".into(), SESSION_ENDING.into()]);
        Run {
            service,
            label: label.to_owned(),
            token: token.map(str::to_owned),
            args,
        }
    };

    // The four services' runs of one caller go side by side (an `st` process each: about half
    // the wall time on two cores); the callers go one after another, the supervisor last.
    let batch = |runs: Vec<Run>| {
        let (tools, reports, number) = (&tools, &reports, &request_number);
        futures_util::future::join_all(runs.into_iter().map(move |run| async move {
            let dir = reports.join(format!("{}-{}", run.service, run.label));
            let t = Instant::now();
            let outcome = st(tools, &run, &dir, number).await;
            (run, outcome, t.elapsed())
        }))
    };
    let mut failures: Vec<(Run, Outcome)> = Vec::new();
    let mut count = 0;
    let mut record = |done: Vec<(Run, Outcome, std::time::Duration)>| {
        for (run, outcome, took) in done {
            count += 1;
            eprintln!(
                "schemathesis {:<10} {:<18} {} in {:.0?}: {}",
                run.service,
                run.label,
                if outcome.ok { "ok" } else { "FAILED" },
                took,
                outcome.summary
            );
            if !outcome.ok {
                failures.push((run, outcome));
            }
        }
    };

    let anonymous = SERVICES.map(|service| role_run(service, "anonymous", None));
    record(batch(anonymous.into()).await);
    // Logout and refresh, anonymously (no session to end): on each service that has either.
    let sessions = SERVICES.map(|service| {
        let mut args = common(service, "anonymous-sessions");
        args.extend(["--include-path-regex".into(), SESSION_ENDING.into()]);
        Run {
            service,
            label: "anonymous-sessions".into(),
            token: None,
            args,
        }
    });
    record(batch(sessions.into()).await);
    for (role, login, password) in ROLES {
        assert_not_stopped_from_outside(&mesh);
        let token = mesh.login(&http, login, password).await;
        let runs = SERVICES.map(|service| role_run(service, role, Some(&token)));
        record(batch(runs.into()).await);
    }
    assert_not_stopped_from_outside(&mesh);
    eprintln!(
        "schemathesis: {count} runs in {:.0?}, {} failed; reports in {}",
        started.elapsed(),
        failures.len(),
        reports.display()
    );
    mesh.finish().await;

    let shown: Vec<String> = failures
        .iter()
        .map(|(run, o)| {
            format!(
                "----- {} as {}: {}, {}\n$ {}\n(all of it in {})\n{}\n",
                run.service,
                run.label,
                o.status,
                o.summary,
                run.shell(&tools),
                reports
                    .join(format!("{}-{}", run.service, run.label))
                    .join("output.txt")
                    .display(),
                o.tail
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {count} schemathesis runs failed: {}\n\n{}",
        failures.len(),
        failures
            .iter()
            .map(|(run, _)| format!("{} as {}", run.service, run.label))
            .collect::<Vec<_>>()
            .join(", "),
        shown.join("\n")
    );
}
