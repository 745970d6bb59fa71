//! The dashboard in a real browser: headless Chromium driven over WebDriver (chromedriver),
//! against the real server (`run`, in-process) on a fresh `#[sqlx::test]` database, clicking
//! and typing as a person would. Each step asserts what the page shows and keeps a screenshot
//! (`NN-step.png`) in `$TOKENWATCH_SCREENSHOTS`, else `target/e2e-screenshots/`, for CI's
//! artefacts; a failing step leaves `FAILED.png` of the page it failed on.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/install-deps); without them the
//! test fails, saying so.

// Chromedriver, the fantoccini client, and the helpers the steps share.
mod browser;
// Offices, hosts, certificates, findings, alerts and accounts.
mod fixture;

#[path = "../common/launch.rs"]
mod launch;
#[path = "../common/seed.rs"]
mod seed;

use std::time::Instant;

use sqlx::PgPool;
use tempfile::TempDir;
use tokenwatch_server::config::{Config, DatabaseUrl};

use crate::browser::{Browser, Chromedriver, text};
use crate::fixture::*;
use crate::launch::{Launched, url_of};

/// The whole walk through the dashboard, one step after the other as one person (then a
/// second) would take them.
#[sqlx::test(migrator = "tokenwatch_server::db::MIGRATOR")]
async fn the_dashboard_in_a_real_browser(pool: PgPool) {
    let started = Instant::now();
    let fixture = fixture::load(&pool).await;
    let (server, _data) = start_server(&pool).await;
    let driver = Chromedriver::start().await;
    // The session cookie is `Secure`: Chromium keeps such cookies from plain-HTTP 127.0.0.1
    // too (a potentially trustworthy origin, like localhost), so the server's real settings
    // are tested as they are.
    let base = format!("http://127.0.0.1:{}", server.http.port());
    let browser = Browser::open(&driver, base, started).await;
    browser.log("server, data and browser ready");

    // The steps run as their own task so that, when one panics, the page it failed on is
    // still there to screenshot.
    let steps = tokio::spawn(steps(browser.clone(), pool.clone(), fixture));
    if let Err(failure) = steps.await {
        if let Ok(png) = browser.client().screenshot().await {
            browser.keep("FAILED", &png);
        }
        // Let chromedriver end Chromium itself; the guard kills whatever is left.
        let _ = browser.client().clone().close().await;
        match failure.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(failure) => panic!("the steps did not finish: {failure}"),
        }
    }
    browser.close().await;
    drop(driver);
    server.stop().await.expect("the server stops cleanly");
    println!("[{:6.2} s] done", started.elapsed().as_secs_f64());
}

/// Steps 1–6 in order, each one's time printed.
async fn steps(browser: Browser, pool: PgPool, fixture: Fixture) {
    let mut lap_start = Instant::now();
    let mut lap = |step: &str| {
        browser.log(&format!(
            "step {step} done in {:.2} s",
            lap_start.elapsed().as_secs_f64()
        ));
        lap_start = Instant::now();
    };
    sign_in_and_see_the_offices(&browser).await;
    lap("1 (sign in, overview)");
    filter_expiring_certificates(&browser).await;
    lap("2 (certificates)");
    read_a_host_s_findings(&browser, &fixture).await;
    lap("3 (host)");
    acknowledge_an_alert(&browser, &pool, &fixture).await;
    lap("4 (alerts)");
    a_viewer_sees_one_office_in_russian(&browser).await;
    lap("5 (sign out, viewer, Russian)");
    the_overview_on_a_phone(&browser).await;
    lap("6 (phone)");
}

/// Step 1: an anonymous visitor is sent to sign in; signed in, the operator sees a tile per
/// office.
async fn sign_in_and_see_the_offices(browser: &Browser) {
    browser.goto("/").await;
    let path = browser.path().await;
    assert!(
        path.starts_with("/login"),
        "an anonymous visitor is sent to sign in, not shown {path}"
    );
    browser.wait_for("form.login").await;
    browser.shot("01-login").await;

    browser.sign_in(OPERATOR, PASSWORD).await;
    assert_eq!(
        browser.path().await,
        "/",
        "back where the operator was going"
    );
    assert_eq!(office_tiles(browser).await, [ACCOUNTING, WAREHOUSE]);
    browser.shot("01-overview").await;
}

