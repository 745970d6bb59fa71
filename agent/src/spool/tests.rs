use super::*;

fn limits(max_reports: usize, max_bytes: u64) -> Limits {
    Limits {
        max_reports,
        max_bytes,
    }
}

#[test]
fn reports_come_out_in_sequence_order_not_name_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path(), Limits::default()).expect("open");
    for seq in [10, 9, 100, 2] {
        spool.push(seq, format!("r{seq}").as_bytes()).expect("push");
    }
    assert_eq!(spool.pending().expect("pending"), [2, 9, 10, 100]);
    let (seq, bytes) = spool.oldest().expect("read").expect("some");
    assert_eq!((seq, bytes.as_slice()), (2, b"r2".as_slice()));
    spool.remove(2).expect("remove");
    assert_eq!(spool.oldest().expect("read").map(|(s, _)| s), Some(9));
}

#[test]
fn oldest_reports_are_dropped_beyond_the_count_and_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path(), limits(3, u64::MAX)).expect("open");
    for seq in 1..=5 {
        spool.push(seq, b"x").expect("push");
    }
    assert_eq!(spool.pending().expect("pending"), [3, 4, 5]);
    assert_eq!(spool.dropped().expect("dropped"), 2);
}

#[test]
fn oldest_reports_are_dropped_beyond_the_size_but_the_newest_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path(), limits(100, 35)).expect("open");
    for seq in 1..=3 {
        assert_eq!(spool.push(seq, &[0; 10]).expect("push"), 0);
    }
    assert_eq!(spool.push(4, &[0; 10]).expect("push"), 1);
    assert_eq!(spool.pending().expect("pending"), [2, 3, 4]);
    spool
        .push(5, &[0; 40])
        .expect("an oversized report still goes in");
    assert_eq!(spool.pending().expect("pending"), [5]);
    assert_eq!(spool.dropped().expect("dropped"), 4);
}

#[test]
fn the_spool_and_its_counter_survive_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let spool = Spool::open(dir.path(), limits(2, u64::MAX)).expect("open");
        for seq in 1..=3 {
            spool.push(seq, b"x").expect("push");
        }
    }
    let spool = Spool::open(dir.path(), limits(2, u64::MAX)).expect("reopen");
    assert_eq!(spool.pending().expect("pending"), [2, 3]);
    assert_eq!(spool.dropped().expect("dropped"), 1);
}

#[test]
fn a_partial_write_is_never_a_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path(), Limits::default()).expect("open");
    spool.push(1, b"whole").expect("push");
    // What a crash in the middle of write_atomic leaves behind.
    let tmp = crate::state::temporary_name(&dir.path().join("2.pb"));
    fs::write(&tmp, b"half").expect("write");
    assert_eq!(spool.pending().expect("pending"), [1]);
    let reopened = Spool::open(dir.path(), Limits::default()).expect("reopen");
    assert!(!tmp.exists(), "temporaries are cleared on open");
    assert_eq!(reopened.pending().expect("pending"), [1]);
}

#[test]
fn a_rejected_report_leaves_the_queue_but_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path(), Limits::default()).expect("open");
    spool.push(1, b"bad").expect("push");
    spool.push(2, b"good").expect("push");
    let kept = spool.reject(1).expect("reject");
    assert_eq!(fs::read(kept).expect("kept"), b"bad");
    assert_eq!(spool.pending().expect("pending"), [2]);
}

#[test]
fn only_the_latest_rejected_reports_are_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = Spool::open(dir.path(), Limits::default()).expect("open");
    for seq in 1..=(REJECTED_KEPT as u64 + 3) {
        spool.push(seq, b"bad").expect("push");
        spool.reject(seq).expect("reject");
    }
    let rejected = dir.path().join("rejected");
    assert_eq!(
        fs::read_dir(&rejected).expect("list").count(),
        REJECTED_KEPT
    );
    assert!(!rejected.join("3.pb").exists());
    assert!(rejected.join("4.pb").exists());
}
