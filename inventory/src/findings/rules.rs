//! The time rules: findings whose truth depends on the clock. The agent applies them to what it
//! has just collected, the server to stored dates, so a finding reads the same from either.

use chrono::{DateTime, Utc};

use super::{Code, Finding, Severity, Thresholds};

/// The codes whose truth depends on the clock. The server drops an agent's copies of these and
/// recomputes them at the time asked.
pub const TIME_CODES: [Code; 8] = [
    Code::CertificateExpired,
    Code::CertificateExpiring,
    Code::CertificateNotYetValid,
    Code::PrivateKeyExpired,
    Code::PrivateKeyExpiring,
    Code::CspLicenseExpired,
    Code::CspLicenseExpiring,
    Code::CspLicenseDemo,
];

/// What expires, with its two codes and how messages name it.
#[derive(Clone, Copy, Debug)]
pub struct Expiring {
    pub expired: Code,
    pub expiring: Code,
    pub what: &'static str,
}

/// A certificate's validity.
pub const CERTIFICATE: Expiring = Expiring {
    expired: Code::CertificateExpired,
    expiring: Code::CertificateExpiring,
    what: "certificate",
};
/// A private key's usage period.
pub const PRIVATE_KEY: Expiring = Expiring {
    expired: Code::PrivateKeyExpired,
    expiring: Code::PrivateKeyExpiring,
    what: "private key",
};
/// The CryptoPro CSP licence.
pub const CSP_LICENSE: Expiring = Expiring {
    expired: Code::CspLicenseExpired,
    expiring: Code::CspLicenseExpiring,
    what: "licence",
};

/// How findings name the CSP licence.
pub const CSP_SUBJECT: &str = "CryptoPro CSP licence";

/// An expired finding, or an expiring one inside the warning window (critical inside the
/// critical window); nothing while the end is further away.
pub fn expiry(
    kind: Expiring,
    subject: &str,
    end: DateTime<Utc>,
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> Option<Finding> {
    if end <= now {
        return Some(Finding::new(
            kind.expired,
            subject,
            format!("The {} expired on {}.", kind.what, day(end)),
        ));
    }
    let days = (end - now).num_days();
    if days >= thresholds.warning_days {
        return None;
    }
    let severity = if days < thresholds.critical_days {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let when = match days {
        0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    };
    Some(
        Finding::new(
            kind.expiring,
            subject,
            format!("The {} expires {when}, on {}.", kind.what, day(end)),
        )
        .with_severity(severity),
    )
}

/// A lapsed CA certificate breaks every chain under it, but it is the CA's to renew: a warning
/// once it has happened, no countdown.
pub fn ca_expired(subject: &str, end: DateTime<Utc>, now: DateTime<Utc>) -> Option<Finding> {
    (end <= now).then(|| {
        Finding::new(
            Code::CertificateExpired,
            subject,
            format!("The CA certificate expired on {}.", day(end)),
        )
        .with_severity(Severity::Warning)
    })
}

/// A certificate whose validity starts after `now`.
pub fn not_yet_valid(subject: &str, start: DateTime<Utc>, now: DateTime<Utc>) -> Option<Finding> {
    (start > now).then(|| {
        Finding::new(
            Code::CertificateNotYetValid,
            subject,
            format!("The certificate becomes valid only on {}.", day(start)),
        )
    })
}

/// A demo licence: a warning, critical once it has ended.
pub fn csp_demo(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Finding {
    let when = expires
        .map(|e| format!(" It ends on {}.", day(e)))
        .unwrap_or_default();
    let severity = match expires {
        Some(end) if end <= now => Severity::Critical,
        _ => Severity::Warning,
    };
    Finding::new(
        Code::CspLicenseDemo,
        CSP_SUBJECT,
        format!("CryptoPro CSP runs on a demo licence.{when}"),
    )
    .with_severity(severity)
}

/// How findings name a certificate: its owner, then its thumbprint.
pub fn certificate_subject(subject: &str, subject_cn: Option<&str>, sha1: &str) -> String {
    let owner = subject_cn.unwrap_or(subject);
    format!("certificate \"{owner}\" ({sha1})")
}

/// How findings name a container: its name and folder.
pub fn container_subject(name: Option<&str>, path: &str) -> String {
    match name {
        Some(name) => format!("container \"{name}\" ({path})"),
        None => format!("container {path}"),
    }
}

/// A moment as the findings and alerts write it.
pub fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
