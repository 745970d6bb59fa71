//! Reading the present USB devices and smart-card readers through SetupAPI, and each one's
//! driver key through the registry. Read-only: device information sets are opened to list and
//! read, never to change a device.
//!
//! The problem code is read as `DEVPKEY_Device_ProblemCode` rather than with
//! `CM_Get_DevNode_Status`: both work on Windows, but Wine 8's `CM_Get_DevNode_Status` is a stub
//! that succeeds without writing its results, which would read as garbage.

use std::ptr;

use windows_registry::LOCAL_MACHINE;
use windows_sys::Win32::Devices::DeviceAndDriverInstallation::{
    DIGCF_ALLCLASSES, DIGCF_PRESENT, GUID_DEVCLASS_SMARTCARDREADER, HDEVINFO,
    SETUP_DI_GET_CLASS_DEVS_FLAGS, SETUP_DI_REGISTRY_PROPERTY, SP_DEVINFO_DATA, SPDRP_CLASS,
    SPDRP_CLASSGUID, SPDRP_DEVICEDESC, SPDRP_DRIVER, SPDRP_FRIENDLYNAME, SPDRP_HARDWAREID,
    SPDRP_MFG, SPDRP_SERVICE, SetupDiDestroyDeviceInfoList, SetupDiEnumDeviceInfo,
    SetupDiGetClassDevsW, SetupDiGetDeviceInstanceIdW, SetupDiGetDevicePropertyW,
    SetupDiGetDeviceRegistryPropertyW,
};
use windows_sys::Win32::Devices::Properties::{
    DEVPKEY_Device_BusReportedDeviceDesc, DEVPKEY_Device_ProblemCode, DEVPROP_TYPE_STRING,
    DEVPROP_TYPE_UINT32, DEVPROPTYPE,
};
use windows_sys::Win32::Foundation::{
    DEVPROPKEY, ERROR_FILE_NOT_FOUND, ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_DATA,
    ERROR_NO_MORE_ITEMS, ERROR_NOT_FOUND, WIN32_ERROR,
};
use windows_sys::core::GUID;

use super::{DriverKey, PnpDevice, tokens, utf16_from_le_bytes, utf16_multi_string, utf16_string};
use crate::collect::registry;
use crate::inventory::UsbToken;

/// Where Windows keeps each installed driver's key, named by the device's `SPDRP_DRIVER`.
const DRIVER_KEYS: &str = r"SYSTEM\CurrentControlSet\Control\Class";

/// The present readers and known tokens. A list or a device that cannot be read is a line in
/// `errors`; the other devices are still read.
pub(in super::super) fn usb_tokens(errors: &mut Vec<String>) -> Vec<UsbToken> {
    // Everything on the USB bus, whatever its class: a token with no driver is in none. Then the
    // reader class, for readers some other bus or a vendor's enumerator presents.
    let lists: [(
        &str,
        Option<&GUID>,
        Option<&str>,
        SETUP_DI_GET_CLASS_DEVS_FLAGS,
    ); 2] = [
        (
            "USB devices",
            None,
            Some("USB"),
            DIGCF_PRESENT | DIGCF_ALLCLASSES,
        ),
        (
            "smart-card readers",
            Some(&GUID_DEVCLASS_SMARTCARDREADER),
            None,
            DIGCF_PRESENT,
        ),
    ];
    let mut devices: Vec<PnpDevice> = Vec::new();
    for (what, class, enumerator, flags) in lists {
        match DeviceSet::open(class, enumerator, flags) {
            Ok(set) => set.read_all(what, &mut devices, errors),
            Err(error) => errors.push(format!("cannot list the {what}: {error}")),
        }
    }
    tokens(devices)
}

/// A device information set, destroyed when dropped.
struct DeviceSet(HDEVINFO);

impl Drop for DeviceSet {
    #[allow(unsafe_code)] // SetupAPI has no safe wrapper in the crates used here
    fn drop(&mut self) {
        // SAFETY: the handle came from SetupDiGetClassDevsW and is destroyed once, here.
        unsafe { SetupDiDestroyDeviceInfoList(self.0) };
    }
}

