//! `certmgr -list` output → certificate entries, in either locale.
//!
//! certmgr prints no DER, so an entry becomes a `Certificate` from the printed fields only.
//! Identity: the contract wants `sha256` to be a stable identity for merging. Without the DER
//! the SHA-256 is unknowable, so a store entry carries `sha1:<thumbprint>` there, a value that can
//! never collide with a real SHA-256 (not 64 hex digits). `fold_store_copies` (run by the
//! collector and again by the scan across collectors) folds a store entry into a DER-backed copy
//! with the same SHA-1, so the placeholder only reaches the inventory for certificates seen
//! nowhere else.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

mod certificate;
mod printed;

/// One certificate as certmgr lists it. Fields certmgr did not print are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertmgrEntry {
    /// The entry's number in the listing (`1-------`).
    pub number: usize,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    /// Upper-case hex without `0x`.
    pub serial: Option<String>,
    /// Lower-case hex without `0x`.
    pub sha1: Option<String>,
    pub subject_key_id: Option<String>,
    pub signature_algorithm: Option<String>,
    pub public_key_algorithm: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
    /// `Ссылка на ключ` / `PrivateKey Link`: a private key is linked.
    pub private_key_link: Option<bool>,
    /// Key container (`HDIMAGE\\secret.000\9E7A`).
    pub container: Option<String>,
    pub provider: Option<String>,
    /// Extended key usages as printed (`1.3.6.1.5.5.7.3.2 Проверка подлинности клиента`).
    pub extended_key_usage: Vec<String>,
    /// Dates that could not be read, as printed: the entry is kept, the date left `None`, so
    /// one odd entry does not hide the rest of the store.
    pub unreadable_dates: Vec<String>,
}

/// Why a listing or an entry could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CertmgrError {
    #[error("certmgr reported error {code}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Failed {
        code: String,
        detail: Option<String>,
    },
    #[error("certmgr printed no certificate list (output: {0:?})")]
    Unrecognised(String),
    #[error("certmgr entry {number}: no {field}")]
    Missing { number: usize, field: &'static str },
    #[error("certmgr entry {number}: unreadable date {text:?}")]
    BadDate { number: usize, text: String },
    #[error("certmgr entry {number}: the SHA1 thumbprint {text:?} is not 40 hexadecimal digits")]
    BadThumbprint { number: usize, text: String },
}

/// What a store entry's `sha256` starts with: the SHA-1 follows, the SHA-256 is unknown.
pub(crate) const PLACEHOLDER_PREFIX: &str = "sha1:";

/// Empty store: `SCARD_E_NO_SUCH_CERTIFICATE`.
const EMPTY_STORE_CODE: &str = "0x8010002c";

/// Parse the whole output of `certmgr -list`. An empty store is an empty list.
pub fn parse_certmgr_list(text: &str) -> Result<Vec<CertmgrEntry>, CertmgrError> {
    let mut entries: Vec<CertmgrEntry> = Vec::new();
    let mut last_field: Option<Field> = None;
    let mut error_code = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(code) = error_code_of(trimmed) {
            error_code = Some(code.to_ascii_lowercase());
            last_field = None;
            continue;
        }
        if let Some(number) = entry_number(trimmed) {
            entries.push(CertmgrEntry {
                number,
                ..CertmgrEntry::default()
            });
            last_field = None;
            continue;
        }
        let Some(entry) = entries.last_mut() else {
            continue;
        };
        if trimmed.starts_with("=====") || trimmed.is_empty() {
            last_field = None;
            continue;
        }
        // Long values wrap onto lines indented to the value column.
        if line.starts_with([' ', '\t']) {
            if let Some(field) = last_field {
                append(entry, field, trimmed);
            }
            continue;
        }
        let Some((label, value)) = line.split_once(':') else {
            last_field = None;
            continue;
        };
        let value = value.trim();
        last_field = Field::from_label(label.trim());
        if let Some(field) = last_field {
            if let Err(text) = set(entry, field, value) {
                entry.unreadable_dates.push(text);
            }
        }
    }
    match error_code.as_deref() {
        _ if !entries.is_empty() => Ok(entries),
        Some(EMPTY_STORE_CODE) | Some("0x00000000") => Ok(entries),
        Some(code) => Err(CertmgrError::Failed {
            code: code.to_owned(),
            detail: last_meaningful_line(text),
        }),
        None if says_empty(text) => Ok(entries),
        None => Err(CertmgrError::Unrecognised(
            text.chars().take(200).collect::<String>(),
        )),
    }
}

/// The fields this parser keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Issuer,
    Subject,
    Serial,
    Sha1,
    SubjectKeyId,
    SignatureAlgorithm,
    PublicKeyAlgorithm,
    NotBefore,
    NotAfter,
    KeyLink,
    Container,
    Provider,
    ExtendedKeyUsage,
}

// === impl Field ===

