//! A real SMTP server for the e-mail tests: `tests/smtp/sink.py` on Debian's aiosmtpd, run with
//! a test CA's certificate, and the messages it kept, parsed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders as _};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// Debian's interpreter, which has python3-aiosmtpd; the `python3` first on PATH may not.
const PYTHON: &str = "/usr/bin/python3";

/// The account the server accepts.
pub(crate) const USER: &str = "tokenwatch";
pub(crate) const PASSWORD: &str = "пароль-for-smtp";

/// A CA and a server certificate for 127.0.0.1 it signed, as files.
#[derive(Debug)]
pub(crate) struct TestCa {
    pub(crate) ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

/// How the server talks.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Mode<'a> {
    /// STARTTLS required, then AUTH as [`USER`].
    Secure(&'a TestCa),
    /// No STARTTLS offered; AUTH as [`USER`] offered in clear but not needed: whatever comes
    /// is kept.
    Plain,
}

/// The server process; killed when dropped.
#[derive(Debug)]
pub(crate) struct Sink {
    child: Child,
    pub(crate) port: u16,
    store: PathBuf,
}

/// A message as the server received it.
#[derive(Debug)]
pub(crate) struct Mail {
    /// The envelope.
    pub(crate) mail_from: String,
    pub(crate) rcpt_tos: Vec<String>,
    /// Whether the session had turned to TLS, and who authenticated.
    pub(crate) tls: bool,
    pub(crate) login: Option<String>,
    /// The headers.
    pub(crate) from: String,
    /// "Name <address>" or "address", in order.
    pub(crate) to: Vec<String>,
    pub(crate) subject: String,
    pub(crate) date: String,
    pub(crate) message_id: String,
    pub(crate) notifications: String,
    pub(crate) auto_submitted: String,
    /// "multipart/alternative" and its parts' "type/subtype; charset".
    pub(crate) content_type: String,
    pub(crate) parts: Vec<String>,
    /// The parts' text, line ends as `\n`.
    pub(crate) text: String,
    pub(crate) html: String,
    /// The message as it travelled.
    pub(crate) raw: String,
}

// === impl TestCa ===

impl TestCa {
    pub(crate) fn new(dir: &Path) -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "tokenwatch test mail CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let out = Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("smtp.pem"),
            key: dir.join("smtp.key"),
        };
        std::fs::write(&out.ca, ca_cert.pem()).unwrap();
        std::fs::write(&out.cert, cert.pem()).unwrap();
        std::fs::write(&out.key, key.serialize_pem()).unwrap();
        out
    }
}

// === impl Sink ===

impl Sink {
    /// Start the server on `port` (0: any free one), keeping messages in `store`, and wait
    /// until it listens.
    pub(crate) async fn start(mode: Mode<'_>, port: u16, store: &Path) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp/sink.py");
        let mut command = Command::new(PYTHON);
        command
            .arg(script)
            .arg("--port")
            .arg(port.to_string())
            .arg("--dir")
            .arg(store);
        match mode {
            Mode::Secure(ca) => {
                command
                    .args(["--user", USER, "--password", PASSWORD, "--cert"])
                    .arg(&ca.cert)
                    .arg("--key")
                    .arg(&ca.key);
            }
            Mode::Plain => {
                command.args(["--plain", "--user", USER, "--password", PASSWORD]);
            }
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{PYTHON} {script}: {error}"));
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP server starts within 20 s")
            .unwrap()
            .expect("the SMTP server prints its ready line (is python3-aiosmtpd installed?)");
        let port = ready
            .strip_prefix("ready 127.0.0.1:")
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected ready line {ready:?}"));
        Self {
            child,
            port,
            store: store.to_owned(),
        }
    }

    /// Stop the server, as an outage.
    pub(crate) async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }

    /// Every message received so far, in order.
    pub(crate) fn received(&self) -> Vec<Mail> {
        let mut metas: Vec<PathBuf> = std::fs::read_dir(&self.store)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        metas.sort();
        metas.iter().map(|path| Mail::read(path)).collect()
    }
}

// === impl Mail ===

impl Mail {
    fn read(meta: &Path) -> Self {
        let envelope: serde_json::Value =
            serde_json::from_slice(&std::fs::read(meta).unwrap()).unwrap();
        let raw = std::fs::read(meta.with_extension("eml")).unwrap();
        let message = MessageParser::default()
            .parse(&raw)
            .expect("a parsable message");
        let addresses = |list: Option<&mail_parser::Address<'_>>| -> Vec<String> {
            list.map(|list| {
                list.iter()
                    .map(|addr| match addr.name() {
                        Some(name) => format!("{name} <{}>", addr.address().unwrap_or_default()),
                        None => addr.address().unwrap_or_default().to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        let content_type = |ct: Option<&mail_parser::ContentType<'_>>| -> String {
            let Some(ct) = ct else {
                return String::new();
            };
            let mut out = format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default());
            if let Some(charset) = ct.attribute("charset") {
                out.push_str("; charset=");
                out.push_str(&charset.to_ascii_lowercase());
            }
            out
        };
        assert_eq!(message.text_body_count(), 1, "one text/plain part");
        assert_eq!(message.html_body_count(), 1, "one text/html part");
        let parts = [message.text_part(0), message.html_part(0)]
            .into_iter()
            .map(|part| content_type(part.unwrap().content_type()))
            .collect();
        let header = |name: &str| {
            message
                .header_raw(name)
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        Self {
            mail_from: envelope["mail_from"].as_str().unwrap().to_owned(),
            rcpt_tos: envelope["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|to| to.as_str().unwrap().to_owned())
                .collect(),
            tls: envelope["tls"].as_bool().unwrap(),
            login: envelope["login"].as_str().map(str::to_owned),
            from: addresses(message.from()).join(", "),
            to: addresses(message.to()),
            subject: message.subject().unwrap_or_default().to_owned(),
            date: message.date().map(|d| d.to_rfc3339()).unwrap_or_default(),
            message_id: message.message_id().unwrap_or_default().to_owned(),
            notifications: header("X-Tokenwatch-Notifications"),
            auto_submitted: header("Auto-Submitted"),
            content_type: content_type(message.content_type()),
            parts,
            text: message.body_text(0).unwrap().replace("\r\n", "\n"),
            html: message.body_html(0).unwrap().replace("\r\n", "\n"),
            raw: String::from_utf8_lossy(&raw).into_owned(),
        }
    }
}
