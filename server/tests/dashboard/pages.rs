//! The certificates, tokens and hosts pages and the host page: rows of the viewer's offices only,
//! filters that narrow them, paging, both languages, sign-in redirects and error pages.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokenwatch_proto::v1;
use tokenwatch_server::access::Role;
use tokenwatch_server::alerts::Settings;
use tokenwatch_server::config::AlertsConfig;
use tokenwatch_server::http::{BearerToken, HttpState, router};
use tokenwatch_server::ingest::apply_report;
use tokenwatch_server::metrics::Metrics;
use tower::ServiceExt as _;
use uuid::Uuid;

const PASSWORD: &str = "long enough passphrase";

/// The remediation of buh-01's PIN finding: several lines, and a character HTML must escape.
const PIN_REMEDIATION: &str = "Уточните у сотрудника PIN-код и попросите ввести его без спешки.\n\
     Не вводите PIN наугад: после последней попытки токен заблокируется & понадобится PUK.";

// === fixtures ===

/// Now, to the second (reports carry whole seconds).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

/// `len` hex digits derived from `seed`.
fn hash(seed: &str, len: usize) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))[..len].to_owned()
}

/// `n` days from now, half a day more (or less) so that whole days left read as `n`.
fn in_days(n: i64) -> DateTime<Utc> {
    now() + Duration::days(n) + Duration::hours(12 * n.signum())
}

fn sha1_of(cn: &str) -> String {
    hash(&format!("sha1 {cn}"), 40)
}

/// A certificate of `cn` ending at `not_after`, kept at one place.
fn certificate(
    cn: &str,
    not_after: DateTime<Utc>,
    kind: v1::SourceKind,
    location: &str,
) -> v1::Certificate {
    let is_ca = cn.starts_with("УЦ");
    v1::Certificate {
        sha256: hash(cn, 64),
        sha1: sha1_of(cn),
        serial: hash(&format!("serial {cn}"), 32).to_uppercase(),
        subject: format!("CN={cn},O=ООО Ромашка"),
        issuer: "CN=УЦ Тест Корневой,O=Тест".into(),
        subject_cn: Some(cn.into()),
        issuer_cn: Some("УЦ Тест Корневой".into()),
        organization: Some("ООО Ромашка".into()),
        not_before: ts(now() - Duration::days(300)),
        not_after: ts(not_after),
        signature_algorithm: "GOST R 34.11-2012/34.10-2012 256".into(),
        public_key_algorithm: "GOST R 34.10-2012 256".into(),
        qualified: !is_ca,
        is_ca,
        self_signed: is_ca,
        sources: vec![v1::CertificateSource {
            kind: kind.into(),
            location: location.into(),
        }],
        der: vec![0x30, 0x82, 0x01],
        ..Default::default()
    }
}

/// The root both offices' hosts keep in their stores.
fn root() -> v1::Certificate {
    certificate(
        "УЦ Тест Корневой",
        now() + Duration::days(3000),
        v1::SourceKind::CryptoproStore,
        "uRoot",
    )
}

fn token(model: &str, serial: &str, label: &str, pin: v1::PinState) -> v1::Token {
    v1::Token {
        module: "/usr/lib/librtpkcs11ecp.so".into(),
        slot_id: 0,
        label: label.into(),
        serial: serial.into(),
        manufacturer: "Aktiv Co.".into(),
        model: model.into(),
        token_family: v1::TokenFamily::Rutoken.into(),
        total_memory: Some(65_536),
        free_memory: Some(40_960),
        pin: Some(pin),
        ..Default::default()
    }
}

/// The accounting department's Rutoken: a wrong PIN was entered.
fn rutoken() -> v1::Token {
    let mut token = token(
        "Rutoken ECP",
        "3a6b0f21",
        "Иванова",
        v1::PinState {
            initialized: true,
            user_pin_initialized: true,
            count_low: true,
            ..Default::default()
        },
    );
    token.certificates = vec![sha1_of("Иванова Мария Петровна")];
    token
}

fn host(hostname: &str, os: &str, version: &str) -> Option<v1::Host> {
    Some(v1::Host {
        hostname: hostname.into(),
        os: os.into(),
        os_version: Some(version.into()),
        arch: "x86_64".into(),
        agent_version: "0.1.0".into(),
    })
}

