//! A real Alertmanager (Debian's `prometheus-alertmanager`) per test, on a free port with its own
//! configuration and storage, routing every alert to [`Sink`], a webhook receiver of the test:
//! what the sink gets is what Alertmanager would have told people.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::process::{Child, Command};

const BINARY: &str = "/usr/bin/prometheus-alertmanager";

/// How long anything awaited may take: a loaded machine runs the tests in parallel.
const PATIENCE: Duration = Duration::from_secs(30);

/// The webhook receiver Alertmanager notifies.
#[derive(Debug)]
pub(crate) struct Sink {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

/// One alert of one webhook message.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Received {
    /// `firing` or `resolved`.
    pub(crate) status: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) ends_at: DateTime<Utc>,
}

/// An Alertmanager process, killed on drop.
#[derive(Debug)]
pub(crate) struct Alertmanager {
    pub(crate) url: String,
    port: u16,
    sink_url: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    client: reqwest::Client,
}

// === impl Sink ===

impl Sink {
    pub(crate) async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(hook))
            .with_state(Arc::clone(&received));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            url,
            received,
            server,
        }
    }

    /// Everything received so far, in order.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Wait until `count` alerts have been received in all, and return them.
    pub(crate) async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let received = self.received();
            if received.len() >= count || tokio::time::Instant::now() > deadline {
                assert_eq!(received.len(), count, "received: {received:#?}");
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Assert that nothing more arrives for a while: three group intervals of the configuration
    /// below, after which Alertmanager would have sent anything it meant to.
    pub(crate) async fn assert_quiet(&self) {
        let before = self.received().len();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let received = self.received();
        assert_eq!(received.len(), before, "received: {received:#?}");
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn hook(State(received): State<Arc<Mutex<Vec<Received>>>>, Json(message): Json<Value>) {
    let alerts = message["alerts"].as_array().cloned().unwrap_or_default();
    let mut received = received.lock().unwrap();
    for alert in alerts {
        received.push(Received {
            status: alert["status"].as_str().unwrap_or_default().to_owned(),
            labels: serde_json::from_value(alert["labels"].clone()).unwrap(),
            ends_at: date(&alert["endsAt"]),
        });
    }
}

// === impl Alertmanager ===

impl Alertmanager {
    /// Start one notifying `sink`: every label set its own group, sent within a second.
    pub(crate) async fn start(sink: &Sink) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut manager = Self {
            url: format!("http://127.0.0.1:{port}"),
            port,
            sink_url: sink.url.clone(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
            client: reqwest::Client::new(),
        };
        manager.spawn().await;
        manager
    }

    async fn spawn(&mut self) {
        let config = self.dir.path().join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: sink\n  group_by: ['...']\n  group_wait: 100ms\n  \
                 group_interval: 500ms\n  repeat_interval: 1h\n\
                 receivers:\n  - name: sink\n    webhook_configs:\n      \
                 - url: {}\n        send_resolved: true\n",
                self.sink_url
            ),
        )
        .unwrap();
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("log"))
            .unwrap();
        let child = Command::new(BINARY)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.path={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", self.port))
            // Empty: no cluster, no gossip port.
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{BINARY} (scripts/install-deps): {error}"));
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        let ready = format!("{}/-/ready", self.url);
        loop {
            match self.client.get(&ready).send().await {
                Ok(response) if response.status().is_success() => return,
                _ if tokio::time::Instant::now() > deadline => {
                    panic!("Alertmanager not ready:\n{}", self.log())
                }
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Its log, for failure messages.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// Kill it, as a crash would: it loses the alerts it held.
    pub(crate) async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Start it again on the same port and storage.
    pub(crate) async fn restart(&mut self) {
        self.kill().await;
        self.spawn().await;
    }

    /// The alerts it holds as active or suppressed (not the ended ones), by `tokenwatch_key`
    /// and then severity.
    pub(crate) async fn alerts(&self) -> Vec<Value> {
        let url = format!("{}/api/v2/alerts", self.url);
        let mut alerts: Vec<Value> = self
            .client
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        alerts.sort_by_key(|a| {
            (
                a["labels"]["tokenwatch_key"].as_str().map(str::to_owned),
                a["labels"]["severity"].as_str().map(str::to_owned),
            )
        });
        alerts
    }

    /// Silence alerts whose label `name` matches the regular expression `value` for an hour.
    pub(crate) async fn silence(&self, name: &str, value: &str) -> String {
        let now = Utc::now();
        let body = serde_json::json!({
            "matchers": [{ "name": name, "value": value, "isRegex": true, "isEqual": true }],
            "startsAt": now,
            "endsAt": now + chrono::Duration::hours(1),
            "createdBy": "tests",
            "comment": "replacing the PC",
        });
        let answer: Value = self
            .client
            .post(format!("{}/api/v2/silences", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["silenceID"].as_str().unwrap().to_owned()
    }

    /// End silence `id` now.
    pub(crate) async fn expire(&self, id: &str) {
        self.client
            .delete(format!("{}/api/v2/silence/{id}", self.url))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    }
}

/// A date as Alertmanager writes it.
pub(crate) fn date(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a date: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .with_timezone(&Utc)
}
