//! Domain inventory → wire inventory (`tokenwatch.v1`). One direction only: the agent never
//! reads an inventory back from the wire.
//!
//! Every struct is destructured in full, so adding a field to the domain type fails to compile
//! here until the wire mapping says what to do with it.

use chrono::{DateTime, Utc};
use tokenwatch_proto::v1;

use crate::findings::{Finding, Severity};
use crate::inventory::{
    Certificate, CertificateSource, CollectorOutcome, CollectorStatus, Components, Container,
    CryptoPro, DamagedFile, Host, Inventory, License, Media, Middleware, PinState, Pkcs11Module,
    Reader, ServiceState, SourceKind, Token, TokenFamily, UsbToken,
};

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
        schema: schema.clone(),
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

/// A protobuf timestamp for a UTC instant.
pub fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        // Always below 2·10⁹ (leap second representation), so it fits.
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

fn opt_timestamp(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
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
        hostname: hostname.clone(),
        os: os.clone(),
        os_version: os_version.clone(),
        arch: arch.clone(),
        agent_version: agent_version.clone(),
    }
}

fn family(family: Option<TokenFamily>) -> i32 {
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
        name: name.clone(),
        card_present: *card_present,
        atr: atr.clone(),
        token_model: token_model.clone(),
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
        module: module.clone(),
        slot_id: *slot_id,
        slot_description: slot_description.clone(),
        label: label.clone(),
        serial: serial.clone(),
        manufacturer: manufacturer.clone(),
        model: model.clone(),
        token_family: family(*token_family),
        hardware_version: hardware_version.clone(),
        firmware_version: firmware_version.clone(),
        total_memory: *total_memory,
        free_memory: *free_memory,
        pin: Some(pin_state(pin)),
        certificates: certificates.clone(),
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
        name: name.clone(),
        path: path.clone(),
        media: self::media(*media),
        owner: owner.clone(),
        complete: *complete,
        missing_files: missing_files.clone(),
        damaged_files: damaged_files.iter().map(damaged).collect(),
        key_algorithm: key_algorithm.clone(),
        key_algorithm_oid: key_algorithm_oid.clone(),
        exportable: *exportable,
        certificate_sha1: certificate_sha1.clone(),
        private_key_not_before: opt_timestamp(*private_key_not_before),
        private_key_not_after: opt_timestamp(*private_key_not_after),
    }
}

fn damaged(file: &DamagedFile) -> v1::DamagedFile {
    let DamagedFile { file, reason } = file;
    v1::DamagedFile {
        file: file.clone(),
        reason: reason.clone(),
    }
}

fn certificate(cert: &Certificate) -> v1::Certificate {
    let Certificate {
        sha1,
        sha256,
        serial,
        subject,
        issuer,
        subject_cn,
        issuer_cn,
        organization,
        email,
        inn,
        inn_le,
        ogrn,
        ogrnip,
        snils,
        not_before,
        not_after,
        private_key_not_before,
        private_key_not_after,
        key_usage,
        extended_key_usage,
        signature_algorithm,
        public_key_algorithm,
        qualified,
        subject_sign_tool,
        is_ca,
        self_signed,
        issuer_present,
        sources,
        der,
        authority_key_id,
        subject_key_id,
    } = cert;
    v1::Certificate {
        sha1: sha1.clone(),
        sha256: sha256.clone(),
        serial: serial.clone(),
        subject: subject.clone(),
        issuer: issuer.clone(),
        subject_cn: subject_cn.clone(),
        issuer_cn: issuer_cn.clone(),
        organization: organization.clone(),
        email: email.clone(),
        inn: inn.clone(),
        inn_le: inn_le.clone(),
        ogrn: ogrn.clone(),
        ogrnip: ogrnip.clone(),
        snils: snils.clone(),
        not_before: Some(timestamp(*not_before)),
        not_after: Some(timestamp(*not_after)),
        private_key_not_before: opt_timestamp(*private_key_not_before),
        private_key_not_after: opt_timestamp(*private_key_not_after),
        key_usage: key_usage.clone(),
        extended_key_usage: extended_key_usage.clone(),
        signature_algorithm: signature_algorithm.clone(),
        public_key_algorithm: public_key_algorithm.clone(),
        qualified: *qualified,
        subject_sign_tool: subject_sign_tool.clone(),
        is_ca: *is_ca,
        self_signed: *self_signed,
        issuer_present: *issuer_present,
        sources: sources.iter().map(source).collect(),
        der: der.clone(),
        authority_key_id: authority_key_id.clone(),
        subject_key_id: subject_key_id.clone(),
    }
}

