use std::sync::{Arc, Mutex};

use tracing_subscriber::layer::SubscriberExt;

use super::*;

/// Keeps what the layer writes, or refuses it.
#[derive(Clone, Default)]
struct Recorder {
    entries: Arc<Mutex<Vec<(EventKind, String)>>>,
    attempts: Arc<Mutex<usize>>,
    refuse: bool,
}

impl Sink for Recorder {
    fn report(&self, kind: EventKind, text: &str) -> io::Result<()> {
        *self.attempts.lock().expect("lock") += 1;
        if self.refuse {
            return Err(io::Error::other("the event log is full"));
        }
        self.entries
            .lock()
            .expect("lock")
            .push((kind, text.to_owned()));
        Ok(())
    }
}

fn entries_of(events: impl FnOnce()) -> Vec<(EventKind, String)> {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(EventLogLayer::new(recorder.clone()));
    tracing::subscriber::with_default(subscriber, events);
    recorder.entries.lock().expect("lock").clone()
}

#[test]
fn warnings_and_errors_go_always_information_only_for_start_and_stop() {
    assert_eq!(kind_of(Level::ERROR, "any"), Some(EventKind::Error));
    assert_eq!(kind_of(Level::WARN, "any"), Some(EventKind::Warning));
    assert_eq!(
        kind_of(Level::INFO, LIFECYCLE),
        Some(EventKind::Information)
    );
    assert_eq!(kind_of(Level::INFO, "tokenwatch_agent::service"), None);
    assert_eq!(kind_of(Level::DEBUG, LIFECYCLE), None);
    assert_eq!(kind_of(Level::TRACE, "any"), None);
    // The layer's own note about a failing event log is for the file only.
    assert_eq!(kind_of(Level::WARN, NOTE), None);
}

#[test]
fn each_type_has_its_own_id_in_the_message_table() {
    let ids = [EventKind::Information, EventKind::Warning, EventKind::Error].map(EventKind::id);
    // build.rs compiles exactly these ids.
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn an_entry_is_the_message_and_its_fields_in_one_string() {
    let error = io::Error::other("connection refused");
    let entries = entries_of(|| {
        tracing::info!(target: LIFECYCLE, message = "Service started.", version = "1.2.0");
        tracing::info!(sequence = 7, "report delivered");
        tracing::warn!(%error, pending = 3, retry_in = ?std::time::Duration::from_secs(2), "the server is unreachable");
        tracing::error!(
            message = "The service stopped on an error.",
            error = "no identity"
        );
        tracing::debug!("not for the event log");
    });
    assert_eq!(
        entries,
        [
            (
                EventKind::Information,
                r#"Service started. version="1.2.0""#.to_owned()
            ),
            (
                EventKind::Warning,
                "the server is unreachable error=connection refused pending=3 retry_in=2s"
                    .to_owned()
            ),
            (
                EventKind::Error,
                r#"The service stopped on an error. error="no identity""#.to_owned()
            ),
        ]
    );
}

#[test]
fn fields_without_a_message_stand_alone() {
    let entries = entries_of(|| tracing::warn!(dropped = 4));
    assert_eq!(entries, [(EventKind::Warning, "dropped=4".to_owned())]);
}

#[test]
fn a_refusing_event_log_never_stops_the_caller_and_is_tried_again() {
    let recorder = Recorder {
        refuse: true,
        ..Recorder::default()
    };
    let subscriber = tracing_subscriber::registry().with(EventLogLayer::new(recorder.clone()));
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("first");
        tracing::error!("second");
    });
    assert_eq!(*recorder.attempts.lock().expect("lock"), 2);
}

#[test]
fn a_long_entry_is_cut_to_what_report_event_takes() {
    let mut text = "é".repeat(MAX_UNITS + 10);
    truncate_units(&mut text, MAX_UNITS);
    assert_eq!(text.encode_utf16().count(), MAX_UNITS);
    assert!(text.ends_with("é…"));
    // A character outside the BMP takes two units and is never split.
    let mut text = "😀".repeat(MAX_UNITS);
    truncate_units(&mut text, MAX_UNITS);
    assert!(text.encode_utf16().count() <= MAX_UNITS);
    let mut short = "short".to_owned();
    truncate_units(&mut short, MAX_UNITS);
    assert_eq!(short, "short");
}

#[test]
fn a_lasting_problem_is_written_once_an_hour() {
    let start = Instant::now();
    let mut last = None;
    let failed = "Collector failed. collector=\"readers\"";
    assert!(due(&mut last, EventKind::Warning, failed, start));
    // The next scans, 15 minutes apart, say the same: left to the file.
    for quarter in 1..4 {
        let at = start + Duration::from_secs(900 * quarter);
        assert!(!due(&mut last, EventKind::Warning, failed, at));
    }
    // Something else is written at once, and then the old problem is new again.
    let other = start + Duration::from_secs(2800);
    assert!(due(&mut last, EventKind::Error, "Delivery failed.", other));
    assert!(due(&mut last, EventKind::Warning, failed, other));
    // An hour after it was last written, the lasting problem is written again.
    assert!(!due(
        &mut last,
        EventKind::Warning,
        failed,
        other + Duration::from_secs(3599)
    ));
    assert!(due(
        &mut last,
        EventKind::Warning,
        failed,
        other + REPEAT_AFTER
    ));
}

#[test]
fn a_repeated_event_reaches_the_sink_once() {
    let entries = entries_of(|| {
        for _ in 0..3 {
            tracing::warn!(message = "Collector failed.", collector = "readers");
        }
        tracing::error!(message = "Delivery failed.");
    });
    assert_eq!(
        entries,
        vec![
            (
                EventKind::Warning,
                "Collector failed. collector=\"readers\"".to_owned()
            ),
            (EventKind::Error, "Delivery failed.".to_owned()),
        ]
    );
}
