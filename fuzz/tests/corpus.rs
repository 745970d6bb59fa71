//! Every committed input of every target, run through the target's checks: the corpus (seeds
//! and what fuzzing found interesting) and the regressions (inputs that once failed a check,
//! kept after the fix). Each failure names its file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn inputs(target: &str, kind: &str) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(kind)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&folder) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_committed_input_passes_its_targets_checks() {
    let mut failures = Vec::new();
    for (target, check) in tokenwatch_fuzz::TARGETS {
        let corpus = inputs(target, "corpus");
        assert!(
            corpus.len() >= 3,
            "fuzz/corpus/{target} holds {} inputs: the seeds are missing \
             (TOKENWATCH_FUZZ_SEEDS=write cargo test -p tokenwatch-fuzz --test seeds)",
            corpus.len()
        );
        for path in corpus.iter().chain(&inputs(target, "regressions")) {
            let data = std::fs::read(path).expect("a corpus file");
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("{target}: {}: {message}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