fn finding(code: &str, severity: v1::Severity, subject: &str, remediation: &str) -> v1::Finding {
    v1::Finding {
        code: code.into(),
        severity: severity.into(),
        subject: subject.into(),
        message: format!("Обнаружено: {subject}."),
        remediation: remediation.into(),
    }
}

/// buh-01: the Rutoken with Иванова's certificate (10 days left), Петров's in a container
/// (200 days), Смирнов's expired file, an incomplete container, and the root.
fn accounting_pc(at: DateTime<Utc>) -> v1::Inventory {
    let mut ivanova = certificate(
        "Иванова Мария Петровна",
        in_days(10),
        v1::SourceKind::Token,
        "/usr/lib/librtpkcs11ecp.so#0",
    );
    ivanova.inn_le = Some("7701234567".into());
    ivanova.snils = Some("12345678901".into());
    let mut petrov = certificate(
        "Петров Пётр Ильич",
        in_days(200),
        v1::SourceKind::Container,
        "/var/opt/cprocsp/keys/buh/petrov.000",
    );
    petrov.inn = Some("500100732259".into());
    let smirnov = certificate(
        "Смирнов Олег",
        in_days(-5),
        v1::SourceKind::File,
        "/home/buh/smirnov.cer",
    );
    v1::Inventory {
        schema: "tokenwatch.inventory/v1".into(),
        collected_at: ts(at),
        host: host("buh-01", "linux", "Astra Linux 1.7"),
        readers: vec![v1::Reader {
            name: "Aktiv Rutoken ECP 00 00".into(),
            card_present: true,
            atr: Some("3B 8B 01 52 75 74 6F 6B 65 6E".into()),
            token_model: Some("Rutoken ECP".into()),
            token_family: v1::TokenFamily::Rutoken.into(),
            in_use_exclusively: false,
        }],
        tokens: vec![rutoken()],
        containers: vec![
            v1::Container {
                name: Some("le-petrov".into()),
                path: "/var/opt/cprocsp/keys/buh/petrov.000".into(),
                media: v1::Media::Hdimage.into(),
                complete: true,
                certificate_sha1: Some(sha1_of("Петров Пётр Ильич")),
                private_key_not_after: ts(at + Duration::days(100)),
                ..Default::default()
            },
            v1::Container {
                name: Some("le-broken".into()),
                path: "/var/opt/cprocsp/keys/buh/broken.000".into(),
                media: v1::Media::Hdimage.into(),
                complete: false,
                missing_files: vec!["masks2.key".into()],
                damaged_files: vec![v1::DamagedFile {
                    file: "primary2.key".into(),
                    reason: "truncated".into(),
                }],
                ..Default::default()
            },
        ],
        certificates: vec![ivanova, petrov, smirnov, root()],
        components: Some(v1::Components {
            cryptopro: Some(v1::CryptoPro {
                installed: true,
                version: Some("5.0".into()),
                build: Some("5.0.12455".into()),
                control_key_time_validity: Some(0),
                license: Some(v1::License {
                    for_version: Some("5.0".into()),
                    kind: Some("Client".into()),
                    expires: ts(at + Duration::days(500)),
                    ..Default::default()
                }),
            }),
            smart_card_service: v1::ServiceState::Running.into(),
            ccid_driver: Some("libccid 1.5.2".into()),
            pkcs11_modules: vec![v1::Pkcs11Module {
                path: "/usr/lib/librtpkcs11ecp.so".into(),
                family: v1::TokenFamily::Rutoken.into(),
            }],
            middleware: vec![v1::Middleware {
                family: v1::TokenFamily::Jacarta.into(),
                name: "JaCarta Unified Client".into(),
                path: r"C:\Program Files\Aladdin Soft\JaCarta".into(),
                version: Some("3.1.0.1234".into()),
            }],
            ..Default::default()
        }),
        findings: vec![
            finding(
                "token.pin_count_low",
                v1::Severity::Warning,
                "токен «Иванова» Rutoken ECP (серийный номер 3a6b0f21)",
                PIN_REMEDIATION,
            ),
            finding(
                "container.incomplete",
                v1::Severity::Critical,
                "контейнер le-broken",
                "Восстановите контейнер из резервной копии.",
            ),
        ],
        collectors: vec![
            v1::CollectorStatus {
                name: "pcsc".into(),
                status: v1::CollectorOutcome::Ok.into(),
                errors: vec![],
                duration_ms: 12,
            },
            v1::CollectorStatus {
                name: "certificates".into(),
                status: v1::CollectorOutcome::Partial.into(),
                errors: vec!["/home/buh/certs: permission denied".into()],
                duration_ms: 340,
            },
        ],
    }
}

