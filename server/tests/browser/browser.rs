//! Headless Chromium driven over WebDriver: chromedriver as a child of the test, killed with
//! the browser it started when its guard is dropped (even when a step panics), a fantoccini
//! client, and the few things every step does: go to a page, wait for an element, read its
//! text, sign in and out, and keep a screenshot.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Debian's packages `chromium` and `chromium-driver`.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long an element may take to appear after a navigation or a click.
const WAIT: Duration = Duration::from_secs(10);

/// A running chromedriver; killed, with its process group, on drop.
#[derive(Debug)]
pub(crate) struct Chromedriver {
    child: Child,
    addr: SocketAddr,
}

impl Chromedriver {
    /// Start chromedriver on a free port of 127.0.0.1 and wait until `GET /status` says it is
    /// ready.
    ///
    /// # Panics
    /// When Chromium or chromedriver is not installed (never a silent skip: CI must run these
    /// tests), or chromedriver does not become ready within 15 s.
    pub(crate) async fn start() -> Self {
        for program in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(program).exists(),
                "{program} is missing: run scripts/install-deps (it installs the Debian packages \
                 chromium and chromium-driver the browser tests drive)"
            );
        }
        // The kernel picks a free port; chromedriver binds it a moment later. Should another
        // process take it in between, chromedriver exits and is started again.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .expect("a free port")
                .port();
            let child = Command::new(CHROMEDRIVER)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group, so the guard can kill Chromium along with it.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|error| {
                    panic!("{CHROMEDRIVER} does not start ({error}): run scripts/install-deps")
                });
            let mut driver = Self {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            if driver.ready().await {
                return driver;
            }
        }
        panic!("chromedriver exited three times before answering GET /status");
    }

    /// Whether chromedriver answers `GET /status` with `ready: true` (within 15 s); `false`
    /// if it exited.
    async fn ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self
                .child
                .try_wait()
                .expect("chromedriver's state")
                .is_some()
            {
                return false;
            }
            if self.says_ready().await {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /status` (chromedriver keeps connections open, so a client that reads to the end
    /// of the stream would wait forever: reqwest reads the response by its length). Never
    /// through a proxy of the environment: chromedriver is on this machine.
    async fn says_ready(&self) -> bool {
        let Ok(client) = reqwest::Client::builder().no_proxy().build() else {
            return false;
        };
        let answer = client
            .get(format!("{}/status", self.url()))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        let Ok(answer) = answer else { return false };
        let status: serde_json::Value = answer.json().await.unwrap_or_default();
        status["value"]["ready"] == true
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started, which a
        // panicking test would otherwise leave running.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session on the dashboard at `base`, keeping screenshots in `shots`.
#[derive(Clone, Debug)]
pub(crate) struct Browser {
    client: Client,
    base: String,
    shots: PathBuf,
    started: Instant,
}

impl Browser {
    /// A new headless Chromium session through `driver`, on the dashboard at `base`; its log
    /// lines count time from `started`.
    pub(crate) async fn open(driver: &Chromedriver, base: String, started: Instant) -> Self {
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                ],
                // English first, whatever the machine's locale: the steps switch to Russian
                // themselves and check that the navigation changes.
                "prefs": { "intl.accept_languages": "en-US,en" },
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        // Plain HTTP: chromedriver listens on 127.0.0.1 only. (fantoccini's `rustls-tls`
        // would turn on rustls's aws-lc-rs beside ring in every test build of the crate, and
        // code that leaves rustls to pick its provider, like the gRPC bench's in-process TLS
        // server, would then panic.)
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .unwrap_or_else(|error| {
                panic!(
                    "Chromium does not start under chromedriver ({error}): the two must be of \
                     the same version, as scripts/install-deps installs them"
                )
            });
        Self {
            client,
            base,
            shots: screenshot_dir(),
            started,
        }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// End the browser session (Chromium exits).
    pub(crate) async fn close(self) {
        self.client.close().await.expect("the session closes");
    }

    /// Go to `path` of the dashboard and wait for the page to load.
    pub(crate) async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}"));
    }

    /// The current page's path and query.
    pub(crate) async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub(crate) async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_locator(Locator::Css(css), css).await
    }

    /// The first element matching the XPath `xpath`, waiting for it to appear.
    pub(crate) async fn wait_for_xpath(&self, xpath: &str) -> Element {
        self.wait_for_locator(Locator::XPath(xpath), xpath).await
    }

    async fn wait_for_locator(&self, locator: Locator<'_>, what: &str) -> Element {
        match self.client.wait().at_most(WAIT).for_element(locator).await {
            Ok(element) => element,
            Err(error) => {
                let path = self.path().await;
                panic!("{path} shows no {what} within {WAIT:?}: {error}")
            }
        }
    }

    /// Every element matching `css` (none is no error).
    pub(crate) async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("looking for {css}: {error}"))
    }

    /// The text a person sees in the first element matching `css` (waiting for it).
    pub(crate) async fn text_of(&self, css: &str) -> String {
        text(&self.wait_for(css).await).await
    }

    /// Empty `field`, then type `text` into it.
    pub(crate) async fn type_into(&self, field: &Element, text: &str) {
        field.clear().await.expect("the field clears");
        field.send_keys(text).await.expect("the field takes text");
    }

    /// Click `element` (a link or a submit button) and wait for the page it leads to. The
    /// address may stay the same (a form that redirects back, the language switch), so the
    /// sign of a new page is that a mark left on the old one's window is gone and the new one
    /// has loaded. While the old page unloads, the driver may answer with errors of the
    /// moment (a node leaving the document, a script cut short): those are waited out.
    pub(crate) async fn click_and_wait(&self, element: &Element) {
        self.client
            .execute("window.tokenwatchOldPage = true; return null;", vec![])
            .await
            .expect("the page takes a mark");
        element.click().await.expect("the element is clicked");
        let deadline = Instant::now() + WAIT;
        let new_page = "return window.tokenwatchOldPage === undefined \
                        && document.readyState === 'complete';";
        loop {
            let answer = self.client.execute(new_page, vec![]).await;
            if matches!(answer, Ok(serde_json::Value::Bool(true))) {
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "no new page after a click at {} ({answer:?})",
                    self.path().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait_for("body").await;
    }

    /// Sign in on the login page the browser shows, as a person would: type the name and the
    /// password into `form.login` and press its button. Waits until the page is another.
    pub(crate) async fn sign_in(&self, name: &str, password: &str) {
        let form = "form.login";
        self.type_into(
            &self.wait_for(&format!("{form} input[name=name]")).await,
            name,
        )
        .await;
        self.type_into(
            &self.wait_for(&format!("{form} input[name=password]")).await,
            password,
        )
        .await;
        let submit = self.wait_for(&format!("{form} button[type=submit]")).await;
        self.click_and_wait(&submit).await;
        let now = self.path().await;
        assert!(
            !now.starts_with("/login"),
            "{name} is still at the login page ({now}): {}",
            self.text_of("body").await
        );
    }

    /// Press the header's sign-out button.
    pub(crate) async fn sign_out(&self) {
        let button = self
            .wait_for(r#"form[action="/logout"] button[type=submit]"#)
            .await;
        self.click_and_wait(&button).await;
    }

    /// Keep a screenshot of what the window shows as `<dir>/<name>.png`, and say where it is
    /// and how long the test has run.
    pub(crate) async fn shot(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|error| panic!("screenshot {name}: {error}"));
        self.keep(name, &png);
    }

    /// Write the screenshot `png` as `<dir>/<name>.png`, and say where it is.
    pub(crate) fn keep(&self, name: &str, png: &[u8]) {
        let file = self.shots.join(format!("{name}.png"));
        std::fs::write(&file, png).unwrap_or_else(|error| panic!("{}: {error}", file.display()));
        self.log(&format!("screenshot {}", file.display()));
    }

    /// Print `what` with the time since the test started.
    pub(crate) fn log(&self, what: &str) {
        println!("[{:6.2} s] {what}", self.started.elapsed().as_secs_f64());
    }
}

/// The text a person sees in `element`.
pub(crate) async fn text(element: &Element) -> String {
    element.text().await.expect("the element's text")
}

/// `$TOKENWATCH_SCREENSHOTS`, else `target/e2e-screenshots/` of the workspace; created, and
/// without a `FAILED.png` of an earlier run (the steps' own files are overwritten).
fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("TOKENWATCH_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the workspace")
                .join("target/e2e-screenshots")
        });
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    let _ = std::fs::remove_file(dir.join("FAILED.png"));
    dir
}
