//! Checks a report before anything is written: the schema, sizes, text, dates, hashes and
//! enumerations. Each refusal names the field, so an agent's log says what to fix.

use std::fmt::Arguments;

use chrono::{DateTime, Duration, Utc};
use prost::Message;
use prost_types::Timestamp;
// The longest string, and dates spanning what a protobuf timestamp and an X.509 certificate
// can say (years 1 to 9999: "valid until 9999-12-31" is RFC 5280's way to say a certificate
// does not expire). Agents keep their values within these.
use tokenwatch_proto::limits::{EARLIEST_SECONDS, LATEST_SECONDS};
pub(crate) use tokenwatch_proto::limits::{MAX_DER, MAX_LIST, MAX_TEXT};
use tokenwatch_proto::{InventoryHead, ReportEnvelope, v1};

/// The only inventory schema this server stores.
pub(crate) const SCHEMA: &str = "tokenwatch.inventory/v1";
/// Most readers, tokens or containers in one report.
pub(crate) const MAX_DEVICES: usize = 1_000;
/// Most certificates or findings in one report.
pub(crate) const MAX_CERTIFICATES: usize = 10_000;
pub(crate) const MAX_FINDINGS: usize = 10_000;
/// A host whose `collected_at` runs further ahead of the server's clock than this gets a
/// `host.clock_ahead` finding. A report can only arrive after it was collected, so any lead is
/// the host's clock; ten minutes leaves room for the server's own clock drifting.
pub(crate) const CLOCK_LEAD_FINDING: Duration = Duration::minutes(10);

/// Check `report`; the error is the reason to give the agent.
#[cfg(test)]
pub(crate) fn validate(report: &v1::ReportRequest) -> Result<(), String> {
    envelope(&ReportEnvelope::of(report))?;
    inventory(report.inventory.as_ref().expect("checked"))
}

/// Check what every report must get right before it is looked at: an inventory of this
/// schema, a storable sequence, a hash and a collection time that is a date. Only the inventory's
/// leading fields are read. The sequence as stored.
pub(crate) fn envelope(report: &ReportEnvelope) -> Result<i64, String> {
    let Some(encoded) = &report.inventory else {
        return Err("the report has no inventory".into());
    };
    let sequence =
        i64::try_from(report.sequence).map_err(|_| "sequence out of range".to_owned())?;
    if report.content_hash.len() > 64 {
        return Err("content_hash is longer than 64 bytes".into());
    }
    let inventory = InventoryHead::decode(encoded.as_ref()).map_err(undecodable)?;
    if inventory.schema != SCHEMA {
        return Err(format!(
            "schema is {:?}, expected {SCHEMA:?}",
            truncate(&inventory.schema)
        ));
    }
    // A collection time ahead of the server's clock is the host's clock running fast: the
    // report is stored all the same (refusing it would lose the host's inventory for as long
    // as its clock is wrong) and gets a finding when it is stored ([`clock_ahead`]).
    time(
        format_args!("collected_at"),
        inventory.collected_at.as_ref(),
    )?;
    Ok(sequence)
}

/// The finding for a host whose clock ran ahead of the server's `received` when it collected
/// `inventory`, if it did by more than [`CLOCK_LEAD_FINDING`].
pub(crate) fn clock_ahead(
    inventory: &v1::Inventory,
    received: DateTime<Utc>,
) -> Option<v1::Finding> {
    let at = time(
        format_args!("collected_at"),
        inventory.collected_at.as_ref(),
    )
    .ok()??;
    let lead = at - received;
    if lead <= CLOCK_LEAD_FINDING {
        return None;
    }
    let ahead = if lead >= Duration::days(2) {
        format!("{} days", lead.num_days())
    } else if lead >= Duration::hours(2) {
        format!("{} hours", lead.num_hours())
    } else {
        format!("{} minutes", lead.num_minutes())
    };
    Some(v1::Finding {
        code: "host.clock_ahead".into(),
        severity: v1::Severity::Warning.into(),
        subject: "system clock".into(),
        message: format!(
            "The computer's clock is {ahead} ahead of the server's (report collected at {}, \
             received at {}). Certificates, keys and licences on it are judged by the wrong \
             date, and TLS and signature timestamps go wrong with it.",
            at.format("%Y-%m-%d %H:%M UTC"),
            received.format("%Y-%m-%d %H:%M UTC"),
        ),
        remediation: "Set the clock right and keep it synchronised: on Linux \
            `timedatectl set-ntp true` (chrony or systemd-timesyncd), on Windows \
            `w32tm /resync` against the domain or an NTP server. A clock that is wrong again \
            after every power-off means a flat motherboard battery."
            .into(),
    })
}

