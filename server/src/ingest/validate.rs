//! Checks a report before anything is written: the schema, sizes, text, dates, hashes and
//! enumerations. Each refusal names the field, so an agent's log says what to fix.

use chrono::{DateTime, Duration, Utc};
use prost_types::Timestamp;
use tokenwatch_proto::v1;

/// The only inventory schema this server stores.
pub(crate) const SCHEMA: &str = "tokenwatch.inventory/v1";
/// Longest accepted string, in bytes.
pub(crate) const MAX_TEXT: usize = 4 * 1024;
/// Largest accepted certificate DER, in bytes.
pub(crate) const MAX_DER: usize = 64 * 1024;
/// Most readers, tokens or containers in one report.
pub(crate) const MAX_DEVICES: usize = 1_000;
/// Most certificates or findings in one report.
pub(crate) const MAX_CERTIFICATES: usize = 10_000;
pub(crate) const MAX_FINDINGS: usize = 10_000;
/// Most entries in any other list (files, usages, sources, errors, components).
pub(crate) const MAX_LIST: usize = 1_000;
/// `collected_at` may run this far ahead of the server's clock.
const MAX_CLOCK_LEAD: Duration = Duration::days(1);
/// 2200-01-01T00:00:00Z: later dates are not plausible.
const LATEST_SECONDS: i64 = 7_258_118_400;

/// Check `report` received at `now`; the error is the reason to give the agent.
pub(crate) fn validate(report: &v1::ReportRequest, now: DateTime<Utc>) -> Result<(), String> {
    let Some(inventory) = &report.inventory else {
        return Err("the report has no inventory".into());
    };
    if i64::try_from(report.sequence).is_err() {
        return Err("sequence out of range".into());
    }
    if report.content_hash.len() > 64 {
        return Err("content_hash is longer than 64 bytes".into());
    }
    if inventory.schema != SCHEMA {
        return Err(format!(
            "schema is {:?}, expected {SCHEMA:?}",
            truncate(&inventory.schema)
        ));
    }
    let collected_at = time("collected_at", inventory.collected_at.as_ref())?;
    if let Some(at) = collected_at {
        if at > now + MAX_CLOCK_LEAD {
            return Err(format!(
                "collected_at {at} is more than a day ahead of the server's clock"
            ));
        }
    }
    host(inventory.host.as_ref())?;
    count("readers", inventory.readers.len(), MAX_DEVICES)?;
    count("tokens", inventory.tokens.len(), MAX_DEVICES)?;
    count("containers", inventory.containers.len(), MAX_DEVICES)?;
    count(
        "certificates",
        inventory.certificates.len(),
        MAX_CERTIFICATES,
    )?;
    count("findings", inventory.findings.len(), MAX_FINDINGS)?;
    count("collectors", inventory.collectors.len(), MAX_LIST)?;
    for (i, reader) in inventory.readers.iter().enumerate() {
        self::reader(&format!("readers[{i}]"), reader)?;
    }
    for (i, token) in inventory.tokens.iter().enumerate() {
        self::token(&format!("tokens[{i}]"), token)?;
    }
    for (i, container) in inventory.containers.iter().enumerate() {
        self::container(&format!("containers[{i}]"), container)?;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, certificate) in inventory.certificates.iter().enumerate() {
        let at = format!("certificates[{i}]");
        self::certificate(&at, certificate)?;
        if !seen.insert(certificate.sha256.to_ascii_lowercase()) {
            return Err(format!("{at}.sha256 repeats an earlier certificate"));
        }
    }
    if let Some(components) = &inventory.components {
        self::components(components)?;
    }
    for (i, finding) in inventory.findings.iter().enumerate() {
        let at = format!("findings[{i}]");
        text(&format!("{at}.code"), &finding.code)?;
        enumeration::<v1::Severity>(&format!("{at}.severity"), finding.severity)?;
        text(&format!("{at}.subject"), &finding.subject)?;
        text(&format!("{at}.message"), &finding.message)?;
        text(&format!("{at}.remediation"), &finding.remediation)?;
    }
    for (i, collector) in inventory.collectors.iter().enumerate() {
        let at = format!("collectors[{i}]");
        text(&format!("{at}.name"), &collector.name)?;
        enumeration::<v1::CollectorOutcome>(&format!("{at}.status"), collector.status)?;
        texts(&format!("{at}.errors"), &collector.errors)?;
        fits_i64(&format!("{at}.duration_ms"), collector.duration_ms)?;
    }
    Ok(())
}

