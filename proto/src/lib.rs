//! The tokenwatch wire contract, package `tokenwatch.v1`.
//!
//! The `.proto` files in `proto/` are the source; the Rust code in `src/generated/` is generated
//! from them with protox (no `protoc` needed anywhere) and checked in, so building the agent
//! needs no code generation. `tests/bootstrap.rs` regenerates it and fails when the checked-in
//! copy is stale.
//!
//! Compatibility: within `v1`, fields are only added. An older agent's report parses on a newer
//! server (missing fields take their defaults) and a newer agent's extra fields are ignored by
//! an older server.

/// Messages and the `AgentService` client and server of `tokenwatch.v1`.
pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
    include!("generated/tokenwatch.v1.rs");
}

/// The agent service's server side as the server implements it: the same service and methods,
/// with `Report` taking a [`ReportEnvelope`] whose inventory is decoded only when needed.
pub mod ingest {
    #![allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub)]
    include!("generated/ingest/tokenwatch.v1.rs");
}

mod envelope;
pub mod limits;

pub use envelope::{InventoryHead, ReportEnvelope};

/// The encoded file descriptor set of `tokenwatch.v1`, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("generated/tokenwatch.v1.fds.bin");

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn descriptor_set_describes_the_service() {
        let set = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("decodes");
        let agent = set
            .file
            .iter()
            .find(|f| f.name() == "tokenwatch/v1/agent.proto")
            .expect("agent.proto present");
        let methods: Vec<&str> = agent.service[0].method.iter().map(|m| m.name()).collect();
        assert_eq!(methods, ["Enroll", "Report", "Renew"]);
    }

    #[test]
    fn a_report_survives_the_wire() {
        let report = v1::ReportRequest {
            sequence: 7,
            content_hash: vec![1, 2, 3],
            inventory: Some(v1::Inventory {
                schema: "tokenwatch.inventory/v1".into(),
                readers: vec![v1::Reader {
                    name: "Aktiv Rutoken ECP 00 00".into(),
                    token_family: v1::TokenFamily::Rutoken.into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        };
        let decoded =
            v1::ReportRequest::decode(report.encode_to_vec().as_slice()).expect("decodes");
        assert_eq!(decoded, report);
    }
}