/// The whole inventory of a report about to be stored.
pub(crate) fn decode(encoded: &[u8]) -> Result<v1::Inventory, String> {
    v1::Inventory::decode(encoded).map_err(undecodable)
}

fn undecodable(error: prost::DecodeError) -> String {
    format!("the inventory cannot be decoded: {error}")
}

/// Check the rest of an inventory about to be stored.
pub(crate) fn inventory(inventory: &v1::Inventory) -> Result<(), String> {
    host(inventory.host.as_ref())?;
    count(
        format_args!("readers"),
        inventory.readers.len(),
        MAX_DEVICES,
    )?;
    count(format_args!("tokens"), inventory.tokens.len(), MAX_DEVICES)?;
    count(
        format_args!("containers"),
        inventory.containers.len(),
        MAX_DEVICES,
    )?;
    count(
        format_args!("certificates"),
        inventory.certificates.len(),
        MAX_CERTIFICATES,
    )?;
    count(
        format_args!("findings"),
        inventory.findings.len(),
        MAX_FINDINGS,
    )?;
    count(
        format_args!("collectors"),
        inventory.collectors.len(),
        MAX_LIST,
    )?;
    for (i, reader) in inventory.readers.iter().enumerate() {
        self::reader(format_args!("readers[{i}]"), reader)?;
    }
    for (i, token) in inventory.tokens.iter().enumerate() {
        self::token(format_args!("tokens[{i}]"), token)?;
    }
    for (i, container) in inventory.containers.iter().enumerate() {
        self::container(format_args!("containers[{i}]"), container)?;
    }
    let mut seen = std::collections::HashSet::new();
    for (i, certificate) in inventory.certificates.iter().enumerate() {
        self::certificate(format_args!("certificates[{i}]"), certificate)?;
        if !seen.insert(certificate.sha256.to_ascii_lowercase()) {
            return Err(format!(
                "certificates[{i}].sha256 repeats an earlier certificate"
            ));
        }
    }
    if let Some(components) = &inventory.components {
        self::components(components)?;
    }
    for (i, finding) in inventory.findings.iter().enumerate() {
        let at = format!("findings[{i}]");
        text(format_args!("{at}.code"), &finding.code)?;
        enumeration::<v1::Severity>(format_args!("{at}.severity"), finding.severity)?;
        text(format_args!("{at}.subject"), &finding.subject)?;
        text(format_args!("{at}.message"), &finding.message)?;
        text(format_args!("{at}.remediation"), &finding.remediation)?;
    }
    for (i, collector) in inventory.collectors.iter().enumerate() {
        let at = format!("collectors[{i}]");
        text(format_args!("{at}.name"), &collector.name)?;
        enumeration::<v1::CollectorOutcome>(format_args!("{at}.status"), collector.status)?;
        texts(format_args!("{at}.errors"), &collector.errors)?;
        fits_i64(format_args!("{at}.duration_ms"), collector.duration_ms)?;
    }
    Ok(())
}

