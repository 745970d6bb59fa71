//! Inventory list figures at 100,000 hosts, for the target "p95 under 50 ms for any list
//! page": every list of the HTTP API (`query::engine`) with its first page, a page 20 pages
//! in, every sort order both ways, the filters people use and 500-row pages; then the office
//! summary and a host page. Each as an administrator of every office and as a reader of one.
//!
//!     DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!         cargo bench -p tokenwatch-server --bench queries
//!
//! The fleet (`support/generated.rs`) is 100,000 hosts in 100 offices (2 % of them silent),
//! each with 10 certificates, the CA chain (the root on every host) and, on four hosts in ten,
//! a previous certificate, mostly expired; a token (a few gone, a few moved between hosts),
//! one or two readers, two key containers and the findings of all that: divided by
//! `BENCH_SCALE` (1: the full size; at most 100, where every office keeps the ten hosts each
//! filtered page needs rows from). It is generated inside PostgreSQL in a fresh database
//! `tokenwatch_bench_queries_<pid>`, dropped at the end (`BENCH_KEEP_DATABASE` keeps it).
//!
//! Prints the fleet's size, then a line per case: samples, p50, p95 and max in ms, the rows of
//! a page and p95 against a baseline measured in the same process (the cheapest page there is:
//! 50 agents by primary key), flagging each p95 over the target; then the worst p95.
//! `BENCH_SAMPLES` (200) per case after a warm-up run, fewer (at least 5) once a case has run
//! for `BENCH_CASE_SECONDS` (10). Asserts nothing about speed; panics when a query fails or a
//! page that must have rows has none.

#![allow(clippy::print_stdout, clippy::cast_precision_loss)]

#[path = "support/generated.rs"]
mod generated;
#[path = "support/scratch.rs"]
mod scratch;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokenwatch_server::alerts::Settings;
use tokenwatch_server::config::{AlertsConfig, HttpConfig};
use tokenwatch_server::db;
use tokenwatch_server::query::{self, ListSpec, Paged, QueryError, Summaries, engine, lists};
use uuid::Uuid;

use generated::Content;
use scratch::{Scratch, knob};

/// The target: p95 of any list page.
const TARGET_MS: f64 = 50.0;
/// How many pages in a deep page is.
const DEPTH: usize = 20;
/// The one-office reader's office: one the fleet's patterns leave typical (office 1 has every
/// token the alerts fleet lets go, every tenth office a finding on each host).
const OFFICE: &str = "office 38";
/// How many offices a regional reader has.
const REGION: usize = 10;
/// The fewest samples of a case, however slow.
const MIN_SAMPLES: usize = 5;
/// `http.summary_max_age` as configured by default.
fn summary_age() -> Duration {
    HttpConfig::default().summary_max_age.get()
}

type Params = BTreeMap<String, String>;

fn main() {
    scratch::run(bench());
}

async fn bench() {
    let scale = knob("BENCH_SCALE", 1).clamp(1, 100);
    let hosts = i64::try_from(100_000 / scale).unwrap();

    let mut scratch = Scratch::create("tokenwatch_bench_queries").await;
    let version = scratch.server_version().await;
    // One connection: every statement is prepared on it once, at its case's warm-up, as on a
    // server's long-lived connections; the samples are the steady state after that.
    let pool = db::connect(&scratch.url, 1).await.unwrap();
    db::migrate(&pool).await.unwrap();
    generate(&pool, hosts, &version).await;

    let values = Values::find(&pool).await;
    let settings = Settings::from_config(&AlertsConfig::default());
    let run = Run {
        now: Utc::now(),
        agent_interval: settings.agent_interval,
        silent_after: settings.defaults.silent_after_intervals,
        samples: knob("BENCH_SAMPLES", 200).max(MIN_SAMPLES),
        budget: Duration::from_secs(knob("BENCH_CASE_SECONDS", 10) as u64),
    };

    let baseline = measure(&pool, &mut Query::Baseline, None, &run).await;
    let baseline_p95 = baseline.p95();
    println!();
    baseline.print(baseline_p95);

    let readers = [
        ("every office (an administrator)".to_owned(), None),
        (
            format!("{OFFICE} alone ({} hosts)", values.office_hosts),
            Some(vec![values.office_id]),
        ),
        (
            format!("{REGION} offices, a region ({} hosts)", values.region_hosts),
            Some(values.region.clone()),
        ),
    ];
    let mut all = Vec::new();
    for (reader, seen) in &readers {
        println!("\nas a reader of {reader}:");
        for mut query in cases(&values) {
            let figures = measure(&pool, &mut query, seen.as_deref(), &run).await;
            figures.print(baseline_p95);
            all.push((reader.as_str(), figures));
        }
    }
    println!();
    worst(&all, |f| f.list_page, "list page");
    worst(&all, |_| true, "case");

    pool.close().await;
    scratch.finish().await;
}

