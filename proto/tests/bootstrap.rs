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
        .compile_fds(fds)
        .expect("code generation");
    let after = snapshot(&out);
    assert!(
        before == after,
        "src/generated was stale and has been regenerated: commit proto/src/generated"
    );
}

fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("generated dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).expect("read"),
            )
        })
        .collect();
    files.sort();
    files
}
