//! Helpers shared by the integration tests: real components, no mocks.

pub mod gost;
