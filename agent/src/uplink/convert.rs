//! Domain inventory → wire inventory (`tokenwatch.v1`). One direction only: the agent never
//! reads an inventory back from the wire.
//!
//! Every struct is destructured in full, so adding a field to the domain type fails to compile
//! here until the wire mapping says what to do with it.

use chrono::{DateTime, Utc};
use tokenwatch_proto::limits::{EARLIEST_SECONDS, LATEST_SECONDS, MAX_LIST, storable};
use tokenwatch_proto::v1;

use crate::findings::{Finding, Severity};
use crate::inventory::{
    CollectorOutcome, CollectorStatus, Container, DamagedFile, Host, Inventory, Media, PinState,
    Reader, Token, TokenFamily,
};

mod certificate;
mod components;

use certificate::certificate;
#[cfg(test)]
use certificate::source;
use components::components;
#[cfg(test)]
use components::service;

/// The wire form of one inventory.
pub fn inventory(inv: &Inventory) -> v1::Inventory {
    let Inventory {
        schema,
        collected_at,
        host,
        readers,
        tokens,
        containers,
        certificates,
        components,
        findings,
        collectors,
    } = inv;
    v1::Inventory {
        schema: schema.text(),
        collected_at: Some(timestamp(*collected_at)),
        host: Some(self::host(host)),
        readers: readers.iter().map(reader).collect(),
        tokens: tokens.iter().map(token).collect(),
        containers: containers.iter().map(container).collect(),
        certificates: certificates.iter().map(certificate).collect(),
        components: Some(self::components(components)),
        findings: findings.iter().map(finding).collect(),
        collectors: collectors.iter().map(collector).collect(),
    }
}

/// Text as the server stores it ([`storable`]): a NUL or an overlong string read off a hostile
/// file is mended here, once for every field, rather than make the server refuse the report.
/// A list keeps its first [`MAX_LIST`] entries (a collector's errors on a terminal server with
/// thousands of profiles, a certificate's extended key usages).
pub(super) trait Text {
    fn text(&self) -> Self;
}

impl Text for String {
    fn text(&self) -> Self {
        storable(self).into_owned()
    }
}

impl Text for Option<String> {
    fn text(&self) -> Self {
        self.as_deref().map(|text| storable(text).into_owned())
    }
}

impl Text for Vec<String> {
    fn text(&self) -> Self {
        self.iter().take(MAX_LIST).map(Text::text).collect()
    }
}

/// A protobuf timestamp for a UTC instant, within the span a protobuf timestamp has (years 1
/// to 9999); an X.509 time cannot leave it except for year 0, which becomes year 1.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp().clamp(EARLIEST_SECONDS, LATEST_SECONDS),
        // chrono writes a leap second (23:59:60, which a parsed text can say) as nanoseconds
        // from 10⁹ up; a protobuf timestamp takes none past 999,999,999, and the server
        // refuses one. The leap second becomes the last instant of the second before it.
        nanos: i32::try_from(at.timestamp_subsec_nanos().min(999_999_999)).unwrap_or(999_999_999),
    }
}

pub(super) fn opt_timestamp(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    at.map(timestamp)
}

fn host(host: &Host) -> v1::Host {
    let Host {
        hostname,
        os,
        os_version,
        arch,
        agent_version,
    } = host;
    v1::Host {
        hostname: hostname.text(),
        os: os.text(),
        os_version: os_version.text(),
        arch: arch.text(),
        agent_version: agent_version.text(),
    }
}

pub(super) fn family(family: Option<TokenFamily>) -> i32 {
    let wire = match family {
        None => v1::TokenFamily::Unspecified,
        Some(TokenFamily::Bifit) => v1::TokenFamily::Bifit,
        Some(TokenFamily::Esmart) => v1::TokenFamily::Esmart,
        Some(TokenFamily::Etoken) => v1::TokenFamily::Etoken,
        Some(TokenFamily::Jacarta) => v1::TokenFamily::Jacarta,
        Some(TokenFamily::Rutoken) => v1::TokenFamily::Rutoken,
    };
    wire.into()
}

