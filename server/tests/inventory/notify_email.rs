//! E-mail notifications end to end: reports ingested, alerts evaluated with the clock moved
//! across thresholds, the deliverer sending digests to a real SMTP server (aiosmtpd, STARTTLS
//! and AUTH required), and the mails read back as received: one digest per recipient group and
//! round, Russian by default and English on request, through escalation, repeat,
//! acknowledgement, silence and resolution; restarts that send nothing twice; a wrong password
//! or a server outage retried until the digest goes; no mail to a server without STARTTLS.

mod fixture;
mod sink;

use chrono::Duration;
use sqlx::PgPool;
use tokenwatch_server::alerts::{self, NewSilence};
use tokenwatch_server::config::Language;
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::notify::Round;

use self::fixture::*;
use self::sink::{Mode, PASSWORD, Sink};
use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn one_digest_per_group_and_round_from_warning_to_resolution(pool: PgPool) {
    let files = Files::new();
    let server = Sink::start(Mode::Secure(&files.ca), 0, &files.store()).await;
    let config = config(&format!("{BUH}{IT}"), server.port, &files);
    let accounting = office(&pool, "Бухгалтерия").await;
    let warehouse = office(&pool, "Склад").await;
    let mut buh_agents = Vec::new();
    for name in ["buh-01", "buh-02"] {
        let id = agent(&pool, accounting, name).await;
        apply_report(&pool, id, &request(1, &buh(name)), base())
            .await
            .unwrap();
        buh_agents.push(id);
    }
    let sklad_01 = agent(&pool, warehouse, "sklad-01").await;
    apply_report(&pool, sklad_01, &request(1, &sklad("sklad-01")), base())
        .await
        .unwrap();
    let buh_to = ["buh-lead@example.org", "Иванова Анна <ivanova@example.org>"];
    let it_to = ["it@example.org"];
    let script = cert_subject(0, SCRIPT_CN);
    let first = cert_subject(1, "Сотрудник 1");
    let own = cert_subject(100, "Кладовщик");
    // Alerts of one evaluation are numbered in key order, that is by certificate hash.
    let mut by_key = [(cert_hashes(0).1, &script), (cert_hashes(1).1, &first)];
    by_key.sort();

    // Three certificates enter the warning window in one evaluation: the accountants get one
    // digest of their two, IT one of all three.
    let t1 = end() - Duration::days(20);
    evaluate(&pool, t1).await;
    let mut deliver = deliverer(&pool, &config);
    let round = step(&mut deliver, t1).await;
    assert_eq!((round.routed, round.sent, round.failed), (3, 5, 0));
    let mails = server.received();
    assert_eq!(mails.len(), 2);
    let (ru, en) = (&mails[0], &mails[1]);
    assert_digest(&pool, ru, &buh_to, Language::Ru, t1).await;
    assert_eq!(ru.subject, "[tokenwatch] предупреждение — новые: 2");
    assert_eq!(
        headlines(ru),
        by_key
            .iter()
            .map(|(_, subject)| format!("Новая проблема (предупреждение): {subject}"))
            .collect::<Vec<_>>()
    );
    assert!(ru.text.contains(&format!(
        "  Компьютеры: buh-01, buh-02\n  Офис: Бухгалтерия\n  Сертификат: {SCRIPT_CN}; \
         издатель: УЦ Тест\n  SHA-1: {}\n  Действует до: 2027-03-05 09:00 UTC\n",
        cert_hashes(0).0
    )));
    assert!(ru.text.contains("  Что сделать: "));
    assert!(
        ru.html
            .contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; Иванова")
    );
    assert!(!ru.html.contains("<script"));
    assert!(ru.html.contains("<html lang=\"ru\">"));
    assert_digest(&pool, en, &it_to, Language::En, t1).await;
    assert_eq!(en.subject, "[tokenwatch] warning — new: 3");
    assert_eq!(headlines(en).len(), 3);
    assert!(headlines(en).contains(&format!("New problem (warning): {own}").as_str()));
    assert!(en.text.contains("  Hosts: sklad-01\n  Office: Склад\n"));
    assert!(!en.html.contains("<script"));

    // A restart: a new deliverer on the same database sends nothing again.
    drop(deliver);
    let mut deliver = deliverer(&pool, &config);
    assert_eq!(
        step(&mut deliver, t1 + Duration::minutes(1)).await,
        Round::default()
    );
    assert_eq!(server.received().len(), 2);

    // Certificate 0 turns critical.
    let t2 = end() - Duration::days(13);
    evaluate(&pool, t2).await;
    assert_eq!(step(&mut deliver, t2).await.sent, 2);
    let mails = server.received();
    assert_eq!(mails.len(), 4);
    assert_digest(&pool, &mails[2], &buh_to, Language::Ru, t2).await;
    assert_eq!(
        mails[2].subject,
        format!("[tokenwatch] критично — серьёзнее: 1 · {script}")
    );
    assert_eq!(
        headlines(&mails[2]),
        [format!("Проблема стала серьёзнее (критично): {script}")]
    );
    assert_eq!(
        mails[3].subject,
        format!("[tokenwatch] critical — worse: 1 · {script}")
    );

    // Certificate 1 is silenced until after it turns critical.
    let silence = NewSilence {
        certificate: Some(cert_hashes(1).1),
        until: end() - Duration::days(9),
        comment: "замена заказана".into(),
        created_by: "helpdesk".into(),
        ..NewSilence::default()
    };
    alerts::add_silence(&pool, &silence, t2).await.unwrap();

    // A day later the unacknowledged critical certificate 0 is told again.
    let t3 = t2 + Duration::days(1);
    evaluate(&pool, t3).await;
    assert_eq!(step(&mut deliver, t3).await.sent, 2);
    let mails = server.received();
    assert_eq!(mails.len(), 6);
    assert_digest(&pool, &mails[4], &buh_to, Language::Ru, t3).await;
    assert_eq!(
        headlines(&mails[4]),
        [format!("Проблема всё ещё не решена (критично): {script}")]
    );
    assert_eq!(
        mails[5].subject,
        format!("[tokenwatch] critical — still open: 1 · {script}")
    );

    // Acknowledged, it is not repeated; certificate 1 turns critical while silenced.
    let alert = alert_id(&pool, &cert_hashes(0).1).await;
    alerts::acknowledge(&pool, alert, "ivanova", "заказали новый сертификат", t3)
        .await
        .unwrap();
    let t4 = end() - Duration::days(10);
    evaluate(&pool, t4).await;
    assert_eq!(step(&mut deliver, t4).await, Round::default());
    assert_eq!(server.received().len(), 6);

    // The silence over, certificate 1 is told as still unresolved and critical; the warehouse's
    // certificate turns critical in the same evaluation, so IT gets both in one digest.
    let t5 = end() - Duration::days(8);
    evaluate(&pool, t5).await;
    assert_eq!(step(&mut deliver, t5).await.sent, 3);
    let mails = server.received();
    assert_eq!(mails.len(), 8);
    assert_digest(&pool, &mails[6], &buh_to, Language::Ru, t5).await;
    assert_eq!(
        mails[6].subject,
        format!("[tokenwatch] критично — не решены: 1 · {first}")
    );
    assert_digest(&pool, &mails[7], &it_to, Language::En, t5).await;
    assert_eq!(
        mails[7].subject,
        "[tokenwatch] critical — worse: 1, still open: 1"
    );
    assert_eq!(
        headlines(&mails[7]),
        [
            format!("Problem got worse (critical): {own}"),
            format!("Problem still unresolved (critical): {first}"),
        ]
    );

    // Certificate 0 renewed on both hosts: resolved, with who took it on, nothing to do. (Half
    // a day on, before the next repeats are due.)
    let t6 = t5 + Duration::hours(12);
    for (id, name) in buh_agents.iter().zip(["buh-01", "buh-02"]) {
        apply_report(&pool, *id, &request(2, &buh_renewed(name)), t6)
            .await
            .unwrap();
    }
    evaluate(&pool, t6).await;
    assert_eq!(step(&mut deliver, t6).await.sent, 2);
    let mails = server.received();
    assert_eq!(mails.len(), 10);
    let resolved = &mails[8];
    assert_digest(&pool, resolved, &buh_to, Language::Ru, t6).await;
    assert_eq!(
        resolved.subject,
        format!("[tokenwatch] решены: 1 · {script}")
    );
    assert!(resolved.text.contains(
        "  Решено: 2027-02-25 21:00 UTC\n  Взято в работу: ivanova, 2027-02-21 09:00 UTC: \
         заказали новый сертификат\n\n-- \n"
    ));
    assert!(!resolved.text.contains("Что сделать"));
    assert_eq!(
        mails[9].subject,
        format!("[tokenwatch] resolved: 1 · {script}")
    );

    // Another restart: still nothing twice. Every notification went once to each channel
    // that takes it.
    drop(deliver);
    let mut deliver = deliverer(&pool, &config);
    assert_eq!(
        step(&mut deliver, t6 + Duration::hours(1)).await,
        Round::default()
    );
    let mails = server.received();
    assert_eq!(mails.len(), 10);
    for (channel, to) in [("buh", buh_to[0]), ("it", it_to[0])] {
        let mut ids: Vec<&str> = mails
            .iter()
            .filter(|mail| mail.rcpt_tos[0] == to)
            .flat_map(|mail| mail.notifications.split(", "))
            .collect();
        let sent = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), sent, "{channel}: a notification sent twice");
        let delivered: i64 = sqlx::query_scalar(
            "select count(*) from notification_deliveries \
             where channel = $1 and delivered_at is not null",
        )
        .bind(channel)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(usize::try_from(delivered).unwrap(), sent, "{channel}");
    }
    assert_eq!(
        count(
            &pool,
            "select count(*) from notification_deliveries where delivered_at is null"
        )
        .await,
        0
    );
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_wrong_password_or_an_outage_is_retried_until_the_digest_goes(pool: PgPool) {
    let files = Files::new();
    let server = Sink::start(Mode::Secure(&files.ca), 0, &files.store()).await;
    std::fs::write(files.password(), "not the password\n").unwrap();
    let config = config(BUH, server.port, &files);
    accountant(&pool).await;
    let t1 = end() - Duration::days(20);
    evaluate(&pool, t1).await;

    let mut deliver = deliverer(&pool, &config);
    let round = step(&mut deliver, t1).await;
    assert_eq!((round.routed, round.sent, round.failed), (2, 0, 2));
    assert!(server.received().is_empty());
    let failing = status(&pool, &config).await;
    assert_eq!(failing.consecutive_failures, 1);
    assert_eq!(failing.last_failure_at, Some(t1));
    assert_eq!(failing.last_success_at, None);
    assert_eq!((failing.pending, failing.abandoned), (2, 0));
    let error = failing.last_error.unwrap();
    assert!(error.contains("535"), "{error}");
    // Not again before the backoff is over, then again, still refused.
    assert_eq!(
        step(&mut deliver, t1 + Duration::seconds(30)).await,
        Round::default()
    );
    assert_eq!(
        step(&mut deliver, t1 + Duration::seconds(60)).await.failed,
        2
    );
    assert_eq!(status(&pool, &config).await.consecutive_failures, 2);

    // The password file fixed and tokenwatch restarted to read it: the digest goes, once, with
    // both notifications (the next attempt is due 120 s after the last).
    std::fs::write(files.password(), format!("{PASSWORD}\n")).unwrap();
    drop(deliver);
    let mut deliver = deliverer(&pool, &config);
    assert_eq!(
        step(&mut deliver, t1 + Duration::seconds(179)).await,
        Round::default()
    );
    let done = t1 + Duration::seconds(180);
    assert_eq!(step(&mut deliver, done).await.sent, 2);
    let mails = server.received();
    assert_eq!(mails.len(), 1);
    assert_digest(
        &pool,
        &mails[0],
        &["buh-lead@example.org", "Иванова Анна <ivanova@example.org>"],
        Language::Ru,
        done,
    )
    .await;
    assert_eq!(mails[0].subject, "[tokenwatch] предупреждение — новые: 2");
    let fine = status(&pool, &config).await;
    assert_eq!(fine.consecutive_failures, 0);
    assert_eq!(fine.last_success_at, Some(done));
    assert_eq!((fine.pending, fine.abandoned), (0, 0));

    // The server goes away while certificate 0 turns critical, and comes back on its port.
    let port = server.port;
    server.stop().await;
    let t2 = end() - Duration::days(13);
    evaluate(&pool, t2).await;
    assert_eq!(step(&mut deliver, t2).await.failed, 1);
    let down = status(&pool, &config).await;
    assert_eq!((down.consecutive_failures, down.pending), (1, 1));
    let error = down.last_error.unwrap();
    assert!(error.starts_with("cannot reach email buh"), "{error}");
    let server = Sink::start(Mode::Secure(&files.ca), port, &files.store()).await;
    let back = t2 + Duration::minutes(1);
    assert_eq!(step(&mut deliver, back).await.sent, 1);
    let mails = server.received();
    assert_eq!(mails.len(), 2);
    assert_eq!(
        headlines(&mails[1]),
        [format!(
            "Проблема стала серьёзнее (критично): {}",
            cert_subject(0, SCRIPT_CN)
        )]
    );
    assert_eq!(status(&pool, &config).await.consecutive_failures, 0);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_server_without_starttls_is_sent_nothing(pool: PgPool) {
    let files = Files::new();
    // This server offers no STARTTLS and keeps whatever it is sent in clear.
    let server = Sink::start(Mode::Plain, 0, &files.store()).await;
    let config = config(BUH, server.port, &files);
    accountant(&pool).await;
    let t1 = end() - Duration::days(20);
    evaluate(&pool, t1).await;

    let mut deliver = deliverer(&pool, &config);
    let round = step(&mut deliver, t1).await;
    assert_eq!((round.sent, round.failed), (0, 2));
    assert!(server.received().is_empty(), "nothing went out in clear");
    let refused = status(&pool, &config).await;
    let error = refused.last_error.unwrap();
    assert!(error.contains("STARTTLS"), "{error}");
    assert_eq!((refused.pending, refused.abandoned), (2, 0));

    // The same server takes mail from a channel that was told not to require TLS, so it was
    // the client that refused.
    drop(deliver);
    let relay = config_relay(server.port);
    let mut deliver = deliverer(&pool, &relay);
    let later = t1 + Duration::minutes(5);
    assert_eq!(step(&mut deliver, later).await.sent, 2);
    let mails = server.received();
    assert_eq!(mails.len(), 1);
    assert!(!mails[0].tls);
    assert_eq!(mails[0].login, None);
    assert_eq!(
        mails[0].rcpt_tos,
        ["buh-lead@example.org", "ivanova@example.org"]
    );
}
