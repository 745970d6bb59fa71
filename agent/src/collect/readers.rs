//! PC/SC readers and the cards in them, as the smart-card service reports them.
//!
//! The collector only asks the service for reader states: it never connects to a card, so it
//! cannot disturb a signing program holding one and never sends an APDU. The token is named
//! from its ATR and the reader name alone.

use std::ffi::CString;
use std::time::Duration;

use pcsc::{Context, Error as PcscError, ReaderState, Scope, State};

use super::{CollectError, Collector, Section};
use crate::config::ScanConfig;
use crate::inventory::{Reader, ServiceState};

mod atr;
mod names;

pub use atr::{format_atr, identify};
pub use names::family_from_reader_name;

/// How long to wait for the service to report reader states. States asked for as `UNAWARE`
/// come back at once; the bound only matters for a wedged service.
const STATUS_TIMEOUT: Duration = Duration::from_millis(1500);

/// The `readers` collector.
#[derive(Debug)]
pub struct Readers;

impl Collector for Readers {
    fn name(&self) -> &'static str {
        "readers"
    }

    fn collect(&self, _config: &ScanConfig) -> Result<Section, CollectError> {
        let mut section = Section::default();
        let context = match Context::establish(Scope::User) {
            Ok(context) => context,
            Err(error) if service_down(error) => {
                // A stopped service is something to report, not a failure to look.
                section.components.smart_card_service = Some(ServiceState::Stopped);
                return Ok(section);
            }
            Err(error) => return Err(unavailable("cannot reach the smart-card service", error)),
        };
        section.components.smart_card_service = Some(ServiceState::Running);

        let names = match context.list_readers_owned() {
            Ok(names) => names,
            Err(PcscError::NoReadersAvailable) => Vec::new(),
            Err(error) if service_down(error) => {
                section.components.smart_card_service = Some(ServiceState::Stopped);
                return Ok(section);
            }
            Err(error) => return Err(unavailable("cannot list readers", error)),
        };
        section.readers = read_states(&context, names, &mut section.errors);
        Ok(section)
    }
}

/// Every reader's state in one call; one at a time if that fails (a reader unplugged between
/// listing and asking makes the whole call fail).
fn read_states(context: &Context, names: Vec<CString>, errors: &mut Vec<String>) -> Vec<Reader> {
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    if context
        .get_status_change(STATUS_TIMEOUT, &mut states)
        .is_ok()
    {
        return states.iter().map(reader).collect();
    }
    let mut readers = Vec::new();
    for state in states {
        let mut one = [ReaderState::new(state.name().to_owned(), State::UNAWARE)];
        match context.get_status_change(STATUS_TIMEOUT, &mut one) {
            Ok(()) => readers.push(reader(&one[0])),
            // Gone since it was listed: it is not there any more.
            Err(PcscError::UnknownReader | PcscError::ReaderUnavailable) => {}
            Err(error) => {
                let name = state.name().to_string_lossy().into_owned();
                errors.push(format!("reader \"{name}\": cannot read its state: {error}"));
                readers.push(Reader {
                    name,
                    ..Reader::default()
                });
            }
        }
    }
    readers
}

/// The inventory's view of one reader state.
fn reader(state: &ReaderState) -> Reader {
    let name = state.name().to_string_lossy().into_owned();
    let event = state.event_state();
    let card_present = event.contains(State::PRESENT);
    let atr = state.atr();
    // A mute card is present without an ATR: the reader name may still say what it is.
    let identified = if card_present {
        identify(atr, &name)
    } else {
        None
    };
    let (token_model, token_family) = match identified {
        Some((model, family)) => (Some(model), Some(family)),
        None => (None, None),
    };
    let atr = (card_present && !atr.is_empty()).then(|| format_atr(atr));
    Reader {
        name,
        card_present,
        atr,
        token_model,
        token_family,
        in_use_exclusively: card_present && event.contains(State::EXCLUSIVE),
    }
}

/// pcsc-lite answers both ways when no daemon listens on its socket.
fn service_down(error: PcscError) -> bool {
    matches!(error, PcscError::NoService | PcscError::ServiceStopped)
}

fn unavailable(what: &str, error: PcscError) -> CollectError {
    CollectError::Unavailable(format!("{what}: {error}"))
}