fn reader(reader: &Reader) -> v1::Reader {
    let Reader {
        name,
        card_present,
        atr,
        token_model,
        token_family,
        in_use_exclusively,
    } = reader;
    v1::Reader {
        name: name.text(),
        card_present: *card_present,
        atr: atr.text(),
        token_model: token_model.text(),
        token_family: family(*token_family),
        in_use_exclusively: *in_use_exclusively,
    }
}

fn token(token: &Token) -> v1::Token {
    let Token {
        module,
        slot_id,
        slot_description,
        label,
        serial,
        manufacturer,
        model,
        token_family,
        hardware_version,
        firmware_version,
        total_memory,
        free_memory,
        pin,
        certificates,
    } = token;
    v1::Token {
        module: module.text(),
        slot_id: *slot_id,
        slot_description: slot_description.text(),
        label: label.text(),
        serial: serial.text(),
        manufacturer: manufacturer.text(),
        model: model.text(),
        token_family: family(*token_family),
        hardware_version: hardware_version.text(),
        firmware_version: firmware_version.text(),
        total_memory: *total_memory,
        free_memory: *free_memory,
        pin: Some(pin_state(pin)),
        certificates: certificates.text(),
    }
}

fn pin_state(pin: &PinState) -> v1::PinState {
    let PinState {
        initialized,
        user_pin_initialized,
        locked,
        count_low,
        final_try,
        must_change,
        so_locked,
    } = pin;
    v1::PinState {
        initialized: *initialized,
        user_pin_initialized: *user_pin_initialized,
        locked: *locked,
        count_low: *count_low,
        final_try: *final_try,
        must_change: *must_change,
        so_locked: *so_locked,
    }
}

fn media(media: Media) -> i32 {
    let wire = match media {
        Media::Hdimage => v1::Media::Hdimage,
        Media::Removable => v1::Media::Removable,
        Media::Folder => v1::Media::Folder,
        Media::Registry => v1::Media::Registry,
        Media::Token => v1::Media::Token,
    };
    wire.into()
}

fn container(container: &Container) -> v1::Container {
    let Container {
        name,
        path,
        media,
        owner,
        complete,
        missing_files,
        damaged_files,
        key_algorithm,
        key_algorithm_oid,
        exportable,
        certificate_sha1,
        private_key_not_before,
        private_key_not_after,
    } = container;
    v1::Container {
        name: name.text(),
        path: path.text(),
        media: self::media(*media),
        owner: owner.text(),
        complete: *complete,
        missing_files: missing_files.text(),
        damaged_files: damaged_files.iter().map(damaged).collect(),
        key_algorithm: key_algorithm.text(),
        key_algorithm_oid: key_algorithm_oid.text(),
        exportable: *exportable,
        certificate_sha1: certificate_sha1.text(),
        private_key_not_before: opt_timestamp(*private_key_not_before),
        private_key_not_after: opt_timestamp(*private_key_not_after),
    }
}

fn damaged(file: &DamagedFile) -> v1::DamagedFile {
    let DamagedFile { file, reason } = file;
    v1::DamagedFile {
        file: file.text(),
        reason: reason.text(),
    }
}

fn finding(finding: &Finding) -> v1::Finding {
    let Finding {
        code,
        severity,
        subject,
        message,
        remediation,
    } = finding;
    let severity = match severity {
        Severity::Info => v1::Severity::Info,
        Severity::Warning => v1::Severity::Warning,
        Severity::Critical => v1::Severity::Critical,
    };
    v1::Finding {
        code: code.as_str().to_owned(),
        severity: severity.into(),
        subject: subject.text(),
        message: message.text(),
        remediation: remediation.text(),
    }
}

fn collector(status: &CollectorStatus) -> v1::CollectorStatus {
    let CollectorStatus {
        name,
        status,
        errors,
        duration_ms,
    } = status;
    let status = match status {
        CollectorOutcome::Ok => v1::CollectorOutcome::Ok,
        CollectorOutcome::Partial => v1::CollectorOutcome::Partial,
        CollectorOutcome::Failed => v1::CollectorOutcome::Failed,
        CollectorOutcome::Skipped => v1::CollectorOutcome::Skipped,
    };
    v1::CollectorStatus {
        name: name.text(),
        status: status.into(),
        errors: errors.text(),
        duration_ms: *duration_ms,
    }
}

#[cfg(test)]
pub(crate) mod tests;
