use super::*;
use crate::config::Route;

fn channel() -> EmailChannel {
    EmailChannel {
        smtp: "mail.example.org".to_owned(),
        security: SmtpSecurity::Starttls,
        username: None,
        password_file: None,
        ca_file: None,
        from: "tokenwatch <tokenwatch@example.org>".to_owned(),
        to: vec!["it@example.org".to_owned()],
        language: Language::Ru,
        route: Route::default(),
    }
}

fn refused(config: &EmailChannel) -> String {
    Email::new("it", config, Duration::from_secs(5))
        .unwrap_err()
        .to_string()
}

#[test]
fn setup_refuses_what_could_not_work() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("password");
    std::fs::write(&password, "secret\n").unwrap();
    let empty_ca = dir.path().join("ca.pem");
    std::fs::write(&empty_ca, "not a certificate\n").unwrap();
    assert!(Email::new("it", &channel(), Duration::from_secs(5)).is_ok());

    let mut bad = channel();
    bad.from = "tokenwatch at example.org".to_owned();
    assert!(
        refused(&bad).starts_with("notify.it: from "),
        "{}",
        refused(&bad)
    );
    let mut bad = channel();
    bad.to.push("Иванова <ivanova>".to_owned());
    assert!(
        refused(&bad).starts_with("notify.it: to "),
        "{}",
        refused(&bad)
    );
    let mut bad = channel();
    bad.username = Some("tokenwatch".to_owned());
    assert_eq!(
        refused(&bad),
        "notify.it: username and password_file go together"
    );
    let mut bad = channel();
    bad.username = Some("tokenwatch".to_owned());
    bad.password_file = Some(password);
    bad.security = SmtpSecurity::None;
    assert!(
        refused(&bad).contains("never sent without TLS"),
        "{}",
        refused(&bad)
    );
    let mut bad = channel();
    bad.ca_file = Some(empty_ca);
    assert!(
        refused(&bad).ends_with("ca.pem: no PEM certificate"),
        "{}",
        refused(&bad)
    );
    let mut bad = channel();
    bad.ca_file = Some(dir.path().join("missing.pem"));
    assert!(refused(&bad).contains("cannot read"), "{}", refused(&bad));
}

#[test]
fn the_server_takes_a_port_or_the_default_of_its_security() {
    let ok = |smtp, security| server(smtp, security).unwrap();
    assert_eq!(
        ok("mail.example", SmtpSecurity::Starttls),
        ("mail.example".into(), 587)
    );
    assert_eq!(
        ok("mail.example", SmtpSecurity::Tls),
        ("mail.example".into(), 465)
    );
    assert_eq!(
        ok("mail.example:2525", SmtpSecurity::Starttls),
        ("mail.example".into(), 2525)
    );
    assert_eq!(ok("[::1]:25", SmtpSecurity::None), ("::1".into(), 25));
    assert_eq!(ok("::1", SmtpSecurity::None), ("::1".into(), 587));
    assert!(server("mail.example:smtp", SmtpSecurity::Starttls).is_err());
    assert!(server(":25", SmtpSecurity::Starttls).is_err());
}

#[test]
fn the_message_id_depends_on_the_notifications_only() {
    let from: Mailbox = "tokenwatch <tw@example.org>".parse().unwrap();
    let now = Utc::now();
    let one = |id| {
        let mut n = crate::notify::test_notification(now);
        n.id = id;
        n
    };
    let a = message_id(&[one(1), one(2)], &from);
    assert_eq!(a, message_id(&[one(1), one(2)], &from));
    assert_ne!(a, message_id(&[one(1), one(3)], &from));
    assert!(
        a.starts_with("<digest.") && a.ends_with("@example.org>"),
        "{a}"
    );
}
