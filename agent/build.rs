//! Windows only: the message table Event Viewer reads the agent's event log entries with.
//!
//! Event Viewer shows an entry by looking its id up in the source's `EventMessageFile` (the
//! agent's own .exe) and filling in the entry's strings; without a table it shows "The
//! description for Event ID … cannot be found". Every id here has the text `%1`: the agent
//! writes each entry as one finished string.
//!
//! The table is written here in the `MESSAGE_RESOURCE_DATA` layout rather than by a message
//! compiler (windmc with mingw, mc.exe with MSVC: a different tool per toolchain, the latter not
//! on PATH); `messages.rc` then puts it into a resource, which embed-resource compiles with
//! windres or rc.exe and links into the binary. Other targets build nothing and need no
//! Windows tools.

use std::path::PathBuf;

/// Event ids, as `src/service/event_log.rs` reports them: information (the service's start and
/// stop), warning, error. Consecutive, so they form one block.
const MESSAGES: [(u32, &str); 3] = [(1, "%1\r\n"), (2, "%1\r\n"), (3, "%1\r\n")];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=messages.rc");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        return;
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // `messages.rc` names the table by file name; embed-resource puts OUT_DIR on the resource
    // compiler's search path.
    std::fs::write(out_dir.join("messages.bin"), message_table(&MESSAGES))
        .expect("writing the message table");
    // A build for Windows without a resource compiler fails here instead of producing an .exe
    // whose event log entries Event Viewer cannot show.
    embed_resource::compile_for("messages.rc", ["tokenwatch-agent"], embed_resource::NONE)
        .manifest_required()
        .expect("compiling messages.rc (windres or rc.exe)");
}

/// A `MESSAGE_RESOURCE_DATA` with one block of consecutive ids: the block count, the block
/// (lowest id, highest id, offset of its first entry), then per id a
/// `MESSAGE_RESOURCE_ENTRY`: its length, flags 1 (UTF-16), the NUL-terminated text padded to
/// a multiple of four bytes. All little-endian.
fn message_table(messages: &[(u32, &str)]) -> Vec<u8> {
    let (low, high) = (messages[0].0, messages[messages.len() - 1].0);
    assert!(
        messages.windows(2).all(|pair| pair[1].0 == pair[0].0 + 1),
        "message ids must be consecutive"
    );
    let mut table = Vec::new();
    table.extend_from_slice(&1u32.to_le_bytes());
    table.extend_from_slice(&low.to_le_bytes());
    table.extend_from_slice(&high.to_le_bytes());
    // The header (4 bytes) and the one block (12 bytes) come before the entries.
    table.extend_from_slice(&16u32.to_le_bytes());
    for (_, text) in messages {
        let mut bytes: Vec<u8> = text
            .encode_utf16()
            .chain(Some(0))
            .flat_map(u16::to_le_bytes)
            .collect();
        bytes.resize((4 + bytes.len()).next_multiple_of(4) - 4, 0);
        let length = u16::try_from(4 + bytes.len()).expect("a short message");
        table.extend_from_slice(&length.to_le_bytes());
        table.extend_from_slice(&1u16.to_le_bytes());
        table.extend_from_slice(&bytes);
    }
    table
}
