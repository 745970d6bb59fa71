use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_server::findings::{Severity, current_findings};
use tokenwatch_server::ingest::apply_report;

use crate::support::*;

/// Certificate 0 ends at `end()`, container 0's key ten days earlier, the CA certificate 45 and
/// the CSP licence five days later.
fn end() -> DateTime<Utc> {
    base() + Duration::days(100)
}

fn ageing(hostname: &str) -> tokenwatch_proto::v1::Inventory {
    let mut inventory = workstation(hostname);
    inventory.certificates[0].not_after = ts(end());
    inventory.certificates[45].not_after = ts(end() + Duration::days(5));
    inventory.containers[0].private_key_not_after = ts(end() - Duration::days(10));
    let components = inventory.components.as_mut().unwrap();
    let license = components
        .cryptopro
        .as_mut()
        .unwrap()
        .license
        .as_mut()
        .unwrap();
    license.expires = ts(end() + Duration::days(5));
    inventory
}

async fn codes(pool: &PgPool, now: DateTime<Utc>) -> Vec<(String, Severity)> {
    current_findings(pool, now, (30, 14))
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.code, f.severity))
        .collect()
}

fn expect(list: &[(&str, Severity)]) -> Vec<(String, Severity)> {
    list.iter().map(|(c, s)| ((*c).to_owned(), *s)).collect()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_silent_hosts_dates_age(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    apply_report(&pool, agent, &request(1, &ageing("buh-01")), base())
        .await
        .unwrap();

    // Well before any window: only the agent's clock-free finding; its own
    // `certificate.expiring` is the agent's past view and is dropped.
    assert_eq!(
        codes(&pool, end() - Duration::days(60)).await,
        expect(&[("token.pin_count_low", Severity::Warning)])
    );

    // Inside the windows: 20 days (warning), 10 days (critical), 25 days (warning); the CA
    // certificate gets no countdown.
    let inside = end() - Duration::days(20);
    assert_eq!(
        codes(&pool, inside).await,
        expect(&[
            ("private_key.expiring", Severity::Critical),
            ("certificate.expiring", Severity::Warning),
            ("cryptopro.license_expiring", Severity::Warning),
            ("token.pin_count_low", Severity::Warning),
        ])
    );
    let found = current_findings(&pool, inside, (30, 14)).await.unwrap();
    let cert = found
        .iter()
        .find(|f| f.code == "certificate.expiring")
        .unwrap();
    assert_eq!(cert.hostname, "buh-01");
    assert_eq!(cert.agent_id, agent);
    assert_eq!(
        cert.subject,
        format!("certificate \"Сотрудник 0\" ({})", cert_hashes(0).0)
    );
    assert_eq!(
        cert.message,
        "The certificate expires in 20 days, on 2027-03-05 09:00 UTC."
    );
    assert!(cert.remediation.starts_with("Start re-issuing now"));
    let key = found
        .iter()
        .find(|f| f.code == "private_key.expiring")
        .unwrap();
    assert_eq!(
        key.subject,
        "container \"le-0000\" (/var/opt/cprocsp/keys/buh/cont00.000)"
    );

    // After every end: all expired; the lapsed CA certificate is a warning.
    assert_eq!(
        codes(&pool, end() + Duration::days(10)).await,
        expect(&[
            ("certificate.expired", Severity::Critical),
            ("cryptopro.license_expired", Severity::Critical),
            ("private_key.expired", Severity::Critical),
            ("certificate.expired", Severity::Warning),
            ("token.pin_count_low", Severity::Warning),
        ])
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn only_present_certificates_and_active_hosts_count(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let a = agent(&pool, office, "buh-01").await;
    let b = agent(&pool, office, "buh-02").await;
    apply_report(&pool, a, &request(1, &ageing("buh-01")), base())
        .await
        .unwrap();
    apply_report(&pool, b, &request(1, &ageing("buh-02")), base())
        .await
        .unwrap();

    // Host a no longer has certificate 0; host b is revoked.
    let mut without = ageing("buh-01");
    without.certificates.remove(0);
    apply_report(&pool, a, &request(2, &without), base())
        .await
        .unwrap();
    sqlx::query("update agents set revoked_at = now() where id = $1")
        .bind(b)
        .execute(&pool)
        .await
        .unwrap();

    let found = current_findings(&pool, end() - Duration::days(20), (30, 14))
        .await
        .unwrap();
    assert!(
        found
            .iter()
            .all(|f| f.agent_id == a && f.hostname == "buh-01")
    );
    assert!(
        !found.iter().any(|f| f.code == "certificate.expiring"),
        "{found:?}"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_demo_licence_turns_critical_when_it_ends(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let mut inventory = workstation("buh-01");
    let csp = inventory
        .components
        .as_mut()
        .unwrap()
        .cryptopro
        .as_mut()
        .unwrap();
    let license = csp.license.as_mut().unwrap();
    license.demo = true;
    license.expires = ts(end());
    apply_report(&pool, agent, &request(1, &inventory), base())
        .await
        .unwrap();

    let demo = |found: Vec<tokenwatch_server::findings::HostFinding>| {
        found
            .into_iter()
            .filter(|f| f.code.starts_with("cryptopro."))
            .map(|f| (f.code, f.severity))
            .collect::<Vec<_>>()
    };
    let before = current_findings(&pool, end() - Duration::days(1), (30, 14))
        .await
        .unwrap();
    assert_eq!(
        demo(before),
        expect(&[("cryptopro.license_demo", Severity::Warning)])
    );
    let after = current_findings(&pool, end() + Duration::days(1), (30, 14))
        .await
        .unwrap();
    assert_eq!(
        demo(after),
        expect(&[("cryptopro.license_demo", Severity::Critical)])
    );
}