impl DeviceSet {
    #[allow(unsafe_code)]
    fn open(
        class: Option<&GUID>,
        enumerator: Option<&str>,
        flags: SETUP_DI_GET_CLASS_DEVS_FLAGS,
    ) -> Result<Self, std::io::Error> {
        let enumerator = enumerator.map(wide);
        // SAFETY: the class GUID and the NUL-terminated enumerator outlive the call; a null
        // class or enumerator means "any".
        let set = unsafe {
            SetupDiGetClassDevsW(
                class.map_or(ptr::null(), ptr::from_ref),
                enumerator.as_ref().map_or(ptr::null(), |e| e.as_ptr()),
                ptr::null_mut(),
                flags,
            )
        };
        // INVALID_HANDLE_VALUE, as HDEVINFO spells it.
        if set == -1 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self(set))
    }

    /// Every device in the set not already in `devices`.
    #[allow(unsafe_code)]
    fn read_all(&self, what: &str, devices: &mut Vec<PnpDevice>, errors: &mut Vec<String>) {
        for index in 0.. {
            let mut data = device_data();
            // SAFETY: `data` is a valid SP_DEVINFO_DATA with its size set.
            if unsafe { SetupDiEnumDeviceInfo(self.0, index, &raw mut data) } == 0 {
                let error = std::io::Error::last_os_error();
                if error.raw_os_error() != Some(code(ERROR_NO_MORE_ITEMS)) {
                    errors.push(format!(
                        "cannot list the {what} past the {index}th: {error}"
                    ));
                }
                return;
            }
            let instance_id = match self.instance_id(&data) {
                Ok(id) => id,
                Err(error) => {
                    errors.push(format!("cannot read the id of one of the {what}: {error}"));
                    continue;
                }
            };
            if devices
                .iter()
                .any(|d| d.instance_id.eq_ignore_ascii_case(&instance_id))
            {
                continue;
            }
            devices.push(self.read(&data, instance_id, errors));
        }
    }

    /// One device's properties; each one that cannot be read is an error and left out.
    fn read(
        &self,
        data: &SP_DEVINFO_DATA,
        instance_id: String,
        errors: &mut Vec<String>,
    ) -> PnpDevice {
        let mut failed = |what: &str, error: std::io::Error| {
            errors.push(format!(
                "cannot read the {what} of device {instance_id}: {error}"
            ));
        };
        let mut text = |property, what| match self.registry_property(data, property) {
            Ok(value) => value.map(|units| utf16_string(&units)),
            Err(error) => {
                failed(what, error);
                None
            }
        };
        let description = text(SPDRP_DEVICEDESC, "description");
        let friendly_name = text(SPDRP_FRIENDLYNAME, "friendly name");
        let manufacturer = text(SPDRP_MFG, "manufacturer");
        let class_guid = text(SPDRP_CLASSGUID, "class GUID");
        let class_name = text(SPDRP_CLASS, "class");
        let service = text(SPDRP_SERVICE, "service");
        let driver_key = text(SPDRP_DRIVER, "driver key");
        let hardware_ids = match self.registry_property(data, SPDRP_HARDWAREID) {
            Ok(value) => value.map(|u| utf16_multi_string(&u)).unwrap_or_default(),
            Err(error) => {
                failed("hardware ids", error);
                Vec::new()
            }
        };
        let bus_description =
            match self.device_property(data, &DEVPKEY_Device_BusReportedDeviceDesc) {
                Ok(Some((DEVPROP_TYPE_STRING, bytes))) => {
                    Some(utf16_string(&utf16_from_le_bytes(&bytes)))
                }
                Ok(_) => None,
                Err(error) => {
                    failed("bus-reported description", error);
                    None
                }
            };
        let problem_code = match self.device_property(data, &DEVPKEY_Device_ProblemCode) {
            Ok(Some((DEVPROP_TYPE_UINT32, bytes))) => bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes),
            Ok(_) => None,
            Err(error) => {
                failed("problem code", error);
                None
            }
        };
        let driver = driver_key
            .filter(|key| !key.trim().is_empty())
            .map(|key| read_driver_key(&key, errors))
            .unwrap_or_default();
        PnpDevice {
            instance_id,
            hardware_ids,
            description,
            friendly_name,
            bus_description,
            manufacturer,
            class_guid,
            class_name,
            service,
            driver,
            problem_code,
        }
    }

    #[allow(unsafe_code)]
    fn instance_id(&self, data: &SP_DEVINFO_DATA) -> Result<String, std::io::Error> {
        // MAX_DEVICE_ID_LEN is 200; the size asked for covers anything longer.
        let mut buffer = vec![0_u16; 256];
        loop {
            let mut needed = 0_u32;
            let capacity = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
            // SAFETY: `buffer` holds `capacity` UTF-16 units; `data` came from this set.
            let ok = unsafe {
                SetupDiGetDeviceInstanceIdW(
                    self.0,
                    data,
                    buffer.as_mut_ptr(),
                    capacity,
                    &raw mut needed,
                )
            };
            if ok != 0 {
                return Ok(utf16_string(&buffer));
            }
            let error = std::io::Error::last_os_error();
            if !grow(&mut buffer, &error, needed as usize) {
                return Err(error);
            }
        }
    }

    /// A `SPDRP_*` property as UTF-16 units; `None` when the device does not have it.
    #[allow(unsafe_code)]
    fn registry_property(
        &self,
        data: &SP_DEVINFO_DATA,
        property: SETUP_DI_REGISTRY_PROPERTY,
    ) -> Result<Option<Vec<u16>>, std::io::Error> {
        let mut buffer = vec![0_u16; 128];
        loop {
            let mut needed = 0_u32;
            let capacity = u32::try_from(buffer.len() * 2).unwrap_or(u32::MAX);
            // SAFETY: `buffer` holds `capacity` bytes; the value's type is not asked for.
            let ok = unsafe {
                SetupDiGetDeviceRegistryPropertyW(
                    self.0,
                    data,
                    property,
                    ptr::null_mut(),
                    buffer.as_mut_ptr().cast(),
                    capacity,
                    &raw mut needed,
                )
            };
            if ok != 0 {
                buffer.truncate((needed as usize).div_ceil(2).min(buffer.len()));
                return Ok(Some(buffer));
            }
            let error = std::io::Error::last_os_error();
            if absent(&error) {
                return Ok(None);
            }
            if !grow(&mut buffer, &error, (needed as usize).div_ceil(2)) {
                return Err(error);
            }
        }
    }

    /// A `DEVPKEY_*` property with its type; `None` when the device does not have it.
    #[allow(unsafe_code)]
    fn device_property(
        &self,
        data: &SP_DEVINFO_DATA,
        key: &DEVPROPKEY,
    ) -> Result<Option<(DEVPROPTYPE, Vec<u8>)>, std::io::Error> {
        let mut buffer = vec![0_u8; 256];
        loop {
            let mut kind: DEVPROPTYPE = 0;
            let mut needed = 0_u32;
            let capacity = u32::try_from(buffer.len()).unwrap_or(u32::MAX);
            // SAFETY: `buffer` holds `capacity` bytes; `key` and `data` outlive the call.
            let ok = unsafe {
                SetupDiGetDevicePropertyW(
                    self.0,
                    data,
                    key,
                    &raw mut kind,
                    buffer.as_mut_ptr(),
                    capacity,
                    &raw mut needed,
                    0,
                )
            };
            if ok != 0 {
                buffer.truncate((needed as usize).min(buffer.len()));
                return Ok(Some((kind, buffer)));
            }
            let error = std::io::Error::last_os_error();
            if absent(&error) {
                return Ok(None);
            }
            if !grow(&mut buffer, &error, needed as usize) {
                return Err(error);
            }
        }
    }
}

