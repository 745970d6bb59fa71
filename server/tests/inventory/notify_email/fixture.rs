//! What the e-mail tests share: inventories whose certificates cross the thresholds, the
//! channels' configuration, a deliverer and the checks every received digest passes.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::alerts::{self, Settings};
use tokenwatch_server::config::{AlertsConfig, Language, NotifyConfig};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tokenwatch_server::notify::outbox::{self, Retry};
use tokenwatch_server::notify::{self, Channels, Deliverer};

use super::sink::{Mail, PASSWORD, TestCa, USER};
use crate::support::*;

/// Certificate 0's owner, as an agent could report it: markup must arrive as text.
pub(super) const SCRIPT_CN: &str = "<script>alert(\"x\")</script> Иванова";

pub(super) const FROM: &str = "tokenwatch <tokenwatch@example.org>";

/// Certificate 0 ends here; 1 two days later; the warehouse's own five days later.
pub(super) fn end() -> DateTime<Utc> {
    base() + Duration::days(100)
}

/// Agents that may stay silent for years: these tests move the clock by weeks.
pub(super) fn patient() -> Settings {
    let mut settings = Settings::from_config(&AlertsConfig::default());
    settings.agent_interval = Duration::days(3650);
    settings
}

pub(super) fn retry() -> Retry {
    Retry {
        initial: std::time::Duration::from_secs(60),
        max: std::time::Duration::from_secs(3600),
        give_up_after: std::time::Duration::from_secs(3 * 86_400),
    }
}

/// An accounting workstation: certificates 0 and 1 expiring, no agent findings.
pub(super) fn buh(hostname: &str) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.findings.clear();
    let first = &mut inventory.certificates[0];
    first.not_after = ts(end());
    first.subject = format!("CN={SCRIPT_CN}");
    first.subject_cn = Some(SCRIPT_CN.to_owned());
    inventory.certificates[1].not_after = ts(end() + Duration::days(2));
    inventory
}

/// The same with certificate 0 renewed (gone).
pub(super) fn buh_renewed(hostname: &str) -> v1::Inventory {
    let mut inventory = buh(hostname);
    inventory.certificates.remove(0);
    inventory
}

/// A warehouse workstation: without the accountants' token and certificates 0 and 1, with a
/// certificate of its own (100) expiring.
pub(super) fn sklad(hostname: &str) -> v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.findings.clear();
    inventory.tokens.clear();
    inventory.certificates.drain(0..2);
    let mut own = inventory.certificates[20].clone();
    let (sha1, sha256) = cert_hashes(100);
    own.sha1 = sha1;
    own.sha256 = sha256;
    own.subject = "CN=Кладовщик,O=ООО Ромашка".to_owned();
    own.subject_cn = Some("Кладовщик".to_owned());
    own.not_after = ts(end() + Duration::days(5));
    own.der = vec![0x30, 0x82, 100, 0x02];
    inventory.certificates.push(own);
    inventory
}

/// What the alerts name certificate `i` by.
pub(super) fn cert_subject(i: usize, cn: &str) -> String {
    format!("certificate \"{cn}\" ({})", cert_hashes(i).0)
}

/// The scratch directory of a test: the CA, the password file, the server's store.
pub(super) struct Files {
    dir: tempfile::TempDir,
    pub(super) ca: TestCa,
}

impl Files {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path());
        std::fs::write(dir.path().join("password"), format!("{PASSWORD}\n")).unwrap();
        std::fs::create_dir(dir.path().join("store")).unwrap();
        Self { dir, ca }
    }

    pub(super) fn password(&self) -> PathBuf {
        self.dir.path().join("password")
    }

    pub(super) fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }
}

/// `[notify]` with the channels of `toml`, where `@port`, `@ca` and `@password` stand for the
/// test server's port and files. The defaults (Russian, STARTTLS) are what is left out.
pub(super) fn config(toml: &str, port: u16, files: &Files) -> NotifyConfig {
    let toml = toml
        .replace("@port", &port.to_string())
        .replace("@ca", &files.ca.ca.display().to_string())
        .replace("@password", &files.password().display().to_string());
    let config: NotifyConfig = toml::from_str(&toml).unwrap();
    config.validate().unwrap();
    config
}

pub(super) const BUH: &str = r#"
[email.buh]
smtp = "127.0.0.1:@port"
username = "tokenwatch"
password_file = '@password'
ca_file = '@ca'
from = "tokenwatch <tokenwatch@example.org>"
to = ["buh-lead@example.org", "Иванова Анна <ivanova@example.org>"]
route = { offices = ["Бухгалтерия"] }
"#;

