//! E-mail: one digest per delivery round to the channel's group of recipients, over SMTP.
//!
//! [`digest`] renders the mail (pure); this module builds the message around it and sends it.
//! `starttls` security requires the server to upgrade the connection before anything else is
//! said — credentials and mail never go out in clear, and a server that offers no STARTTLS is
//! refused rather than talked to plainly; `tls` speaks TLS from the first byte (port 465).
//!
//! The Message-ID is derived from the ids of the notifications in the digest, so the same
//! digest sent again after a crash (see [`crate::notify`]) carries the same Message-ID, which
//! mail systems use to drop duplicates.

mod digest;
mod html;
mod words;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};

use super::{DeliveryError, Notification, SetupError, secret};
use crate::config::{EmailChannel, Language, SmtpSecurity};

pub use digest::{Digest, render};

/// A configured e-mail channel.
#[derive(Debug)]
pub struct Email {
    /// "email NAME (host:port)", for errors.
    target: String,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    language: Language,
    /// The whole SMTP session's limit; lettre's own timeout is per command.
    timeout: Duration,
}

// === impl Email ===

impl Email {
    /// Set up the channel `name`: check its addresses, read its password and CA files.
    pub fn new(name: &str, config: &EmailChannel, timeout: Duration) -> Result<Self, SetupError> {
        let invalid = |message: String| SetupError::Invalid {
            channel: name.to_owned(),
            message,
        };
        let (host, port) = server(&config.smtp, config.security).map_err(invalid)?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|error| invalid(format!("from {:?}: {error}", config.from)))?;
        let to = config
            .to
            .iter()
            .map(|address| {
                address
                    .parse::<Mailbox>()
                    .map_err(|error| invalid(format!("to {address:?}: {error}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(invalid("to needs at least one recipient".to_owned()));
        }
        // "Dangerous" only in that it leaves TLS to the caller, which `tls` sets right below.
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(timeout))
            .tls(tls(name, config, &host)?);
        match (&config.username, &config.password_file) {
            (Some(user), Some(path)) => {
                if config.security == SmtpSecurity::None {
                    return Err(invalid(
                        "a password is never sent without TLS: use security = \"starttls\" or \
                         \"tls\""
                            .to_owned(),
                    ));
                }
                let password = secret::read(name, path)?;
                builder = builder.credentials(Credentials::new(user.clone(), password));
            }
            (None, None) => {}
            _ => return Err(invalid("username and password_file go together".to_owned())),
        }
        Ok(Self {
            target: format!("email {name} ({host}:{port})"),
            transport: builder.build(),
            from,
            to,
            language: config.language,
            timeout,
        })
    }

    /// Send `batch` as one digest to every recipient: all or nothing.
    pub async fn send(
        &self,
        batch: &[Notification],
        now: DateTime<Utc>,
    ) -> Result<(), DeliveryError> {
        if batch.is_empty() {
            return Ok(());
        }
        let message = self.message(batch, now)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(self.delivery_error(&error)),
            Err(_) => Err(DeliveryError::Unreachable {
                target: self.target.clone(),
                message: format!("no answer within {:?}", self.timeout),
            }),
        }
    }

    /// The digest of `batch` as a `multipart/alternative` message dated `now`.
    fn message(
        &self,
        batch: &[Notification],
        now: DateTime<Utc>,
    ) -> Result<Message, DeliveryError> {
        let digest = render(batch, self.language, now);
        let ids: Vec<String> = batch.iter().map(|n| n.id.to_string()).collect();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(digest.subject)
            .date(now.into())
            .message_id(Some(message_id(batch, &self.from)))
            // RFC 3834: out-of-office replies and the like are not sent back to a robot.
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".to_owned(),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("X-Tokenwatch-Notifications"),
                ids.join(", "),
            ));
        for recipient in &self.to {
            builder = builder.to(recipient.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(digest.text, digest.html))
            .map_err(|error| DeliveryError::Build(error.to_string()))
    }

