//! Certificates and where they were seen, on the wire.

use tokenwatch_proto::limits::{MAX_DER, MAX_LIST};
use tokenwatch_proto::v1;

use super::{Text, opt_timestamp, timestamp};
use crate::inventory::{Certificate, CertificateSource, SourceKind};

pub(super) fn certificate(cert: &Certificate) -> v1::Certificate {
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
        sha1: sha1.text(),
        sha256: sha256.text(),
        serial: serial.text(),
        subject: subject.text(),
        issuer: issuer.text(),
        subject_cn: subject_cn.text(),
        issuer_cn: issuer_cn.text(),
        organization: organization.text(),
        email: email.text(),
        inn: inn.text(),
        inn_le: inn_le.text(),
        ogrn: ogrn.text(),
        ogrnip: ogrnip.text(),
        snils: snils.text(),
        not_before: Some(timestamp(*not_before)),
        not_after: Some(timestamp(*not_after)),
        private_key_not_before: opt_timestamp(*private_key_not_before),
        private_key_not_after: opt_timestamp(*private_key_not_after),
        key_usage: key_usage.text(),
        extended_key_usage: extended_key_usage.text(),
        signature_algorithm: signature_algorithm.text(),
        public_key_algorithm: public_key_algorithm.text(),
        qualified: *qualified,
        subject_sign_tool: subject_sign_tool.text(),
        is_ca: *is_ca,
        self_signed: *self_signed,
        issuer_present: *issuer_present,
        // The same CA certificate in a thousand files is reported with its first thousand.
        sources: sources.iter().take(MAX_LIST).map(source).collect(),
        // A certificate larger than a report carries goes without its DER (its summary and
        // thumbprints stand): the server would refuse the whole report for it.
        der: if der.len() <= MAX_DER {
            der.clone()
        } else {
            Vec::new()
        },
        authority_key_id: authority_key_id.text(),
        subject_key_id: subject_key_id.text(),
    }
}

pub(super) fn source(source: &CertificateSource) -> v1::CertificateSource {
    let CertificateSource { kind, location } = source;
    let kind = match kind {
        SourceKind::Container => v1::SourceKind::Container,
        SourceKind::CryptoproStore => v1::SourceKind::CryptoproStore,
        SourceKind::File => v1::SourceKind::File,
        SourceKind::Token => v1::SourceKind::Token,
    };
    v1::CertificateSource {
        kind: kind.into(),
        location: location.text(),
    }
}