impl Field {
    /// Russian and English labels of every certmgr version seen (domain reference §1.4).
    fn from_label(label: &str) -> Option<Self> {
        Some(match label {
            "Издатель" | "Issuer" => Self::Issuer,
            "Субъект" | "Subject" => Self::Subject,
            "Серийный номер" | "Serial" => Self::Serial,
            "SHA1 отпечаток" | "SHA1 Hash" | "SHA1 Thumbprint" => Self::Sha1,
            "Идентификатор ключа" | "SubjKeyID" | "SubjectKeyID" => {
                Self::SubjectKeyId
            }
            "Алгоритм подписи" | "Signature Algorithm" => Self::SignatureAlgorithm,
            "Алгоритм откр. кл." | "PublicKey Algorithm" => Self::PublicKeyAlgorithm,
            "Выдан" | "Not valid before" => Self::NotBefore,
            "Истекает" | "Not valid after" => Self::NotAfter,
            "Ссылка на ключ" | "PrivateKey Link" => Self::KeyLink,
            "Контейнер" | "Container" => Self::Container,
            "Имя провайдера" | "Provider Name" => Self::Provider,
            "Назначение/EKU" | "Extended Key Usage" => Self::ExtendedKeyUsage,
            _ => return None,
        })
    }
}

/// Store `value` in `entry`; a date that cannot be read comes back as `Err(text)`.
fn set(entry: &mut CertmgrEntry, field: Field, value: &str) -> Result<(), String> {
    let text = Some(value.to_owned()).filter(|v| !v.is_empty());
    match field {
        Field::Issuer => entry.issuer = text,
        Field::Subject => entry.subject = text,
        Field::Serial => entry.serial = text.map(|v| strip_hex_prefix(&v).to_ascii_uppercase()),
        Field::Sha1 => entry.sha1 = text.map(|v| strip_hex_prefix(&v).to_ascii_lowercase()),
        Field::SubjectKeyId => {
            entry.subject_key_id = text.map(|v| strip_hex_prefix(&v).to_ascii_lowercase());
        }
        Field::SignatureAlgorithm => entry.signature_algorithm = text,
        Field::PublicKeyAlgorithm => entry.public_key_algorithm = text,
        Field::NotBefore => entry.not_before = Some(parse_date(value).ok_or(value)?),
        Field::NotAfter => entry.not_after = Some(parse_date(value).ok_or(value)?),
        Field::KeyLink => {
            entry.private_key_link = match value.to_lowercase().as_str() {
                "есть" | "yes" | "да" => Some(true),
                "нет" | "no" => Some(false),
                _ => None,
            };
        }
        Field::Container => entry.container = text,
        Field::Provider => entry.provider = text,
        Field::ExtendedKeyUsage => entry.extended_key_usage.extend(text),
    }
    Ok(())
}

/// A continuation line belongs to the field above it.
fn append(entry: &mut CertmgrEntry, field: Field, more: &str) {
    let target = match field {
        Field::Issuer => &mut entry.issuer,
        Field::Subject => &mut entry.subject,
        Field::Container => &mut entry.container,
        Field::Provider => &mut entry.provider,
        Field::ExtendedKeyUsage => {
            entry.extended_key_usage.push(more.to_owned());
            return;
        }
        _ => return,
    };
    // certmgr breaks names after a `, ` separator, whose space the wrap swallows.
    let joined = match target.take() {
        Some(before) if before.ends_with(',') => format!("{before} {more}"),
        Some(before) => format!("{before}{more}"),
        None => more.to_owned(),
    };
    *target = Some(joined);
}

fn strip_hex_prefix(value: &str) -> &str {
    value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
        .unwrap_or(value)
}

/// certmgr's own words for an empty store, for outputs cut before the error code.
fn says_empty(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("список сертификатов пуст")
        || lower.contains("certificate list is empty")
        || lower.contains("empty certificate list")
}

/// `1-------` → 1.
fn entry_number(line: &str) -> Option<usize> {
    let (digits, dashes) = line.split_once('-')?;
    if !dashes.chars().all(|c| c == '-') || digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// `[ErrorCode: 0x8010002c]` → `0x8010002c`.
fn error_code_of(line: &str) -> Option<&str> {
    line.strip_prefix("[ErrorCode:")?
        .strip_suffix(']')
        .map(str::trim)
}

/// The last line before the error code that says something, for error messages.
fn last_meaningful_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("[ErrorCode") && !l.starts_with("====="))
        .map(str::to_owned)
}

/// `DD/MM/YYYY  HH:MM:SS UTC`, `DD.MM.YYYY HH:MM:SS`, or a bare `DD.MM.YYYY` (midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let mut parts = text.split_whitespace();
    let date = parts.next()?;
    let time = parts.next().filter(|t| *t != "UTC");
    let fields: Vec<&str> = date.split(['/', '.']).collect();
    let [day, month, year] = fields.as_slice() else {
        return None;
    };
    let date = NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)?;
    let time = match time {
        Some(t) => NaiveTime::parse_from_str(t, "%H:%M:%S").ok()?,
        None => NaiveTime::MIN,
    };
    Some(date.and_time(time).and_utc())
}

#[cfg(test)]
mod tests;
