//! One PKCS#11 module: load it, list its tokens and read their public certificates.
//!
//! Only read-only sessions are opened and no one ever logs in, so nothing here can ask for a
//! PIN, count as a wrong try or change a token.

use std::path::Path;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};
use cryptoki::object::{Attribute, AttributeType, CertificateType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::{Slot, TokenInfo};

use super::identify::{self, TokenFlags};
use crate::collect::certificates::summarize;
use crate::findings::{Code, Finding};
use crate::inventory::{Certificate, CertificateSource, SourceKind, Token};

/// What one module showed.
#[derive(Debug, Default)]
pub(crate) struct ModuleReport {
    pub(crate) tokens: Vec<Token>,
    pub(crate) certificates: Vec<Certificate>,
    pub(crate) findings: Vec<Finding>,
    /// Slots, sessions or objects that could not be read; the other tokens are still reported.
    pub(crate) errors: Vec<String>,
}

/// A certificate object as stored on a token.
struct CertificateObject {
    /// `CKA_LABEL`, or `id <CKA_ID in hex>` for an object without a label.
    name: String,
    der: Option<Vec<u8>>,
}

/// Load the module at `path` and read every token it reports.
///
/// Returns an error (naming the module) when the module cannot be used at all: the file is
/// missing, is not a PKCS#11 library, or `C_Initialize` fails.
pub(crate) fn read(path: &Path) -> Result<ModuleReport, String> {
    let module = path.display().to_string();
    if !path.exists() {
        return Err(format!("PKCS#11 module {module}: file not found"));
    }
    let pkcs11 = Pkcs11::new(path)
        .map_err(|error| format!("PKCS#11 module {module}: cannot load: {}", describe(&error)))?;
    let owned = match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => true,
        // Someone else in this process is using the module: read through their
        // initialisation and leave finalising to them.
        Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
        Err(error) => {
            return Err(format!(
                "PKCS#11 module {module}: C_Initialize failed: {}",
                describe(&error)
            ));
        }
    };

    let mut report = ModuleReport::default();
    match pkcs11.get_slots_with_token() {
        Ok(slots) => {
            for slot in slots {
                if let Err(error) = read_slot(&pkcs11, &module, slot, &mut report) {
                    report.errors.push(format!(
                        "PKCS#11 module {module}: slot {}: {error}",
                        slot.id()
                    ));
                }
            }
        }
        Err(error) => report.errors.push(format!(
            "PKCS#11 module {module}: cannot list slots: {}",
            describe(&error)
        )),
    }
    if owned {
        if let Err(error) = pkcs11.finalize() {
            tracing::debug!(message = "C_Finalize failed.", module, error = %describe(&error));
        }
    }
    Ok(report)
}

/// Read one slot's token into `report`. An error means the token could not be read at all.
fn read_slot(
    pkcs11: &Pkcs11,
    module: &str,
    slot: Slot,
    report: &mut ModuleReport,
) -> Result<(), String> {
    let info = pkcs11
        .get_token_info(slot)
        .map_err(|error| format!("cannot read token information: {}", describe(&error)))?;
    let slot_description = match pkcs11.get_slot_info(slot) {
        Ok(slot_info) => {
            Some(identify::trimmed(slot_info.slot_description())).filter(|d| !d.is_empty())
        }
        Err(error) => {
            report.errors.push(format!(
                "PKCS#11 module {module}: slot {}: cannot read slot information: {}",
                slot.id(),
                describe(&error)
            ));
            None
        }
    };
    let mut token = token(module, slot, slot_description, &info);
    // An uninitialised token holds no objects, and some modules refuse sessions on it.
    if token.pin.initialized {
        read_certificates(pkcs11, slot, &mut token, report);
    }
    report.tokens.push(token);
    Ok(())
}

/// The inventory's view of `info` (certificates are added by the caller).
fn token(module: &str, slot: Slot, slot_description: Option<String>, info: &TokenInfo) -> Token {
    let manufacturer = identify::trimmed(info.manufacturer_id());
    let model = identify::trimmed(info.model());
    let hardware = info.hardware_version();
    let firmware = info.firmware_version();
    Token {
        module: module.to_owned(),
        slot_id: slot.id(),
        slot_description,
        label: identify::trimmed(info.label()),
        serial: identify::trimmed(info.serial_number()),
        token_family: identify::token_family(&manufacturer, &model),
        manufacturer,
        model,
        hardware_version: Some(identify::version(hardware.major(), hardware.minor())),
        firmware_version: Some(identify::version(firmware.major(), firmware.minor())),
        total_memory: info
            .total_public_memory()
            .and_then(|m| u64::try_from(m).ok()),
        free_memory: info
            .free_public_memory()
            .and_then(|m| u64::try_from(m).ok()),
        pin: identify::pin_state(TokenFlags::from(info)),
        certificates: Vec::new(),
    }
}