fn source(source: &CertificateSource) -> v1::CertificateSource {
    let CertificateSource { kind, location } = source;
    let kind = match kind {
        SourceKind::Container => v1::SourceKind::Container,
        SourceKind::CryptoproStore => v1::SourceKind::CryptoproStore,
        SourceKind::File => v1::SourceKind::File,
        SourceKind::Token => v1::SourceKind::Token,
    };
    v1::CertificateSource {
        kind: kind.into(),
        location: location.clone(),
    }
}

fn components(components: &Components) -> v1::Components {
    let Components {
        cryptopro,
        smart_card_service,
        ccid_driver,
        middleware,
        pkcs11_modules,
        usb_tokens,
    } = components;
    v1::Components {
        cryptopro: cryptopro.as_ref().map(self::cryptopro),
        smart_card_service: service(*smart_card_service),
        ccid_driver: ccid_driver.clone(),
        middleware: middleware.iter().map(self::middleware).collect(),
        pkcs11_modules: pkcs11_modules.iter().map(module).collect(),
        usb_tokens: usb_tokens.iter().map(usb).collect(),
    }
}

fn cryptopro(csp: &CryptoPro) -> v1::CryptoPro {
    let CryptoPro {
        installed,
        version,
        build,
        license,
    } = csp;
    v1::CryptoPro {
        installed: *installed,
        version: version.clone(),
        build: build.clone(),
        license: license.as_ref().map(self::license),
    }
}

fn license(license: &License) -> v1::License {
    let License {
        serial_prefix,
        for_version,
        kind,
        expires,
        permanent,
        demo,
        error,
    } = license;
    v1::License {
        serial_prefix: serial_prefix.clone(),
        for_version: for_version.clone(),
        kind: kind.clone(),
        expires: opt_timestamp(*expires),
        permanent: *permanent,
        demo: *demo,
        error: error.clone(),
    }
}

fn service(state: Option<ServiceState>) -> i32 {
    let wire = match state {
        None => v1::ServiceState::Unspecified,
        Some(ServiceState::Running) => v1::ServiceState::Running,
        Some(ServiceState::Stopped) => v1::ServiceState::Stopped,
        Some(ServiceState::NotInstalled) => v1::ServiceState::NotInstalled,
        Some(ServiceState::Unknown) => v1::ServiceState::Unknown,
    };
    wire.into()
}

fn middleware(m: &Middleware) -> v1::Middleware {
    let Middleware { family, name, path } = m;
    v1::Middleware {
        family: self::family(Some(*family)),
        name: name.clone(),
        path: path.clone(),
    }
}

fn module(m: &Pkcs11Module) -> v1::Pkcs11Module {
    let Pkcs11Module { path, family } = m;
    v1::Pkcs11Module {
        path: path.clone(),
        family: self::family(*family),
    }
}

fn usb(usb: &UsbToken) -> v1::UsbToken {
    let UsbToken {
        bus_path,
        usb_id,
        model,
        family,
        manufacturer,
        product,
        serial,
        visible_to_pcsc,
    } = usb;
    v1::UsbToken {
        bus_path: bus_path.clone(),
        usb_id: usb_id.clone(),
        model: model.clone(),
        family: self::family(*family),
        manufacturer: manufacturer.clone(),
        product: product.clone(),
        serial: serial.clone(),
        visible_to_pcsc: *visible_to_pcsc,
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
        subject: subject.clone(),
        message: message.clone(),
        remediation: remediation.clone(),
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
        name: name.clone(),
        status: status.into(),
        errors: errors.clone(),
        duration_ms: *duration_ms,
    }
}

#[cfg(test)]
pub(crate) mod tests;
