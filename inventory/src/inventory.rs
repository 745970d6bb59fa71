//! The inventory contract: what one scan of one host found.
//!
//! These types are serialised as the `tokenwatch.inventory/v1` JSON document that `scan --json`
//! prints and the server ingests. Field names are part of that contract: add fields, never rename
//! or remove them. Times are RFC 3339 UTC; optional values are `null` when unknown, so a reader of
//! the document can tell "not reported" from "false" or "empty".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::findings::{Finding, Severity};

/// Schema identifier written at the top of every document.
pub const SCHEMA: &str = "tokenwatch.inventory/v1";

/// One complete scan of one host.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Inventory {
    pub schema: String,
    pub collected_at: DateTime<Utc>,
    pub host: Host,
    pub readers: Vec<Reader>,
    pub tokens: Vec<Token>,
    pub containers: Vec<Container>,
    pub certificates: Vec<Certificate>,
    pub components: Components,
    pub findings: Vec<Finding>,
    pub collectors: Vec<CollectorStatus>,
}

/// Facts about the machine itself.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Host {
    pub hostname: String,
    pub os: String,
    pub os_version: Option<String>,
    pub arch: String,
    pub agent_version: String,
}

/// A PC/SC reader and the card in it, as the smart-card service reports them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Reader {
    pub name: String,
    pub card_present: bool,
    /// Answer-to-reset, upper-case hex bytes separated by spaces (`3B 8B 01 …`).
    pub atr: Option<String>,
    /// Token model named from the ATR and reader name (`Rutoken ECP`, `JaCarta LT`, …).
    pub token_model: Option<String>,
    /// Token family used to pick a PKCS#11 module and to match USB devices.
    pub token_family: Option<TokenFamily>,
    /// The card is held exclusively by another program (a signing tool is using it).
    pub in_use_exclusively: bool,
}

/// Token vendors the agent knows how to name and which middleware each needs.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenFamily {
    Bifit,
    Esmart,
    Etoken,
    Jacarta,
    Rutoken,
}

/// A token as seen through a PKCS#11 module (read-only session, no login).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Token {
    /// Path of the PKCS#11 module that reported this token.
    pub module: String,
    pub slot_id: u64,
    /// Slot description, usually the PC/SC reader name.
    pub slot_description: Option<String>,
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    /// Model as the token reports it (`Rutoken ECP`, `SoftHSM v2`, …).
    pub model: String,
    pub token_family: Option<TokenFamily>,
    pub hardware_version: Option<String>,
    pub firmware_version: Option<String>,
    /// Bytes; `None` when the module does not report memory.
    pub total_memory: Option<u64>,
    pub free_memory: Option<u64>,
    pub pin: PinState,
    /// SHA-1 thumbprints of the certificates stored on the token.
    pub certificates: Vec<String>,
}

/// PIN state flags from `CK_TOKEN_INFO`. Read only: the agent never presents a PIN.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct PinState {
    pub initialized: bool,
    pub user_pin_initialized: bool,
    pub locked: bool,
    pub count_low: bool,
    pub final_try: bool,
    pub must_change: bool,
    pub so_locked: bool,
}

/// Where a key container lives.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    /// CryptoPro's HDIMAGE store under `/var/opt/cprocsp/keys/<user>`.
    Hdimage,
    /// The root of a removable medium (flash drive).
    Removable,
    /// A folder named in the configuration or on the command line.
    Folder,
    /// The Windows registry reader.
    Registry,
    /// A smart card or token.
    Token,
}

