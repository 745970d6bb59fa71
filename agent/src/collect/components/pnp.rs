//! Readers and tokens as Windows Plug and Play sees them: which of its devices are smart-card
//! readers or known tokens, and which driver holds each (domain reference §7.1).
//!
//! PnP and PC/SC disagree exactly when something is wrong: a reader whose driver failed to start
//! (code 10) or that has no driver at all (code 28) is a PnP device but no PC/SC reader. And a
//! token bound to Microsoft's generic "Usbccid Smartcard Reader (WUDF)" driver instead of its
//! vendor's often fails with the vendor tools (troubleshooting point 3).
//!
//! Everything here works on properties already read, so it is tested on every platform; the
//! SetupAPI calls that read them are in `pnp/setupapi.rs`.

use super::usb_ids::identify_usb;
use crate::inventory::UsbToken;

#[cfg(windows)]
mod setupapi;
#[cfg(windows)]
pub(super) use setupapi::usb_tokens;

/// `GUID_DEVCLASS_SMARTCARDREADER`.
const SMART_CARD_READER_CLASS: &str = "{50DD5230-BA8A-11D1-BF5D-0000F805F530}";
/// Microsoft's inbox CCID driver: the one Windows binds when no vendor driver is installed.
const GENERIC_INF: &str = "wudfusbcciddriver.inf";
/// The user-mode driver framework's reflector, the service of every WUDF driver.
const WUDF_SERVICE: &str = "WUDFRd";
/// The USB generic parent of a composite device; its interfaces are devices of their own.
const COMPOSITE_SERVICE: &str = "usbccgp";

/// What SetupAPI and the driver's registry key say about one device. Text properties a device
/// does not have are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct PnpDevice {
    /// `USB\VID_24DC&PID_0101\5&1a2b3c&0&2`.
    pub(crate) instance_id: String,
    /// Most specific first: `USB\VID_24DC&PID_0101&REV_0100`, `USB\VID_24DC&PID_0101`.
    pub(crate) hardware_ids: Vec<String>,
    /// The name the driver's INF gives it (`SPDRP_DEVICEDESC`).
    pub(crate) description: Option<String>,
    pub(crate) friendly_name: Option<String>,
    /// The product string the device itself reports (`DEVPKEY_Device_BusReportedDeviceDesc`).
    pub(crate) bus_description: Option<String>,
    pub(crate) manufacturer: Option<String>,
    /// `{50DD5230-…}`; none for a device no driver was installed for.
    pub(crate) class_guid: Option<String>,
    /// `SmartCardReader`.
    pub(crate) class_name: Option<String>,
    /// `WUDFRd`, `usbccid`, a vendor's service.
    pub(crate) service: Option<String>,
    pub(crate) driver: DriverKey,
    /// Device Manager's problem code; 0 is none.
    pub(crate) problem_code: Option<u32>,
}

/// The installed driver as its key under `Control\Class\<class>\<nnnn>` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DriverKey {
    /// `InfPath`: `wudfusbcciddriver.inf`, `oem12.inf`.
    pub(crate) inf_path: Option<String>,
    /// `ProviderName`: `Microsoft`, `Aktiv Co.`.
    pub(crate) provider: Option<String>,
    /// `DriverDesc`: `Microsoft Usbccid Smartcard Reader (WUDF)`.
    pub(crate) description: Option<String>,
}

/// The readers and known tokens among `devices` (each device once: the SetupAPI reader skips a
/// device the USB list already gave), in instance-id order.
pub(crate) fn tokens(devices: impl IntoIterator<Item = PnpDevice>) -> Vec<UsbToken> {
    let mut found: Vec<UsbToken> = devices.into_iter().filter_map(|d| token(&d)).collect();
    found.sort_by(|a, b| a.bus_path.cmp(&b.bus_path));
    found
}

/// The device as a token, if it is a smart-card reader or a known token on the USB bus.
pub(crate) fn token(device: &PnpDevice) -> Option<UsbToken> {
    let (vendor, product) = usb_ids(device)?;
    let known = identify_usb(vendor, product);
    if !is_reader(device) && !is_known_token_itself(device, known.is_some()) {
        return None;
    }
    let model = known
        .map(|k| k.model.to_owned())
        .or_else(|| text(&device.bus_description))
        .or_else(|| text(&device.friendly_name))
        .or_else(|| text(&device.description))
        .unwrap_or_else(|| "USB smart card reader".to_owned());
    Some(UsbToken {
        bus_path: device.instance_id.clone(),
        usb_id: format!("{vendor:04x}:{product:04x}"),
        model,
        family: known.and_then(|k| k.family),
        manufacturer: text(&device.manufacturer),
        product: product_name(device),
        serial: serial(&device.instance_id),
        visible_to_pcsc: None,
        driver: driver_line(device),
        generic_driver: generic_driver(device),
        problem_code: device.problem_code.filter(|&code| code != 0),
    })
}

/// The name the device gives itself. Without a driver, Windows describes the device by that
/// name; with one, the description is the driver's (the WUDF driver calls every token
/// "Microsoft Usbccid Smartcard Reader"), which is no product name.
fn product_name(device: &PnpDevice) -> Option<String> {
    text(&device.bus_description).or_else(|| {
        let no_driver = text(&device.driver.inf_path).is_none() && text(&device.service).is_none();
        text(&device.description).filter(|_| no_driver)
    })
}

/// The USB vendor and product id, from the hardware ids or else the instance id.
pub(crate) fn usb_ids(device: &PnpDevice) -> Option<(u16, u16)> {
    device
        .hardware_ids
        .iter()
        .chain(std::iter::once(&device.instance_id))
        .find_map(|id| parse_vid_pid(id))
}

