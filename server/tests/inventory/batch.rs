//! Reports stored together in one transaction: the same rows as one by one, every outcome
//! answered to its own report, and one report the database refuses fails alone.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokenwatch_proto::{ReportEnvelope, v1};
use tokenwatch_server::ingest::{
    Applied, Credential, Ingest, IngestError, IngestOptions, apply_report, apply_together,
};
use uuid::Uuid;

use crate::support::*;

const CHANGED: Applied = Applied::CHANGED;
const UNCHANGED: Applied = Applied::UNCHANGED;
const DUPLICATE: Applied = Applied::DUPLICATE;

/// Host `i`'s inventory in `round`: hosts differ in what they hold, and the second round takes
/// things away and adds a finding, so sightings go as well as come.
fn inventory(i: usize, round: usize) -> v1::Inventory {
    let mut inv = workstation(&format!("ws-{i:02}"));
    inv.containers.truncate(10 - i % 4);
    if i % 2 == 1 {
        inv.tokens.clear();
    }
    if round == 1 {
        inv.certificates.truncate(40 + i % 3);
        inv.containers.truncate(5);
        inv.readers[0].card_present = !inv.readers[0].card_present;
        inv.findings.push(v1::Finding {
            code: "container.incomplete".into(),
            severity: v1::Severity::Warning.into(),
            subject: format!("ws-{i:02}"),
            message: "m".into(),
            remediation: "r".into(),
        });
    }
    inv
}