/// A timestamp as a time, refusing one outside 1970–2200 or with invalid nanoseconds.
pub(crate) fn time(
    field: &str,
    value: Option<&Timestamp>,
) -> Result<Option<DateTime<Utc>>, String> {
    let Some(ts) = value else { return Ok(None) };
    if !(0..LATEST_SECONDS).contains(&ts.seconds) {
        return Err(format!("{field} is not a date between 1970 and 2200"));
    }
    let nanos = u32::try_from(ts.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(|| format!("{field} has invalid nanoseconds {}", ts.nanos))?;
    DateTime::from_timestamp(ts.seconds, nanos)
        .map(Some)
        .ok_or_else(|| format!("{field} is not a valid date"))
}

fn host(host: Option<&v1::Host>) -> Result<(), String> {
    let Some(host) = host else {
        return Err("host is missing".into());
    };
    if host.hostname.trim().is_empty() {
        return Err("host.hostname is empty".into());
    }
    text("host.hostname", &host.hostname)?;
    text("host.os", &host.os)?;
    optional("host.os_version", host.os_version.as_deref())?;
    text("host.arch", &host.arch)?;
    text("host.agent_version", &host.agent_version)
}

fn reader(at: &str, reader: &v1::Reader) -> Result<(), String> {
    text(&format!("{at}.name"), &reader.name)?;
    optional(&format!("{at}.atr"), reader.atr.as_deref())?;
    optional(&format!("{at}.token_model"), reader.token_model.as_deref())?;
    enumeration::<v1::TokenFamily>(&format!("{at}.token_family"), reader.token_family)
}

fn token(at: &str, token: &v1::Token) -> Result<(), String> {
    text(&format!("{at}.module"), &token.module)?;
    fits_i64(&format!("{at}.slot_id"), token.slot_id)?;
    optional(
        &format!("{at}.slot_description"),
        token.slot_description.as_deref(),
    )?;
    text(&format!("{at}.label"), &token.label)?;
    text(&format!("{at}.serial"), &token.serial)?;
    text(&format!("{at}.manufacturer"), &token.manufacturer)?;
    text(&format!("{at}.model"), &token.model)?;
    enumeration::<v1::TokenFamily>(&format!("{at}.token_family"), token.token_family)?;
    optional(
        &format!("{at}.hardware_version"),
        token.hardware_version.as_deref(),
    )?;
    optional(
        &format!("{at}.firmware_version"),
        token.firmware_version.as_deref(),
    )?;
    for (name, value) in [
        ("total_memory", token.total_memory),
        ("free_memory", token.free_memory),
    ] {
        if let Some(value) = value {
            fits_i64(&format!("{at}.{name}"), value)?;
        }
    }
    count(
        &format!("{at}.certificates"),
        token.certificates.len(),
        MAX_LIST,
    )?;
    for (i, sha1) in token.certificates.iter().enumerate() {
        hex_hash(&format!("{at}.certificates[{i}]"), sha1, 40)?;
    }
    Ok(())
}

fn container(at: &str, container: &v1::Container) -> Result<(), String> {
    optional(&format!("{at}.name"), container.name.as_deref())?;
    if container.path.is_empty() {
        return Err(format!("{at}.path is empty"));
    }
    text(&format!("{at}.path"), &container.path)?;
    enumeration::<v1::Media>(&format!("{at}.media"), container.media)?;
    optional(&format!("{at}.owner"), container.owner.as_deref())?;
    texts(&format!("{at}.missing_files"), &container.missing_files)?;
    count(
        &format!("{at}.damaged_files"),
        container.damaged_files.len(),
        MAX_LIST,
    )?;
    for (i, damaged) in container.damaged_files.iter().enumerate() {
        text(&format!("{at}.damaged_files[{i}].file"), &damaged.file)?;
        text(&format!("{at}.damaged_files[{i}].reason"), &damaged.reason)?;
    }
    optional(
        &format!("{at}.key_algorithm"),
        container.key_algorithm.as_deref(),
    )?;
    optional(
        &format!("{at}.key_algorithm_oid"),
        container.key_algorithm_oid.as_deref(),
    )?;
    if let Some(sha1) = &container.certificate_sha1 {
        hex_hash(&format!("{at}.certificate_sha1"), sha1, 40)?;
    }
    time(
        &format!("{at}.private_key_not_before"),
        container.private_key_not_before.as_ref(),
    )?;
    time(
        &format!("{at}.private_key_not_after"),
        container.private_key_not_after.as_ref(),
    )?;
    Ok(())
}

fn certificate(at: &str, cert: &v1::Certificate) -> Result<(), String> {
    hex_hash(&format!("{at}.sha1"), &cert.sha1, 40)?;
    match cert.sha256.strip_prefix("sha1:") {
        Some(thumbprint) => hex_hash(&format!("{at}.sha256"), thumbprint, 40)?,
        None => hex_hash(&format!("{at}.sha256"), &cert.sha256, 64)?,
    }
    for (name, value) in [
        ("serial", &cert.serial),
        ("subject", &cert.subject),
        ("issuer", &cert.issuer),
        ("signature_algorithm", &cert.signature_algorithm),
        ("public_key_algorithm", &cert.public_key_algorithm),
    ] {
        text(&format!("{at}.{name}"), value)?;
    }
    for (name, value) in [
        ("subject_cn", &cert.subject_cn),
        ("issuer_cn", &cert.issuer_cn),
        ("organization", &cert.organization),
        ("email", &cert.email),
        ("inn", &cert.inn),
        ("inn_le", &cert.inn_le),
        ("ogrn", &cert.ogrn),
        ("ogrnip", &cert.ogrnip),
        ("snils", &cert.snils),
        ("subject_sign_tool", &cert.subject_sign_tool),
        ("authority_key_id", &cert.authority_key_id),
        ("subject_key_id", &cert.subject_key_id),
    ] {
        optional(&format!("{at}.{name}"), value.as_deref())?;
    }
    for (name, value) in [
        ("not_before", &cert.not_before),
        ("not_after", &cert.not_after),
        ("private_key_not_before", &cert.private_key_not_before),
        ("private_key_not_after", &cert.private_key_not_after),
    ] {
        time(&format!("{at}.{name}"), value.as_ref())?;
    }
    texts(&format!("{at}.key_usage"), &cert.key_usage)?;
    texts(
        &format!("{at}.extended_key_usage"),
        &cert.extended_key_usage,
    )?;
    count(&format!("{at}.sources"), cert.sources.len(), MAX_LIST)?;
    for (i, source) in cert.sources.iter().enumerate() {
        enumeration::<v1::SourceKind>(&format!("{at}.sources[{i}].kind"), source.kind)?;
        text(&format!("{at}.sources[{i}].location"), &source.location)?;
    }
    if cert.der.len() > MAX_DER {
        return Err(format!("{at}.der is longer than {MAX_DER} bytes"));
    }
    Ok(())
}

fn components(c: &v1::Components) -> Result<(), String> {
    if let Some(csp) = &c.cryptopro {
        optional("components.cryptopro.version", csp.version.as_deref())?;
        optional("components.cryptopro.build", csp.build.as_deref())?;
        if let Some(l) = &csp.license {
            let at = "components.cryptopro.license";
            optional(&format!("{at}.serial_prefix"), l.serial_prefix.as_deref())?;
            optional(&format!("{at}.for_version"), l.for_version.as_deref())?;
            optional(&format!("{at}.kind"), l.kind.as_deref())?;
            optional(&format!("{at}.error"), l.error.as_deref())?;
            time(&format!("{at}.expires"), l.expires.as_ref())?;
        }
    }
    enumeration::<v1::ServiceState>("components.smart_card_service", c.smart_card_service)?;
    optional("components.ccid_driver", c.ccid_driver.as_deref())?;
    count("components.middleware", c.middleware.len(), MAX_LIST)?;
    for (i, m) in c.middleware.iter().enumerate() {
        let at = format!("components.middleware[{i}]");
        enumeration::<v1::TokenFamily>(&format!("{at}.family"), m.family)?;
        text(&format!("{at}.name"), &m.name)?;
        text(&format!("{at}.path"), &m.path)?;
    }
    count(
        "components.pkcs11_modules",
        c.pkcs11_modules.len(),
        MAX_LIST,
    )?;
    for (i, m) in c.pkcs11_modules.iter().enumerate() {
        let at = format!("components.pkcs11_modules[{i}]");
        text(&format!("{at}.path"), &m.path)?;
        enumeration::<v1::TokenFamily>(&format!("{at}.family"), m.family)?;
    }
    count("components.usb_tokens", c.usb_tokens.len(), MAX_LIST)?;
    for (i, u) in c.usb_tokens.iter().enumerate() {
        let at = format!("components.usb_tokens[{i}]");
        text(&format!("{at}.bus_path"), &u.bus_path)?;
        text(&format!("{at}.usb_id"), &u.usb_id)?;
        text(&format!("{at}.model"), &u.model)?;
        enumeration::<v1::TokenFamily>(&format!("{at}.family"), u.family)?;
        optional(&format!("{at}.manufacturer"), u.manufacturer.as_deref())?;
        optional(&format!("{at}.product"), u.product.as_deref())?;
        optional(&format!("{at}.serial"), u.serial.as_deref())?;
    }
    Ok(())
}

fn count(field: &str, len: usize, max: usize) -> Result<(), String> {
    if len > max {
        return Err(format!(
            "{field} has {len} entries, at most {max} are accepted"
        ));
    }
    Ok(())
}

/// Text PostgreSQL can store (no NUL) and of a sane length.
fn text(field: &str, value: &str) -> Result<(), String> {
    if value.len() > MAX_TEXT {
        return Err(format!("{field} is longer than {MAX_TEXT} bytes"));
    }
    if value.contains('\0') {
        return Err(format!("{field} contains a NUL byte"));
    }
    Ok(())
}

fn optional(field: &str, value: Option<&str>) -> Result<(), String> {
    value.map_or(Ok(()), |v| text(field, v))
}

fn texts(field: &str, values: &[String]) -> Result<(), String> {
    count(field, values.len(), MAX_LIST)?;
    for (i, value) in values.iter().enumerate() {
        text(&format!("{field}[{i}]"), value)?;
    }
    Ok(())
}

fn hex_hash(field: &str, value: &str, digits: usize) -> Result<(), String> {
    if value.len() != digits || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{field} is not {digits} hexadecimal digits: {:?}",
            truncate(value)
        ));
    }
    Ok(())
}

fn fits_i64(field: &str, value: u64) -> Result<(), String> {
    if i64::try_from(value).is_err() {
        return Err(format!("{field} is out of range"));
    }
    Ok(())
}

fn enumeration<E: TryFrom<i32>>(field: &str, value: i32) -> Result<(), String> {
    if E::try_from(value).is_err() {
        return Err(format!("{field} has the unknown value {value}"));
    }
    Ok(())
}

/// At most 64 characters of a refused value, for the refusal message.
fn truncate(value: &str) -> String {
    value
        .chars()
        .take(64)
        .collect::<String>()
        .replace('\0', "\\0")
}

#[cfg(test)]
mod tests;
