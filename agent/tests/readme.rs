//! The README documents the output contract: every finding code and top-level field is in it.

use tokenwatch_agent::findings::Code;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md")
}

#[test]
fn every_finding_code_is_documented() {
    let readme = readme();
    for code in Code::ALL {
        assert!(
            readme.contains(&format!("`{}`", code.as_str())),
            "README lacks {}",
            code.as_str()
        );
    }
}

#[test]
fn every_top_level_field_is_documented() {
    let readme = readme();
    let inventory =
        tokenwatch_agent::scan::scan_with(Vec::new(), &tokenwatch_agent::ScanConfig::default());
    let json = serde_json::to_value(&inventory).expect("serialises");
    let fields = json.as_object().expect("object");
    assert_eq!(fields.len(), 10);
    for field in fields.keys() {
        let documented =
            readme.contains(&format!("`{field}`")) || readme.contains(&format!("`{field}[]`"));
        assert!(documented, "README lacks {field}");
    }
    assert_eq!(json["schema"], "tokenwatch.inventory/v1");
}
