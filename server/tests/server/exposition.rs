//! For the metrics tests: the Prometheus text format read back into series, and `promtool`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Labels of one series, sorted by name.
pub(crate) type Labels = BTreeMap<String, String>;

/// Every sample of an exposition: metric name → label set → value.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    pub(crate) series: BTreeMap<String, BTreeMap<Labels, f64>>,
    /// Names given a `# TYPE` line, with the type.
    pub(crate) types: BTreeMap<String, String>,
}

impl Exposition {
    /// Read the Prometheus text format (0.0.4).
    ///
    /// # Panics
    /// On a line that is not a comment, a `# HELP`/`# TYPE` line or a sample.
    pub(crate) fn parse(text: &str) -> Self {
        let mut out = Self::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE line");
                out.types.insert(name.to_owned(), kind.to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (name, labels, rest) = match line.find(['{', ' ']) {
                Some(i) if line.as_bytes()[i] == b'{' => {
                    let (labels, rest) = parse_labels(&line[i + 1..]);
                    (&line[..i], labels, rest)
                }
                Some(i) => (&line[..i], Labels::new(), &line[i..]),
                None => panic!("not a sample: {line}"),
            };
            let value: f64 = rest.trim().parse().unwrap_or_else(|_| panic!("{line}"));
            let previous = out
                .series
                .entry(name.to_owned())
                .or_default()
                .insert(labels, value);
            assert!(previous.is_none(), "a series repeats: {line}");
        }
        out
    }

    /// The series of `name`, empty when there are none.
    pub(crate) fn family(&self, name: &str) -> BTreeMap<Labels, f64> {
        self.series.get(name).cloned().unwrap_or_default()
    }

    /// The value of the series `name` with exactly `labels`.
    pub(crate) fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.series.get(name)?.get(&labels_of(labels)).copied()
    }
}

/// A label set from pairs.
pub(crate) fn labels_of(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// `a="x",b="y\"z"} rest` → the labels and ` rest`.
fn parse_labels(text: &str) -> (Labels, &str) {
    let mut labels = Labels::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        let (key, after) = rest.split_once("=\"").expect("label");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        rest = &after[end + 1..];
    }
}

/// The repository's `deploy/prometheus/` folder.
pub(crate) fn prometheus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus")
}

/// Run `promtool` with `args`, feeding it `stdin`.
///
/// # Panics
/// When promtool is not installed: the checks it makes are part of the suite, never skipped.
pub(crate) fn promtool(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(prometheus_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run promtool ({error}): install the Debian package `prometheus` \
                 (scripts/install-deps does)"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write to promtool");
    child.wait_with_output().expect("promtool runs")
}

/// Assert that promtool succeeded and printed no problem.
pub(crate) fn assert_promtool_ok(output: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "promtool {what} failed:\n{stdout}\n{stderr}"
    );
}
