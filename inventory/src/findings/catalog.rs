//! The catalogue of finding codes, their default severity and remediation text.

use serde::{Deserialize, Serialize};

use super::Severity;

/// Stable finding codes. The serialised form (`certificate.expired`) is the contract.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum Code {
    #[serde(rename = "certificate.expired")]
    CertificateExpired,
    #[serde(rename = "certificate.expiring")]
    CertificateExpiring,
    #[serde(rename = "certificate.not_yet_valid")]
    CertificateNotYetValid,
    #[serde(rename = "certificate.issuer_missing")]
    CertificateIssuerMissing,
    #[serde(rename = "certificate.key_link_missing")]
    CertificateKeyLinkMissing,
    #[serde(rename = "private_key.expired")]
    PrivateKeyExpired,
    #[serde(rename = "private_key.expiring")]
    PrivateKeyExpiring,
    #[serde(rename = "file.unparsable")]
    FileUnparsable,
    #[serde(rename = "file.unreadable")]
    FileUnreadable,
    #[serde(rename = "container.incomplete")]
    ContainerIncomplete,
    #[serde(rename = "container.damaged")]
    ContainerDamaged,
    #[serde(rename = "container.duplicate_name")]
    ContainerDuplicateName,
    #[serde(rename = "token.pin_locked")]
    TokenPinLocked,
    #[serde(rename = "token.pin_final_try")]
    TokenPinFinalTry,
    #[serde(rename = "token.pin_count_low")]
    TokenPinCountLow,
    #[serde(rename = "token.pin_must_change")]
    TokenPinMustChange,
    #[serde(rename = "token.empty")]
    TokenEmpty,
    #[serde(rename = "usb.token_not_visible")]
    UsbTokenNotVisible,
    #[serde(rename = "usb.driver_failed")]
    UsbDriverFailed,
    #[serde(rename = "usb.generic_driver")]
    UsbGenericDriver,
    #[serde(rename = "pcsc.service_down")]
    SmartCardServiceDown,
    #[serde(rename = "rdp.smart_card_redirection_off")]
    RdpSmartCardRedirectionOff,
    #[serde(rename = "pkcs11.module_missing")]
    Pkcs11ModuleMissing,
    #[serde(rename = "cryptopro.license_expired")]
    CspLicenseExpired,
    #[serde(rename = "cryptopro.license_expiring")]
    CspLicenseExpiring,
    #[serde(rename = "cryptopro.license_demo")]
    CspLicenseDemo,
    #[serde(rename = "cryptopro.license_invalid")]
    CspLicenseInvalid,
    #[serde(rename = "collector.failed")]
    CollectorFailed,
}

// === impl Code ===

impl Code {
    /// Every code, for documentation and tests.
    pub const ALL: [Self; 28] = [
        Self::CertificateExpired,
        Self::CertificateExpiring,
        Self::CertificateNotYetValid,
        Self::CertificateIssuerMissing,
        Self::CertificateKeyLinkMissing,
        Self::PrivateKeyExpired,
        Self::PrivateKeyExpiring,
        Self::FileUnparsable,
        Self::FileUnreadable,
        Self::ContainerIncomplete,
        Self::ContainerDamaged,
        Self::ContainerDuplicateName,
        Self::TokenPinLocked,
        Self::TokenPinFinalTry,
        Self::TokenPinCountLow,
        Self::TokenPinMustChange,
        Self::TokenEmpty,
        Self::UsbTokenNotVisible,
        Self::UsbDriverFailed,
        Self::UsbGenericDriver,
        Self::SmartCardServiceDown,
        Self::RdpSmartCardRedirectionOff,
        Self::Pkcs11ModuleMissing,
        Self::CspLicenseExpired,
        Self::CspLicenseExpiring,
        Self::CspLicenseDemo,
        Self::CspLicenseInvalid,
        Self::CollectorFailed,
    ];

