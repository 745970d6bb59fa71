//! The Windows service's entries in the Windows event log (source `tokenwatch-agent`, Application
//! log), beside the full log in `%ProgramData%\tokenwatch\agent.log`.
//!
//! The event log is what administrators and their monitoring watch, so it gets what needs
//! attention and no routine: every warning and error, and of the information events only those
//! with the target [`LIFECYCLE`] (the service started, the service stopped). A scan or a delivered
//! report stays in the file. A problem that lasts (a collector failing at every scan) is written
//! once an hour, not at every scan: an entry equal to the last one written less than
//! [`REPEAT_AFTER`] ago is left to the file.
//!
//! The layer and its formatting are platform-independent and tested everywhere; only the sink
//! that writes (`ReportEventW`) and the source's registration are Windows code.

use std::fmt;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

#[cfg(windows)]
mod windows;

#[cfg(windows)]
pub use self::windows::{EventSource, SOURCE_KEY, register_source, remove_source};

/// The target of the information events that also go to the event log: the service's start and
/// stop.
pub const LIFECYCLE: &str = "tokenwatch_agent::lifecycle";
/// The target of this layer's own note that the event log failed: it goes to the file only.
const NOTE: &str = "tokenwatch_agent::event_log";
/// `ReportEventW` refuses a string longer than 31,839 UTF-16 units; a longer entry is cut with
/// room to spare. The file log has it whole.
const MAX_UNITS: usize = 31_000;
/// The same entry again is written to the event log no sooner than this.
pub const REPEAT_AFTER: Duration = Duration::from_secs(3600);

/// An event log entry's type, each with its event id in the message table that `build.rs`
/// compiles into the .exe (ids 1 to 3, each `%1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Information,
    Warning,
    Error,
}

/// Where the layer writes: the Windows event log, or a test's list.
pub trait Sink: Send + Sync + 'static {
    /// Write one entry of `kind` whose whole text is `text`.
    fn report(&self, kind: EventKind, text: &str) -> io::Result<()>;
}

/// Writes the events [`kind_of`] selects to a [`Sink`]. A failure to write never reaches the
/// service: the entry stays in the file log, which notes the first failure once.
#[derive(Debug)]
pub struct EventLogLayer<S> {
    sink: S,
    noted: AtomicBool,
    last: Mutex<Option<Written>>,
}

/// The last entry written and when.
#[derive(Debug)]
pub struct Written {
    kind: EventKind,
    text: String,
    at: Instant,
}

/// Whether an entry of `kind` and `text` at `now` is written, given the `last` one written;
/// `last` becomes this one when it is.
pub fn due(last: &mut Option<Written>, kind: EventKind, text: &str, now: Instant) -> bool {
    let repeat = last.as_ref().is_some_and(|w| {
        w.kind == kind && w.text == text && now.saturating_duration_since(w.at) < REPEAT_AFTER
    });
    if !repeat {
        *last = Some(Written {
            kind,
            text: text.to_owned(),
            at: now,
        });
    }
    !repeat
}

// === impl EventKind ===

impl EventKind {
    /// The entry's event id, one per type, so that a monitoring rule may match on the id alone.
    pub fn id(self) -> u32 {
        match self {
            Self::Information => 1,
            Self::Warning => 2,
            Self::Error => 3,
        }
    }
}

/// The entry type of an event at `level` with `target`, or `None` for the file log only.
pub fn kind_of(level: Level, target: &str) -> Option<EventKind> {
    match level {
        Level::ERROR => Some(EventKind::Error),
        Level::WARN if target != NOTE => Some(EventKind::Warning),
        Level::INFO if target == LIFECYCLE => Some(EventKind::Information),
        _ => None,
    }
}

/// An entry's one string: the message, then each field as ` name=value`, as the file log writes
/// them (strings quoted, `%` and `?` values as given), cut to what `ReportEventW` takes.
pub fn entry_text(event: &Event<'_>) -> String {
    let mut fields = Fields::default();
    event.record(&mut fields);
    let mut text = fields.message.unwrap_or_default();
    for field in fields.rest {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&field);
    }
    truncate_units(&mut text, MAX_UNITS);
    text
}

/// Cut `text` to at most `max` UTF-16 units (an ellipsis included), on a character boundary.
fn truncate_units(text: &mut String, max: usize) {
    if text.encode_utf16().count() <= max {
        return;
    }
    let mut units = 0;
    let end = text
        .char_indices()
        .find(|(_, c)| {
            units += c.len_utf16();
            units > max - 1
        })
        .map_or(text.len(), |(index, _)| index);
    text.truncate(end);
    text.push('…');
}

/// The message and the other fields of one event, as text.
#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: Vec<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" && self.message.is_none() {
            self.message = Some(value.to_owned());
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" && self.message.is_none() {
            self.message = Some(format!("{value:?}"));
        } else {
            self.rest.push(format!("{}={value:?}", field.name()));
        }
    }
}

// === impl EventLogLayer ===

impl<S: Sink> EventLogLayer<S> {
    /// A layer writing to `sink`.
    pub fn new(sink: S) -> Self {
        Self {
            sink,
            noted: AtomicBool::new(false),
            last: Mutex::new(None),
        }
    }
}

impl<S: Sink, C: Subscriber> Layer<C> for EventLogLayer<S> {
    fn on_event(&self, event: &Event<'_>, _context: Context<'_, C>) {
        let metadata = event.metadata();
        let Some(kind) = kind_of(*metadata.level(), metadata.target()) else {
            return;
        };
        let text = entry_text(event);
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !due(&mut last, kind, &text, Instant::now()) {
                return;
            }
        }
        // Every entry is tried, since the event log may come back; only the first failure is
        // noted, in the file log (the note's target keeps it out of this layer).
        let Err(error) = self.sink.report(kind, &text) else {
            return;
        };
        if !self.noted.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: NOTE,
                message = "The Windows event log refused an entry: this file has them all, \
                           the event log may lack some.",
                %error
            );
        }
    }
}

#[cfg(test)]
mod tests;