    /// What a failed SMTP session means for the digest. A 5xx answer refuses this message for
    /// good (a recipient the server does not know, a message it will not take), except the
    /// answers about authentication and encryption (530, 534, 535, 538): those say the
    /// channel's setup is wrong, not the message, and the digest must still go out once the
    /// password or the server is fixed rather than be abandoned with everything it carries.
    /// 4xx answers, connection and TLS failures pass and are retried.
    fn delivery_error(&self, error: &lettre::transport::smtp::Error) -> DeliveryError {
        let message = error_chain(error);
        let code = error.status().map(|code| code.to_string());
        if code.is_none() {
            return DeliveryError::Unreachable {
                target: self.target.clone(),
                message,
            };
        }
        let setup = matches!(code.as_deref(), Some("530" | "534" | "535" | "538"));
        DeliveryError::Refused {
            target: self.target.clone(),
            message,
            permanent: error.is_permanent() && !setup,
        }
    }
}

/// The host and port of `smtp` ("host", "host:port", "[v6]:port"); the port defaults to 465
/// for implicit TLS and 587 (submission) otherwise.
fn server(smtp: &str, security: SmtpSecurity) -> Result<(String, u16), String> {
    let default = match security {
        SmtpSecurity::Tls => 465,
        SmtpSecurity::Starttls | SmtpSecurity::None => 587,
    };
    let (host, port) = match smtp.rsplit_once(':') {
        // A bare IPv6 address has colons but no port.
        Some((host, port)) if !host.contains(':') || host.ends_with(']') => (host, Some(port)),
        _ => (smtp, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("smtp {smtp:?}: no host"));
    }
    let port = match port {
        Some(port) => port
            .parse()
            .map_err(|_| format!("smtp {smtp:?}: {port:?} is not a port"))?,
        None => default,
    };
    Ok((host.to_owned(), port))
}

/// How the connection to `host` is protected, trusting the built-in (Mozilla) roots and
/// `ca_file`'s.
fn tls(name: &str, config: &EmailChannel, host: &str) -> Result<Tls, SetupError> {
    let invalid = |message: String| SetupError::Invalid {
        channel: name.to_owned(),
        message,
    };
    let parameters = || -> Result<TlsParameters, SetupError> {
        let mut parameters = TlsParameters::builder(host.to_owned());
        if let Some(path) = &config.ca_file {
            for der in ca_certificates(name, path)? {
                let root = Certificate::from_der(der.to_vec())
                    .map_err(|error| invalid(format!("{}: {error}", path.display())))?;
                parameters = parameters.add_root_certificate(root);
            }
        }
        parameters
            .build_rustls()
            .map_err(|error| invalid(format!("TLS: {error}")))
    };
    Ok(match config.security {
        SmtpSecurity::Starttls => Tls::Required(parameters()?),
        SmtpSecurity::Tls => Tls::Wrapper(parameters()?),
        SmtpSecurity::None => Tls::None,
    })
}

/// The certificates of the PEM file `path`; none is an error, as a CA file that trusts
/// nothing is a mistake.
fn ca_certificates(name: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, SetupError> {
    let invalid = |message: String| SetupError::Invalid {
        channel: name.to_owned(),
        message: format!("{}: {message}", path.display()),
    };
    let pem = std::fs::read(path).map_err(|source| SetupError::Read {
        channel: name.to_owned(),
        path: path.to_owned(),
        source,
    })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(error.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("no PEM certificate".to_owned()));
    }
    Ok(certificates)
}

/// `<digest.HASH@DOMAIN>`: HASH of the notification ids, DOMAIN the sender's.
fn message_id(batch: &[Notification], from: &Mailbox) -> String {
    let mut hash = Sha256::new();
    for notification in batch {
        hash.update(notification.id.to_be_bytes());
    }
    let hash = hex::encode(&hash.finalize()[..16]);
    format!("<digest.{hash}@{}>", from.email.domain())
}

/// An error with its causes: lettre keeps the I/O and TLS reasons in `source()`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = inner.source();
    }
    out
}

#[cfg(test)]
mod tests;