/// buh-02, silent for days: it had the Rutoken before buh-01 (`with_token`), then not.
fn old_pc(at: DateTime<Utc>, with_token: bool) -> v1::Inventory {
    v1::Inventory {
        schema: "tokenwatch.inventory/v1".into(),
        collected_at: ts(at),
        host: host("buh-02", "linux", "Astra Linux 1.6"),
        tokens: if with_token { vec![rutoken()] } else { vec![] },
        ..Default::default()
    }
}

/// sklad-01 of the other office: its own token with a locked PIN and Сидоров's certificate
/// (20 days left), and the same root.
fn warehouse_pc(at: DateTime<Utc>) -> v1::Inventory {
    let mut sidorov = certificate(
        "Сидоров Кладовщик",
        in_days(20),
        v1::SourceKind::Token,
        "/usr/lib/librtpkcs11ecp.so#0",
    );
    sidorov.organization = Some("ООО Склад-Сервис".into());
    let mut token = token(
        "JaCarta GOST 2.0",
        "77aa0001",
        "Склад",
        v1::PinState {
            initialized: true,
            user_pin_initialized: true,
            locked: true,
            ..Default::default()
        },
    );
    token.certificates = vec![sidorov.sha1.clone()];
    v1::Inventory {
        schema: "tokenwatch.inventory/v1".into(),
        collected_at: ts(at),
        host: host("sklad-01", "windows", "Windows 10 Pro 22H2"),
        tokens: vec![token],
        containers: vec![v1::Container {
            name: Some("sklad-key".into()),
            path: "REGISTRY\\sklad-key".into(),
            media: v1::Media::Registry.into(),
            complete: true,
            certificate_sha1: Some(sidorov.sha1.clone()),
            ..Default::default()
        }],
        certificates: vec![sidorov, root()],
        findings: vec![finding(
            "token.pin_locked",
            v1::Severity::Critical,
            "токен «Склад» JaCarta GOST 2.0 (серийный номер 77aa0001)",
            "Разблокируйте PIN-код PUK-кодом администратора.",
        )],
        ..Default::default()
    }
}

use crate::seed::{office, ts};

/// An enrolled agent of `office`, its certificate valid for a year.
async fn agent(pool: &PgPool, office: i64, hostname: &str) -> Uuid {
    crate::seed::agent(pool, office, hostname, now() + Duration::days(365)).await
}

/// Store `inventory` as `agent`'s report number `sequence`, received when it was collected.
async fn report(pool: &PgPool, agent: Uuid, sequence: u64, inventory: &v1::Inventory) {
    let request = crate::seed::request(sequence, inventory);
    let at = inventory.collected_at.as_ref().unwrap();
    let at = DateTime::from_timestamp(at.seconds, 0).unwrap();
    apply_report(pool, agent, &request, at).await.unwrap();
}

/// The hosts of both offices.
struct Fleet {
    buh: Uuid,
    sklad: Uuid,
}

async fn fleet(pool: &PgPool) -> Fleet {
    let now = now();
    let accounting = office(pool, "Бухгалтерия").await;
    let store = office(pool, "Склад").await;
    let buh = agent(pool, accounting, "buh-01").await;
    let old = agent(pool, accounting, "buh-02").await;
    let sklad = agent(pool, store, "sklad-01").await;
    report(pool, old, 1, &old_pc(now - Duration::days(4), true)).await;
    report(pool, old, 2, &old_pc(now - Duration::days(3), false)).await;
    report(pool, buh, 1, &accounting_pc(now - Duration::hours(1))).await;
    report(pool, sklad, 1, &warehouse_pc(now - Duration::hours(1))).await;
    crate::seed::user(pool, "admin", PASSWORD, Role::Admin, None).await;
    let accounting_only = Some(&["Бухгалтерия"][..]);
    crate::seed::user(pool, "buh-it", PASSWORD, Role::Viewer, accounting_only).await;
    Fleet { buh, sklad }
}

// === a browser ===

