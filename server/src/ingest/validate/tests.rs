use chrono::TimeZone;
use prost_types::Timestamp;

use super::*;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn report() -> v1::ReportRequest {
    v1::ReportRequest {
        sequence: 1,
        content_hash: vec![7; 32],
        inventory: Some(v1::Inventory {
            schema: SCHEMA.into(),
            collected_at: Some(Timestamp {
                seconds: now().timestamp(),
                nanos: 0,
            }),
            host: Some(v1::Host {
                hostname: "buh-01".into(),
                os: "linux".into(),
                arch: "x86_64".into(),
                agent_version: "0.1.0".into(),
                ..Default::default()
            }),
            certificates: vec![v1::Certificate {
                sha1: "a".repeat(40),
                sha256: "b".repeat(64),
                ..Default::default()
            }],
            ..Default::default()
        }),
    }
}

fn refused(edit: impl FnOnce(&mut v1::Inventory)) -> String {
    let mut r = report();
    edit(r.inventory.as_mut().unwrap());
    validate(&r).unwrap_err()
}

#[test]
fn a_plain_report_passes() {
    assert_eq!(validate(&report()), Ok(()));
}

#[test]
fn a_missing_inventory_is_refused() {
    let mut r = report();
    r.inventory = None;
    assert_eq!(validate(&r).unwrap_err(), "the report has no inventory");
}

#[test]
fn refusals_name_the_field() {
    let schema = refused(|i| i.schema = "tokenwatch.inventory/v2".into());
    assert!(schema.starts_with("schema is"), "{schema}");
    let host = refused(|i| i.host.as_mut().unwrap().hostname = " ".into());
    assert_eq!(host, "host.hostname is empty");
    let nul = refused(|i| i.certificates[0].subject = "CN=a\0b".into());
    assert_eq!(nul, "certificates[0].subject contains a NUL byte");
    let long = refused(|i| i.host.as_mut().unwrap().os = "x".repeat(MAX_TEXT + 1));
    assert_eq!(long, "host.os is longer than 4096 bytes");
    let der = refused(|i| i.certificates[0].der = vec![0; MAX_DER + 1]);
    assert_eq!(der, "certificates[0].der is longer than 65536 bytes");
    let sha = refused(|i| i.certificates[0].sha256 = "zz".into());
    assert!(
        sha.starts_with("certificates[0].sha256 is not 64 hexadecimal digits"),
        "{sha}"
    );
    let many = refused(|i| i.readers = vec![v1::Reader::default(); MAX_DEVICES + 1]);
    assert_eq!(many, "readers has 1001 entries, at most 1000 are accepted");
    let family = refused(|i| {
        i.readers = vec![v1::Reader {
            token_family: 42,
            ..Default::default()
        }]
    });
    assert_eq!(family, "readers[0].token_family has the unknown value 42");
}

#[test]
fn certmgr_placeholders_pass_and_repeats_do_not() {
    let mut r = report();
    let inventory = r.inventory.as_mut().unwrap();
    inventory.certificates[0].sha256 = format!("sha1:{}", "A".repeat(40));
    assert_eq!(validate(&r), Ok(()));
    let repeated = refused(|i| {
        let copy = i.certificates[0].clone();
        i.certificates.push(copy);
    });
    assert_eq!(
        repeated,
        "certificates[1].sha256 repeats an earlier certificate"
    );
}

#[test]
fn a_host_clock_ahead_is_a_finding_not_a_refusal() {
    let mut report = report();
    let received = now();
    for (lead, expected) in [
        (0, None),
        (600, None),
        (601, Some("10 minutes")),
        (3 * 3600, Some("3 hours")),
        (40 * 86_400, Some("40 days")),
    ] {
        let inventory = report.inventory.as_mut().expect("inventory");
        inventory.collected_at = Some(Timestamp {
            seconds: received.timestamp() + lead,
            nanos: 0,
        });
        assert_eq!(validate(&report), Ok(()), "lead {lead} s refused");
        let finding = clock_ahead(report.inventory.as_ref().expect("inventory"), received);
        assert_eq!(finding.is_some(), expected.is_some(), "lead {lead} s");
        if let (Some(finding), Some(words)) = (finding, expected) {
            assert_eq!(finding.code, "host.clock_ahead");
            assert!(finding.message.contains(words), "{}", finding.message);
            assert!(finding.remediation.contains("w32tm"));
        }
    }
}

#[test]
fn dates_must_be_plausible() {
    let late = refused(|i| {
        i.certificates[0].not_after = Some(Timestamp {
            seconds: LATEST_SECONDS + 1,
            nanos: 0,
        })
    });
    assert_eq!(
        late,
        "certificates[0].not_after is not a date between the years 1 and 9999"
    );
    let early = refused(|i| {
        i.certificates[0].not_before = Some(Timestamp {
            seconds: EARLIEST_SECONDS - 1,
            nanos: 0,
        })
    });
    assert_eq!(
        early,
        "certificates[0].not_before is not a date between the years 1 and 9999"
    );
    // RFC 5280's "no well-defined expiration date", and a root made before 1970.
    let mut r = report();
    let inventory = r.inventory.as_mut().unwrap();
    inventory.certificates[0].not_after = Some(Timestamp {
        seconds: LATEST_SECONDS,
        nanos: 0,
    });
    inventory.certificates[0].not_before = Some(Timestamp {
        seconds: -86_400,
        nanos: 0,
    });
    validate(&r).expect("dates any certificate can state are stored");
    let nanos = refused(|i| {
        i.collected_at = Some(Timestamp {
            seconds: 0,
            nanos: 1_000_000_000,
        })
    });
    assert_eq!(nanos, "collected_at has invalid nanoseconds 1000000000");
}
