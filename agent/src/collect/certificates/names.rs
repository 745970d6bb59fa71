//! Distinguished names rendered for people, with the Russian attributes named.
//!
//! x509-parser's `Display` prints `OID(1.2.643.3.131.1.1)=…` for INN and friends, and mangles
//! BMPString values, so names are rendered here: attributes in certificate order (as CryptoPro's
//! certmgr prints them), `NAME=value` joined by `, `, values quoted Windows-style (`"…"` with inner
//! quotes doubled) when they hold separators. The same name always renders the same way, which
//! is what issuer matching in the scan relies on.

use x509_parser::asn1_rs::Tag;
use x509_parser::x509::X509Name;

use super::oids;
use crate::collect::der;

/// One attribute of a name: its OID and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub(crate) oid: String,
    pub(crate) value: String,
}

/// A name as rendered text and its attributes in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Name {
    pub(crate) text: String,
    pub(crate) attributes: Vec<Attribute>,
}

// === impl Name ===

impl Name {
    /// Decode and render an X.509 name.
    pub(crate) fn from_x509(name: &X509Name<'_>) -> Self {
        let mut attributes = Vec::new();
        let mut rdns = Vec::new();
        for rdn in name.iter_rdn() {
            let mut parts = Vec::new();
            for attr in rdn.iter() {
                let oid = attr.attr_type().to_id_string();
                let value = attribute_text(attr.attr_value().tag().0, attr.as_slice());
                let label = oids::attribute_name(&oid).unwrap_or(oid.as_str());
                parts.push(format!("{label}={}", quote(&value)));
                attributes.push(Attribute { oid, value });
            }
            rdns.push(parts.join(" + "));
        }
        Self {
            text: rdns.join(", "),
            attributes,
        }
    }

    /// The first value of the attribute `oid`, trimmed; `None` when absent or blank.
    pub(crate) fn first(&self, oid: &str) -> Option<String> {
        self.attributes
            .iter()
            .filter(|a| a.oid == oid)
            .map(|a| a.value.trim())
            .find(|v| !v.is_empty())
            .map(str::to_owned)
    }
}

/// Text of an attribute value; values that are not strings are shown as `#hex` (RFC 4514).
fn attribute_text(tag: u32, data: &[u8]) -> String {
    der::string(Tag(tag), data).unwrap_or_else(|| format!("#{}", hex::encode(data)))
}

/// Quote a value the way Windows and CryptoPro do when it holds a separator.
pub(crate) fn quote(value: &str) -> String {
    let needs = value.is_empty()
        || value.starts_with(' ')
        || value.ends_with(' ')
        || value.chars().any(|c| {
            matches!(
                c,
                ',' | '+' | '=' | '"' | '\n' | '\r' | '<' | '>' | '#' | ';'
            )
        });
    if needs {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_separators_are_quoted_windows_style() {
        assert_eq!(quote("Москва"), "Москва");
        assert_eq!(quote("ООО \"Ромашка\""), "\"ООО \"\"Ромашка\"\"\"");
        assert_eq!(quote("a, b"), "\"a, b\"");
        assert_eq!(quote(" lead"), "\" lead\"");
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn non_string_values_are_hex() {
        assert_eq!(attribute_text(0x04, &[0xAB, 0x01]), "#ab01");
        assert_eq!(attribute_text(0x1E, &[0x04, 0x1C]), "М");
        assert_eq!(attribute_text(0x1_0000, b"x"), "#78");
    }
}
