//! Which lists of an inventory differ from the stored ones.
//!
//! A changed report usually changes one thing (a token plugged in, a certificate renewed).
//! Each list is hashed on its own, so only the lists that differ are written; the others keep
//! their rows, identities and sightings exactly as they are.

use prost::Message;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokenwatch_proto::v1;

/// The lists of an inventory, by the names their hashes are stored under.
const NAMES: [&str; 6] = [
    "readers",
    "tokens",
    "containers",
    "certificates",
    "findings",
    "collectors",
];

/// Whether each list must be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sections {
    pub(crate) readers: bool,
    pub(crate) tokens: bool,
    pub(crate) containers: bool,
    pub(crate) certificates: bool,
    pub(crate) findings: bool,
    pub(crate) collectors: bool,
}

#[cfg(test)]
impl Sections {
    pub(crate) const ALL: Self = Self {
        readers: true,
        tokens: true,
        containers: true,
        certificates: true,
        findings: true,
        collectors: true,
    };
}

/// The hex SHA-256 of each list of `inventory`, in [`NAMES`] order.
pub(crate) fn hashes(inventory: &v1::Inventory) -> [String; 6] {
    [
        hash(&inventory.readers),
        hash(&inventory.tokens),
        hash(&inventory.containers),
        hash(&inventory.certificates),
        hash(&inventory.findings),
        hash(&inventory.collectors),
    ]
}

/// The hashes as the JSON object stored on the host.
pub(crate) fn to_json(hashes: &[String; 6]) -> String {
    let map: Map<String, Value> = NAMES
        .iter()
        .zip(hashes)
        .map(|(name, hash)| ((*name).to_owned(), Value::from(hash.as_str())))
        .collect();
    Value::Object(map).to_string()
}

/// The lists of `new` that differ from `stored` (the host's stored object; anything missing
/// or unreadable there counts as different).
pub(crate) fn differing(stored: Option<&Value>, new: &[String; 6]) -> Sections {
    let same = |i: usize| {
        stored
            .and_then(|s| s.get(NAMES[i]))
            .and_then(Value::as_str)
            .is_some_and(|old| old == new[i])
    };
    Sections {
        readers: !same(0),
        tokens: !same(1),
        containers: !same(2),
        certificates: !same(3),
        findings: !same(4),
        collectors: !same(5),
    }
}

/// Each entry length-delimited, so that moving a boundary between entries changes the hash.
fn hash<M: Message>(entries: &[M]) -> String {
    let mut digest = Sha256::new();
    let mut buffer = Vec::new();
    for entry in entries {
        buffer.clear();
        // Encoding into a Vec cannot fail: it grows as needed.
        let _ = entry.encode_length_delimited(&mut buffer);
        digest.update(&buffer);
    }
    hex::encode(digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inventory() -> v1::Inventory {
        v1::Inventory {
            readers: vec![v1::Reader {
                name: "Aktiv Rutoken ECP 00 00".into(),
                card_present: true,
                ..Default::default()
            }],
            findings: vec![v1::Finding {
                code: "pcsc.no_readers".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn only_the_lists_that_differ_are_written() {
        let before = hashes(&inventory());
        let stored: Value = serde_json::from_str(&to_json(&before)).unwrap();
        assert_eq!(
            differing(Some(&stored), &before),
            Sections {
                readers: false,
                tokens: false,
                containers: false,
                certificates: false,
                findings: false,
                collectors: false,
            }
        );
        let mut changed = inventory();
        changed.readers[0].card_present = false;
        let after = hashes(&changed);
        assert_eq!(
            differing(Some(&stored), &after),
            Sections {
                readers: true,
                ..differing(Some(&stored), &before)
            }
        );
    }

    #[test]
    fn a_host_without_stored_hashes_writes_everything() {
        let new = hashes(&inventory());
        assert_eq!(differing(None, &new), Sections::ALL);
        let odd: Value = serde_json::json!({ "readers": 7, "tokens": null });
        assert_eq!(differing(Some(&odd), &new), Sections::ALL);
    }

    #[test]
    fn entries_are_delimited() {
        let one = vec![v1::Finding {
            code: "ab".into(),
            ..Default::default()
        }];
        let two = vec![
            v1::Finding {
                code: "a".into(),
                ..Default::default()
            },
            v1::Finding {
                code: "b".into(),
                ..Default::default()
            },
        ];
        assert_ne!(hash(&one), hash(&two));
    }
}
