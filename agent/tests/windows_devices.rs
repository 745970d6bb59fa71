//! Readers and tokens as Plug and Play presents them, read by the real `components` collector
//! through Wine's real SetupAPI. Wine has no USB tokens: the test creates the devices the way an
//! installer does, through SetupAPI itself (a device in the smart-card reader class with its
//! hardware ids, description, service and driver key), reads the scan back and removes them.
//!
//! Wine has no PnP manager behind these devices: `DIGCF_PRESENT` lists every device in its
//! registry (even one created and never registered), which is what lets devices made here count
//! as plugged in. What Wine 8 cannot show, and the unit tests of `pnp` cover instead, is a
//! problem code: its `CM_Get_DevNode_Status` is a stub, and `DEVPKEY_Device_ProblemCode` is
//! only what someone stored, where on Windows the PnP manager alone sets it. No device here has
//! one.
#![cfg(windows)]
#![allow(unsafe_code)] // SetupAPI has no safe wrapper in the crates used here

use std::ptr;

use tokenwatch_agent::ScanConfig;
use tokenwatch_agent::collect::Collector;
use tokenwatch_agent::collect::components::ComponentsCollector;
use tokenwatch_agent::inventory::{TokenFamily, UsbToken};
use tokenwatch_agent::paths::Paths;
use windows_registry::LOCAL_MACHINE;
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    GUID_DEVCLASS_SMARTCARDREADER, HDEVINFO, SETUP_DI_REGISTRY_PROPERTY, SP_DEVINFO_DATA,
    SPDRP_DEVICEDESC, SPDRP_DRIVER, SPDRP_HARDWAREID, SPDRP_MFG, SPDRP_SERVICE,
    SetupDiCreateDeviceInfoList, SetupDiCreateDeviceInfoW, SetupDiDestroyDeviceInfoList,
    SetupDiRegisterDeviceInfo, SetupDiRemoveDevice, SetupDiSetDeviceRegistryPropertyW,
};
use windows_sys::Win32::Foundation::GetLastError;
use windows_sys::core::GUID;

/// `GUID_DEVCLASS_HIDCLASS`: where a mouse is.
const HID_CLASS: GUID = GUID::from_u128(0x745a_17a0_74d3_11d0_b6fe_00a0_c90f_57da);
/// A driver key is `Control\Class\<class GUID>\<nnnn>`; numbers no real driver of this prefix
/// has.
const DRIVER_KEYS: &str = r"SYSTEM\CurrentControlSet\Control\Class";
const JACARTA_DRIVER: &str = r"{50dd5230-ba8a-11d1-bf5d-0000f805f530}\9901";
const RUTOKEN_DRIVER: &str = r"{50dd5230-ba8a-11d1-bf5d-0000f805f530}\9902";

const JACARTA: &str = r"USB\VID_24DC&PID_0101\TWTEST0001";
const RUTOKEN: &str = r"USB\VID_0A89&PID_0030\TWTEST0002";
const ETOKEN: &str = r"USB\VID_0529&PID_0620\TWTEST0003";
const MOUSE: &str = r"USB\VID_046D&PID_C077\TWTEST0004";

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Devices and driver keys this test made, removed when it ends however it ends.
struct Installed {
    set: HDEVINFO,
    devices: Vec<SP_DEVINFO_DATA>,
    driver_keys: Vec<String>,
}

impl Installed {
    fn new() -> Self {
        // SAFETY: a null class and window make an empty list for any class.
        let set = unsafe { SetupDiCreateDeviceInfoList(ptr::null(), ptr::null_mut()) };
        assert_ne!(set, -1, "SetupDiCreateDeviceInfoList: {}", last_error());
        Self {
            set,
            devices: Vec::new(),
            driver_keys: Vec::new(),
        }
    }

