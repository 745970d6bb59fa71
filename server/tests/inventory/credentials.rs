//! The ingest checks the certificate an agent presented in the statement that applies its
//! report: on the path of unchanged reports (one update for the batch) as on the path of
//! changed ones (the transaction), a revoked agent or a certificate that is no longer the
//! agent's is refused and nothing is written.

use chrono::Duration;
use prost::bytes::Bytes;
use sqlx::PgPool;
use tokenwatch_proto::{ReportEnvelope, v1};
use tokenwatch_server::ingest::{Applied, Credential, Ingest, IngestError, IngestOptions};
use uuid::Uuid;

use crate::support::*;

struct Sender {
    ingest: Ingest,
    agent: Uuid,
}

impl Sender {
    async fn send(
        &self,
        serial: Option<&str>,
        sequence: u64,
        inventory: &v1::Inventory,
        minutes: i64,
    ) -> Result<Applied, IngestError> {
        let credential = serial.map_or(Credential::Authorised, |s| {
            Credential::Certificate(s.into())
        });
        let envelope = ReportEnvelope::of(&request(sequence, inventory));
        let at = base() + Duration::minutes(minutes);
        self.ingest
            .apply(self.agent, credential, envelope, at)
            .await
    }
}

fn refused(outcome: Result<Applied, IngestError>) -> String {
    match outcome {
        Err(IngestError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn only_the_current_certificate_or_the_previous_in_its_grace_gets_in(pool: PgPool) {
    let office = office(&pool, "Бухгалтерия").await;
    let agent = agent(&pool, office, "buh-01").await;
    let sender = Sender {
        ingest: Ingest::start(pool.clone(), IngestOptions::default()),
        agent,
    };
    let same = workstation("buh-01");
    let mut other = workstation("buh-01");
    other.readers[0].card_present = !other.readers[0].card_present;

    assert_eq!(
        sender.send(Some("01"), 1, &same, 0).await.unwrap(),
        Applied::CHANGED
    );
    let stored = snapshot(&pool).await;
    // Another certificate of the same CA naming this agent: neither path lets it in.
    let reason = refused(sender.send(Some("0bad"), 2, &same, 1).await);
    assert!(reason.contains("0bad"), "{reason}");
    refused(sender.send(Some("0bad"), 2, &other, 1).await);
    assert_eq!(snapshot(&pool).await, stored, "a refused report wrote");

    // A renewal: "02" is current, "01" counts for another hour.
    sqlx::query(
        "update agents set certificate_serial = '02', previous_certificate_serial = '01', \
             previous_certificate_until = $2 where id = $1",
    )
    .bind(agent)
    .bind(base() + Duration::minutes(60))
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        sender.send(Some("01"), 2, &same, 30).await.unwrap(),
        Applied::UNCHANGED
    );
    let stored = snapshot(&pool).await;
    refused(sender.send(Some("01"), 3, &same, 61).await);
    refused(sender.send(Some("01"), 3, &other, 61).await);
    assert_eq!(snapshot(&pool).await, stored, "an expired grace wrote");
    assert_eq!(
        sender.send(Some("02"), 3, &same, 62).await.unwrap(),
        Applied::UNCHANGED
    );
    assert_eq!(
        sender.send(Some("02"), 4, &other, 63).await.unwrap(),
        Applied::CHANGED
    );
    // A re-delivery is answered as such, to its agent's certificate only.
    assert_eq!(
        sender.send(Some("02"), 4, &other, 63).await.unwrap(),
        Applied::DUPLICATE
    );
    refused(sender.send(Some("01"), 4, &other, 63).await);

    sqlx::query("update agents set revoked_at = $2 where id = $1")
        .bind(agent)
        .bind(base() + Duration::minutes(64))
        .execute(&pool)
        .await
        .unwrap();
    let stored = snapshot(&pool).await;
    let reason = refused(sender.send(Some("02"), 5, &other, 65).await);
    assert!(reason.contains("revoked"), "{reason}");
    refused(sender.send(Some("02"), 5, &same, 65).await);
    refused(sender.send(Some("02"), 4, &other, 65).await);
    // Not even a caller that vouches for the agent gets a revoked agent's report in.
    refused(sender.send(None, 5, &same, 65).await);
    assert_eq!(
        snapshot(&pool).await,
        stored,
        "a revoked agent's report wrote"
    );

    let stranger = Sender {
        agent: Uuid::new_v4(),
        ..sender
    };
    assert!(matches!(
        stranger.send(Some("02"), 1, &same, 66).await,
        Err(IngestError::UnknownAgent)
    ));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_undecodable_inventory_is_refused_when_it_would_be_stored(pool: PgPool) {
    let office = office(&pool, "Бухгалтерия").await;
    let agent = agent(&pool, office, "buh-01").await;
    let ingest = Ingest::start(pool.clone(), IngestOptions::default());
    let good = ReportEnvelope::of(&request(1, &workstation("buh-01")));
    let applied = ingest
        .apply(agent, Credential::Authorised, good.clone(), base())
        .await
        .unwrap();
    assert_eq!(applied, Applied::CHANGED);
    let stored = snapshot(&pool).await;

    // Well-formed at the top, so it passes the check on arrival, with one more certificate
    // (field 7, three bytes) that is no protobuf message.
    let mut encoded = good.inventory.clone().unwrap().to_vec();
    encoded.extend_from_slice(&[0x3a, 3, 0xff, 0xff, 0xff]);
    let encoded = Bytes::from(encoded);
    let broken = ReportEnvelope {
        sequence: 2,
        content_hash: Bytes::from_static(&[9; 32]),
        inventory: Some(encoded.clone()),
    };
    let outcome = ingest
        .apply(agent, Credential::Authorised, broken, base())
        .await;
    let Err(IngestError::Invalid(reason)) = outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert!(reason.contains("cannot be decoded"), "{reason}");
    assert_eq!(snapshot(&pool).await, stored, "the refused report wrote");

    // A re-delivered sequence is answered without its inventory being looked at.
    let again = ReportEnvelope {
        sequence: 1,
        content_hash: Bytes::from_static(&[9; 32]),
        inventory: Some(encoded),
    };
    let applied = ingest
        .apply(agent, Credential::Authorised, again, base())
        .await
        .unwrap();
    assert_eq!(applied, Applied::DUPLICATE);

    // Cut off, it is refused on arrival.
    let cut = ReportEnvelope {
        sequence: 2,
        inventory: good.inventory.as_ref().map(|i| i.slice(..i.len() - 7)),
        ..good.clone()
    };
    let outcome = ingest
        .apply(agent, Credential::Authorised, cut, base())
        .await;
    assert!(
        matches!(&outcome, Err(IngestError::Invalid(r)) if r.contains("cannot be decoded")),
        "{outcome:?}"
    );

    // A report without an inventory is refused on arrival.
    let empty = ReportEnvelope {
        sequence: 2,
        inventory: None,
        ..good
    };
    let outcome = ingest
        .apply(agent, Credential::Authorised, empty, base())
        .await;
    assert!(
        matches!(&outcome, Err(IngestError::Invalid(r)) if r == "the report has no inventory"),
        "{outcome:?}"
    );
}