/// A CryptoPro key container (`xxxxxxxx.000` folder with up to six `.key` files).
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Container {
    /// Real container name from `name.key`; `None` when it could not be read.
    pub name: Option<String>,
    /// Folder path of the container.
    pub path: String,
    pub media: Media,
    /// The owner of the HDIMAGE store (the `<user>` folder), when known.
    pub owner: Option<String>,
    /// Header, name and at least one complete primary/masks pair are present and readable.
    pub complete: bool,
    /// Expected files that are absent (`masks2.key`, …).
    pub missing_files: Vec<String>,
    /// Files present but unreadable or malformed, with the reason.
    pub damaged_files: Vec<DamagedFile>,
    /// Key algorithm by name (`GOST R 34.10-2012 256`).
    pub key_algorithm: Option<String>,
    pub key_algorithm_oid: Option<String>,
    pub exportable: Option<bool>,
    /// SHA-1 of the certificate embedded in `header.key`, when there is one.
    pub certificate_sha1: Option<String>,
    pub private_key_not_before: Option<DateTime<Utc>>,
    pub private_key_not_after: Option<DateTime<Utc>>,
}

/// A container file that exists but could not be used.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct DamagedFile {
    pub file: String,
    pub reason: String,
}

/// A certificate, wherever it was seen. One entry per certificate (by SHA-256).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Certificate {
    /// SHA-1 of the DER: the thumbprint CryptoPro and Windows show.
    pub sha1: String,
    pub sha256: String,
    /// Serial number, upper-case hex without separators.
    pub serial: String,
    pub subject: String,
    pub issuer: String,
    pub subject_cn: Option<String>,
    pub issuer_cn: Option<String>,
    pub organization: Option<String>,
    pub email: Option<String>,
    pub inn: Option<String>,
    pub inn_le: Option<String>,
    pub ogrn: Option<String>,
    pub ogrnip: Option<String>,
    pub snils: Option<String>,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// PrivateKeyUsagePeriod (2.5.29.16) or the container's own key usage period.
    pub private_key_not_before: Option<DateTime<Utc>>,
    pub private_key_not_after: Option<DateTime<Utc>>,
    pub key_usage: Vec<String>,
    pub extended_key_usage: Vec<String>,
    pub signature_algorithm: String,
    pub public_key_algorithm: String,
    /// Issued as a qualified certificate (sign tool extensions or a KC class policy).
    pub qualified: bool,
    pub subject_sign_tool: Option<String>,
    pub is_ca: bool,
    pub self_signed: bool,
    /// Whether the issuer's certificate was found among the certificates on this host.
    /// `None` for self-signed certificates.
    pub issuer_present: Option<bool>,
    pub sources: Vec<CertificateSource>,
    /// The DER itself stays in memory for issuer matching; the document carries the summary.
    #[serde(skip)]
    pub der: Vec<u8>,
    /// Authority key identifier (hex), used to find the issuer.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authority_key_id: Option<String>,
    /// Subject key identifier (hex).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub subject_key_id: Option<String>,
}

/// Where one copy of a certificate was seen.
#[derive(Clone, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub struct CertificateSource {
    pub kind: SourceKind,
    /// Path, container path, `module#slot`, or store name.
    pub location: String,
}

/// The kinds of place a certificate can come from.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Container,
    CryptoproStore,
    File,
    Token,
}

/// Installed software and devices that decide whether signing works.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Components {
    pub cryptopro: Option<CryptoPro>,
    pub smart_card_service: Option<ServiceState>,
    /// CCID driver bundle for pcscd.
    pub ccid_driver: Option<String>,
    pub middleware: Vec<Middleware>,
    pub pkcs11_modules: Vec<Pkcs11Module>,
    pub usb_tokens: Vec<UsbToken>,
    /// How the smart-card service starts (read on Windows, where SCardSvr is trigger-started:
    /// stopped with no reader plugged in is its normal state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smart_card_service_start: Option<StartType>,
    /// Remote desktop sessions on the host, signed in or disconnected (counted on Windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_sessions: Option<u32>,
}

/// CryptoPro CSP installation.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct CryptoPro {
    pub installed: bool,
    /// Product version, e.g. `5.0`.
    pub version: Option<String>,
    /// Build, e.g. `5.0.12455`.
    pub build: Option<String>,
    pub license: Option<License>,
    /// The expired-key policy `ControlKeyTimeValidity`: 0 lets an expired private key sign, 1
    /// (CSP's default) refuses signing and encryption with it, 2 refuses every use. `None`
    /// where it could not be read (the agent reads it on Windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_key_time_validity: Option<u32>,
}

