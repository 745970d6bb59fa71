//! Property sets as SetupAPI returns them for real devices: the inbox WUDF driver, a vendor
//! INF, a reader that failed to start, a token with no driver, and devices that are not ours.

use super::*;
use crate::inventory::TokenFamily;

const READER_CLASS: &str = "{50dd5230-ba8a-11d1-bf5d-0000f805f530}";

fn some(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// A JaCarta that Windows bound to its own CCID driver, as on a PC without JaCarta Unified
/// Client.
fn jacarta_on_wudf() -> PnpDevice {
    PnpDevice {
        instance_id: r"USB\VID_24DC&PID_0101\5&1A2B3C&0&2".to_owned(),
        hardware_ids: vec![
            r"USB\VID_24DC&PID_0101&REV_0100".to_owned(),
            r"USB\VID_24DC&PID_0101".to_owned(),
        ],
        description: some("Microsoft Usbccid Smartcard Reader (WUDF)"),
        friendly_name: None,
        bus_description: some("JaCarta"),
        manufacturer: some("(Standard USB Smart Card Reader)"),
        class_guid: some(READER_CLASS),
        class_name: some("SmartCardReader"),
        service: some("WUDFRd"),
        driver: DriverKey {
            inf_path: some("wudfusbcciddriver.inf"),
            provider: some("Microsoft"),
            description: some("Microsoft Usbccid Smartcard Reader (WUDF)"),
        },
        problem_code: Some(0),
    }
}

/// A Rutoken ECP with its serial in the instance id, on Aktiv's driver package.
fn rutoken_on_vendor_driver() -> PnpDevice {
    PnpDevice {
        instance_id: r"USB\VID_0A89&PID_0030\0123456789".to_owned(),
        hardware_ids: vec![
            r"USB\VID_0A89&PID_0030&REV_0100".to_owned(),
            r"USB\VID_0A89&PID_0030".to_owned(),
        ],
        description: some("Rutoken ECP"),
        friendly_name: None,
        bus_description: None,
        manufacturer: some("Aktiv Co."),
        class_guid: some(READER_CLASS),
        class_name: some("SmartCardReader"),
        service: some("usbccid"),
        driver: DriverKey {
            inf_path: some("oem12.inf"),
            provider: some("Aktiv Co."),
            description: some("Rutoken ECP"),
        },
        problem_code: None,
    }
}

#[test]
fn a_jacarta_on_the_wudf_driver_is_flagged_generic() {
    let token = token(&jacarta_on_wudf()).expect("a reader");
    assert_eq!(token.bus_path, r"USB\VID_24DC&PID_0101\5&1A2B3C&0&2");
    assert_eq!(token.usb_id, "24dc:0101");
    assert_eq!(token.model, "JaCarta");
    assert_eq!(token.family, Some(TokenFamily::Jacarta));
    assert_eq!(token.product.as_deref(), Some("JaCarta"));
    assert_eq!(
        token.driver.as_deref(),
        Some(
            "Microsoft Usbccid Smartcard Reader (WUDF): wudfusbcciddriver.inf (Microsoft), \
             service WUDFRd"
        )
    );
    assert_eq!(token.generic_driver, Some(true));
    // 0 is "no problem"; the generated instance part is no serial.
    assert_eq!(token.problem_code, None);
    assert_eq!(token.serial, None);
    assert_eq!(token.visible_to_pcsc, None);
}

#[test]
fn the_wudf_service_with_a_usbccid_name_is_generic_without_the_inf() {
    let mut device = jacarta_on_wudf();
    device.driver.inf_path = None;
    assert_eq!(token(&device).and_then(|t| t.generic_driver), Some(true));
    // Another WUDF driver is not the generic CCID one.
    device.driver.description = some("Vendor UMDF reader");
    device.description = some("Vendor UMDF reader");
    assert_eq!(token(&device).and_then(|t| t.generic_driver), Some(false));
    // The INF name decides in any case and with a folder in front.
    device.driver.inf_path = some(r"C:\Windows\INF\WUDFUsbccidDriver.INF");
    assert_eq!(token(&device).and_then(|t| t.generic_driver), Some(true));
}

#[test]
fn a_rutoken_on_a_vendor_inf_is_not_generic() {
    let token = token(&rutoken_on_vendor_driver()).expect("a reader");
    assert_eq!(token.usb_id, "0a89:0030");
    assert_eq!(token.model, "Rutoken ECP");
    assert_eq!(token.family, Some(TokenFamily::Rutoken));
    assert_eq!(token.manufacturer.as_deref(), Some("Aktiv Co."));
    assert_eq!(token.serial.as_deref(), Some("0123456789"));
    assert_eq!(
        token.driver.as_deref(),
        Some("Rutoken ECP: oem12.inf (Aktiv Co.), service usbccid")
    );
    assert_eq!(token.generic_driver, Some(false));
    assert_eq!(token.problem_code, None);
}

#[test]
fn a_reader_that_failed_to_start_keeps_its_code() {
    // An unknown reader: the class makes it ours, its name is the model.
    let device = PnpDevice {
        instance_id: r"USB\VID_076B&PID_3031\6&2F1E&0&1".to_owned(),
        hardware_ids: vec![r"USB\VID_076B&PID_3031&REV_0101".to_owned()],
        description: some("OMNIKEY 3x21 Smart Card Reader"),
        class_guid: some("{50DD5230-BA8A-11D1-BF5D-0000F805F530}"),
        service: some("cxbu0wdm"),
        driver: DriverKey {
            inf_path: some("oem3.inf"),
            provider: some("HID Global"),
            description: None,
        },
        problem_code: Some(10),
        ..PnpDevice::default()
    };
    let token = token(&device).expect("a reader");
    assert_eq!(token.usb_id, "076b:3031");
    assert_eq!(token.model, "OMNIKEY 3x21 Smart Card Reader");
    assert_eq!(token.family, None);
    assert_eq!(token.problem_code, Some(10));
    assert_eq!(
        token.driver.as_deref(),
        Some("oem3.inf (HID Global), service cxbu0wdm")
    );
    assert_eq!(token.generic_driver, Some(false));
}

#[test]
fn a_token_without_a_driver_is_reported_from_the_usb_bus() {
    // No driver installed: no class, no service, no driver key, code 28.
    let device = PnpDevice {
        instance_id: r"USB\VID_0529&PID_0620\7&3A4B&0&3".to_owned(),
        hardware_ids: vec![
            r"USB\VID_0529&PID_0620&REV_0100".to_owned(),
            r"USB\VID_0529&PID_0620".to_owned(),
        ],
        description: some("Token JC"),
        problem_code: Some(28),
        ..PnpDevice::default()
    };
    let token = token(&device).expect("a known token");
    assert_eq!(token.usb_id, "0529:0620");
    assert_eq!(token.family, Some(TokenFamily::Etoken));
    assert_eq!(token.problem_code, Some(28));
    assert_eq!(token.driver, None);
    assert_eq!(token.generic_driver, None);
}

#[test]
fn devices_that_are_neither_readers_nor_tokens_are_left_out() {
    let mouse = PnpDevice {
        instance_id: r"USB\VID_046D&PID_C077\5&2C3D&0&1".to_owned(),
        hardware_ids: vec![r"USB\VID_046D&PID_C077&REV_7200".to_owned()],
        description: some("USB Input Device"),
        class_guid: some("{745a17a0-74d3-11d0-b6fe-00a0c90f57da}"),
        class_name: some("HIDClass"),
        service: some("HidUsb"),
        ..PnpDevice::default()
    };
    assert_eq!(token(&mouse), None);
    // A mouse that failed is still not a token.
    assert_eq!(
        token(&PnpDevice {
            problem_code: Some(10),
            ..mouse
        }),
        None
    );
}

#[test]
fn only_a_composite_token_s_reader_interface_stands_for_it() {
    let parent = PnpDevice {
        instance_id: r"USB\VID_24DC&PID_100F\5&77&0&4".to_owned(),
        hardware_ids: vec![r"USB\VID_24DC&PID_100F&REV_0100".to_owned()],
        description: some("USB Composite Device"),
        class_name: some("USB"),
        service: some("usbccgp"),
        ..PnpDevice::default()
    };
    let storage = PnpDevice {
        instance_id: r"USB\VID_24DC&PID_100F&MI_01\6&88&0&0001".to_owned(),
        hardware_ids: vec![r"USB\VID_24DC&PID_100F&REV_0100&MI_01".to_owned()],
        description: some("USB Mass Storage Device"),
        class_name: some("USB"),
        service: some("USBSTOR"),
        ..PnpDevice::default()
    };
    let reader = PnpDevice {
        instance_id: r"USB\VID_24DC&PID_100F&MI_00\6&88&0&0000".to_owned(),
        hardware_ids: vec![r"USB\VID_24DC&PID_100F&REV_0100&MI_00".to_owned()],
        class_guid: some(READER_CLASS),
        service: some("WUDFRd"),
        driver: DriverKey {
            inf_path: some("wudfusbcciddriver.inf"),
            ..DriverKey::default()
        },
        ..PnpDevice::default()
    };
    let found = tokens([parent.clone(), storage, reader]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].bus_path,
        r"USB\VID_24DC&PID_100F&MI_00\6&88&0&0000"
    );
    assert_eq!(found[0].model, "JaCarta Flash");
    assert_eq!(found[0].generic_driver, Some(true));
    // A composite parent that failed hides its interfaces: it is reported itself.
    let failed = PnpDevice {
        problem_code: Some(10),
        ..parent
    };
    assert_eq!(token(&failed).and_then(|t| t.problem_code), Some(10));
}

