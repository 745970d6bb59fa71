//! When the Windows event log refuses entries, the service goes on and its log file says so once:
//! the event log layer under the global subscriber, as `main` sets it up, with a sink that fails
//! and a file log that is a buffer. (A test binary of its own: the global subscriber is set once
//! per process.)

use std::io;
use std::sync::{Arc, Mutex};

use tokenwatch_agent::service::event_log::{EventKind, EventLogLayer, Sink};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Counts the entries it refuses.
#[derive(Clone, Default)]
struct Refusing(Arc<Mutex<usize>>);

impl Sink for Refusing {
    fn report(&self, _kind: EventKind, _text: &str) -> io::Result<()> {
        *self.0.lock().expect("lock") += 1;
        Err(io::Error::other("the event log is full"))
    }
}

/// The file log: what the fmt layer writes.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_refusing_event_log_is_noted_once_in_the_file_and_tried_for_every_entry() {
    let refused = Refusing::default();
    let file = Buffer::default();
    let writer = file.clone();
    tracing_subscriber::registry()
        .with(EventLogLayer::new(refused.clone()))
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || writer.clone()),
        )
        .init();
    tracing::warn!("first warning");
    tracing::error!("an error");
    tracing::warn!("second warning");

    assert_eq!(*refused.0.lock().expect("lock"), 3, "every entry is tried");
    let log = String::from_utf8(file.0.lock().expect("lock").clone()).expect("text");
    assert_eq!(
        log.matches("The Windows event log refused an entry")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("the event log is full"), "{log}");
    for line in ["first warning", "an error", "second warning"] {
        assert!(log.contains(line), "{line} in {log}");
    }
}