    /// A registered device with this instance id, class and hardware ids.
    #[track_caller]
    fn device(&mut self, instance_id: &str, class: &GUID, hardware_ids: &[&str]) -> usize {
        let mut data = SP_DEVINFO_DATA {
            cbSize: u32::try_from(size_of::<SP_DEVINFO_DATA>()).expect("small"),
            ..SP_DEVINFO_DATA::default()
        };
        let name = wide(instance_id);
        // SAFETY: the NUL-terminated name, the class and `data` outlive the call.
        let created = unsafe {
            SetupDiCreateDeviceInfoW(
                self.set,
                name.as_ptr(),
                class,
                ptr::null(),
                ptr::null_mut(),
                0,
                &raw mut data,
            )
        };
        assert_ne!(created, 0, "create {instance_id}: {}", last_error());
        self.devices.push(data);
        let index = self.devices.len() - 1;
        let mut ids: Vec<u16> = Vec::new();
        for id in hardware_ids {
            ids.extend(wide(id));
        }
        ids.push(0);
        self.set_property(index, SPDRP_HARDWAREID, &ids);
        // SAFETY: `data` belongs to this set; no duplicate check is asked for.
        let registered = unsafe {
            SetupDiRegisterDeviceInfo(
                self.set,
                &raw mut self.devices[index],
                0,
                None,
                ptr::null(),
                ptr::null_mut(),
            )
        };
        assert_ne!(registered, 0, "register {instance_id}: {}", last_error());
        index
    }

    #[track_caller]
    fn text(&mut self, index: usize, property: SETUP_DI_REGISTRY_PROPERTY, value: &str) {
        self.set_property(index, property, &wide(value));
    }

    #[track_caller]
    fn set_property(&mut self, index: usize, property: SETUP_DI_REGISTRY_PROPERTY, value: &[u16]) {
        let bytes = u32::try_from(value.len() * 2).expect("small");
        // SAFETY: `value` holds `bytes` bytes; the device belongs to this set.
        let set = unsafe {
            SetupDiSetDeviceRegistryPropertyW(
                self.set,
                &raw mut self.devices[index],
                property,
                value.as_ptr().cast(),
                bytes,
            )
        };
        assert_ne!(set, 0, "set property {property}: {}", last_error());
    }

    /// The driver key an installer writes for the device, and the device pointed at it.
    #[track_caller]
    fn driver(&mut self, index: usize, key: &str, inf: &str, provider: &str, description: &str) {
        let path = format!(r"{DRIVER_KEYS}\{key}");
        let driver = LOCAL_MACHINE.create(&path).expect("create the driver key");
        self.driver_keys.push(path);
        driver.set_string("InfPath", inf).expect("InfPath");
        driver
            .set_string("ProviderName", provider)
            .expect("ProviderName");
        driver
            .set_string("DriverDesc", description)
            .expect("DriverDesc");
        self.text(index, SPDRP_DRIVER, key);
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        for data in &mut self.devices {
            // SAFETY: each device belongs to this set.
            unsafe { SetupDiRemoveDevice(self.set, data) };
        }
        for path in &self.driver_keys {
            let _ = LOCAL_MACHINE.remove_tree(path);
        }
        // SAFETY: the list is destroyed once, here.
        unsafe { SetupDiDestroyDeviceInfoList(self.set) };
    }
}

fn last_error() -> std::io::Error {
    // SAFETY: reads this thread's last-error value.
    let code = unsafe { GetLastError() };
    std::io::Error::from_raw_os_error(i32::try_from(code).unwrap_or(i32::MAX))
}

fn usb_tokens() -> Vec<UsbToken> {
    let root = tempfile::tempdir().expect("tempdir");
    let section = ComponentsCollector
        .collect(&ScanConfig::new(Paths::new(root.path())))
        .expect("the collector runs");
    assert!(section.errors.is_empty(), "{:?}", section.errors);
    section.components.usb_tokens
}

fn find<'a>(tokens: &'a [UsbToken], instance_id: &str) -> &'a UsbToken {
    tokens
        .iter()
        .find(|t| t.bus_path == instance_id)
        .unwrap_or_else(|| panic!("{instance_id} not found in {tokens:#?}"))
}