/// A timestamp as a time, refusing one outside 1970–2200 or with invalid nanoseconds.
pub(crate) fn time(
    field: Arguments<'_>,
    value: Option<&Timestamp>,
) -> Result<Option<DateTime<Utc>>, String> {
    let Some(ts) = value else { return Ok(None) };
    if !(EARLIEST_SECONDS..=LATEST_SECONDS).contains(&ts.seconds) {
        return Err(format!(
            "{field} is not a date between the years 1 and 9999"
        ));
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
    text(format_args!("host.hostname"), &host.hostname)?;
    text(format_args!("host.os"), &host.os)?;
    optional(format_args!("host.os_version"), host.os_version.as_deref())?;
    text(format_args!("host.arch"), &host.arch)?;
    text(format_args!("host.agent_version"), &host.agent_version)
}

fn reader(at: Arguments<'_>, reader: &v1::Reader) -> Result<(), String> {
    text(format_args!("{at}.name"), &reader.name)?;
    optional(format_args!("{at}.atr"), reader.atr.as_deref())?;
    optional(
        format_args!("{at}.token_model"),
        reader.token_model.as_deref(),
    )?;
    enumeration::<v1::TokenFamily>(format_args!("{at}.token_family"), reader.token_family)
}

fn token(at: Arguments<'_>, token: &v1::Token) -> Result<(), String> {
    text(format_args!("{at}.module"), &token.module)?;
    fits_i64(format_args!("{at}.slot_id"), token.slot_id)?;
    optional(
        format_args!("{at}.slot_description"),
        token.slot_description.as_deref(),
    )?;
    text(format_args!("{at}.label"), &token.label)?;
    text(format_args!("{at}.serial"), &token.serial)?;
    text(format_args!("{at}.manufacturer"), &token.manufacturer)?;
    text(format_args!("{at}.model"), &token.model)?;
    enumeration::<v1::TokenFamily>(format_args!("{at}.token_family"), token.token_family)?;
    optional(
        format_args!("{at}.hardware_version"),
        token.hardware_version.as_deref(),
    )?;
    optional(
        format_args!("{at}.firmware_version"),
        token.firmware_version.as_deref(),
    )?;
    for (name, value) in [
        ("total_memory", token.total_memory),
        ("free_memory", token.free_memory),
    ] {
        if let Some(value) = value {
            fits_i64(format_args!("{at}.{name}"), value)?;
        }
    }
    count(
        format_args!("{at}.certificates"),
        token.certificates.len(),
        MAX_LIST,
    )?;
    for (i, sha1) in token.certificates.iter().enumerate() {
        hex_hash(format_args!("{at}.certificates[{i}]"), sha1, 40)?;
    }
    Ok(())
}

fn container(at: Arguments<'_>, container: &v1::Container) -> Result<(), String> {
    optional(format_args!("{at}.name"), container.name.as_deref())?;
    if container.path.is_empty() {
        return Err(format!("{at}.path is empty"));
    }
    text(format_args!("{at}.path"), &container.path)?;
    enumeration::<v1::Media>(format_args!("{at}.media"), container.media)?;
    optional(format_args!("{at}.owner"), container.owner.as_deref())?;
    texts(format_args!("{at}.missing_files"), &container.missing_files)?;
    count(
        format_args!("{at}.damaged_files"),
        container.damaged_files.len(),
        MAX_LIST,
    )?;
    for (i, damaged) in container.damaged_files.iter().enumerate() {
        text(format_args!("{at}.damaged_files[{i}].file"), &damaged.file)?;
        text(
            format_args!("{at}.damaged_files[{i}].reason"),
            &damaged.reason,
        )?;
    }
    optional(
        format_args!("{at}.key_algorithm"),
        container.key_algorithm.as_deref(),
    )?;
    optional(
        format_args!("{at}.key_algorithm_oid"),
        container.key_algorithm_oid.as_deref(),
    )?;
    if let Some(sha1) = &container.certificate_sha1 {
        hex_hash(format_args!("{at}.certificate_sha1"), sha1, 40)?;
    }
    time(
        format_args!("{at}.private_key_not_before"),
        container.private_key_not_before.as_ref(),
    )?;
    time(
        format_args!("{at}.private_key_not_after"),
        container.private_key_not_after.as_ref(),
    )?;
    Ok(())
}

fn certificate(at: Arguments<'_>, cert: &v1::Certificate) -> Result<(), String> {
    hex_hash(format_args!("{at}.sha1"), &cert.sha1, 40)?;
    match cert.sha256.strip_prefix("sha1:") {
        Some(thumbprint) => hex_hash(format_args!("{at}.sha256"), thumbprint, 40)?,
        None => hex_hash(format_args!("{at}.sha256"), &cert.sha256, 64)?,
    }
    for (name, value) in [
        ("serial", &cert.serial),
        ("subject", &cert.subject),
        ("issuer", &cert.issuer),
        ("signature_algorithm", &cert.signature_algorithm),
        ("public_key_algorithm", &cert.public_key_algorithm),
    ] {
        text(format_args!("{at}.{name}"), value)?;
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
        optional(format_args!("{at}.{name}"), value.as_deref())?;
    }
    for (name, value) in [
        ("not_before", &cert.not_before),
        ("not_after", &cert.not_after),
        ("private_key_not_before", &cert.private_key_not_before),
        ("private_key_not_after", &cert.private_key_not_after),
    ] {
        time(format_args!("{at}.{name}"), value.as_ref())?;
    }
    texts(format_args!("{at}.key_usage"), &cert.key_usage)?;
    texts(
        format_args!("{at}.extended_key_usage"),
        &cert.extended_key_usage,
    )?;
    count(format_args!("{at}.sources"), cert.sources.len(), MAX_LIST)?;
    for (i, source) in cert.sources.iter().enumerate() {
        enumeration::<v1::SourceKind>(format_args!("{at}.sources[{i}].kind"), source.kind)?;
        text(format_args!("{at}.sources[{i}].location"), &source.location)?;
    }
    if cert.der.len() > MAX_DER {
        return Err(format!("{at}.der is longer than {MAX_DER} bytes"));
    }
    Ok(())
}

fn components(c: &v1::Components) -> Result<(), String> {
    if let Some(csp) = &c.cryptopro {
        optional(
            format_args!("components.cryptopro.version"),
            csp.version.as_deref(),
        )?;
        optional(
            format_args!("components.cryptopro.build"),
            csp.build.as_deref(),
        )?;
        if let Some(l) = &csp.license {
            let at = "components.cryptopro.license";
            optional(
                format_args!("{at}.serial_prefix"),
                l.serial_prefix.as_deref(),
            )?;
            optional(format_args!("{at}.for_version"), l.for_version.as_deref())?;
            optional(format_args!("{at}.kind"), l.kind.as_deref())?;
            optional(format_args!("{at}.error"), l.error.as_deref())?;
            time(format_args!("{at}.expires"), l.expires.as_ref())?;
        }
    }
    enumeration::<v1::ServiceState>(
        format_args!("components.smart_card_service"),
        c.smart_card_service,
    )?;
    optional(
        format_args!("components.ccid_driver"),
        c.ccid_driver.as_deref(),
    )?;
    count(
        format_args!("components.middleware"),
        c.middleware.len(),
        MAX_LIST,
    )?;
    for (i, m) in c.middleware.iter().enumerate() {
        let at = format!("components.middleware[{i}]");
        enumeration::<v1::TokenFamily>(format_args!("{at}.family"), m.family)?;
        text(format_args!("{at}.name"), &m.name)?;
        text(format_args!("{at}.path"), &m.path)?;
        optional(format_args!("{at}.version"), m.version.as_deref())?;
    }
    count(
        format_args!("components.pkcs11_modules"),
        c.pkcs11_modules.len(),
        MAX_LIST,
    )?;
    for (i, m) in c.pkcs11_modules.iter().enumerate() {
        let at = format!("components.pkcs11_modules[{i}]");
        text(format_args!("{at}.path"), &m.path)?;
        enumeration::<v1::TokenFamily>(format_args!("{at}.family"), m.family)?;
    }
    count(
        format_args!("components.usb_tokens"),
        c.usb_tokens.len(),
        MAX_LIST,
    )?;
    for (i, u) in c.usb_tokens.iter().enumerate() {
        let at = format!("components.usb_tokens[{i}]");
        text(format_args!("{at}.bus_path"), &u.bus_path)?;
        text(format_args!("{at}.usb_id"), &u.usb_id)?;
        text(format_args!("{at}.model"), &u.model)?;
        enumeration::<v1::TokenFamily>(format_args!("{at}.family"), u.family)?;
        optional(format_args!("{at}.manufacturer"), u.manufacturer.as_deref())?;
        optional(format_args!("{at}.product"), u.product.as_deref())?;
        optional(format_args!("{at}.serial"), u.serial.as_deref())?;
        optional(format_args!("{at}.driver"), u.driver.as_deref())?;
    }
    enumeration::<v1::StartType>(
        format_args!("components.smart_card_service_start"),
        c.smart_card_service_start,
    )?;
    Ok(())
}

fn count(field: Arguments<'_>, len: usize, max: usize) -> Result<(), String> {
    if len > max {
        return Err(format!(
            "{field} has {len} entries, at most {max} are accepted"
        ));
    }
    Ok(())
}

/// Text PostgreSQL can store (no NUL) and of a sane length.
fn text(field: Arguments<'_>, value: &str) -> Result<(), String> {
    if value.len() > MAX_TEXT {
        return Err(format!("{field} is longer than {MAX_TEXT} bytes"));
    }
    if value.contains('\0') {
        return Err(format!("{field} contains a NUL byte"));
    }
    Ok(())
}

fn optional(field: Arguments<'_>, value: Option<&str>) -> Result<(), String> {
    value.map_or(Ok(()), |v| text(field, v))
}

fn texts(field: Arguments<'_>, values: &[String]) -> Result<(), String> {
    count(field, values.len(), MAX_LIST)?;
    for (i, value) in values.iter().enumerate() {
        text(format_args!("{field}[{i}]"), value)?;
    }
    Ok(())
}

fn hex_hash(field: Arguments<'_>, value: &str, digits: usize) -> Result<(), String> {
    if value.len() != digits || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{field} is not {digits} hexadecimal digits: {:?}",
            truncate(value)
        ));
    }
    Ok(())
}

fn fits_i64(field: Arguments<'_>, value: u64) -> Result<(), String> {
    if i64::try_from(value).is_err() {
        return Err(format!("{field} is out of range"));
    }
    Ok(())
}

fn enumeration<E: TryFrom<i32>>(field: Arguments<'_>, value: i32) -> Result<(), String> {
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