/// `InfPath`, `ProviderName` and `DriverDesc` of the driver key `SPDRP_DRIVER` names
/// (`{50dd5230-…}\0003`).
fn read_driver_key(key: &str, errors: &mut Vec<String>) -> DriverKey {
    let path = format!(r"{DRIVER_KEYS}\{}", key.trim());
    let Some(driver) = registry::open(LOCAL_MACHINE, "HKLM", &path, errors) else {
        return DriverKey::default();
    };
    let value = |name: &str| driver.get_string(name).ok();
    DriverKey {
        inf_path: value("InfPath"),
        provider: value("ProviderName"),
        description: value("DriverDesc"),
    }
}

/// Grow `buffer` to what SetupAPI asked for, when that is why the call failed and the size is
/// sane; `false` when the call failed for another reason.
fn grow<T: Clone + Default>(buffer: &mut Vec<T>, error: &std::io::Error, needed: usize) -> bool {
    // No property or id comes near a megabyte: a larger demand is a broken answer.
    const LIMIT: usize = 1 << 20;
    let retry = error.raw_os_error() == Some(code(ERROR_INSUFFICIENT_BUFFER))
        && needed > buffer.len()
        && needed <= LIMIT;
    if retry {
        buffer.resize(needed, T::default());
    }
    retry
}

/// The errors SetupAPI gives for a property the device does not have: `ERROR_INVALID_DATA`
/// from `SetupDiGetDeviceRegistryPropertyW` on Windows, `ERROR_NOT_FOUND` from
/// `SetupDiGetDevicePropertyW`.
fn absent(error: &std::io::Error) -> bool {
    [ERROR_INVALID_DATA, ERROR_NOT_FOUND, ERROR_FILE_NOT_FOUND]
        .iter()
        .any(|&c| error.raw_os_error() == Some(code(c)))
}

fn code(error: WIN32_ERROR) -> i32 {
    i32::try_from(error).unwrap_or(i32::MAX)
}

fn device_data() -> SP_DEVINFO_DATA {
    SP_DEVINFO_DATA {
        // The structure is a few dozen bytes: its size always fits.
        cbSize: u32::try_from(size_of::<SP_DEVINFO_DATA>()).unwrap_or(u32::MAX),
        ..SP_DEVINFO_DATA::default()
    }
}

fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}
