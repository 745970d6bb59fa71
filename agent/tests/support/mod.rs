//! Helpers shared by the integration tests: real components, no mocks.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code, unreachable_pub)]

pub mod containers;
pub mod gost;
pub mod pcscd;
pub mod softhsm;
pub mod workstation;
