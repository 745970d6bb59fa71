//! `deploy/prometheus/tokenwatch-rules.yml` is valid for Prometheus, and its unit tests
//! (`tokenwatch-rules.test.yml`: synthetic series either side of each threshold) pass.

use crate::exposition::{assert_promtool_ok, promtool};

#[test]
fn the_alert_rules_are_valid() {
    let output = promtool(&["check", "rules", "tokenwatch-rules.yml"], "");
    assert_promtool_ok(&output, "check rules");
    // promtool reports what it found: a file that lost its rules would still be "valid".
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("SUCCESS: 10 rules found"), "{stdout}");
}

#[test]
fn the_alerts_fire_at_the_thresholds() {
    let output = promtool(&["test", "rules", "tokenwatch-rules.test.yml"], "");
    assert_promtool_ok(&output, "test rules");
}
