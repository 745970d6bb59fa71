//! Tokens and vendor readers on the USB bus, found through sysfs.
//!
//! The bus shows a token even when no driver or service does, which is how the scan tells "not
//! plugged in" from "plugged in but invisible to PC/SC". Which ids are tokens is in `usb_ids`.

use std::fs;
use std::path::Path;

use super::usb_ids::identify_usb;
use crate::inventory::UsbToken;

/// Parse a sysfs `idVendor`/`idProduct` value (`0a89`).
pub(crate) fn parse_id(text: &str) -> Option<u16> {
    let text = text.trim();
    // from_str_radix would also take a sign.
    if text.len() != 4 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(text, 16).ok()
}

/// Known tokens and readers under `<sys>/bus/usb/devices`. A missing folder (no USB, or a
/// container without sysfs) gives none; an unreadable one is an error.
pub(crate) fn usb_tokens(devices: &Path) -> Result<Vec<UsbToken>, std::io::Error> {
    let entries = match fs::read_dir(devices) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut tokens = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // `1-2:1.0` is an interface of device `1-2`, which carries the ids.
        if name.contains(':') {
            continue;
        }
        let dir = entry.path();
        let attribute = |file: &str| {
            fs::read_to_string(dir.join(file))
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let (Some(vendor), Some(product)) = (
            attribute("idVendor").as_deref().and_then(parse_id),
            attribute("idProduct").as_deref().and_then(parse_id),
        ) else {
            continue;
        };
        let Some(known) = identify_usb(vendor, product) else {
            continue;
        };
        tokens.push(UsbToken {
            bus_path: name,
            usb_id: format!("{vendor:04x}:{product:04x}"),
            model: known.model.to_owned(),
            family: known.family,
            manufacturer: attribute("manufacturer"),
            product: attribute("product"),
            serial: attribute("serial"),
            visible_to_pcsc: None,
            ..UsbToken::default()
        });
    }
    tokens.sort_by(|a, b| a.bus_path.cmp(&b.bus_path));
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_sysfs_writes_them() {
        assert_eq!(parse_id("0a89\n"), Some(0x0A89));
        assert_eq!(parse_id("24DC"), Some(0x24DC));
        assert_eq!(parse_id(""), None);
        assert_eq!(parse_id("0a89a"), None);
        assert_eq!(parse_id("zzzz"), None);
        assert_eq!(parse_id("+a89"), None);
    }

    #[test]
    fn sysfs_walk_skips_interfaces_and_unknown_devices() {
        let sys = tempfile::tempdir().expect("tempdir");
        let device = |name: &str, vendor: &str, product: &str, extra: &[(&str, &str)]| {
            let dir = sys.path().join(name);
            fs::create_dir_all(&dir).expect("device dir");
            fs::write(dir.join("idVendor"), format!("{vendor}\n")).expect("idVendor");
            fs::write(dir.join("idProduct"), format!("{product}\n")).expect("idProduct");
            for (file, value) in extra {
                fs::write(dir.join(file), format!("{value}\n")).expect("attribute");
            }
        };
        device(
            "1-2",
            "0a89",
            "0030",
            &[("manufacturer", "Aktiv"), ("product", "Rutoken ECP")],
        );
        device("1-2:1.0", "0a89", "0030", &[]);
        device("usb1", "1d6b", "0002", &[]);
        device("2-1", "garbage", "0030", &[]);
        let found = usb_tokens(sys.path()).expect("walk");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].bus_path, "1-2");
        assert_eq!(found[0].usb_id, "0a89:0030");
        assert_eq!(found[0].manufacturer.as_deref(), Some("Aktiv"));
        assert_eq!(found[0].serial, None);
        assert_eq!(
            usb_tokens(&sys.path().join("absent"))
                .expect("absent")
                .len(),
            0
        );
    }
}