    /// The code as it appears in the JSON document.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertificateExpired => "certificate.expired",
            Self::CertificateExpiring => "certificate.expiring",
            Self::CertificateNotYetValid => "certificate.not_yet_valid",
            Self::CertificateIssuerMissing => "certificate.issuer_missing",
            Self::CertificateKeyLinkMissing => "certificate.key_link_missing",
            Self::PrivateKeyExpired => "private_key.expired",
            Self::PrivateKeyExpiring => "private_key.expiring",
            Self::FileUnparsable => "file.unparsable",
            Self::FileUnreadable => "file.unreadable",
            Self::ContainerIncomplete => "container.incomplete",
            Self::ContainerDamaged => "container.damaged",
            Self::ContainerDuplicateName => "container.duplicate_name",
            Self::TokenPinLocked => "token.pin_locked",
            Self::TokenPinFinalTry => "token.pin_final_try",
            Self::TokenPinCountLow => "token.pin_count_low",
            Self::TokenPinMustChange => "token.pin_must_change",
            Self::TokenEmpty => "token.empty",
            Self::UsbTokenNotVisible => "usb.token_not_visible",
            Self::UsbDriverFailed => "usb.driver_failed",
            Self::UsbGenericDriver => "usb.generic_driver",
            Self::SmartCardServiceDown => "pcsc.service_down",
            Self::RdpSmartCardRedirectionOff => "rdp.smart_card_redirection_off",
            Self::Pkcs11ModuleMissing => "pkcs11.module_missing",
            Self::CspLicenseExpired => "cryptopro.license_expired",
            Self::CspLicenseExpiring => "cryptopro.license_expiring",
            Self::CspLicenseDemo => "cryptopro.license_demo",
            Self::CspLicenseInvalid => "cryptopro.license_invalid",
            Self::CollectorFailed => "collector.failed",
        }
    }

    /// Severity when nothing makes it worse (expiry escalates near the date).
    pub fn default_severity(self) -> Severity {
        match self {
            Self::CertificateExpired
            | Self::PrivateKeyExpired
            | Self::ContainerIncomplete
            | Self::ContainerDamaged
            | Self::TokenPinLocked
            | Self::TokenPinFinalTry
            | Self::UsbTokenNotVisible
            | Self::UsbDriverFailed
            | Self::SmartCardServiceDown
            | Self::CspLicenseExpired
            | Self::CspLicenseInvalid => Severity::Critical,
            Self::CertificateExpiring
            | Self::CertificateNotYetValid
            | Self::CertificateIssuerMissing
            | Self::CertificateKeyLinkMissing
            | Self::PrivateKeyExpiring
            | Self::FileUnparsable
            | Self::FileUnreadable
            | Self::ContainerDuplicateName
            | Self::TokenPinCountLow
            | Self::RdpSmartCardRedirectionOff
            | Self::UsbGenericDriver
            | Self::Pkcs11ModuleMissing
            | Self::CspLicenseExpiring
            | Self::CspLicenseDemo
            | Self::CollectorFailed => Severity::Warning,
            Self::TokenPinMustChange | Self::TokenEmpty => Severity::Info,
        }
    }

    /// What the helpdesk should do, in order.
    pub fn remediation(self) -> &'static str {
        match self {
            Self::CertificateExpired => {
                "The certificate can no longer be used to sign. Ask the owner to apply to the \
                 certification authority for a new one (an in-person visit is usually needed), then \
                 install it into the Personal store with a link to its private key and register it \
                 again on every trading platform that used the old one."
            }
            Self::CertificateExpiring => {
                "Start re-issuing now: the owner usually has to visit the certification authority in \
                 person, which takes days to arrange. After re-issue, install the new certificate with \
                 a link to its key and register it again on each trading platform."
            }
            Self::CertificateNotYetValid => {
                "Check that this computer's date and time are correct. If they are, the certificate \
                 only becomes valid on its start date: use the previous certificate until then."
            }
            Self::CertificateIssuerMissing => {
                "Open the certificate's certification path. Install the missing CA certificate from the \
                 certification authority's site: the root into Trusted Root Certification Authorities \
                 (CryptoPro: mRoot), intermediates into Intermediate Certification Authorities (mCA). \
                 If the chain is complete and still rejected, install the CA's revocation list (CRL) \
                 locally: it may be unreachable behind a proxy."
            }
            Self::CertificateKeyLinkMissing => {
                "The certificate is in the Personal store without a link to its private key, so \
                 sites, browser plug-ins and signing programs do not offer it. Insert the medium \
                 holding the key, then install the certificate again with CryptoPro CSP → Service → \
                 View certificates in container (choose the container), or with Install personal \
                 certificate from its .cer file, linking it to the container."
            }
            Self::PrivateKeyExpired => {
                "The private key's usage period is over: CryptoPro CSP refuses to sign with it \
                 (error 0x80090010) even while the certificate is valid. A new key and certificate \
                 must be issued by the certification authority."
            }
            Self::PrivateKeyExpiring => {
                "A CryptoPro private key lives at most 1 year 3 months, independent of the certificate. \
                 Plan a new key and certificate with the certification authority before this date."
            }
            Self::FileUnparsable => {
                "The file is not a valid certificate (empty, truncated or another format). Get the \
                 certificate again from its source (the certification authority, the token, or \
                 `certmgr -export`) and replace the file."
            }
            Self::FileUnreadable => {
                "The agent could not read this location (permissions or I/O error). Run the scan as the \
                 user who owns the keys, or as root, and check the medium for errors."
            }
            Self::ContainerIncomplete => {
                "A container folder must hold header.key, name.key and a primary/masks pair \
                 (primary.key+masks.key and/or primary2.key+masks2.key). Files are missing: the container \
                 was copied incompletely or damaged. Look for a full copy of the same folder on another \
                 medium; without one the key must be re-issued."
            }
            Self::ContainerDamaged => {
                "A container file is present but malformed (truncated or overwritten). Restore the \
                 folder from a backup copy on another medium; a damaged container cannot be repaired \
                 and otherwise the key must be re-issued."
            }
            Self::ContainerDuplicateName => {
                "Several containers carry the same name: CryptoPro may open the wrong one. Keep one \
                 copy in use (check which matches the current certificate) and remove or rename the \
                 others with CryptoPro's tools. Then delete remembered passwords (CryptoPro CSP → \
                 Service → Delete remembered passwords)."
            }
            Self::TokenPinLocked => {
                "The user PIN is blocked after too many wrong tries. The administrator (SO) PIN \
                 unblocks it with the vendor's control panel (Rutoken, JaCarta or SafeNet). Never guess \
                 PINs: if the SO PIN is also blocked, the token must be re-initialised and the key \
                 re-issued."
            }
            Self::TokenPinFinalTry => {
                "One more wrong PIN blocks the token. Tell the user to stop trying and confirm the \
                 correct PIN; if it is unknown, unblock or reset it with the SO PIN first."
            }
            Self::TokenPinCountLow => {
                "A wrong PIN was entered recently. Confirm the correct PIN with the user before further \
                 tries; a blocked token needs the SO PIN to recover."
            }
            Self::TokenPinMustChange => {
                "The token still needs its PIN changed from the factory default. Change it in the \
                 vendor's control panel before issuing keys onto it."
            }
            Self::TokenEmpty => {
                "The token reports almost all its memory free, so it holds no key container (each takes \
                 about 4 KB). The key is on another medium: ask the user which token or flash drive was \
                 used when the certificate was issued."
            }
            Self::UsbTokenNotVisible => {
                "The token is on the USB bus but the smart-card service does not show it, so the \
                 problem is the driver, not the token. Check in order: the smart-card service runs; the \
                 vendor driver is installed (Rutoken: ifd-rutokens for Rutoken S, the CCID driver for \
                 others; JaCarta: JaCarta Unified Client); the reader type is enabled in CryptoPro \
                 (All smart card readers); then try another USB port and restart the service."
            }
            Self::UsbDriverFailed => {
                "Windows sees the device but its driver does not work (Device Manager shows the \
                 problem code), so no program can use the token. Install or reinstall the vendor's \
                 package (Rutoken: Rutoken drivers; JaCarta: JaCarta Unified Client; SafeNet: SafeNet \
                 Authentication Client), then in Device Manager uninstall the device, unplug it, \
                 replug it and reboot. Code 28 means no driver is installed at all; code 10 that it \
                 failed to start."
            }
            Self::UsbGenericDriver => {
                "The token runs on Microsoft's generic \"Usbccid Smartcard Reader (WUDF)\" driver, with \
                 which the vendor's tools and CryptoPro often fail to see it. Install the vendor's \
                 package (JaCarta Unified Client with the support module for CryptoPro; Rutoken \
                 drivers and support modules; SafeNet Authentication Client), remove the generic \
                 driver binding in Device Manager (Update driver → choose the vendor's), and reboot."
            }
            Self::SmartCardServiceDown => {
                "Without the smart-card service no reader appears at all. Start it and make it start \
                 automatically (Linux: `systemctl enable --now pcscd.socket`; Windows: service \
                 \"Smart Card\" (SCardSvr), startup type Automatic)."
            }
            Self::RdpSmartCardRedirectionOff => {
                "Group Policy forbids smart-card redirection into remote desktop sessions on this \
                 computer, so users signed in over RDP see no token plugged into their own computer. \
                 If they sign here over RDP, set Computer Configuration → Administrative Templates → \
                 Windows Components → Remote Desktop Services → Remote Desktop Session Host → \
                 Device and Resource Redirection → \"Do not allow smart card device redirection\" \
                 to Not configured or Disabled, run `gpupdate /force`, and have users reconnect \
                 with \"Smart cards\" ticked under Local Resources (`redirectsmartcards:i:1`)."
            }
            Self::Pkcs11ModuleMissing => {
                "This token needs its vendor's PKCS#11 library, which is not installed: install the \
                 vendor middleware (Rutoken: librtpkcs11ecp; JaCarta: JaCarta Unified Client / \
                 libjcPKCS11-2; SafeNet: SafeNet Authentication Client / libeToken; ESMART: ESMART PKI \
                 Client)."
            }
            Self::CspLicenseExpired => {
                "CryptoPro CSP has no valid licence and will refuse to work. Enter the organisation's \
                 serial (`cpconfig -license -set <serial>` or CSP control panel → Enter licence). The \
                 serial must match the installed major version (4040… for 4.0, 5050… for 5.0)."
            }
            Self::CspLicenseExpiring => {
                "The CryptoPro CSP licence ends soon. Buy or extend it and enter the new serial before \
                 the date; a certificate with an embedded CSP licence also works for that certificate."
            }
            Self::CspLicenseDemo => {
                "CryptoPro CSP runs on its 90-day demo licence, after which it stops working. Enter the \
                 organisation's serial for this major version."
            }
            Self::CspLicenseInvalid => {
                "CryptoPro CSP reports its licence as invalid. Check the serial matches the installed \
                 major version (4040… for 4.0, 5050… for 5.0) and enter it again."
            }
            Self::CollectorFailed => {
                "Part of the inventory could not be taken: the findings may be incomplete. The error \
                 says what failed; run the scan again as root if it is a permission problem."
            }
        }
    }
}