/// Generate the fleet, settle it and print its size.
async fn generate(pool: &PgPool, hosts: i64, version: &str) {
    let started = Instant::now();
    generated::generate(pool, hosts, Content::Lists).await;
    let generated = started.elapsed().as_secs_f64();
    // Vacuum as well as analyse: autovacuum would otherwise take up the freshly loaded tables
    // in the middle of the figures, and a settled database has its visibility map set.
    let started = Instant::now();
    sqlx::raw_sql("vacuum (analyze)")
        .execute(pool)
        .await
        .unwrap();
    let settled = started.elapsed().as_secs_f64();
    let size: FleetSize = sqlx::query_as(
        "select (select count(*) from certificates) as certificates, \
             (select count(*) from certificate_sightings) as sightings, \
             (select count(*) from tokens) as tokens, \
             (select count(*) from host_readers) as readers, \
             (select count(*) from host_containers) as containers, \
             (select count(*) from host_findings) as findings, \
             pg_size_pretty(pg_database_size(current_database())) as bytes",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    println!(
        "fleet: {hosts} hosts in 100 offices, {} certificates ({} sightings), {} tokens, {} \
         readers, {} key containers, {} findings, {}; generated in {generated:.1} s, vacuumed \
         and analysed in {settled:.1} s; PostgreSQL {version}",
        size.certificates,
        size.sightings,
        size.tokens,
        size.readers,
        size.containers,
        size.findings,
        size.bytes,
    );
}

/// The generated fleet's rows and the database's size.
#[derive(sqlx::FromRow)]
struct FleetSize {
    certificates: i64,
    sightings: i64,
    tokens: i64,
    readers: i64,
    containers: i64,
    findings: i64,
    bytes: String,
}

/// Filter values found in the one-office reader's office, so that every filtered page has
/// rows for both readers.
struct Values {
    office_id: i64,
    office: String,
    office_hosts: i64,
    /// [`REGION`] offices, the office among them, and their hosts.
    region: Vec<i64>,
    region_hosts: i64,
    /// A person's INN on a certificate there.
    inn: String,
    /// That person's surname and given name, as found in certificate subjects.
    name: String,
    /// A token's serial there.
    serial: String,
    /// The host there with the most findings.
    host: Uuid,
    hostname: String,
}

impl Values {
    async fn find(pool: &PgPool) -> Self {
        let (office_id, office_hosts): (i64, i64) = sqlx::query_as(
            "select o.id, (select count(*) from agents g where g.office_id = o.id) \
             from offices o where o.name = $1",
        )
        .bind(OFFICE)
        .fetch_one(pool)
        .await
        .unwrap();
        let (inn, name): (String, String) = sqlx::query_as(
            "select c.inn, split_part(c.subject_cn, ' ', 1) || ' ' \
                 || split_part(c.subject_cn, ' ', 2) \
             from agents g join certificate_sightings s on s.agent_id = g.id and s.present \
                 join certificates c on c.id = s.certificate_id \
             where g.office_id = $1 and c.inn is not null order by c.id limit 1",
        )
        .bind(office_id)
        .fetch_one(pool)
        .await
        .unwrap();
        let serial: String = sqlx::query_scalar(
            "select t.serial from agents g \
                 join token_sightings s on s.agent_id = g.id and s.present \
                 join tokens t on t.id = s.token_id \
             where g.office_id = $1 order by t.id limit 1",
        )
        .bind(office_id)
        .fetch_one(pool)
        .await
        .unwrap();
        let (host, hostname): (Uuid, String) = sqlx::query_as(
            "select g.id, g.hostname from agents g where g.office_id = $1 \
             order by (select count(*) from host_findings f where f.agent_id = g.id) desc, \
                 g.hostname limit 1",
        )
        .bind(office_id)
        .fetch_one(pool)
        .await
        .unwrap();
        // The office and the offices numbered after it (offices are ids in a row).
        let region: Vec<i64> =
            sqlx::query_scalar("select id from offices where id >= $1 order by id limit $2")
                .bind(office_id)
                .bind(REGION as i64)
                .fetch_all(pool)
                .await
                .unwrap();
        let region_hosts: i64 =
            sqlx::query_scalar("select count(*) from agents where office_id = any($1)")
                .bind(&region)
                .fetch_one(pool)
                .await
                .unwrap();
        Self {
            office_id,
            office: OFFICE.to_owned(),
            office_hosts,
            region,
            region_hosts,
            inn,
            name,
            serial,
            host,
            hostname,
        }
    }
}

/// What every sample of a run shares.
struct Run {
    now: DateTime<Utc>,
    agent_interval: chrono::Duration,
    silent_after: u32,
    samples: usize,
    budget: Duration,
}

/// One thing to time.
enum Query {
    /// The cheapest page there is, for the ratios.
    Baseline,
    /// A page of a list.
    Page(&'static ListSpec, Params),
    /// The pages of a list after page [`DEPTH`], one after another, from `start` again after
    /// the last; `start` is found at the warm-up, on the list's last page if it is shorter.
    Deep {
        spec: &'static ListSpec,
        start: Option<String>,
        at: Option<String>,
        page: usize,
        last: bool,
    },
    Summary,
    /// The summary as the dashboard and the API get it: counted at most once per its age.
    SummaryKept(Summaries),
    Host(Uuid, String),
}

impl Query {
    fn page(spec: &'static ListSpec, params: &[(&str, &str)]) -> Self {
        let params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::Page(spec, params)
    }

    fn deep(spec: &'static ListSpec) -> Self {
        Self::Deep {
            spec,
            start: None,
            at: None,
            page: 1,
            last: false,
        }
    }

    fn label(&self) -> String {
        match self {
            Self::Baseline => "baseline: select * from agents order by id limit 50".to_owned(),
            Self::Page(spec, params) if params.is_empty() => format!("{} first page", spec.name),
            Self::Page(spec, params) => {
                let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{}?{}", spec.name, pairs.join("&"))
            }
            Self::Deep {
                spec, page, last, ..
            } => {
                let last = if *last { " (its last)" } else { "" };
                format!("{} from page {page} on{last}", spec.name)
            }
            Self::Summary => "summary, counted".to_owned(),
            Self::SummaryKept(_) => format!("summary within its age ({:?})", summary_age()),
            Self::Host(_, hostname) => format!("host page of {hostname}"),
        }
    }

    /// A list page, as opposed to the summary, a host page or the baseline.
    fn is_list_page(&self) -> bool {
        matches!(self, Self::Page(..) | Self::Deep { .. })
    }

    /// One run before the samples: the statement is prepared, and a deep page finds its start.
    async fn warm_up(&mut self, pool: &PgPool, seen: Option<&[i64]>, run: &Run) {
        if let Self::Deep {
            spec,
            start,
            at,
            page,
            last,
        } = self
        {
            while *page <= DEPTH {
                let fetched = fetch(pool, spec, &Params::new(), start.as_deref(), seen, run.now)
                    .await
                    .unwrap_or_else(|e| panic!("{} page {page}: {e}", spec.name));
                let Some(next) = fetched.next else {
                    *last = true;
                    break;
                };
                *start = Some(next);
                *page += 1;
            }
            at.clone_from(start);
            return;
        }
        self.run(pool, seen, run).await;
    }

    /// Run once; the rows it returned (offices for the summary, 1 for a host page).
    async fn run(&mut self, pool: &PgPool, seen: Option<&[i64]>, run: &Run) -> usize {
        let label = self.label();
        match self {
            Self::Baseline => sqlx::query("select * from agents order by id limit 50")
                .fetch_all(pool)
                .await
                .unwrap_or_else(|e| failed(&label, &e))
                .len(),
            Self::Page(spec, params) => fetch(pool, spec, params, None, seen, run.now)
                .await
                .unwrap_or_else(|e| failed(&label, &e))
                .items
                .len(),
            Self::Deep {
                spec, start, at, ..
            } => {
                let fetched = fetch(pool, spec, &Params::new(), at.as_deref(), seen, run.now)
                    .await
                    .unwrap_or_else(|e| failed(&label, &e));
                *at = fetched.next.or_else(|| start.clone());
                fetched.items.len()
            }
            Self::Summary => {
                query::summary(pool, seen, run.now, run.agent_interval, run.silent_after)
                    .await
                    .unwrap_or_else(|e| failed(&label, &e))
                    .len()
            }
            Self::SummaryKept(summaries) => summaries
                .get(pool, seen, run.agent_interval, run.silent_after)
                .await
                .unwrap_or_else(|e| failed(&label, &e))
                .len(),
            Self::Host(agent, _) => usize::from(
                query::host(pool, *agent, seen)
                    .await
                    .unwrap_or_else(|e| failed(&label, &e))
                    .is_some(),
            ),
        }
    }
}

/// A query failed: the bench is wrong, or the query.
fn failed<T>(label: &str, error: &dyn std::fmt::Display) -> T {
    panic!("{label}: {error}")
}

/// A page of `spec` as the HTTP API serves it: the parameters checked, then the statement.
async fn fetch(
    pool: &PgPool,
    spec: &'static ListSpec,
    params: &Params,
    after: Option<&str>,
    seen: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<Paged, QueryError> {
    let mut params = params.clone();
    if let Some(after) = after {
        params.insert("after".to_owned(), after.to_owned());
    }
    let request = engine::request(spec, &params)?;
    engine::run(pool, spec, &request, seen, now).await
}

/// Every case, in the order printed: for each list its first page, a deep page, every other
/// sort order both ways, the usual filters and for certificates and hosts 500 rows; then the
/// summary and a host page.
fn cases(values: &Values) -> Vec<Query> {
    let mut cases = Vec::new();
    for spec in lists::ALL {
        cases.push(Query::page(spec, &[]));
        cases.push(Query::deep(spec));
        for (i, sort) in spec.sorts.iter().enumerate() {
            for order in ["asc", "desc"] {
                // The default order ascending is the first page.
                if i > 0 || order == "desc" {
                    cases.push(Query::page(spec, &[("sort", sort.name), ("order", order)]));
                }
            }
        }
        for params in filters(spec.name, values) {
            cases.push(Query::page(spec, &params));
        }
        if matches!(spec.name, "certificates" | "hosts") {
            cases.push(Query::page(spec, &[("limit", "500")]));
        }
    }
    cases.push(Query::Summary);
    cases.push(Query::SummaryKept(Summaries::new(summary_age())));
    cases.push(Query::Host(values.host, values.hostname.clone()));
    cases
}

/// The filters people use on list `list`, each with a value that has rows.
fn filters<'v>(list: &str, values: &'v Values) -> Vec<Vec<(&'static str, &'v str)>> {
    let prefix = &values.hostname[..values.hostname.len() - 1];
    match list {
        "certificates" => vec![
            vec![("expiring_within_days", "30")],
            vec![("expired", "true")],
            vec![("office", &values.office)],
            vec![("inn", &values.inn)],
            vec![("q", &values.name)],
            vec![("qualified", "true")],
        ],
        "tokens" => vec![
            vec![("serial", &values.serial)],
            vec![("model", "JaCarta")],
            vec![("present", "false")],
        ],
        "containers" => vec![
            vec![("complete", "false")],
            vec![("expiring_within_days", "30")],
        ],
        "readers" => vec![vec![("card_present", "true")]],
        "hosts" => vec![
            vec![("q", prefix)],
            vec![("silent_for_hours", "24")],
            vec![("office", &values.office)],
        ],
        "findings" => vec![
            vec![("code", "container.incomplete")],
            vec![("severity", "critical")],
        ],
        _ => Vec::new(),
    }
}

/// One case's timings (ms, sorted) and the rows of its first sample.
struct Figures {
    label: String,
    list_page: bool,
    times: Vec<f64>,
    rows: usize,
}

impl Figures {
    /// Nearest rank.
    fn at(&self, q: f64) -> f64 {
        let rank = ((self.times.len() as f64 * q).ceil() as usize).clamp(1, self.times.len());
        self.times[rank - 1]
    }

    fn p95(&self) -> f64 {
        self.at(0.95)
    }

    fn print(&self, baseline_p95: f64) {
        let flag = if self.p95() > TARGET_MS {
            "  OVER 50 ms"
        } else {
            ""
        };
        println!(
            "  {:<58} {:>4} samples  p50 {:>8.2} ms  p95 {:>8.2} ms  max {:>8.2} ms  {:>4} rows  \
             p95 {:>7.1}x baseline{flag}",
            self.label,
            self.times.len(),
            self.at(0.5),
            self.p95(),
            self.at(1.0),
            self.rows,
            self.p95() / baseline_p95,
        );
    }
}

/// Warm `query` up, then time up to `run.samples` runs of it (fewer once `run.budget` is
/// spent: a case far over the target says so in a few samples). Panics when a run fails or
/// returns no rows: every case's data is there.
async fn measure(pool: &PgPool, query: &mut Query, seen: Option<&[i64]>, run: &Run) -> Figures {
    query.warm_up(pool, seen, run).await;
    let label = query.label();
    let mut times = Vec::with_capacity(run.samples);
    let mut rows = None;
    let started = Instant::now();
    while times.len() < run.samples && (times.len() < MIN_SAMPLES || started.elapsed() < run.budget)
    {
        let sample = Instant::now();
        let returned = query.run(pool, seen, run).await;
        times.push(sample.elapsed().as_secs_f64() * 1000.0);
        assert!(returned > 0, "{label}: no rows");
        rows.get_or_insert(returned);
    }
    times.sort_by(f64::total_cmp);
    Figures {
        label,
        list_page: query.is_list_page(),
        times,
        rows: rows.unwrap_or_default(),
    }
}

/// The worst p95 of the cases `which` picks, against the target.
fn worst(all: &[(&str, Figures)], which: impl Fn(&Figures) -> bool, what: &str) {
    let picked: Vec<&(&str, Figures)> = all.iter().filter(|(_, f)| which(f)).collect();
    let over = picked.iter().filter(|(_, f)| f.p95() > TARGET_MS).count();
    let Some((reader, figures)) = picked.iter().max_by(|a, b| a.1.p95().total_cmp(&b.1.p95()))
    else {
        return;
    };
    let verdict = if figures.p95() > TARGET_MS {
        "OVER"
    } else {
        "within"
    };
    println!(
        "worst {what} p95: {:.2} ms ({} as a reader of {reader}), {verdict} the {TARGET_MS} ms \
         target; {over} of {} over it",
        figures.p95(),
        figures.label,
        picked.len(),
    );
}
