use super::*;
use crate::diagnostics::Severity;
use crate::notebook::{Cell, CellKind};

fn cell(tags: &[&str]) -> Cell {
    Cell {
        index: 3,
        id: Some("abc".into()),
        kind: CellKind::Code,
        source: String::new(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        metadata: Default::default(),
    }
}

fn parse(tags: &[&str]) -> (CellTags, Vec<Diagnostic>) {
    parse_cell_tags(&cell(tags))
}

#[test]
fn roles_and_legacy_block() {
    assert_eq!(parse(&["imports"]).0.role, Role::Imports);
    assert_eq!(parse(&["step:train"]).0.role, Role::Step("train".into()));
    assert_eq!(parse(&["block:train"]).0.role, Role::Step("train".into()));
    assert_eq!(parse(&["step:"]).0.role, Role::Continue);
    assert_eq!(parse(&[]).0.role, Role::Continue);
    let (tags, diags) = parse(&["step:b", "prev:a", "prev:c"]);
    assert!(diags.is_empty());
    assert_eq!(tags.prev, vec!["a", "c"]);
}

#[test]
fn values_keep_every_character() {
    let (tags, diags) = parse(&[
        "step:a",
        "annotation:example.com/url:http://host:8080/x?a=\"b\"",
        "image:python:3.11-slim",
        "secret:db-creds:pass.word:DB_PASS",
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        tags.settings[0].0,
        StepSetting::Annotation { key: "example.com/url".into(), value: "http://host:8080/x?a=\"b\"".into() }
    );
    assert_eq!(tags.settings[1].0, StepSetting::Image("python:3.11-slim".into()));
    assert_eq!(
        tags.settings[2].0,
        StepSetting::Secret { secret: "db-creds".into(), key: "pass.word".into(), env: "DB_PASS".into() }
    );
}

#[test]
fn limits_are_validated() {
    assert!(parse_setting("limit:cpu:500m").unwrap().is_some());
    assert!(parse_setting("limit:memory:4Gi").unwrap().is_some());
    assert!(parse_setting("limit:nvidia.com/gpu:2").unwrap().is_some());
    assert!(parse_setting("limit:nvidia.com/gpu:0.5").is_err());
    assert!(parse_setting("limit:memory:lots").is_err());
    assert!(parse_setting("limit:disk:1").is_err());
    assert!(parse_setting("label:team:has space").is_err());
    assert!(parse_setting("cache:maybe").is_err());
}

#[test]
fn misspelt_tags_are_errors_with_hints_and_foreign_tags_warnings() {
    let (_, diags) = parse(&["setp:train"]);
    assert_eq!(diags[0].severity, Severity::Error);
    assert_eq!(diags[0].hint.as_deref(), Some("did you mean `step:train`?"));
    let (_, diags) = parse(&["import"]);
    assert_eq!(diags[0].hint.as_deref(), Some("did you mean `imports`?"));
    let (_, diags) = parse(&["hide-input"]);
    assert_eq!(diags[0].severity, Severity::Warning);
    assert_eq!(diags[0].cell, Some(3));
}

#[test]
fn conflicting_roles() {
    let (_, diags) = parse(&["step:a", "step:b"]);
    assert_eq!(diags[0].code, "multiple-steps");
    let (_, diags) = parse(&["imports", "step:b"]);
    assert_eq!(diags[0].code, "conflicting-tags");
    let (tags, diags) = parse(&["skip", "step:b"]);
    assert_eq!(tags.role, Role::Skip);
    assert_eq!(diags[0].severity, Severity::Warning);
    let (_, diags) = parse(&["step:Bad Name"]);
    assert_eq!(diags[0].code, "invalid-step-name");
}

#[test]
fn finally_marks_the_exit_step_and_a_misspelling_is_caught() {
    let (tags, diags) = parse(&["step:notify", "finally"]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(tags.settings, vec![(StepSetting::Finally, "finally".to_string())]);
    let (_, diags) = parse(&["step:notify", "finaly"]);
    assert_eq!(diags.len(), 1);
    assert!(diags[0].is_error() && diags[0].hint.as_deref() == Some("did you mean `finally`?"), "{diags:?}");
    let (_, diags) = parse(&["imports", "finally"]);
    assert!(diags.iter().any(|d| d.code == "ignored-tag" && d.message.contains("`finally`")), "{diags:?}");
    assert_eq!(parse_setting("finally"), Ok(None), "not a setting `steps_defaults` can give every step");
}