/// Step 2: the certificate list filtered to the next 30 days shows the soon-ending
/// certificate and not the far one.
async fn filter_expiring_certificates(browser: &Browser) {
    browser.goto("/certificates").await;
    let unfiltered = browser.text_of("table#certificates").await;
    for cn in [SOON_CN, FAR_CN, SKLAD_CN] {
        assert!(unfiltered.contains(cn), "{cn} is listed: {unfiltered}");
    }
    let form = "form#certificate-filters";
    browser
        .wait_for(&format!("{form} select[name=expiring_within_days]"))
        .await
        .select_by_value("30")
        .await
        .expect("the select offers 30 days");
    let submit = browser.wait_for(&format!("{form} [type=submit]")).await;
    browser.click_and_wait(&submit).await;

    let path = browser.path().await;
    assert!(
        path.starts_with("/certificates?") && path.contains("expiring_within_days=30"),
        "the filter is in the address, to share: {path}"
    );
    let listed = browser.text_of("table#certificates").await;
    assert!(
        listed.contains(SOON_CN),
        "{SOON_CN} ends in 12 days: {listed}"
    );
    for cn in [FAR_CN, SKLAD_CN] {
        assert!(
            !listed.contains(cn),
            "{cn} ends later than 30 days: {listed}"
        );
    }
    browser.shot("02-certificates-expiring").await;
}

/// Step 3: from the host list to a host's page, whose findings say what to do.
async fn read_a_host_s_findings(browser: &Browser, fixture: &Fixture) {
    browser.goto("/hosts").await;
    let link = browser
        .wait_for_xpath(&format!(
            "//table[@id='hosts']//a[starts-with(@href, '/hosts/')][normalize-space()='{BUH_1}']"
        ))
        .await;
    browser.click_and_wait(&link).await;

    assert_eq!(browser.path().await, format!("/hosts/{}", fixture.buh_1));
    assert_eq!(browser.text_of("h1").await, BUH_1);
    let remediation = browser.text_of("section#findings pre.remediation").await;
    assert_eq!(
        remediation.trim(),
        REMEDIATION,
        "the remediation, line breaks kept"
    );
    browser.shot("03-host").await;
}

/// Step 4: the operator acknowledges the soon-ending certificate's alert with a comment; the
/// page says it is done, and the database and the audit log agree.
async fn acknowledge_an_alert(browser: &Browser, pool: &PgPool, fixture: &Fixture) {
    browser.goto("/alerts").await;
    // The row of the certificate's alert, with its acknowledgement form.
    let row = format!(
        "//table[@id='alerts']//tr[contains(., '{SOON_CN}')]\
         [.//form[contains(concat(' ', normalize-space(@class), ' '), ' ack ')]]"
    );
    let comment_field = browser
        .wait_for_xpath(&format!("{row}//form//input[@name='comment']"))
        .await;
    let comment = "Перевыпуск заказан, заявка 4521";
    browser.type_into(&comment_field, comment).await;
    let submit = browser
        .wait_for_xpath(&format!(
            "{row}//form//*[self::button or self::input][@type='submit']"
        ))
        .await;
    browser.shot("04-alert-comment").await;
    browser.click_and_wait(&submit).await;

    assert_eq!(browser.path().await, "/alerts?done=ack");
    browser.wait_for("p.message.done").await;
    // The row now names who acknowledged it, in place of the form.
    let row = format!("//table[@id='alerts']//tr[contains(., '{SOON_CN}')]");
    let acknowledged = text(&browser.wait_for_xpath(&row).await).await;
    assert!(
        acknowledged.contains(OPERATOR),
        "the row says who acknowledged it: {acknowledged}"
    );
    let forms_left = browser
        .client()
        .find_all(fantoccini::Locator::XPath(&format!("{row}//form")))
        .await
        .expect("the row's forms");
    assert!(
        forms_left.is_empty(),
        "nothing left to acknowledge in the row"
    );
    browser.shot("04-alert-acknowledged").await;

    let key = format!("certificate:{}", fixture.soon_sha256);
    let (id, by, said): (i64, Option<String>, Option<String>) = sqlx::query_as(
        "select id, acknowledged_by, acknowledged_comment from alerts \
         where key = $1 and state = 'firing'",
    )
    .bind(&key)
    .fetch_one(pool)
    .await
    .expect("the certificate's alert fires");
    assert_eq!(by.as_deref(), Some(OPERATOR));
    assert_eq!(said.as_deref(), Some(comment));
    let audited: Vec<(String, String)> = sqlx::query_as(
        "select actor, target from audit_log where action = 'alert.acknowledge' order by id",
    )
    .fetch_all(pool)
    .await
    .expect("the audit log");
    assert_eq!(
        audited,
        [(format!("user:{OPERATOR}"), format!("alert {id}"))]
    );
}

