//! Installed software and devices, on the wire.

use tokenwatch_proto::v1;

use super::{Text, family, opt_timestamp};
use crate::inventory::{
    Components, CryptoPro, License, Middleware, Pkcs11Module, ServiceState, StartType, UsbToken,
};

pub(super) fn components(components: &Components) -> v1::Components {
    let Components {
        cryptopro,
        smart_card_service,
        ccid_driver,
        middleware,
        pkcs11_modules,
        usb_tokens,
        smart_card_service_start,
        remote_sessions,
    } = components;
    v1::Components {
        cryptopro: cryptopro.as_ref().map(self::cryptopro),
        smart_card_service: service(*smart_card_service),
        ccid_driver: ccid_driver.text(),
        middleware: middleware.iter().map(self::middleware).collect(),
        pkcs11_modules: pkcs11_modules.iter().map(module).collect(),
        usb_tokens: usb_tokens.iter().map(usb).collect(),
        smart_card_service_start: start_type(*smart_card_service_start),
        remote_sessions: *remote_sessions,
    }
}

fn start_type(start: Option<StartType>) -> i32 {
    let wire = match start {
        None => v1::StartType::Unspecified,
        Some(StartType::Automatic) => v1::StartType::Automatic,
        Some(StartType::Manual) => v1::StartType::Manual,
        Some(StartType::Disabled) => v1::StartType::Disabled,
    };
    wire.into()
}

fn cryptopro(csp: &CryptoPro) -> v1::CryptoPro {
    let CryptoPro {
        installed,
        version,
        build,
        license,
        control_key_time_validity,
    } = csp;
    v1::CryptoPro {
        installed: *installed,
        version: version.text(),
        build: build.text(),
        license: license.as_ref().map(self::license),
        control_key_time_validity: *control_key_time_validity,
    }
}

fn license(license: &License) -> v1::License {
    let License {
        serial_prefix,
        for_version,
        kind,
        expires,
        permanent,
        demo,
        error,
    } = license;
    v1::License {
        serial_prefix: serial_prefix.text(),
        for_version: for_version.text(),
        kind: kind.text(),
        expires: opt_timestamp(*expires),
        permanent: *permanent,
        demo: *demo,
        error: error.text(),
    }
}

pub(super) fn service(state: Option<ServiceState>) -> i32 {
    let wire = match state {
        None => v1::ServiceState::Unspecified,
        Some(ServiceState::Running) => v1::ServiceState::Running,
        Some(ServiceState::Stopped) => v1::ServiceState::Stopped,
        Some(ServiceState::NotInstalled) => v1::ServiceState::NotInstalled,
        Some(ServiceState::Unknown) => v1::ServiceState::Unknown,
    };
    wire.into()
}

fn middleware(m: &Middleware) -> v1::Middleware {
    let Middleware {
        family,
        name,
        path,
        version,
    } = m;
    v1::Middleware {
        family: self::family(Some(*family)),
        name: name.text(),
        path: path.text(),
        version: version.as_ref().map(Text::text),
    }
}

fn module(m: &Pkcs11Module) -> v1::Pkcs11Module {
    let Pkcs11Module { path, family } = m;
    v1::Pkcs11Module {
        path: path.text(),
        family: self::family(*family),
    }
}

fn usb(usb: &UsbToken) -> v1::UsbToken {
    let UsbToken {
        bus_path,
        usb_id,
        model,
        family,
        manufacturer,
        product,
        serial,
        visible_to_pcsc,
        driver,
        generic_driver,
        problem_code,
    } = usb;
    v1::UsbToken {
        bus_path: bus_path.text(),
        usb_id: usb_id.text(),
        model: model.text(),
        family: self::family(*family),
        manufacturer: manufacturer.text(),
        product: product.text(),
        serial: serial.text(),
        visible_to_pcsc: *visible_to_pcsc,
        driver: driver.as_ref().map(Text::text),
        generic_driver: *generic_driver,
        problem_code: *problem_code,
    }
}