/// Everything stored about `agent`, with identities by their natural keys, for comparing two
/// hosts' rows.
async fn host_rows(pool: &PgPool, agent: Uuid) -> Vec<String> {
    let queries = [
        "select (to_jsonb(t) - 'agent_id')::text from hosts t where agent_id = $1",
        "select (to_jsonb(t) - 'agent_id')::text from host_readers t where agent_id = $1 order by ordinal",
        "select (to_jsonb(t) - 'agent_id')::text from host_tokens t where agent_id = $1 order by ordinal",
        "select (to_jsonb(t) - 'agent_id' - 'container_id')::text from host_containers t \
         where agent_id = $1 order by ordinal",
        "select (to_jsonb(t) - 'agent_id')::text from host_findings t where agent_id = $1 order by ordinal",
        "select (to_jsonb(t) - 'agent_id')::text from host_collectors t where agent_id = $1 order by ordinal",
        "select concat_ws(' ', k.model, k.serial, s.first_seen_at, s.last_seen_at, s.present) \
         from token_sightings s join tokens k on k.id = s.token_id where s.agent_id = $1 \
         order by 1",
        "select concat_ws(' ', c.sha256, s.first_seen_at, s.last_seen_at, s.present, s.sources, \
             s.issuer_present) \
         from certificate_sightings s join certificates c on c.id = s.certificate_id \
         where s.agent_id = $1 order by 1",
        "select concat_ws(' ', c.path, c.name, c.first_seen_at, s.first_seen_at, s.last_seen_at, \
             s.present) \
         from container_sightings s join containers c on c.id = s.container_id \
         where s.agent_id = $1 order by 1",
        "select concat_ws(' ', last_sequence, last_seen_at, encode(content_sha256, 'hex')) \
         from agents where id = $1",
    ];
    let mut rows = Vec::new();
    for sql in queries {
        let found: Vec<String> = sqlx::query_scalar(sql)
            .bind(agent)
            .fetch_all(pool)
            .await
            .unwrap();
        rows.push(found.join("\n"));
    }
    rows
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_batch_stores_what_reports_alone_store(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let mut together = Vec::new();
    let mut alone = Vec::new();
    for i in 0..8 {
        together.push(agent(&pool, office, &format!("ws-{i:02}")).await);
        alone.push(agent(&pool, office, &format!("ws-{i:02}")).await);
    }
    let times = [base(), base() + Duration::hours(1)];
    for (round, &at) in times.iter().enumerate() {
        let reports = together
            .iter()
            .enumerate()
            .map(|(i, a)| (*a, request(round as u64 + 1, &inventory(i, round)), at))
            .collect();
        let outcomes = apply_together(&pool, reports).await;
        assert!(
            outcomes.iter().all(|o| matches!(o, Ok(a) if *a == CHANGED)),
            "{outcomes:?}"
        );
        for (i, a) in alone.iter().enumerate() {
            let applied = apply_report(
                &pool,
                *a,
                &request(round as u64 + 1, &inventory(i, round)),
                at,
            )
            .await
            .unwrap();
            assert_eq!(applied, CHANGED);
        }
    }
    for (a, b) in together.iter().zip(&alone) {
        let (batched, single) = (host_rows(&pool, *a).await, host_rows(&pool, *b).await);
        assert_eq!(batched, single);
        // Certificates were taken away: gone, last seen at the first report.
        assert!(
            batched[7].contains(&format!("{}+00 f ", times[0].format("%Y-%m-%d %H:%M:%S"))),
            "{}",
            batched[7]
        );
    }
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn each_report_in_a_batch_gets_its_own_answer(pool: PgPool) {
    let office = office(&pool, "Филиал Тверь").await;
    let [fresh, same, old, revoked] = [
        agent(&pool, office, "fresh").await,
        agent(&pool, office, "same").await,
        agent(&pool, office, "old").await,
        agent(&pool, office, "revoked").await,
    ];
    let t0 = base();
    let t1 = t0 + Duration::minutes(15);
    for a in [same, old] {
        apply_report(&pool, a, &request(5, &workstation("ws")), t0)
            .await
            .unwrap();
    }
    sqlx::query("update agents set revoked_at = $2 where id = $1")
        .bind(revoked)
        .bind(t0)
        .execute(&pool)
        .await
        .unwrap();
    let mut invalid = request(1, &workstation("ws"));
    invalid.inventory.as_mut().unwrap().schema = "something/else".into();

    let outcomes = apply_together(
        &pool,
        vec![
            (fresh, request(1, &workstation("ws")), t1),
            (same, request(6, &workstation("ws")), t1),
            (old, request(5, &workstation("ws")), t1),
            (revoked, request(1, &workstation("ws")), t1),
            (Uuid::new_v4(), request(1, &workstation("ws")), t1),
            (fresh, invalid, t1),
            // A second report of one agent goes into the next transaction, after the first.
            (fresh, request(2, &workstation("ws-renamed")), t1),
        ],
    )
    .await;
    let summary: Vec<String> = outcomes
        .iter()
        .map(|o| match o {
            Ok(a) if *a == CHANGED => "changed".into(),
            Ok(a) if *a == UNCHANGED => "unchanged".into(),
            Ok(a) if *a == DUPLICATE => "duplicate".into(),
            Err(IngestError::UnknownAgent) => "unknown".into(),
            Err(IngestError::Refused(_)) => "refused".into(),
            Err(IngestError::Invalid(_)) => "invalid".into(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "changed",
            "unchanged",
            "duplicate",
            "refused",
            "unknown",
            "invalid",
            "changed"
        ]
    );
    let agents: Vec<(Uuid, i64, Option<DateTime<Utc>>)> =
        sqlx::query_as("select id, last_sequence, last_seen_at from agents order by hostname")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected = |id: Uuid| agents.iter().find(|r| r.0 == id).map(|r| (r.1, r.2));
    assert_eq!(expected(fresh), Some((2, Some(t1))));
    assert_eq!(expected(same), Some((6, Some(t1))));
    assert_eq!(expected(old), Some((5, Some(t0))));
    assert_eq!(expected(revoked), Some((0, None)));
    let hostname: String = sqlx::query_scalar("select hostname from hosts where agent_id = $1")
        .bind(fresh)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(hostname, "ws-renamed");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_report_the_database_refuses_fails_alone(pool: PgPool) {
    // A rule of the database's own that this one report breaks: the batch is rolled back and
    // every report is tried again by itself.
    sqlx::raw_sql(
        "create function refuse_poison() returns trigger language plpgsql as $$ \
         begin \
             if new.hostname = 'poison' then raise exception 'refused by a trigger'; end if; \
             return new; \
         end $$; \
         create trigger refuse_poison before insert or update on hosts \
             for each row execute function refuse_poison();",
    )
    .execute(&pool)
    .await
    .unwrap();
    let office = office(&pool, "Головной офис").await;
    let mut agents = Vec::new();
    for name in ["ws-01", "poison", "ws-03", "ws-04"] {
        agents.push((agent(&pool, office, name).await, name));
    }
    let outcomes = apply_together(
        &pool,
        agents
            .iter()
            .map(|(a, name)| (*a, request(1, &workstation(name)), base()))
            .collect(),
    )
    .await;
    assert!(
        matches!(outcomes[1], Err(IngestError::Database(_))),
        "{outcomes:?}"
    );
    for i in [0, 2, 3] {
        assert!(matches!(outcomes[i], Ok(a) if a == CHANGED), "{outcomes:?}");
    }
    let stored: Vec<String> = sqlx::query_scalar("select hostname from hosts order by hostname")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored, ["ws-01", "ws-03", "ws-04"]);
    let sequence: i64 = sqlx::query_scalar("select last_sequence from agents where id = $1")
        .bind(agents[1].0)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        sequence, 0,
        "the refused report must not be taken as applied"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_queue_answers_many_concurrent_reporters(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let ingest = Ingest::start(
        pool.clone(),
        IngestOptions {
            writers: 2,
            max_batch: 8,
            capacity: 16,
        },
    );
    let mut agents = Vec::new();
    for i in 0..40 {
        agents.push(agent(&pool, office, &format!("ws-{i:02}")).await);
    }
    // Three reports per agent, each sent once the previous is answered, as agents do: the
    // first and third change the inventory, the second repeats the first.
    let mut tasks = Vec::new();
    for (i, a) in agents.iter().copied().enumerate() {
        let ingest = ingest.clone();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for (sequence, round) in [(1, 0), (2, 0), (3, 1)] {
                let at = base() + Duration::minutes(sequence);
                let report = request(sequence as u64, &inventory(i, round));
                let envelope = ReportEnvelope::of(&report);
                let credential = Credential::Certificate("01".into());
                answers.push(ingest.apply(a, credential, envelope, at).await.unwrap());
            }
            answers
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), [CHANGED, UNCHANGED, CHANGED]);
    }
    assert_eq!(count(&pool, "select count(*) from hosts").await, 40);
    let sequences: Vec<i64> = sqlx::query_scalar("select distinct last_sequence from agents")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(sequences, [3]);
    // Round 1 keeps 5 containers on every host.
    assert_eq!(
        count(
            &pool,
            "select count(*) from container_sightings where present"
        )
        .await,
        200
    );
}

/// The transaction ids that wrote each row of `table`: equal before and after means untouched.
async fn writers_of(pool: &PgPool, table: &str) -> Vec<String> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select xmin::text from {table} order by ctid"
    )))
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_changed_report_rewrites_only_the_lists_that_differ(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let t0 = base();
    let t1 = t0 + Duration::hours(1);
    let t2 = t0 + Duration::hours(2);
    let first = workstation("buh-01");
    apply_report(&pool, agent, &request(1, &first), t0)
        .await
        .unwrap();
    let untouched = [
        "tokens",
        "token_sightings",
        "host_tokens",
        "containers",
        "container_sightings",
        "host_containers",
        "certificates",
        "certificate_sightings",
        "host_findings",
        "host_collectors",
    ];
    let mut before = Vec::new();
    for table in untouched {
        before.push(writers_of(&pool, table).await);
    }
    let readers_before = writers_of(&pool, "host_readers").await;

    // A card pulled out: only the readers differ.
    let mut pulled = first.clone();
    pulled.readers[0].card_present = !pulled.readers[0].card_present;
    let applied = apply_report(&pool, agent, &request(2, &pulled), t1)
        .await
        .unwrap();
    assert_eq!(applied, CHANGED);
    for (table, rows) in untouched.iter().zip(&before) {
        assert_eq!(
            &writers_of(&pool, table).await,
            rows,
            "{table} was rewritten"
        );
    }
    assert_ne!(writers_of(&pool, "host_readers").await, readers_before);
    let card: bool = sqlx::query_scalar("select card_present from host_readers where ordinal = 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(card, pulled.readers[0].card_present);

    // Then a certificate removed: its sighting goes, last seen at the report before.
    let mut fewer = pulled.clone();
    let removed = fewer.certificates.pop().unwrap();
    apply_report(&pool, agent, &request(3, &fewer), t2)
        .await
        .unwrap();
    let gone: Vec<(String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select c.sha256, s.last_seen_at from certificate_sightings s \
         join certificates c on c.id = s.certificate_id where not s.present",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(gone, [(removed.sha256.to_ascii_lowercase(), Some(t1))]);
    assert_eq!(
        writers_of(&pool, "container_sightings").await,
        before[4],
        "containers did not change"
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_report_does_not_wait_for_a_transaction_that_references_its_agent(pool: PgPool) {
    let office = office(&pool, "Бухгалтерия").await;
    let agent = agent(&pool, office, "buh-01").await;
    // What inserting a row that references the agent does (an alert evaluation writing
    // alert_hosts): a key-share lock on the agent's row, held until that transaction ends.
    let mut referencing = pool.begin().await.unwrap();
    sqlx::query("select 1 from agents where id = $1 for key share")
        .bind(agent)
        .execute(&mut *referencing)
        .await
        .unwrap();
    let report = request(1, &workstation("buh-01"));
    let applied = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        apply_report(&pool, agent, &report, base()),
    )
    .await
    .expect("the report waited for the referencing transaction")
    .unwrap();
    assert_eq!(applied, CHANGED);
    referencing.rollback().await.unwrap();
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_certificate_found_somewhere_else_rewrites_its_sighting_alone(pool: PgPool) {
    let office = office(&pool, "Головной офис").await;
    let agent = agent(&pool, office, "buh-01").await;
    let first = workstation("buh-01");
    apply_report(&pool, agent, &request(1, &first), base())
        .await
        .unwrap();
    let sightings = "select c.sha256, s.sources::text, s.issuer_present, s.xmin::text \
         from certificate_sightings s join certificates c on c.id = s.certificate_id \
         order by c.sha256";
    let before: Vec<(String, String, Option<bool>, String)> =
        sqlx::query_as(sightings).fetch_all(&pool).await.unwrap();

    // Certificate 3 moved to another folder, certificate 5 lost its issuer: the same
    // certificates, so only their sightings' details change.
    let mut moved = first.clone();
    moved.certificates[3].sources[0].location = "/media/flash/moved.cer".into();
    moved.certificates[5].issuer_present = Some(false);
    apply_report(
        &pool,
        agent,
        &request(2, &moved),
        base() + Duration::hours(1),
    )
    .await
    .unwrap();
    let after: Vec<(String, String, Option<bool>, String)> =
        sqlx::query_as(sightings).fetch_all(&pool).await.unwrap();

    assert_eq!(before.len(), after.len());
    let rewritten: Vec<&str> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.3 != a.3)
        .map(|(_, a)| a.0.as_str())
        .collect();
    let sha = |i: usize| moved.certificates[i].sha256.to_ascii_lowercase();
    let mut expected = vec![sha(3), sha(5)];
    expected.sort();
    assert_eq!(
        rewritten, expected,
        "only the two changed sightings are written"
    );
    let row = |sha256: &str| after.iter().find(|r| r.0 == sha256).unwrap();
    assert!(
        row(&sha(3)).1.contains("/media/flash/moved.cer"),
        "{:?}",
        row(&sha(3))
    );
    assert_eq!(row(&sha(5)).2, Some(false));
}