/// CryptoPro CSP licence. The serial is never reported whole: it is a secret worth money.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct License {
    /// First group of the serial, which encodes the CSP version (`5050N`).
    pub serial_prefix: Option<String>,
    /// CSP major version the serial is for (`5.0`).
    pub for_version: Option<String>,
    /// Licence type as CSP prints it (`Client`, `Server`, …).
    pub kind: Option<String>,
    /// `None` for a permanent licence.
    pub expires: Option<DateTime<Utc>>,
    pub permanent: bool,
    pub demo: bool,
    /// The licence could not be read or CSP says it is invalid.
    pub error: Option<String>,
}

/// State of a system service (pcscd, SCardSvr).
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Running,
    Stopped,
    NotInstalled,
    Unknown,
}

/// Why the smart-card service stands in the way of signing.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ServiceDown {
    /// Set never to start: no reader will ever work.
    Disabled,
    /// Stopped or missing when it should run.
    NotRunning,
}

/// Whether the smart-card service is down, from its state, its start type and whether a
/// device is plugged in. Windows starts SCardSvr when a reader arrives and stops it after the
/// last one leaves: stopped on demand start with nothing plugged in is its normal state. The
/// agent's finding and the server's host page both decide by this.
pub fn smart_card_service_down(
    state: Option<ServiceState>,
    start: Option<StartType>,
    device_plugged_in: bool,
) -> Option<ServiceDown> {
    if start == Some(StartType::Disabled) {
        return Some(ServiceDown::Disabled);
    }
    let waiting_for_a_reader = state == Some(ServiceState::Stopped)
        && start == Some(StartType::Manual)
        && !device_plugged_in;
    let down = matches!(
        state,
        Some(ServiceState::Stopped | ServiceState::NotInstalled)
    );
    (down && !waiting_for_a_reader).then_some(ServiceDown::NotRunning)
}

/// How a system service is configured to start.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartType {
    Automatic,
    /// On demand, including Windows' trigger start.
    Manual,
    Disabled,
}

/// Vendor software for a token family.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Middleware {
    pub family: TokenFamily,
    pub name: String,
    pub path: String,
    /// As the installer registered it (Windows); `None` where the agent cannot tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A PKCS#11 module found on disk.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct Pkcs11Module {
    pub path: String,
    pub family: Option<TokenFamily>,
}

/// A token or reader on the USB bus, identified by vendor and product id.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct UsbToken {
    /// sysfs device name (`1-2`).
    pub bus_path: String,
    /// `0a89:0030`.
    pub usb_id: String,
    pub model: String,
    pub family: Option<TokenFamily>,
    pub manufacturer: Option<String>,
    pub product: Option<String>,
    pub serial: Option<String>,
    /// Whether a PC/SC reader for this device was seen.
    pub visible_to_pcsc: Option<bool>,
    /// The driver the system bound to the device (Windows: INF, provider and service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Bound to Microsoft's generic "Usbccid Smartcard Reader (WUDF)" driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_driver: Option<bool>,
    /// Device Manager's problem code (10: cannot start, 28: no driver); `None` when it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_code: Option<u32>,
}

/// Outcome of one collector.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct CollectorStatus {
    pub name: String,
    pub status: CollectorOutcome,
    /// Why the collector failed or what it could not read.
    pub errors: Vec<String>,
    pub duration_ms: u64,
}

/// How a collector ended.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectorOutcome {
    /// Everything it looked at was read.
    Ok,
    /// It ran, but some things could not be read (listed in `errors`).
    Partial,
    /// It could not run at all.
    Failed,
    /// Its subject is absent on this host (no CryptoPro, no PC/SC library).
    Skipped,
}
