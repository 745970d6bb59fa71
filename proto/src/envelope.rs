//! `ReportRequest` as the server reads it: the same bytes on the wire, the inventory left
//! encoded.
//!
//! Most reports repeat the inventory their host sent last time, and the content hash says so.
//! Decoding a workstation's inventory costs far more than everything else the server does for
//! such a report, so the server's `Report` method takes a [`ReportEnvelope`] and decodes the
//! inventory only when it is going to store it. [`InventoryHead`] reads the two fields checked
//! on arrival (schema and collection time) and skips the rest without decoding it.
//!
//! These types are written by hand because they are views of messages in the `.proto` files,
//! not messages of their own: a test checks their tags and wire types against the descriptor
//! set, so the two cannot drift apart.

use prost::bytes::Bytes;

use crate::v1;

/// Wire-identical to [`v1::ReportRequest`]: an embedded message and `bytes` share a wire type,
/// so field 3 arrives as the inventory's encoding.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ReportEnvelope {
    #[prost(uint64, tag = "1")]
    pub sequence: u64,
    #[prost(bytes = "bytes", tag = "2")]
    pub content_hash: Bytes,
    /// The encoded [`v1::Inventory`]; `None` when the report has none.
    #[prost(bytes = "bytes", optional, tag = "3")]
    pub inventory: Option<Bytes>,
}

/// The leading fields of [`v1::Inventory`]; every other field is skipped unread.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InventoryHead {
    #[prost(string, tag = "1")]
    pub schema: String,
    #[prost(message, optional, tag = "2")]
    pub collected_at: Option<prost_types::Timestamp>,
}

impl ReportEnvelope {
    /// The envelope of `report`, as the server would receive it.
    pub fn of(report: &v1::ReportRequest) -> Self {
        Self {
            sequence: report.sequence,
            content_hash: Bytes::copy_from_slice(&report.content_hash),
            inventory: report
                .inventory
                .as_ref()
                .map(|inventory| prost::Message::encode_to_vec(inventory).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use prost_types::field_descriptor_proto::Type;

    use super::*;

    fn fields(message: &str) -> Vec<(i32, Type)> {
        let set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET).unwrap();
        let message = set
            .file
            .iter()
            .flat_map(|f| &f.message_type)
            .find(|m| m.name() == message)
            .expect("message in the descriptor set");
        message
            .field
            .iter()
            .map(|f| (f.number(), f.r#type()))
            .collect()
    }

    #[test]
    fn the_envelope_matches_report_request_on_the_wire() {
        // Embedded messages and bytes are both length-delimited.
        assert_eq!(
            fields("ReportRequest"),
            [(1, Type::Uint64), (2, Type::Bytes), (3, Type::Message)]
        );
        let head = fields("Inventory");
        assert_eq!(head[..2], [(1, Type::String), (2, Type::Message)]);
    }

    fn report() -> v1::ReportRequest {
        v1::ReportRequest {
            sequence: 42,
            content_hash: vec![7; 32],
            inventory: Some(v1::Inventory {
                schema: "tokenwatch.inventory/v1".into(),
                collected_at: Some(prost_types::Timestamp {
                    seconds: 1_795_000_000,
                    nanos: 5,
                }),
                host: Some(v1::Host {
                    hostname: "buh-01".into(),
                    ..Default::default()
                }),
                certificates: vec![v1::Certificate {
                    subject: "CN=Иванов".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }

    #[test]
    fn a_report_read_as_an_envelope_keeps_its_inventory_bytes() {
        let report = report();
        let envelope = ReportEnvelope::decode(report.encode_to_vec().as_slice()).unwrap();
        assert_eq!(envelope.sequence, 42);
        assert_eq!(envelope.content_hash.as_ref(), [7; 32]);
        let inventory = envelope.inventory.as_ref().expect("present");
        assert_eq!(
            v1::Inventory::decode(inventory.as_ref()).unwrap(),
            report.inventory.clone().unwrap()
        );
        assert_eq!(envelope, ReportEnvelope::of(&report));
        // And back: what a client built from the envelope sends is the same report.
        let again = v1::ReportRequest::decode(envelope.encode_to_vec().as_slice()).unwrap();
        assert_eq!(again, report);
    }

    #[test]
    fn the_head_reads_schema_and_time_only() {
        let report = report();
        let inventory = report.inventory.unwrap();
        let head = InventoryHead::decode(inventory.encode_to_vec().as_slice()).unwrap();
        assert_eq!(head.schema, "tokenwatch.inventory/v1");
        assert_eq!(head.collected_at, inventory.collected_at);
    }

    #[test]
    fn absent_and_empty_inventories_differ() {
        let none = v1::ReportRequest {
            inventory: None,
            ..report()
        };
        let empty = v1::ReportRequest {
            inventory: Some(v1::Inventory::default()),
            ..report()
        };
        let decode = |r: &v1::ReportRequest| {
            ReportEnvelope::decode(r.encode_to_vec().as_slice())
                .unwrap()
                .inventory
        };
        assert_eq!(decode(&none), None);
        assert_eq!(decode(&empty), Some(Bytes::new()));
    }
}