#[test]
fn ids_parse_in_any_case_and_garbage_gives_none() {
    let ids = |hardware: &[&str], instance: &str| {
        usb_ids(&PnpDevice {
            instance_id: instance.to_owned(),
            hardware_ids: hardware.iter().map(|s| (*s).to_owned()).collect(),
            ..PnpDevice::default()
        })
    };
    assert_eq!(
        ids(&[r"usb\vid_24dc&pid_0101&rev_0100"], ""),
        Some((0x24DC, 0x0101))
    );
    // The instance id when the hardware ids say nothing.
    assert_eq!(
        ids(&["garbage"], r"USB\VID_0A89&PID_0030\1"),
        Some((0x0A89, 0x0030))
    );
    assert_eq!(ids(&[], r"ROOT\SMARTCARDREADER\0000"), None);
    assert_eq!(ids(&[r"USB\VID_24D&PID_0101"], ""), None);
    assert_eq!(ids(&[r"USB\VID_24DCX&PID_0101"], ""), None);
    assert_eq!(ids(&[r"USB\VID_24DC1&PID_0101"], ""), None);
    assert_eq!(ids(&[r"USB\VID_24DC&PID_01"], ""), None);
    assert_eq!(ids(&[r"USB\VID_24DC&PID_01011"], ""), None);
    assert_eq!(ids(&[r"USB\VID_+4DC&PID_0101"], ""), None);
    assert_eq!(ids(&[r"USB\VID_24DC"], ""), None);
    assert_eq!(ids(&["VID_ЖЖЖЖ&PID_0101"], ""), None);
    assert_eq!(ids(&["VID_"], "VID_24DC&PID_"), None);
    // A reader in the reader class without USB ids is not a USB device.
    let virtual_reader = PnpDevice {
        instance_id: r"ROOT\SMARTCARDREADER\0000".to_owned(),
        class_guid: some(READER_CLASS),
        ..PnpDevice::default()
    };
    assert_eq!(token(&virtual_reader), None);
}

#[test]
fn setupapi_strings_decode_with_or_without_terminators() {
    let units = |s: &str| s.encode_utf16().collect::<Vec<u16>>();
    assert_eq!(utf16_string(&units("WUDFRd\0\0garbage")), "WUDFRd");
    assert_eq!(utf16_string(&units("no terminator")), "no terminator");
    assert_eq!(utf16_string(&[]), "");
    assert_eq!(
        utf16_multi_string(&units(
            "USB\\VID_24DC&PID_0101&REV_0100\0USB\\VID_24DC&PID_0101\0\0"
        )),
        vec![r"USB\VID_24DC&PID_0101&REV_0100", r"USB\VID_24DC&PID_0101"]
    );
    assert_eq!(utf16_multi_string(&units("one\0two")), vec!["one", "two"]);
    assert_eq!(utf16_multi_string(&units("\0\0")), Vec::<String>::new());
    assert_eq!(utf16_multi_string(&[]), Vec::<String>::new());
    assert_eq!(
        utf16_string(&utf16_from_le_bytes(&[b'J', 0, b'C', 0, 0, 0, 7])),
        "JC"
    );
    assert_eq!(utf16_from_le_bytes(&[0x3A, 0x04, 0x01]), vec![0x043A]);
}
