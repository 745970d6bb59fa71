use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sqlx::PgPool;
use tonic::Code;
use tonic::transport::Identity;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::support::*;

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_enrolled_agent_reports_with_its_certificate(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.secret("Moscow office").await;
    let (agent, response) = server.enroll(&secret, "pc-7.example").await;
    assert_eq!(response.office, "Moscow office");
    assert_eq!(
        response.agent_ca_der,
        pem::parse(server.ca_pem()).expect("pem").contents()
    );
    let (_, cert) = X509Certificate::from_der(&agent.cert_der).expect("certificate");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .expect("cn")
        .as_str()
        .expect("text");
    assert_eq!(cn, agent.id);
    let san = cert
        .subject_alternative_name()
        .expect("san")
        .expect("present");
    assert_eq!(
        format!("{:?}", san.value.general_names),
        format!("[URI(\"urn:tokenwatch:agent:{}\")]", agent.id)
    );
    let eku = cert.extended_key_usage().expect("eku").expect("present");
    assert!(eku.value.client_auth && !eku.value.server_auth);
    let lifetime = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
    assert!(
        (89 * 86_400..=91 * 86_400).contains(&lifetime),
        "{lifetime}"
    );

    let (hostname, office): (String, String) = sqlx::query_as(
        "select a.hostname, o.name from agents a join offices o on o.id = a.office_id where a.id = $1::uuid",
    )
    .bind(&agent.id)
    .fetch_one(&server.pool)
    .await
    .expect("agent row");
    assert_eq!(
        (hostname.as_str(), office.as_str()),
        ("pc-7.example", "Moscow office")
    );

    let reply = server
        .as_agent(&agent)
        .await
        .report(report(1))
        .await
        .expect("report")
        .into_inner();
    assert!(reply.changed);
    let renew_after = reply.renew_after.expect("renew_after").seconds;
    let two_thirds = cert.validity().not_before.timestamp() + lifetime * 2 / 3;
    assert!((renew_after - two_thirds).abs() <= 1);
    assert_eq!(last_sequence(&server.pool, &agent.id).await, 1);
    // The same content again is applied but not "changed".
    let reply = server
        .as_agent(&agent)
        .await
        .report(report(1 + 256))
        .await
        .expect("report");
    assert!(!reply.into_inner().changed);
    assert_eq!(last_sequence(&server.pool, &agent.id).await, 257);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn wrong_expired_and_revoked_secrets_are_refused_alike(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let good = server.secret("Kazan").await;
    let expired = tokenwatch_server::registry::create_secret(
        &server.pool,
        "Kazan",
        Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
    )
    .await
    .expect("secret");
    let revoked = tokenwatch_server::registry::create_secret(&server.pool, "Kazan", None)
        .await
        .expect("secret");
    assert!(
        tokenwatch_server::registry::revoke_secret(&server.pool, revoked.id)
            .await
            .expect("revoke")
    );
    let secrets_before = secrets_snapshot(&server.pool).await;

    let mut messages = Vec::new();
    for secret in [
        format!("{good}x"),
        String::new(),
        expired.secret,
        revoked.secret,
    ] {
        let key = KeyPair::generate().expect("key");
        let status = server
            .anonymous()
            .await
            .enroll(tokenwatch_proto::v1::EnrollRequest {
                secret,
                csr_der: csr(&key),
                hostname: "pc".into(),
                agent_version: "test".into(),
            })
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
        messages.push(status.message().to_owned());
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:?}");
    assert!(agents_snapshot(&server.pool).await.is_empty());
    assert_eq!(secrets_snapshot(&server.pool).await, secrets_before);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_malformed_or_forged_csr_is_invalid(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.secret("Tver").await;
    let key = KeyPair::generate().expect("key");
    let mut forged = csr(&key);
    // Flip a bit in the signature (the end of the DER): the request no longer verifies.
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    for csr_der in [b"not a csr".to_vec(), Vec::new(), forged] {
        let status = server
            .anonymous()
            .await
            .enroll(tokenwatch_proto::v1::EnrollRequest {
                secret: secret.clone(),
                csr_der,
                hostname: "pc".into(),
                agent_version: "test".into(),
            })
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    }
    assert!(agents_snapshot(&server.pool).await.is_empty());
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_report_without_a_client_certificate_is_unauthenticated(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let agent = server.enrolled().await;
    let before = agents_snapshot(&server.pool).await;
    let status = server
        .anonymous()
        .await
        .report(report(1))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = server
        .anonymous()
        .await
        .renew(tokenwatch_proto::v1::RenewRequest {
            csr_der: csr(&agent.key),
        })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(agents_snapshot(&server.pool).await, before);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_certificate_from_another_ca_fails_the_handshake(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let agent = server.enrolled().await;
    let before = agents_snapshot(&server.pool).await;

    // Another CA issues a certificate naming the real agent.
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::default();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tokenwatch agent CA");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, agent.id.clone());
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, &issuer).expect("signed");
    let identity = Identity::from_pem(cert.pem(), key.serialize_pem());

    // TLS 1.3 finishes the client's side of the handshake first: the refusal may show at
    // connect or at the first call. Either way nothing gets through.
    let result = match server.client(Some(identity)).await {
        Ok(mut client) => client
            .report(report(1))
            .await
            .map(|_| ())
            .map_err(|s| s.code()),
        Err(_) => Err(Code::Unavailable),
    };
    let code = result.expect_err("refused");
    assert!(
        matches!(code, Code::Unavailable | Code::Unknown | Code::Internal),
        "{code:?}"
    );
    assert_eq!(agents_snapshot(&server.pool).await, before);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_revoked_agent_is_refused(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let agent = server.enrolled().await;
    server
        .as_agent(&agent)
        .await
        .report(report(1))
        .await
        .expect("report");
    let id = agent.id.parse().expect("uuid");
    assert!(
        tokenwatch_server::registry::revoke_agent(&server.pool, id)
            .await
            .expect("revoke")
    );
    let before = agents_snapshot(&server.pool).await;
    let status = server
        .as_agent(&agent)
        .await
        .report(report(2))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = server
        .as_agent(&agent)
        .await
        .renew(tokenwatch_proto::v1::RenewRequest {
            csr_der: csr(&agent.key),
        })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(agents_snapshot(&server.pool).await, before);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_report_counts_for_the_certificate_s_agent_only(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let secret = server.secret("Omsk").await;
    let (first, _) = server.enroll(&secret, "pc-1").await;
    let (second, _) = server.enroll(&secret, "pc-2").await;
    server
        .as_agent(&first)
        .await
        .report(report(3))
        .await
        .expect("report");
    // The second agent sends a higher sequence: there is no agent id in a report, so it can only
    // ever land on the second agent's row.
    server
        .as_agent(&second)
        .await
        .report(report(100))
        .await
        .expect("report");
    assert_eq!(last_sequence(&server.pool, &first.id).await, 3);
    assert_eq!(last_sequence(&server.pool, &second.id).await, 100);
    // The second agent's certificate with the first agent's key does not make a client.
    let mixed = Identity::from_pem(pem_cert(&second.cert_der), first.key.serialize_pem());
    let result = match server.client(Some(mixed)).await {
        Ok(mut client) => client.report(report(200)).await.map(|_| ()).map_err(|_| ()),
        Err(_) => Err(()),
    };
    assert!(result.is_err());
    assert_eq!(last_sequence(&server.pool, &second.id).await, 100);
    assert_eq!(last_sequence(&server.pool, &first.id).await, 3);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_oversized_report_is_resource_exhausted(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| c.grpc.max_message_size = 64 * 1024).await;
    let agent = server.enrolled().await;
    let before = agents_snapshot(&server.pool).await;
    let mut big = report(1);
    if let Some(inventory) = big.inventory.as_mut() {
        inventory.schema = "x".repeat(100 * 1024);
    }
    let status = server
        .as_agent(&agent)
        .await
        .report(big)
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(agents_snapshot(&server.pool).await, before);
    // A normal report still goes through.
    server
        .as_agent(&agent)
        .await
        .report(report(1))
        .await
        .expect("report");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn reports_beyond_the_rate_limit_are_refused(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.agents.report_burst = 2;
        c.agents.report_interval = tokenwatch_server::config::Span::from_secs(3600);
    })
    .await;
    let agent = server.enrolled().await;
    let mut client = server.as_agent(&agent).await;
    client.report(report(1)).await.expect("first");
    client.report(report(2)).await.expect("second");
    let status = client.report(report(3)).await.expect_err("limited");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status.message().contains("rate limit"),
        "{}",
        status.message()
    );
    assert_eq!(last_sequence(&server.pool, &agent.id).await, 2);
    // Another agent is not affected.
    let other = server.enrolled().await;
    server
        .as_agent(&other)
        .await
        .report(report(1))
        .await
        .expect("other agent");
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn renewal_issues_a_working_certificate(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let old = server.enrolled().await;
    let key = KeyPair::generate().expect("key");
    let reply = server
        .as_agent(&old)
        .await
        .renew(tokenwatch_proto::v1::RenewRequest { csr_der: csr(&key) })
        .await
        .expect("renews")
        .into_inner();
    let new = TestAgent {
        id: old.id.clone(),
        key,
        cert_der: reply.certificate_der,
    };
    let (_, cert) = X509Certificate::from_der(&new.cert_der).expect("certificate");
    let cn = cert
        .subject()
        .iter_common_name()
        .next()
        .expect("cn")
        .as_str()
        .expect("text");
    assert_eq!(cn, old.id);
    assert_eq!(
        reply.not_after.expect("not_after").seconds,
        cert.validity().not_after.timestamp()
    );
    let serial: String =
        sqlx::query_scalar("select certificate_serial from agents where id = $1::uuid")
            .bind(&old.id)
            .fetch_one(&server.pool)
            .await
            .expect("row");
    assert_eq!(serial, hex::encode(cert.raw_serial()));

    server
        .as_agent(&new)
        .await
        .report(report(1))
        .await
        .expect("new certificate works");
    // Within the renewal grace the replaced certificate still works.
    server
        .as_agent(&old)
        .await
        .report(report(2))
        .await
        .expect("grace");
    assert_eq!(last_sequence(&server.pool, &old.id).await, 2);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn a_replaced_certificate_stops_working_after_the_grace(pool: PgPool) {
    let server = TestServer::start_with(pool, |c| {
        c.agents.renew_grace = tokenwatch_server::config::Span::from_secs(0);
    })
    .await;
    let old = server.enrolled().await;
    let key = KeyPair::generate().expect("key");
    let reply = server
        .as_agent(&old)
        .await
        .renew(tokenwatch_proto::v1::RenewRequest { csr_der: csr(&key) })
        .await
        .expect("renews")
        .into_inner();
    let new = TestAgent {
        id: old.id.clone(),
        key,
        cert_der: reply.certificate_der,
    };
    let status = server
        .as_agent(&old)
        .await
        .report(report(1))
        .await
        .expect_err("replaced");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(last_sequence(&server.pool, &old.id).await, 0);
    server
        .as_agent(&new)
        .await
        .report(report(1))
        .await
        .expect("new certificate works");
}

/// A certificate for `agent` signed by the server's own agent CA, outside the server.
fn issued_outside(server: &TestServer, agent: &str, expired: bool) -> Identity {
    let ca_key = std::fs::read_to_string(server.data_dir.join("agent-ca/ca.key")).expect("ca key");
    let issuer =
        Issuer::from_ca_cert_pem(&server.ca_pem(), KeyPair::from_pem(&ca_key).expect("key"))
            .expect("issuer");
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, agent);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, &issuer).expect("signed");
    Identity::from_pem(cert.pem(), key.serialize_pem())
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn only_the_certificate_the_server_issued_counts(pool: PgPool) {
    let server = TestServer::start(pool).await;
    let agent = server.enrolled().await;
    let before = agents_snapshot(&server.pool).await;

    // Signed by the right CA for the right agent, but not the serial on record.
    let stray = issued_outside(&server, &agent.id, false);
    let status = server
        .client(Some(stray))
        .await
        .expect("handshake succeeds")
        .report(report(1))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);

    // An expired certificate does not get past the handshake.
    let expired = issued_outside(&server, &agent.id, true);
    let refused = match server.client(Some(expired)).await {
        Ok(mut client) => client.report(report(1)).await.is_err(),
        Err(_) => true,
    };
    assert!(refused);
    assert_eq!(agents_snapshot(&server.pool).await, before);
}
