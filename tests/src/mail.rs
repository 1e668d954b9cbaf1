//! A real SMTP relay for the tests that follow mail out of intake: `aiosmtpd` (PyPI, installed by
//! `scripts/deps.sh email`) started on a free port with its Maildir handler; [`mesh`] starts the
//! services with their mail going to a relay of their own.

use std::collections::HashSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use komek_testkit::eventually;
use mail_parser::MessageParser;
use tokio::net::TcpStream;

use crate::{Mesh, MeshOptions, WAIT, free_port};

/// The four services with intake's SMTP listener on `smtp_port`, their mail going to a relay of
/// their own (under the mesh's log folder), the `KOMEK__…` variables `env` besides; and the store.
pub async fn mesh(
    tag: &'static str,
    smtp_port: u16,
    env: Vec<(String, String)>,
) -> (Mesh, Relay, komek_store::Store) {
    let relay_port = free_port();
    let mesh = Mesh::start(MeshOptions {
        tag,
        env: [
            Relay::env(relay_port),
            vec![("KOMEK__EMAIL__SMTP_PORT".into(), smtp_port.to_string())],
            env,
        ]
        .concat(),
        ..Default::default()
    })
    .await;
    let relay = Relay::start(&mesh.logs.join("relay"), relay_port).await;
    let store = komek_store::Store::connect(&mesh.settings.redis)
        .await
        .unwrap();
    (mesh, relay, store)
}

/// aiosmtpd writing every mail it receives into a Maildir; killed on drop.
pub struct Relay {
    maildir: PathBuf,
    child: Child,
}

impl Relay {
    /// The `KOMEK__EMAIL__RELAY_*` variables that send a mesh's mail to a relay on `port`.
    pub fn env(port: u16) -> Vec<(String, String)> {
        vec![
            ("KOMEK__EMAIL__RELAY_HOST".into(), "127.0.0.1".into()),
            ("KOMEK__EMAIL__RELAY_PORT".into(), port.to_string()),
        ]
    }

    /// Starts the relay on `port`, its Maildir and log under `dir`, and waits until it listens.
    pub async fn start(dir: &Path, port: u16) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let maildir = dir.join("maildir");
        let log = std::fs::File::create(dir.join("aiosmtpd.out")).unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("python3 -m aiosmtpd: run scripts/deps.sh email (make test does)");
        eventually(Duration::from_secs(20), "aiosmtpd listens", || async move {
            TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        })
        .await;
        Relay { maildir, child }
    }

    /// Every mail the relay received so far, raw.
    pub fn received(&self) -> Vec<Vec<u8>> {
        self.fresh(&mut HashSet::new())
    }

    /// The mails received since the files in `seen`, raw, in the Maildir's order; their file
    /// names join `seen` (so following thousands of mails reads each once).
    pub fn fresh(&self, seen: &mut HashSet<OsString>) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.file_name().is_some_and(|n| !seen.contains(n)))
            .collect();
        files.sort();
        files
            .into_iter()
            .filter_map(|p| {
                let raw = std::fs::read(&p).ok()?;
                seen.insert(p.file_name()?.to_owned());
                Some(raw)
            })
            .collect()
    }

    /// The first received mail whose subject contains `needle`, waited for.
    pub async fn wait_for(&self, what: &str, needle: &str) -> Vec<u8> {
        eventually(WAIT, what, || {
            let got = self.received().into_iter().find(|raw| {
                MessageParser::default()
                    .parse(raw)
                    .and_then(|m| m.subject().map(|s| s.contains(needle)))
                    .unwrap_or(false)
            });
            async move { got }
        })
        .await
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