pub(super) const IT: &str = r#"
[email.it]
smtp = "127.0.0.1:@port"
security = "starttls"
username = "tokenwatch"
password_file = '@password'
ca_file = '@ca'
from = "tokenwatch <tokenwatch@example.org>"
to = ["it@example.org"]
language = "en"
"#;

pub(super) fn deliverer(pool: &PgPool, config: &NotifyConfig) -> Deliverer {
    Deliverer::new(
        pool.clone(),
        Arc::new(Channels::from_config(config).unwrap()),
        retry(),
        Arc::new(Metrics::new(std::time::Duration::from_secs(15))),
    )
}

/// One delivery round at `now`. A deliverer just started may wait a moment for the lock that
/// the one before it held until its connection closed.
pub(super) use crate::support::deliver_round as step;

pub(super) async fn evaluate(pool: &PgPool, now: DateTime<Utc>) {
    alerts::evaluate(pool, now, &patient()).await.unwrap();
}

/// The notifications a mail says it carries, as channels are given them.
pub(super) async fn carried(pool: &PgPool, mail: &Mail) -> Vec<notify::Notification> {
    let ids: Vec<i64> = mail
        .notifications
        .split(", ")
        .map(|id| id.parse().unwrap())
        .collect();
    let mut db = pool.acquire().await.unwrap();
    let found = outbox::notifications(&mut db, &ids).await.unwrap();
    assert_eq!(found.len(), ids.len());
    found
}

/// The headlines of a digest's plain part, in order.
pub(super) fn headlines(mail: &Mail) -> Vec<&str> {
    mail.text
        .lines()
        .filter(|line| !line.starts_with(' ') && line.contains("): "))
        .collect()
}

pub(super) fn when(mail: &Mail) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&mail.date).unwrap().into()
}

/// What every digest has: the envelope and headers of the channel, over TLS as the account,
/// both parts in UTF-8 and a 7-bit message, dated `now`, and a body exactly as rendered.
pub(super) async fn assert_digest(
    pool: &PgPool,
    mail: &Mail,
    to: &[&str],
    language: Language,
    now: DateTime<Utc>,
) {
    assert_eq!(mail.mail_from, "tokenwatch@example.org");
    let envelope: Vec<&str> = to
        .iter()
        .map(|to| match to.split_once('<') {
            Some((_, address)) => address.trim_end_matches('>'),
            None => to,
        })
        .collect();
    assert_eq!(mail.rcpt_tos, envelope);
    assert!(mail.tls, "the session went over TLS");
    assert_eq!(mail.login.as_deref(), Some(USER));
    assert_eq!(mail.from, FROM);
    assert_eq!(mail.to, to);
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(
        mail.parts,
        ["text/plain; charset=utf-8", "text/html; charset=utf-8"]
    );
    // Cyrillic travels encoded, so servers without 8BITMIME take it too.
    assert!(mail.raw.is_ascii());
    assert_eq!(when(mail), now);
    assert!(
        mail.message_id.starts_with("digest.") && mail.message_id.ends_with("@example.org"),
        "{}",
        mail.message_id
    );
    assert_eq!(mail.auto_submitted, "auto-generated");
    let rendered = notify::email::render(&carried(pool, mail).await, language, now);
    assert_eq!(mail.subject, rendered.subject);
    assert_eq!(mail.text, rendered.text.replace("\r\n", "\n"));
    assert_eq!(mail.html, rendered.html.replace("\r\n", "\n"));
}

pub(super) async fn alert_id(pool: &PgPool, sha256: &str) -> i64 {
    sqlx::query_scalar("select id from alerts where key = $1")
        .bind(format!("certificate:{sha256}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

/// The one channel's status.
pub(super) async fn status(pool: &PgPool, config: &NotifyConfig) -> notify::ChannelStatus {
    let channels = Channels::from_config(config).unwrap();
    let mut all = notify::channel_status(pool, &channels).await.unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

pub(super) async fn accountant(pool: &PgPool) {
    let accounting = office(pool, "Бухгалтерия").await;
    let id = agent(pool, accounting, "buh-01").await;
    apply_report(pool, id, &request(1, &buh("buh-01")), base())
        .await
        .unwrap();
}

/// The accountants' channel through a local relay without TLS or a password.
pub(super) fn config_relay(port: u16) -> NotifyConfig {
    let toml = BUH
        .replace("@port", &port.to_string())
        .lines()
        .filter(|line| {
            !["username", "password_file", "ca_file"]
                .iter()
                .any(|key| line.starts_with(key))
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\nsecurity = \"none\"\n";
    let config: NotifyConfig = toml::from_str(&toml).unwrap();
    config.validate().unwrap();
    config
}
