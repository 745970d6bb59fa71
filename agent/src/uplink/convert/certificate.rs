//! Certificates and where they were seen, on the wire.

use tokenwatch_proto::v1;

use super::{opt_timestamp, timestamp};
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
        location: location.clone(),
    }
}
