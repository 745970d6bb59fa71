//! A small fleet stored through the real gRPC API: three offices, agents that report, one that
//! never does and one revoked, refused enrolments and reports of every outcome.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use tokenwatch_proto::v1::{EnrollRequest, Severity};

use super::fleet::{Cert, Host, utc};
use crate::support::*;

/// What the scenario stored that the expected series depend on.
pub(crate) struct Stored {
    /// Present in Moscow (key in a container there) and in Kazan (no container there).
    pub(crate) x: Cert,
    /// Present in Moscow; ends in 10 days, its key in 5.
    pub(crate) y: Cert,
    /// The key end of X's container in Moscow, earlier than X's own key period.
    pub(crate) x_container_key_end: DateTime<Utc>,
    /// buh-01 in Moscow HQ.
    pub(crate) moscow: TestAgent,
    /// kzn-01 in Kazan.
    pub(crate) kazan: TestAgent,
}

/// Enrol and report:
/// - Moscow HQ: buh-01 (2 readers, a token holding X, X's key container, an incomplete
///   container; X, Y and a CA certificate; reports changed, unchanged, duplicate and an invalid
///   one) and buh-02, which never reports;
/// - Kazan: kzn-01 (1 reader; X, and Z which a second report drops) and kzn-02, which reports
///   certificate W, a token, a container and a finding and is then revoked;
/// - Tver: an enrolment secret, no agents.
///
/// Plus two refused enrolments: a wrong secret and an empty host name.
pub(crate) async fn store(server: &TestServer) -> Stored {
    let now = Utc::now()
        .duration_trunc(TimeDelta::seconds(1))
        .expect("now");
    let x = Cert {
        seed: "x",
        cn: "Иванова Мария Петровна",
        issuer_cn: "Казначейство России",
        qualified: true,
        is_ca: false,
        not_after: utc(2031, 3, 1),
        key_not_after: Some(utc(2030, 12, 1)),
    };
    // A name with quotes and a backslash: the exposition must escape them.
    let y = Cert {
        seed: "y",
        cn: "ООО \"Ромашка\" \\ склад",
        issuer_cn: "УЦ Тест",
        qualified: false,
        is_ca: false,
        not_after: now + TimeDelta::days(10),
        key_not_after: Some(now + TimeDelta::days(5)),
    };
    let ca = Cert {
        seed: "ca",
        cn: "Казначейство России",
        issuer_cn: "Минцифры России",
        is_ca: true,
        not_after: utc(2035, 1, 1),
        key_not_after: None,
        ..y.clone()
    };
    let x_container_key_end = utc(2030, 6, 1);

    let moscow = server.secret("Moscow HQ").await;
    let kazan = server.secret("Kazan").await;
    server.secret("Tver").await;
    let (m1, _) = server.enroll(&moscow, "buh-01").await;
    let _never_reports = server.enroll(&moscow, "buh-02").await;
    let (k1, _) = server.enroll(&kazan, "kzn-01").await;
    let (k2, _) = server.enroll(&kazan, "kzn-02").await;
    for (secret, hostname) in [("tw1_wrong", "pc"), (moscow.as_str(), "")] {
        server
            .anonymous()
            .await
            .enroll(EnrollRequest {
                secret: secret.into(),
                csr_der: csr(&rcgen::KeyPair::generate().expect("key")),
                hostname: hostname.into(),
                agent_version: "test".into(),
            })
            .await
            .expect_err("refused");
    }

    // The agent's own view of Y's expiry (a warning, from an older scan) must give way to the
    // server's (critical: 9 days left).
    let buh = Host {
        hostname: "buh-01.corp",
        readers: 2,
        tokens: vec![vec![x.clone()]],
        containers: vec![
            (true, Some(x.clone()), Some(x_container_key_end)),
            (false, None, None),
        ],
        certificates: vec![x.clone(), y.clone(), ca],
        findings: vec![
            ("token.pin_count_low", Severity::Warning),
            ("container.incomplete", Severity::Critical),
            ("certificate.expiring", Severity::Warning),
        ],
    };
    server.report_as(&m1, buh.report(1)).await;
    server.report_as(&m1, buh.report(2)).await; // unchanged
    server.report_as(&m1, buh.report(2)).await; // duplicate
    let mut invalid = buh.report(3);
    invalid.inventory.as_mut().expect("inventory").schema = "other".into();
    server
        .as_agent(&m1)
        .await
        .report(invalid)
        .await
        .expect_err("rejected");

    let z = Cert {
        seed: "z",
        cn: "Removed",
        ..x.clone()
    };
    let mut kzn = Host {
        hostname: "kzn-01",
        readers: 1,
        certificates: vec![x.clone(), z],
        ..Host::default()
    };
    server.report_as(&k1, kzn.report(1)).await;
    kzn.certificates.pop();
    server.report_as(&k1, kzn.report(2)).await;

    let w = Cert {
        seed: "w",
        cn: "On a revoked host",
        ..x.clone()
    };
    let revoked = Host {
        hostname: "kzn-02",
        readers: 1,
        tokens: vec![vec![w.clone()]],
        containers: vec![(true, Some(w.clone()), Some(utc(2026, 1, 1)))],
        certificates: vec![w],
        findings: vec![("token.pin_locked", Severity::Critical)],
    };
    server.report_as(&k2, revoked.report(1)).await;
    tokenwatch_server::registry::revoke_agent(&server.pool, k2.id.parse().expect("uuid"))
        .await
        .expect("revoke");

    Stored {
        x,
        y,
        x_container_key_end,
        moscow: m1,
        kazan: k1,
    }
}