#[test]
fn readers_and_tokens_come_back_with_their_drivers() {
    let before = usb_tokens();
    assert!(
        before.iter().all(|t| !t.bus_path.contains("TWTEST")),
        "devices left over from an earlier run would be read instead: {before:#?}"
    );

    let mut installed = Installed::new();
    // A JaCarta on Microsoft's inbox CCID driver, as on a PC without JaCarta Unified Client.
    let jacarta = installed.device(
        JACARTA,
        &GUID_DEVCLASS_SMARTCARDREADER,
        &[r"USB\VID_24DC&PID_0101&REV_0100", r"USB\VID_24DC&PID_0101"],
    );
    installed.text(
        jacarta,
        SPDRP_DEVICEDESC,
        "Microsoft Usbccid Smartcard Reader (WUDF)",
    );
    installed.text(jacarta, SPDRP_MFG, "(Standard USB Smart Card Reader)");
    installed.text(jacarta, SPDRP_SERVICE, "WUDFRd");
    installed.driver(
        jacarta,
        JACARTA_DRIVER,
        "wudfusbcciddriver.inf",
        "Microsoft",
        "Microsoft Usbccid Smartcard Reader (WUDF)",
    );
    // A Rutoken on its vendor's driver package.
    let rutoken = installed.device(
        RUTOKEN,
        &GUID_DEVCLASS_SMARTCARDREADER,
        &[r"USB\VID_0A89&PID_0030&REV_0100", r"USB\VID_0A89&PID_0030"],
    );
    installed.text(rutoken, SPDRP_DEVICEDESC, "Rutoken ECP");
    installed.text(rutoken, SPDRP_MFG, "Aktiv Co.");
    installed.text(rutoken, SPDRP_SERVICE, "usbccid");
    installed.driver(
        rutoken,
        RUTOKEN_DRIVER,
        "oem12.inf",
        "Aktiv Co.",
        "Rutoken ECP",
    );
    // An eToken no driver was installed for: on the USB bus, in no class.
    let etoken = installed.device(
        ETOKEN,
        &GUID::from_u128(0),
        &[r"USB\VID_0529&PID_0620&REV_0100", r"USB\VID_0529&PID_0620"],
    );
    installed.text(etoken, SPDRP_DEVICEDESC, "Token JC");
    // A mouse, which is nobody's token.
    let mouse = installed.device(MOUSE, &HID_CLASS, &[r"USB\VID_046D&PID_C077&REV_7200"]);
    installed.text(mouse, SPDRP_SERVICE, "HidUsb");
    let tokens = usb_tokens();
    let ours: Vec<&str> = tokens
        .iter()
        .map(|t| t.bus_path.as_str())
        .filter(|p| p.contains("TWTEST"))
        .collect();
    // Each once, although the readers are both on the USB bus and in the reader class.
    assert_eq!(ours, [ETOKEN, RUTOKEN, JACARTA], "{tokens:#?}");

    let found = find(&tokens, JACARTA);
    assert_eq!(found.usb_id, "24dc:0101");
    assert_eq!(found.model, "JaCarta");
    assert_eq!(found.family, Some(TokenFamily::Jacarta));
    assert_eq!(found.serial.as_deref(), Some("TWTEST0001"));
    // The WUDF driver's name is not the token's; Wine has no name the device reported itself.
    assert_eq!(found.product, None);
    assert_eq!(
        found.manufacturer.as_deref(),
        Some("(Standard USB Smart Card Reader)")
    );
    assert_eq!(
        found.driver.as_deref(),
        Some(
            "Microsoft Usbccid Smartcard Reader (WUDF): wudfusbcciddriver.inf (Microsoft), \
             service WUDFRd"
        )
    );
    assert_eq!(found.generic_driver, Some(true));
    assert_eq!(found.problem_code, None);

    let found = find(&tokens, RUTOKEN);
    assert_eq!(found.usb_id, "0a89:0030");
    assert_eq!(found.model, "Rutoken ECP");
    assert_eq!(found.family, Some(TokenFamily::Rutoken));
    assert_eq!(
        found.driver.as_deref(),
        Some("Rutoken ECP: oem12.inf (Aktiv Co.), service usbccid")
    );
    assert_eq!(found.generic_driver, Some(false));

    let found = find(&tokens, ETOKEN);
    assert_eq!(found.usb_id, "0529:0620");
    assert_eq!(found.family, Some(TokenFamily::Etoken));
    assert_eq!(found.product.as_deref(), Some("Token JC"));
    assert_eq!(found.driver, None);
    assert_eq!(found.generic_driver, None);

    drop(installed);
    let after = usb_tokens();
    assert!(
        after.iter().all(|t| !t.bus_path.contains("TWTEST")),
        "the devices were removed: {after:#?}"
    );
}
