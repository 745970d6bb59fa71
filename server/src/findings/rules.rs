//! The agent's expiry rules, applied to stored dates: same codes, severities and wording, so a
//! finding reads the same whether the agent or the server computed it.

use chrono::{DateTime, Utc};

use super::Severity;

/// Days before a date when a warning appears and when it turns critical.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Thresholds {
    pub(crate) warning_days: i64,
    pub(crate) critical_days: i64,
}

/// One computed finding, before it is tied to a host.
#[derive(Debug)]
pub(crate) struct Computed {
    pub(crate) code: &'static str,
    pub(crate) severity: Severity,
    pub(crate) subject: String,
    pub(crate) message: String,
}

/// What expires, with its two codes and how messages name it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Expiring {
    pub(crate) expired: &'static str,
    pub(crate) expiring: &'static str,
    pub(crate) what: &'static str,
}

pub(crate) const CERTIFICATE: Expiring = Expiring {
    expired: "certificate.expired",
    expiring: "certificate.expiring",
    what: "certificate",
};
pub(crate) const PRIVATE_KEY: Expiring = Expiring {
    expired: "private_key.expired",
    expiring: "private_key.expiring",
    what: "private key",
};
pub(crate) const CSP_LICENSE: Expiring = Expiring {
    expired: "cryptopro.license_expired",
    expiring: "cryptopro.license_expiring",
    what: "licence",
};
pub(crate) const NOT_YET_VALID: &str = "certificate.not_yet_valid";
pub(crate) const CSP_DEMO: &str = "cryptopro.license_demo";

/// The codes whose truth depends on the clock: the agent's copies are dropped and these rules
/// recompute them at the time asked.
pub(crate) const TIME_CODES: [&str; 8] = [
    "certificate.expired",
    "certificate.expiring",
    "certificate.not_yet_valid",
    "private_key.expired",
    "private_key.expiring",
    "cryptopro.license_expired",
    "cryptopro.license_expiring",
    "cryptopro.license_demo",
];

/// An expired finding, or an expiring one inside the warning window (critical inside the
/// critical window); nothing when the end is further away.
pub(crate) fn expiry(
    kind: Expiring,
    subject: &str,
    end: DateTime<Utc>,
    thresholds: Thresholds,
    now: DateTime<Utc>,
) -> Option<Computed> {
    if end <= now {
        return Some(Computed {
            code: kind.expired,
            severity: Severity::Critical,
            subject: subject.to_owned(),
            message: format!("The {} expired on {}.", kind.what, day(end)),
        });
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
    Some(Computed {
        code: kind.expiring,
        severity,
        subject: subject.to_owned(),
        message: format!("The {} expires {when}, on {}.", kind.what, day(end)),
    })
}

/// A lapsed CA certificate: a warning once it has happened, no countdown (it is the CA's to
/// renew).
pub(crate) fn ca_expired(
    subject: &str,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Computed> {
    (end <= now).then(|| Computed {
        code: CERTIFICATE.expired,
        severity: Severity::Warning,
        subject: subject.to_owned(),
        message: format!("The CA certificate expired on {}.", day(end)),
    })
}

pub(crate) fn not_yet_valid(
    subject: &str,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<Computed> {
    (start > now).then(|| Computed {
        code: NOT_YET_VALID,
        severity: Severity::Warning,
        subject: subject.to_owned(),
        message: format!("The certificate becomes valid only on {}.", day(start)),
    })
}

/// A demo licence: a warning, critical once it has ended.
pub(crate) fn csp_demo(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Computed {
    let when = expires
        .map(|e| format!(" It ends on {}.", day(e)))
        .unwrap_or_default();
    let severity = match expires {
        Some(end) if end <= now => Severity::Critical,
        _ => Severity::Warning,
    };
    Computed {
        code: CSP_DEMO,
        severity,
        subject: CSP_SUBJECT.to_owned(),
        message: format!("CryptoPro CSP runs on a demo licence.{when}"),
    }
}

pub(crate) const CSP_SUBJECT: &str = "CryptoPro CSP licence";

/// How findings name a certificate: its owner, then its thumbprint.
pub(crate) fn certificate_subject(subject: &str, subject_cn: Option<&str>, sha1: &str) -> String {
    let owner = subject_cn.unwrap_or(subject);
    format!("certificate \"{owner}\" ({sha1})")
}

pub(crate) fn container_subject(name: Option<&str>, path: &str) -> String {
    match name {
        Some(name) => format!("container \"{name}\" ({path})"),
        None => format!("container {path}"),
    }
}

/// The helpdesk's next steps for a code these rules produce (the agent's catalogue wording).
pub(crate) fn remediation(code: &str) -> &'static str {
    match code {
        "certificate.expired" => {
            "The certificate can no longer be used to sign. Ask the owner to apply to the \
             certification authority for a new one (an in-person visit is usually needed), then \
             install it into the Personal store with a link to its private key and register it \
             again on every trading platform that used the old one."
        }
        "certificate.expiring" => {
            "Start re-issuing now: the owner usually has to visit the certification authority in \
             person, which takes days to arrange. After re-issue, install the new certificate with \
             a link to its key and register it again on each trading platform."
        }
        "certificate.not_yet_valid" => {
            "Check that this computer's date and time are correct. If they are, the certificate \
             only becomes valid on its start date: use the previous certificate until then."
        }
        "private_key.expired" => {
            "The private key's usage period is over: CryptoPro CSP refuses to sign with it \
             (error 0x80090010) even while the certificate is valid. A new key and certificate \
             must be issued by the certification authority."
        }
        "private_key.expiring" => {
            "A CryptoPro private key lives at most 1 year 3 months, independent of the certificate. \
             Plan a new key and certificate with the certification authority before this date."
        }
        "cryptopro.license_expired" => {
            "CryptoPro CSP has no valid licence and will refuse to work. Enter the organisation's \
             serial (`cpconfig -license -set <serial>` or CSP control panel → Enter licence). The \
             serial must match the installed major version (4040… for 4.0, 5050… for 5.0)."
        }
        "cryptopro.license_expiring" => {
            "The CryptoPro CSP licence ends soon. Buy or extend it and enter the new serial before \
             the date; a certificate with an embedded CSP licence also works for that certificate."
        }
        "cryptopro.license_demo" => {
            "CryptoPro CSP runs on its 90-day demo licence, after which it stops working. Enter the \
             organisation's serial for this major version."
        }
        _ => "",
    }
}

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
