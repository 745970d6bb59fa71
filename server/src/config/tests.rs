use super::*;

#[test]
fn the_example_file_is_the_defaults() {
    let text = include_str!("../../../deploy/server.example.toml");
    let parsed = Config::from_toml(text).expect("example parses");
    assert_eq!(parsed, Config::default());
}

#[test]
fn generated_config_parses_back_to_the_defaults() {
    let text = Config::default().to_toml().expect("serialises");
    assert_eq!(Config::from_toml(&text).expect("parses"), Config::default());
}

#[test]
fn unknown_keys_are_refused() {
    assert!(Config::from_toml("[grpc]\nlisten_addr = \"0.0.0.0:1\"\n").is_err());
    assert!(Config::from_toml("nonsense = 1\n").is_err());
}

#[test]
fn a_partial_file_keeps_the_other_defaults() {
    let config = Config::from_toml("[agents]\nreport_burst = 2\n").expect("parses");
    assert_eq!(config.agents.report_burst, 2);
    assert_eq!(config.grpc, GrpcConfig::default());
}

#[test]
fn passwords_never_show() {
    for (url, shown) in [
        (
            "postgres://tw:s3cret@db.example:5432/tw",
            "postgres://tw:***@db.example:5432/tw",
        ),
        ("postgres://tw@db/tw", "postgres://tw@db/tw"),
        (
            "postgres://db/tw?user=tw&password=s3cret&sslmode=require",
            "postgres://db/tw?user=tw&password=***&sslmode=require",
        ),
        ("postgres://a:b:c@h", "postgres://a:***@h"),
    ] {
        let url = DatabaseUrl::new(url);
        assert_eq!(url.to_string(), shown);
        let config = Config {
            database: DatabaseConfig {
                url: url.clone(),
                max_connections: 1,
            },
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("s3cret"));
        assert!(!format!("{config:?}").contains(":b:"));
    }
}

#[test]
fn half_a_key_pair_is_refused() {
    let mut config = Config::default();
    config.tls.cert = Some("server.crt".into());
    assert!(config.validate().is_err());
    config.tls.key = Some("server.key".into());
    assert!(config.validate().is_ok());
}

#[test]
fn connection_limits_must_allow_something() {
    for adjust in [
        (|c: &mut Config| c.grpc.handshake_timeout = Span::from_secs(0)) as fn(&mut Config),
        |c| c.http.header_read_timeout = Span::from_secs(0),
        |c| c.grpc.max_connections = 0,
        |c| c.http.max_connections = 0,
        |c| c.http.max_connections = usize::MAX,
    ] {
        let mut config = Config::default();
        adjust(&mut config);
        assert!(config.validate().is_err(), "{config:?}");
    }
    let config = Config::from_toml("[http]\nheader_read_timeout = \"2s\"\nmax_connections = 8\n")
        .expect("parses");
    assert_eq!(config.http.header_read_timeout, Span::from_secs(2));
    assert_eq!(config.http.max_connections, 8);
    assert!(config.validate().is_ok());
}