/// Summarise every public X.509 certificate on the token. An object that cannot be read or
/// parsed becomes an error and a finding; the other objects are still read.
fn read_certificates(pkcs11: &Pkcs11, slot: Slot, token: &mut Token, report: &mut ModuleReport) {
    let prefix = format!(
        "PKCS#11 module {}: token \"{}\" (serial {})",
        token.module, token.label, token.serial
    );
    let session = match pkcs11.open_ro_session(slot) {
        Ok(session) => session,
        Err(error) => {
            report.errors.push(format!(
                "{prefix}: cannot open a read-only session: {}",
                describe(&error)
            ));
            return;
        }
    };
    let handles = match session.find_objects(&[
        Attribute::Class(ObjectClass::CERTIFICATE),
        Attribute::CertificateType(CertificateType::X_509),
    ]) {
        Ok(handles) => handles,
        Err(error) => {
            report.errors.push(format!(
                "{prefix}: cannot list certificates: {}",
                describe(&error)
            ));
            return;
        }
    };
    let source = CertificateSource {
        kind: SourceKind::Token,
        location: format!("{}#{}", token.module, token.serial),
    };
    for handle in handles {
        let object = match certificate_object(&session, handle) {
            Ok(object) => object,
            Err(error) => {
                report.errors.push(format!(
                    "{prefix}: cannot read a certificate object: {}",
                    describe(&error)
                ));
                continue;
            }
        };
        let summary = match &object.der {
            Some(der) => summarize(der, source.clone()).map_err(|e| e.to_string()),
            None => Err("the object has no value".to_owned()),
        };
        match summary {
            Ok(cert) => {
                if !token.certificates.contains(&cert.sha1) {
                    token.certificates.push(cert.sha1.clone());
                }
                report.certificates.push(cert);
            }
            Err(error) => {
                report.errors.push(format!(
                    "{prefix}: certificate object \"{}\": {error}",
                    object.name
                ));
                report.findings.push(Finding::new(
                    Code::FileUnparsable,
                    format!(
                        "token \"{}\" {} (serial {}), object \"{}\"",
                        token.label, token.model, token.serial, object.name
                    ),
                    format!("The certificate stored on the token cannot be read: {error}."),
                ));
            }
        }
    }
}

fn certificate_object(session: &Session, handle: ObjectHandle) -> Result<CertificateObject, Error> {
    let attributes = session.get_attributes(
        handle,
        &[
            AttributeType::Label,
            AttributeType::Id,
            AttributeType::Value,
        ],
    )?;
    let (mut label, mut id, mut der) = (String::new(), Vec::new(), None);
    for attribute in attributes {
        match attribute {
            Attribute::Label(bytes) => label = String::from_utf8_lossy(&bytes).into_owned(),
            Attribute::Id(bytes) => id = bytes,
            Attribute::Value(bytes) => der = Some(bytes),
            _ => {}
        }
    }
    let name = if label.is_empty() {
        format!("id {}", hex::encode(id))
    } else {
        label
    };
    Ok(CertificateObject { name, der })
}

/// A short reason for `error`: the function and the return value's name for module errors,
/// rather than cryptoki's paragraph-long explanation.
fn describe(error: &Error) -> String {
    match error {
        Error::Pkcs11(rv, function) => format!("C_{function:?} returned {rv:?}"),
        Error::LibraryLoading(error) => format!("not a loadable library ({error})"),
        Error::MissingSymbol(symbol) => format!("not a PKCS#11 library (no {symbol})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use cryptoki::context::Function;

    use super::*;

    #[test]
    fn module_errors_are_named_briefly() {
        assert_eq!(
            describe(&Error::Pkcs11(RvError::PinLocked, Function::Login)),
            "C_Login returned PinLocked"
        );
        assert_eq!(
            describe(&Error::MissingSymbol("C_GetFunctionList")),
            "not a PKCS#11 library (no C_GetFunctionList)"
        );
    }
}