/// Step 5: signing out leads back to the login page; the warehouse's viewer then sees none of
/// accounting's hosts, and with Russian chosen the navigation is in Russian.
async fn a_viewer_sees_one_office_in_russian(browser: &Browser) {
    browser.sign_out().await;
    assert!(browser.path().await.starts_with("/login"));
    browser.wait_for("form.login").await;
    browser.shot("05-signed-out").await;

    browser.sign_in(VIEWER, PASSWORD).await;
    assert_eq!(office_tiles(browser).await, [WAREHOUSE]);
    // The overview names hosts too (what expires, the worst findings).
    not_in_the_page(browser, &[BUH_1, BUH_2]).await;

    browser.goto("/hosts").await;
    let hosts = browser.text_of("table#hosts").await;
    assert!(
        hosts.contains(SKLAD_1),
        "the warehouse's host is listed: {hosts}"
    );
    not_in_the_page(browser, &[BUH_1, BUH_2]).await;
    browser.shot("05-viewer-hosts").await;

    assert!(browser.text_of("header nav").await.contains("Certificates"));
    let russian = browser.wait_for(r#"header a[href^="/lang/ru?"]"#).await;
    let from = browser.path().await;
    browser.click_and_wait(&russian).await;
    assert_eq!(browser.path().await, from, "back on the same page");
    let nav = browser.text_of("header nav").await;
    assert!(
        nav.contains("Сертификаты"),
        "the navigation in Russian: {nav}"
    );
    browser.shot("05-russian").await;
}

/// Step 6: the overview on a phone-sized window still shows the tiles, each within the screen.
async fn the_overview_on_a_phone(browser: &Browser) {
    browser
        .client()
        .set_window_size(390, 844)
        .await
        .expect("the window resizes");
    browser.goto("/").await;
    assert_eq!(office_tiles(browser).await, [WAREHOUSE]);
    let width = browser
        .client()
        .execute("return window.innerWidth", vec![])
        .await
        .expect("the viewport's width")
        .as_f64()
        .expect("a number");
    assert!(width <= 390.0, "a phone's viewport, not {width} px");
    for tile in browser.all(".tile").await {
        assert!(tile.is_displayed().await.expect("visibility"));
        let (x, _, w, _) = tile.rectangle().await.expect("the tile's box");
        assert!(
            x >= 0.0 && x + w <= width + 0.5,
            "the tile fits the {width} px screen: x {x}, width {w}"
        );
    }
    browser.shot("06-phone").await;
}

/// None of `hidden` (accounting's host names, which the viewer must not see) is in the page:
/// neither in the text shown nor in the markup (links, hidden fields).
async fn not_in_the_page(browser: &Browser, hidden: &[&str]) {
    let source = browser.client().source().await.expect("the page source");
    let path = browser.path().await;
    for name in hidden {
        assert!(
            !source.contains(name),
            "{path} shows {name}, a host of an office {VIEWER} does not see"
        );
    }
}

/// The offices' names on the overview's tiles, in page order.
async fn office_tiles(browser: &Browser) -> Vec<String> {
    browser.wait_for(".tile").await;
    let mut names = Vec::new();
    for heading in browser.all(".tile h3").await {
        names.push(text(&heading).await);
    }
    names
}

/// The server with its defaults (secure cookies included) on `pool`'s database, HTTP on a
/// free port of 127.0.0.1; and its data directory.
async fn start_server(pool: &PgPool) -> (Launched, TempDir) {
    let data = tempfile::tempdir().expect("a data directory");
    let mut config = Config::default();
    config.database.url = DatabaseUrl::new(url_of(pool));
    config.database.max_connections = 4;
    config.data_dir = data.path().to_owned();
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind gRPC");
    (Launched::start(config, grpc).await, data)
}