fn app(pool: &PgPool) -> axum::Router {
    let mut alerts = Settings::from_config(&AlertsConfig::default());
    alerts.agent_interval = Duration::days(3650);
    router(HttpState {
        pool: pool.clone(),
        metrics: Arc::new(Metrics::new(std::time::Duration::from_secs(15))),
        metrics_token: None,
        api_token: BearerToken::new("configured-t0ken"),
        secure_cookies: true,
        channels: Default::default(),
        alert_defaults: Arc::new(alerts),
        // Counted on every request: tests change the inventory between requests.
        summaries: Arc::new(tokenwatch_server::query::Summaries::new(
            std::time::Duration::ZERO,
        )),
    })
}

/// An answer: status, `Location`, the cookies set and the page.
struct Page {
    status: u16,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

impl Page {
    /// The value of the cookie `name` the answer set.
    fn cookie(&self, name: &str) -> String {
        self.cookies
            .iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_else(|| panic!("no cookie {name} in {:?}", self.cookies))
            .to_owned()
    }

    /// The table `id` (from its start tag to its end).
    fn table(&self, id: &str) -> &str {
        let start = self
            .body
            .find(&format!("<table id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no table {id} in {}", self.body));
        let end = start + self.body[start..].find("</table>").unwrap();
        &self.body[start..end]
    }

    /// The rows of the table `id`'s body (none when it says nothing was found).
    fn rows(&self, id: &str) -> usize {
        let body = self.table(id).split("<tbody>").nth(1).unwrap_or_default();
        if body.contains("colspan=") {
            0
        } else {
            body.matches("<tr>").count()
        }
    }
}

async fn fetch(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<String>,
) -> Page {
    let mut request = axum::http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(body.map_or_else(axum::body::Body::empty, axum::body::Body::from))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let location = header("location").pop();
    let cookies = header("set-cookie");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), 4 << 20)
        .await
        .unwrap();
    Page {
        status,
        location,
        cookies,
        body: String::from_utf8(bytes.to_vec()).expect("pages are UTF-8"),
    }
}

