//! A certmgr entry as an inventory [`Certificate`].

use super::{CertmgrEntry, CertmgrError, PLACEHOLDER_PREFIX, printed};
use crate::inventory::{Certificate, CertificateSource, SourceKind};

// === impl CertmgrEntry ===

impl CertmgrEntry {
    /// The inventory form of this entry, seen in `store`. Needs the SHA-1, subject and dates.
    ///
    /// Fields certmgr does not print stay empty or false: `qualified`, key usages and the key
    /// usage period are unknown here. Certificates in the CA and root stores are taken as CA
    /// certificates (that is what those stores are for), so their expiry is reported the CA way.
    pub fn to_certificate(&self, store: &str) -> Result<Certificate, CertmgrError> {
        let missing = |field| CertmgrError::Missing {
            number: self.number,
            field,
        };
        if let Some(text) = self.unreadable_dates.first() {
            return Err(CertmgrError::BadDate {
                number: self.number,
                text: text.clone(),
            });
        }
        let sha1 = self
            .sha1
            .clone()
            .ok_or_else(|| missing("SHA1 thumbprint"))?;
        let subject = self.subject.clone().ok_or_else(|| missing("subject"))?;
        let issuer = self.issuer.clone().unwrap_or_default();
        let location = match &self.container {
            Some(container) => format!("{store} (container {container})"),
            None => store.to_owned(),
        };
        let subject_dn = printed::Dn::parse(&subject);
        Ok(Certificate {
            sha256: format!("{PLACEHOLDER_PREFIX}{sha1}"),
            sha1,
            serial: self.serial.clone().unwrap_or_default(),
            subject_cn: subject_dn.get(&["CN"]),
            issuer_cn: printed::Dn::parse(&issuer).get(&["CN"]),
            organization: subject_dn.get(&["O"]),
            email: subject_dn.get(&["E", "EMAIL", "EMAILADDRESS"]),
            inn: subject_dn.get(&["INN", "ИНН"]),
            inn_le: subject_dn.get(&["INNLE", "ИНН ЮЛ"]),
            ogrn: subject_dn.get(&["OGRN", "ОГРН"]),
            ogrnip: subject_dn.get(&["OGRNIP", "ОГРНИП"]),
            snils: subject_dn.get(&["SNILS", "СНИЛС"]),
            not_before: self.not_before.ok_or_else(|| missing("start date"))?,
            not_after: self.not_after.ok_or_else(|| missing("end date"))?,
            extended_key_usage: self.extended_key_usage.clone(),
            signature_algorithm: self.signature_algorithm.clone().unwrap_or_default(),
            public_key_algorithm: self.public_key_algorithm.clone().unwrap_or_default(),
            is_ca: matches!(store, "uRoot" | "mRoot" | "uCA" | "mCA"),
            self_signed: subject == issuer,
            subject,
            issuer,
            sources: vec![CertificateSource {
                kind: SourceKind::CryptoproStore,
                location,
            }],
            subject_key_id: self
                .subject_key_id
                .clone()
                .filter(|k| k.bytes().all(|b| b.is_ascii_hexdigit())),
            ..Certificate::default()
        })
    }
}