/// `VID_xxxx&PID_xxxx` anywhere in a device id, in any case.
fn parse_vid_pid(id: &str) -> Option<(u16, u16)> {
    let upper = id.to_ascii_uppercase();
    let at = upper.find("VID_")?;
    let rest = &upper[at + 4..];
    let vendor = hex4(rest)?;
    let rest = rest.get(4..)?.strip_prefix("&PID_")?;
    Some((vendor, hex4(rest)?))
}

/// Exactly four hex digits at the start of `text` (a fifth one would make it another id).
fn hex4(text: &str) -> Option<u16> {
    let digits = text.get(..4)?;
    let next_is_hex = text[4..].starts_with(|c: char| c.is_ascii_hexdigit());
    if next_is_hex || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(digits, 16).ok()
}

fn is_reader(device: &PnpDevice) -> bool {
    let guid = device
        .class_guid
        .as_deref()
        .is_some_and(|g| g.trim().eq_ignore_ascii_case(SMART_CARD_READER_CLASS));
    let name = device
        .class_name
        .as_deref()
        .is_some_and(|n| n.trim().eq_ignore_ascii_case("SmartCardReader"));
    guid || name
}

/// A known token outside the reader class stands for itself when it has no driver or a failed
/// one (a token with no driver sits in no class with code 28), or when its vendor's driver put
/// it in a class of its own. The generic parent of a composite token and the token's other
/// interfaces (its flash drive, its HID half) are not the token's reader: the reader interface
/// is listed as a device of its own.
fn is_known_token_itself(device: &PnpDevice, known: bool) -> bool {
    if !known {
        return false;
    }
    if device.problem_code.is_some_and(|code| code != 0) {
        return true;
    }
    let composite =
        text(&device.service).is_some_and(|s| s.eq_ignore_ascii_case(COMPOSITE_SERVICE));
    let interface = device
        .hardware_ids
        .iter()
        .chain(std::iter::once(&device.instance_id))
        .any(|id| id.to_ascii_uppercase().contains("&MI_"));
    !composite && !interface
}

/// `Microsoft Usbccid Smartcard Reader (WUDF): wudfusbcciddriver.inf (Microsoft), service
/// WUDFRd`; `None` when no driver is bound.
fn driver_line(device: &PnpDevice) -> Option<String> {
    let driver = &device.driver;
    let mut line = String::new();
    if let Some(inf) = text(&driver.inf_path) {
        line.push_str(&inf);
        if let Some(provider) = text(&driver.provider) {
            line.push_str(&format!(" ({provider})"));
        }
    }
    if let Some(service) = text(&device.service) {
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(&format!("service {service}"));
    }
    if line.is_empty() {
        return None;
    }
    // oem12.inf names nothing: the description is what tells a helpdesk whose driver it is.
    Some(match text(&driver.description) {
        Some(description) => format!("{description}: {line}"),
        None => line,
    })
}

/// Whether the device is bound to Microsoft's generic CCID driver; `None` when it has no
/// driver. The INF name decides; without one, the WUDF reflector service with a name saying
/// Usbccid is the same driver.
fn generic_driver(device: &PnpDevice) -> Option<bool> {
    let inf = text(&device.driver.inf_path);
    let service = text(&device.service);
    if inf.is_none() && service.is_none() {
        return None;
    }
    let inf_file = inf
        .as_deref()
        .map(|path| path.rsplit(['\\', '/']).next().unwrap_or(path));
    if inf_file.is_some_and(|file| file.eq_ignore_ascii_case(GENERIC_INF)) {
        return Some(true);
    }
    let wudf = service.is_some_and(|s| s.eq_ignore_ascii_case(WUDF_SERVICE));
    let says_usbccid = [
        &device.driver.description,
        &device.friendly_name,
        &device.description,
    ]
    .into_iter()
    .any(|name| text(name).is_some_and(|n| n.to_ascii_lowercase().contains("usbccid")));
    Some(wudf && says_usbccid)
}

/// The serial number Windows uses as the instance part of a USB device's id (`…\0123456789`).
/// Devices without one get a generated part with `&` in it (`5&1a2b3c&0&2`), which is no serial.
fn serial(instance_id: &str) -> Option<String> {
    let mut parts = instance_id.split('\\');
    let bus = parts.next()?;
    let _ids = parts.next()?;
    let instance = parts.next()?;
    let plausible = bus.eq_ignore_ascii_case("USB")
        && parts.next().is_none()
        && !instance.is_empty()
        && !instance.contains('&');
    plausible.then(|| instance.to_owned())
}

/// A text property with something in it.
fn text(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A `REG_SZ` property as SetupAPI returns it: UTF-16, up to the first NUL if there is one.
pub(crate) fn utf16_string(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// A `REG_MULTI_SZ` property (the hardware ids): NUL-separated strings ending at an empty one.
/// A list missing its terminators, as a careless driver may write it, still gives its strings.
pub(crate) fn utf16_multi_string(units: &[u16]) -> Vec<String> {
    units
        .split(|&u| u == 0)
        .take_while(|s| !s.is_empty())
        .map(String::from_utf16_lossy)
        .collect()
}

/// UTF-16 units from the little-endian bytes a `DEVPROP_TYPE_STRING` property comes in; an odd
/// last byte is dropped.
pub(crate) fn utf16_from_le_bytes(bytes: &[u8]) -> Vec<u16> {
    bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect()
}

#[cfg(test)]
#[path = "pnp/tests.rs"]
mod tests;