/// `text` percent-encoded for a query or a form.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A signed-in browser with a language preference.
struct Browser {
    app: axum::Router,
    session: String,
    headers: Vec<(&'static str, String)>,
}

impl Browser {
    /// Sign in as `name` through the sign-in form, as a browser does.
    async fn sign_in(app: &axum::Router, name: &str) -> Self {
        let form = fetch(app, "GET", "/login?next=%2Fhosts", &[], None).await;
        assert_eq!(form.status, 200);
        let value = form.cookie("tw_login");
        assert!(
            form.body
                .contains(&format!("name=\"form\" value=\"{value}\"")),
            "{}",
            form.body
        );
        let body = format!(
            "name={}&password={}&form={}&next=%2Fhosts",
            enc(name),
            enc(PASSWORD),
            enc(&value)
        );
        let cookie = format!("tw_login={value}");
        let signed = fetch(
            app,
            "POST",
            "/login",
            &[
                ("cookie", &cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            Some(body),
        )
        .await;
        assert!(
            matches!(signed.status, 302 | 303),
            "{}: {}",
            signed.status,
            signed.body
        );
        assert_eq!(signed.location.as_deref(), Some("/hosts"));
        Browser {
            app: app.clone(),
            session: signed.cookie("tw_session"),
            headers: vec![("accept-language", "ru-RU,ru;q=0.9,en;q=0.8".into())],
        }
    }

    /// The same session, the browser asking for English (or nothing in particular).
    fn english(mut self) -> Self {
        self.headers = vec![("accept-language", "en-GB,en;q=0.9".into())];
        self
    }

    async fn get(&self, path: &str) -> Page {
        self.get_with_cookie(path, "").await
    }

    /// `path`, with `extra` added to the cookies sent.
    async fn get_with_cookie(&self, path: &str, extra: &str) -> Page {
        let cookie = format!("tw_session={}{extra}", self.session);
        let mut headers: Vec<(&str, &str)> = vec![("cookie", &cookie)];
        headers.extend(self.headers.iter().map(|(k, v)| (*k, v.as_str())));
        fetch(&self.app, "GET", path, &headers, None).await
    }

    /// `path`, which must answer a page.
    async fn page(&self, path: &str) -> Page {
        let page = self.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        page
    }
}

// === tests ===

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn each_page_lists_its_rows_with_cyrillic_intact(pool: PgPool) {
    let fleet = fleet(&pool).await;
    let app = app(&pool);
    let browser = Browser::sign_in(&app, "admin").await;

    let certificates = browser.page("/certificates").await;
    assert!(
        certificates
            .body
            .contains("<form class=\"filters\" id=\"certificate-filters\" method=\"get\"")
    );
    let table = certificates.table("certificates");
    // The root is a CA certificate: not listed unless asked for.
    assert_eq!(certificates.rows("certificates"), 4, "{table}");
    for text in [
        "Иванова Мария Петровна",
        "ООО Ромашка",
        "7701234567",
        "12345678901",
        "500100732259",
        "Петров Пётр Ильич",
        "Смирнов Олег",
        "Сидоров Кладовщик",
        "УЦ Тест Корневой",
        "le-petrov",
        "через 10 дней",
        "5 дней назад",
    ] {
        assert!(table.contains(text), "{text}: {table}");
    }
    assert!(table.contains(&format!("href=\"/hosts/{}\"", fleet.buh)));
    assert!(table.contains(&format!("href=\"/hosts/{}\"", fleet.sklad)));
    assert!(table.contains("class=\"warning\""), "10 days left: {table}");
    assert!(table.contains("class=\"expired\""), "{table}");
    assert!(
        certificates
            .body
            .contains("href=\"/api/v1/certificates?ca=false&amp;format=csv")
    );
    let authorities = browser.page("/certificates?ca=true").await;
    assert_eq!(authorities.rows("certificates"), 1);
    assert!(authorities.table("certificates").contains("buh-01"));
    assert!(authorities.table("certificates").contains("sklad-01"));

    let tokens = browser.page("/tokens").await;
    assert_eq!(tokens.rows("tokens"), 2);
    let table = tokens.table("tokens");
    for text in [
        "Rutoken ECP",
        "3a6b0f21",
        "buh-01",
        "«Иванова»",
        "осталось мало попыток",
        "JaCarta GOST 2.0",
        "77aa0001",
        "sklad-01",
        "PIN-код заблокирован",
        // Where the Rutoken was before, with when.
        "buh-02",
        &(now() - Duration::days(4)).format("%Y-%m-%d").to_string(),
    ] {
        assert!(table.contains(text), "{text}: {table}");
    }

    let hosts = browser.page("/hosts").await;
    assert_eq!(hosts.rows("hosts"), 3);
    let table = hosts.table("hosts");
    for text in [
        "buh-01",
        "buh-02",
        "sklad-01",
        "Бухгалтерия",
        "Склад",
        "Astra Linux 1.7",
        "Windows 10 Pro 22H2",
        "0.1.0",
        "container.incomplete",
        "token.pin_count_low",
        "token.pin_locked",
    ] {
        assert!(table.contains(text), "{text}: {table}");
    }
    assert!(table.contains(&format!("<a href=\"/hosts/{}\">buh-01</a>", fleet.buh)));
    // buh-02 has been silent for three days.
    assert_eq!(table.matches("class=\"warning\"").count(), 1, "{table}");
    assert!(hosts.body.contains("href=\"/api/v1/hosts?format=csv"));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_host_page_shows_what_the_helpdesk_follows(pool: PgPool) {
    let fleet = fleet(&pool).await;
    let app = app(&pool);
    let browser = Browser::sign_in(&app, "admin").await;

    let page = browser.page(&format!("/hosts/{}", fleet.buh)).await;
    let body = &page.body;
    assert!(
        body.contains("<title>buh-01 · tokenwatch</title>"),
        "{body}"
    );
    for section in [
        "findings",
        "components",
        "readers",
        "tokens",
        "containers",
        "certificates",
        "collectors",
    ] {
        assert!(
            body.contains(&format!("<section id=\"{section}\">")),
            "{section}"
        );
    }
    let findings = &body[body.find("<section id=\"findings\">").unwrap()..];
    let findings = &findings[..findings.find("</section>").unwrap()];
    // Escaped by the template, line breaks kept for the reader.
    let remediation = PIN_REMEDIATION.replace('&', "&amp;");
    assert!(
        findings.contains(&format!("<pre class=\"remediation\">{remediation}</pre>")),
        "{findings}"
    );
    assert!(findings.contains("Восстановите контейнер из резервной копии."));
    assert!(findings.contains("токен «Иванова» Rutoken ECP"));
    assert!(findings.contains("href=\"/hosts?finding=container.incomplete\""));
    for text in [
        // Components.
        "5.0.12455",
        "Client",
        "работает",
        "libccid 1.5.2",
        "/usr/lib/librtpkcs11ecp.so",
        "JaCarta Unified Client 3.1.0.1234",
        "подписывают: проверка срока отключена (ControlKeyTimeValidity = 0)",
        // Readers and tokens.
        "Aktiv Rutoken ECP 00 00",
        "3a6b0f21",
        "осталось мало попыток",
        // Containers: the broken one's files.
        "le-broken",
        "masks2.key",
        "primary2.key (truncated)",
        "диск (HDIMAGE)",
        // Certificates and where they are kept.
        "Иванова Мария Петровна",
        "хранилище КриптоПро",
        "/home/buh/smirnov.cer",
        // Collectors.
        "частично",
        "/home/buh/certs: permission denied",
    ] {
        assert!(body.contains(text), "{text}");
    }
    assert!(!body.contains("sklad-01"));

    let english = Browser::sign_in(&app, "admin")
        .await
        .english()
        .page(&format!("/hosts/{}", fleet.buh))
        .await;
    assert!(english.body.contains("Findings and what to do"));
    assert!(english.body.contains("What to do:"));
    assert!(english.body.contains(&remediation));

    // A host that reported no components says so.
    let sklad = browser.page(&format!("/hosts/{}", fleet.sklad)).await;
    assert!(
        sklad
            .body
            .contains("Агент не прислал сведений о компонентах.")
    );
    assert!(sklad.body.contains("PIN-код пользователя заблокирован"));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn filters_narrow_the_rows_and_empty_fields_mean_any(pool: PgPool) {
    fleet(&pool).await;
    let app = app(&pool);
    let browser = Browser::sign_in(&app, "admin").await;
    let certificates = |query: String| {
        let browser = &browser;
        async move { browser.page(&format!("/certificates?{query}")).await }
    };

    let one = certificates(format!("q={}", enc("Иванова"))).await;
    assert_eq!(one.rows("certificates"), 1);
    assert!(one.table("certificates").contains("Иванова Мария Петровна"));
    // The search is kept in the form.
    assert!(one.body.contains("name=\"q\" value=\"Иванова\""));

    let soon = certificates("expiring_within_days=30".into()).await;
    let table = soon.table("certificates");
    assert_eq!(soon.rows("certificates"), 2, "{table}");
    assert!(table.contains("Иванова") && table.contains("Сидоров"));
    assert!(soon.body.contains("<option value=\"30\" selected>"));

    let expired = certificates("expired=true".into()).await;
    assert_eq!(expired.rows("certificates"), 1);
    assert!(expired.table("certificates").contains("Смирнов Олег"));

    // What the form sends when nothing is chosen: every field, most of them empty.
    let all = certificates(
        "q=&office=&expiring_within_days=&expired=&qualified=&ca=false&inn=+&snils=&sort=not_after&order=asc"
            .into(),
    )
    .await;
    assert_eq!(all.rows("certificates"), 4);
    let by_inn = certificates("inn=7701234567&sort=subject&order=desc".into()).await;
    assert_eq!(by_inn.rows("certificates"), 1);
    let office = certificates(format!("office={}", enc("Склад"))).await;
    assert_eq!(office.rows("certificates"), 1);
    assert!(office.table("certificates").contains("Сидоров"));

    // Paging: the next page's link carries the filters and the cursor.
    let first = certificates("limit=3".into()).await;
    assert_eq!(first.rows("certificates"), 3);
    let start = first
        .body
        .find("href=\"/certificates?after=")
        .expect("a next page")
        + 6;
    let next = first.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    assert!(
        next.contains("ca=false") && next.contains("limit=3"),
        "{next}"
    );
    let second = browser.page(&next).await;
    assert_eq!(second.rows("certificates"), 1);
    assert!(
        second
            .body
            .contains("href=\"/certificates?ca=false&amp;limit=3\"")
    );

    let hosts = browser.page("/hosts?q=sklad&office=").await;
    assert_eq!(hosts.rows("hosts"), 1);
    assert!(hosts.table("hosts").contains("sklad-01"));
    let silent = browser.page("/hosts?silent_for_hours=24").await;
    assert_eq!(silent.rows("hosts"), 1);
    assert!(silent.table("hosts").contains("buh-02"));
    let critical = browser.page("/hosts?severity=critical&order=desc").await;
    assert_eq!(critical.rows("hosts"), 2);
    assert!(critical.table("hosts").find("sklad-01") < critical.table("hosts").find("buh-01"));
    let by_code = browser.page("/hosts?finding=container.incomplete").await;
    assert_eq!(by_code.rows("hosts"), 1);
    assert!(by_code.table("hosts").contains("buh-01"));
    let none = browser.page("/hosts?q=nowhere").await;
    assert_eq!(none.rows("hosts"), 0);
    assert!(none.body.contains("Ничего не найдено."));

    let tokens = browser.page("/tokens?q=77aa&present=").await;
    assert_eq!(tokens.rows("tokens"), 1);
    assert!(tokens.table("tokens").contains("JaCarta"));
    let by_model = browser.page("/tokens?model=rutoken").await;
    assert_eq!(by_model.rows("tokens"), 1);
    let unplugged = browser.page("/tokens?present=false").await;
    assert_eq!(unplugged.rows("tokens"), 0);
    let office = browser
        .page(&format!("/tokens?office={}", enc("Бухгалтерия")))
        .await;
    assert_eq!(office.rows("tokens"), 1);
    assert!(office.table("tokens").contains("3a6b0f21"));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn an_office_account_sees_nothing_of_another_office(pool: PgPool) {
    let fleet = fleet(&pool).await;
    let app = app(&pool);
    let browser = Browser::sign_in(&app, "buh-it").await;

    let pages = [
        "/",
        "/certificates",
        "/certificates?ca=true",
        "/certificates?expiring_within_days=30",
        "/tokens",
        "/hosts",
        "/hosts?severity=critical",
    ];
    for path in pages {
        let page = browser.page(path).await;
        for other in ["sklad-01", "Склад", "Сидоров", "77aa0001", "JaCarta"] {
            assert!(!page.body.contains(other), "{path} shows {other}");
        }
    }
    let host = browser.page(&format!("/hosts/{}", fleet.buh)).await;
    assert!(host.body.contains("buh-01"));
    assert!(!host.body.contains("sklad-01") && !host.body.contains("Склад"));
    // The shared root lists this office's host only.
    let root = browser.page("/certificates?ca=true").await;
    assert_eq!(root.rows("certificates"), 1);
    assert!(root.table("certificates").contains("buh-01"));
    // Asking for the other office by name finds nothing.
    let other = browser
        .page(&format!("/hosts?office={}", enc("Склад")))
        .await;
    assert_eq!(other.rows("hosts"), 0);
    let other = browser
        .page(&format!("/certificates?office={}", enc("Склад")))
        .await;
    assert_eq!(other.rows("certificates"), 0);

    let hidden = browser.get(&format!("/hosts/{}", fleet.sklad)).await;
    assert_eq!(hidden.status, 404);
    assert!(hidden.body.contains("Не найдено."));
    assert!(!hidden.body.contains("sklad-01"));
    let unknown = browser.get(&format!("/hosts/{}", Uuid::new_v4())).await;
    assert_eq!(unknown.status, 404);
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn pages_without_a_session_send_to_sign_in(pool: PgPool) {
    let fleet = fleet(&pool).await;
    let app = app(&pool);
    let host = format!("/hosts/{}", fleet.buh);
    let host_next = format!("%2Fhosts%2F{}", fleet.buh);
    for (path, next) in [
        ("/certificates?q=x", "%2Fcertificates%3Fq%3Dx"),
        ("/tokens", "%2Ftokens"),
        ("/hosts?severity=critical", "%2Fhosts%3Fseverity%3Dcritical"),
        (host.as_str(), host_next.as_str()),
    ] {
        for cookie in ["", "tw_session=not-a-session"] {
            let page = fetch(&app, "GET", path, &[("cookie", cookie)], None).await;
            assert!(matches!(page.status, 302 | 303), "{path}: {}", page.status);
            assert_eq!(
                page.location.as_deref(),
                Some(format!("/login?next={next}").as_str()),
                "{path}"
            );
            assert!(!page.body.contains("buh-01"));
        }
    }
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn bad_parameters_answer_an_error_page(pool: PgPool) {
    fleet(&pool).await;
    let app = app(&pool);
    let browser = Browser::sign_in(&app, "admin").await;
    for path in [
        "/certificates?limit=100000",
        "/tokens?limit=100000",
        "/hosts?limit=100000",
        "/certificates?expiring_within_days=soon",
        "/hosts?sort=colour",
        "/tokens?present=maybe",
        "/hosts?after=bm90IGEgY3Vyc29y",
        "/certificates?nope=1",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, 400, "{path}");
        assert!(page.body.starts_with("<!DOCTYPE html>"), "{path}");
    }
    let page = browser.get("/hosts?limit=100000").await;
    assert!(page.body.contains("limit is 1 to 500"), "{}", page.body);
    let page = browser.get("/hosts/not-a-uuid").await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("UUID"));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn pages_speak_russian_or_english_as_asked(pool: PgPool) {
    let fleet = fleet(&pool).await;
    let app = app(&pool);
    let russian = Browser::sign_in(&app, "admin").await;
    let english = Browser::sign_in(&app, "admin").await.english();
    let host = format!("/hosts/{}", fleet.buh);
    let cases: [(&str, &str, &str); 4] = [
        ("/certificates", "Действует до", "Valid until"),
        ("/tokens", "Где сейчас", "Where it is now"),
        ("/hosts", "Последняя связь", "Last report"),
        (
            host.as_str(),
            "Проблемы и что делать",
            "Findings and what to do",
        ),
    ];
    for (path, ru, en) in cases {
        let page = russian.page(path).await;
        assert!(page.body.contains("<html lang=\"ru\">"), "{path}");
        assert!(page.body.contains(ru) && !page.body.contains(en), "{path}");
        let page = english.page(path).await;
        assert!(page.body.contains("<html lang=\"en\">"), "{path}");
        assert!(page.body.contains(en) && !page.body.contains(ru), "{path}");
        // The chosen language wins over the browser's.
        let page = english.get_with_cookie(path, "; tw_lang=ru").await;
        assert!(page.body.contains(ru), "{path}");
        let page = russian.get_with_cookie(path, "; tw_lang=en").await;
        assert!(page.body.contains(en), "{path}");
    }
    // Data stays as stored, whatever the language.
    let page = english.page("/certificates").await;
    assert!(page.body.contains("Иванова Мария Петровна"));
    assert!(page.body.contains("in 10 days"));
}

#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn signing_in_needs_the_form_s_own_value_and_leads_only_to_this_site(pool: PgPool) {
    fleet(&pool).await;
    let app = app(&pool);
    let form = fetch(&app, "GET", "/login", &[], None).await;
    let value = form.cookie("tw_login");
    let post = |cookie: String, sent: &str, next: &str| {
        let body = format!(
            "name=admin&password={}&form={}&next={}",
            enc(PASSWORD),
            enc(sent),
            enc(next)
        );
        let app = app.clone();
        async move {
            let headers = [
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ];
            fetch(&app, "POST", "/login", &headers, Some(body)).await
        }
    };
    // A form posted from another site carries no cookie of this one, or another value.
    let forged = post(String::new(), &value, "/").await;
    assert_eq!(forged.status, 401);
    assert!(forged.cookies.iter().all(|c| !c.starts_with("tw_session=")));
    let other = post(format!("tw_login={value}"), &"0".repeat(64), "/").await;
    assert_eq!(other.status, 401);
    // After signing in, only a path of this site is gone to.
    let away = post(format!("tw_login={value}"), &value, "//evil.example/").await;
    assert_eq!(away.location.as_deref(), Some("/"));
    let session = away.cookie("tw_session");

    // Signing out needs the session's CSRF token.
    let cookie = format!("tw_session={session}");
    let page = fetch(&app, "GET", "/", &[("cookie", &cookie)], None).await;
    let csrf = page
        .body
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-out form's token")
        .to_owned();
    let form_headers = [
        ("cookie", cookie.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let refused = fetch(
        &app,
        "POST",
        "/logout",
        &form_headers,
        Some("csrf_token=x".into()),
    )
    .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        fetch(&app, "GET", "/", &[("cookie", &cookie)], None)
            .await
            .status,
        200
    );
    let out = fetch(
        &app,
        "POST",
        "/logout",
        &form_headers,
        Some(format!("csrf_token={csrf}")),
    )
    .await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    let after = fetch(&app, "GET", "/", &[("cookie", &cookie)], None).await;
    assert_eq!(after.location.as_deref(), Some("/login?next=%2F"));
}
