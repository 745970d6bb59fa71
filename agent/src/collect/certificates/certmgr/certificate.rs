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
        // The thumbprint is the certificate's identity on the server: anything but 40 hex
        // digits (a listing garbled on its way out of certmgr) cannot stand for it.
        if sha1.len() != 40 || !sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CertmgrError::BadThumbprint {
                number: self.number,
                text: sha1,
            });
        }
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
            signature_algorithm: self
                .signature_algorithm
                .as_deref()
                .map(algorithm_name)
                .unwrap_or_default(),
            public_key_algorithm: self
                .public_key_algorithm
                .as_deref()
                .map(algorithm_name)
                .unwrap_or_default(),
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

/// The summary's algorithm name for the forms certmgr prints (so file and store entries group
/// together); anything else is kept as printed. certmgr's public key sizes in brackets are of
/// the public key value, twice the key's nominal size.
fn algorithm_name(printed: &str) -> String {
    let name = match printed.trim() {
        "ГОСТ Р 34.11-2012/34.10-2012 256 бит" => {
            "GOST R 34.11-2012 256 with GOST R 34.10-2012 256"
        }
        "ГОСТ Р 34.11-2012/34.10-2012 512 бит" => {
            "GOST R 34.11-2012 512 with GOST R 34.10-2012 512"
        }
        "ГОСТ Р 34.11/34.10-2001" => "GOST R 34.11-94 with GOST R 34.10-2001",
        "ГОСТ Р 34.10-2012 256 бит (512 бит)" | "ГОСТ Р 34.10-2012 (512 bits)" => {
            "GOST R 34.10-2012 256"
        }
        "ГОСТ Р 34.10-2012 512 бит (1024 бит)" | "ГОСТ Р 34.10-2012 (1024 bits)" => {
            "GOST R 34.10-2012 512"
        }
        "ГОСТ Р 34.10-2001 (512 бит)" | "ГОСТ Р 34.10-2001 (512 bits)" => {
            "GOST R 34.10-2001"
        }
        other => other,
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_gost_algorithms_get_the_summary_names() {
        assert_eq!(
            algorithm_name("ГОСТ Р 34.11-2012/34.10-2012 256 бит"),
            "GOST R 34.11-2012 256 with GOST R 34.10-2012 256"
        );
        assert_eq!(
            algorithm_name("ГОСТ Р 34.10-2012 256 бит (512 бит)"),
            "GOST R 34.10-2012 256"
        );
        assert_eq!(
            algorithm_name("ГОСТ Р 34.10-2012 (512 bits)"),
            "GOST R 34.10-2012 256"
        );
        assert_eq!(algorithm_name("RSA (2048 bits)"), "RSA (2048 bits)");
    }
}
