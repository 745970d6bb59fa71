//! The agent's readers of files and program output, each followed through to the report the
//! server must accept.

use std::cell::RefCell;
use std::path::PathBuf;

use tempfile::TempDir;
use tokenwatch_agent::collect::certificates::{
    fold_store_copies, parse_certmgr_list, summarize_file_bytes,
};
use tokenwatch_agent::collect::containers::read_container;
use tokenwatch_agent::inventory::{Certificate, Container, Inventory, Media};
use tokenwatch_agent::scan::merge_certificates;
use tokenwatch_agent::uplink::convert;
use tokenwatch_inventory::sample;

/// `header.key` of a container folder (the other files missing), read as the container
/// collector reads it: the container and the certificates embedded in it.
pub fn container_header(data: &[u8]) {
    container_with("header.key", data);
}

/// `name.key` of a container folder (the other files missing).
pub fn container_name(data: &[u8]) {
    container_with("name.key", data);
}

/// A certificate file (DER, PEM or base64, possibly several certificates) as the file
/// collector reads it.
pub fn certificate(data: &[u8]) {
    let Ok(results) = summarize_file_bytes(data, "/home/user/cert.cer") else {
        return;
    };
    let certificates: Vec<Certificate> = results.into_iter().filter_map(Result::ok).collect();
    for certificate in &certificates {
        assert!(!certificate.der.is_empty() && certificate.der.len() <= data.len());
        assert_eq!(certificate.sha1.len(), 40, "{}", certificate.sha1);
    }
    reported(|inventory| inventory.certificates = certificates);
}

/// `certmgr -list` output (any bytes, read as the agent reads the program's output).
pub fn certmgr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(entries) = parse_certmgr_list(&text) else {
        return;
    };
    let certificates: Vec<Certificate> = entries
        .iter()
        .filter_map(|entry| entry.to_certificate("uMy").ok())
        .collect();
    reported(|inventory| inventory.certificates = certificates);
}

thread_local! {
    /// One folder per thread, rewritten for each input: a container folder must be on disk.
    static FOLDER: RefCell<Option<(TempDir, PathBuf)>> = const { RefCell::new(None) };
}

fn container_with(file: &str, data: &[u8]) {
    let folder = FOLDER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (_, path) = cell.get_or_insert_with(|| {
            let root = TempDir::new().expect("a temporary folder");
            let folder = root.path().join("fuzz0001.000");
            std::fs::create_dir(&folder).expect("a container folder");
            (root, folder)
        });
        path.clone()
    });
    std::fs::write(folder.join(file), data).expect("the container folder is writable");
    let read = read_container(&folder, Media::Removable, None);
    std::fs::remove_file(folder.join(file)).expect("the file just written");
    let Container {
        complete,
        missing_files,
        ..
    } = &read.container;
    // Only one of the six files is there: never a usable container.
    assert!(!complete && !missing_files.is_empty());
    for certificate in &read.certificates {
        assert!(certificate.der.len() <= data.len());
    }
    reported(|inventory| {
        inventory.containers = vec![read.container];
        inventory.certificates = read.certificates;
    });
}

/// The sample host's inventory with `edit` applied, as the agent sends it: the server must
/// store it.
fn reported(edit: impl FnOnce(&mut Inventory)) {
    let mut inventory = sample::inventory();
    edit(&mut inventory);
    // As the scan does: a certificate met twice (listed in two stores, twice in a file) is
    // one certificate with both sources.
    inventory.certificates = merge_certificates(fold_store_copies(std::mem::take(
        &mut inventory.certificates,
    )));
    let wire = convert::inventory(&inventory);
    if let Err(reason) = tokenwatch_server::fuzzing::accepts(&wire) {
        panic!("the server refuses what the agent made of this input: {reason}");
    }
}
