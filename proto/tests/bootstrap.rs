//! Regenerates `src/generated` from the `.proto` files and fails when the checked-in code
//! differs, so the contract and the code built from it never drift apart.
//!
//! After changing a `.proto` file run `cargo test -p tokenwatch-proto --test bootstrap` once:
//! it rewrites the generated files (and fails once); commit them.

use std::path::Path;

#[test]
fn generated_code_is_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("src/generated");
    let fds = protox::compile(
        ["tokenwatch/v1/inventory.proto", "tokenwatch/v1/agent.proto"],
        [root.join("proto")],
    )
    .expect("the .proto files compile");

    let before = snapshot(&out);
    std::fs::write(
        out.join("tokenwatch.v1.fds.bin"),
        prost::Message::encode_to_vec(&fds),
    )
    .expect("write descriptor set");
    tonic_prost_build::configure()
        .build_transport(false)
        .emit_rerun_if_changed(false)
        .out_dir(&out)
        .compile_fds(fds.clone())
        .expect("code generation");
    // The server's side of the same service, taking `Report` as an envelope whose inventory
    // stays encoded (see `envelope.rs`); every other type is the one generated above.
    let ingest = out.join("ingest");
    let before_ingest = snapshot(&ingest);
    tonic_prost_build::configure()
        .build_transport(false)
        .build_client(false)
        .emit_rerun_if_changed(false)
        .extern_path(".tokenwatch.v1", "crate::v1")
        .extern_path(
            ".tokenwatch.v1.ReportRequest",
            "crate::envelope::ReportEnvelope",
        )
        .out_dir(&ingest)
        .compile_fds(fds)
        .expect("code generation of the ingest server");
    let after = snapshot(&out);
    let after_ingest = snapshot(&ingest);
    assert!(
        before == after && before_ingest == after_ingest,
        "src/generated was stale and has been regenerated: commit proto/src/generated"
    );
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("generated dir")
        .map(|entry| entry.expect("entry"))
        .filter(|entry| entry.path().is_file())
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}
