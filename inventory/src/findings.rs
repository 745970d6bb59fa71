//! Findings: problems that decide whether this host can sign, each with the helpdesk's next steps.
//!
//! Codes are stable identifiers that dashboards and alert rules key on: never rename one. The
//! remediation texts follow the helpdesk playbook: the checks in the order support staff run them.

use std::fmt;

use serde::{Deserialize, Serialize};

mod catalog;
mod diagnose;
pub mod rules;

pub use catalog::Code;
pub use diagnose::{Thresholds, diagnose};

/// How urgently a finding needs attention.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

/// One problem on this host.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    /// What the finding is about: a certificate, container path, reader, token or component.
    pub subject: String,
    pub message: String,
    pub remediation: String,
}

// === impl Finding ===

impl Finding {
    /// A finding with the catalogue's default severity and remediation for `code`.
    pub fn new(code: Code, subject: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: code.default_severity(),
            subject: subject.into(),
            message: message.into(),
            remediation: code.remediation().to_owned(),
        }
    }

    /// The same finding with another severity (expiry findings grow more severe as time runs out).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

// === impl Severity ===

impl Severity {
    /// Lower-case name, as in the JSON document and `--fail-on`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// The severity named `name` ([`Severity::as_str`]), as stored; `None` for another name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "info" => Some(Self::Info),
            "warning" => Some(Self::Warning),
            "critical" => Some(Self::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
