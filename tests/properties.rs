//! Any user string reaches generated code only as a correctly escaped literal: property
//! tests over arbitrary Unicode (and a list of known troublemakers) for annotation, label
//! and environment values, string parameter defaults, step and pipeline names, and
//! variable names; checked by Python itself, by a YAML 1.1 reader (PyYAML, as the KFP SDK
//! and Argo read YAML), and end to end under the KFP local runner.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

/// Strings that broke other tools, or could: quotes, backslashes, newlines, template and
/// shell syntax, YAML specials, NUL, line separators, right-to-left text.
const TROUBLE: &[&str] = &[
    "it's",
    "say \"hi\"",
    "back\\slash",
    "\\",
    "\\\\n",
    "line\nbreak",
    "cr\rlf\r\n",
    "tab\there",
    "{{$}}",
    "{{",
    "{{{{x}}}}",
    "${HOME}",
    "$(rm -rf /)",
    "`id`",
    "yes",
    "no",
    "on",
    "~",
    "null",
    "12:30",
    "2024-01-01",
    "0x1F",
    "1e3",
    ": ",
    "a: b",
    "# comment",
    "- item",
    "*alias",
    "&anchor",
    "!tag",
    "%magic",
    "@at",
    "'''",
    "\"\"\"",
    "\u{0}nul",
    "\u{2028}sep",
    "עברית",
    "emoji 🎉",
    "e\u{301}",
    " leading",
    "trailing ",
    "",
    "[1, 2]",
    "{\"a\": 1}",
    "\u{7f}del",
    "\u{1b}[31mred",
];

fn strings(n: u32) -> Vec<String> {
    let mut runner = TestRunner::new(Config { cases: n, ..Config::default() });
    let strategy = prop_oneof![any::<String>(), "\\PC{0,40}", "[ -~]{0,30}"];
    let mut out: Vec<String> = TROUBLE.iter().map(|s| s.to_string()).collect();
    for _ in 0..n {
        out.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    out
}

fn python(script: &str, input: &Value) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.json");
    std::fs::write(&path, input.to_string()).unwrap();
    let out = common::run(Command::new(common::python()).arg("-c").arg(script).arg(&path), true);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn python_literals_give_back_the_exact_string() {
    let cases = strings(400);
    let literals: Vec<String> = cases.iter().map(|s| nbkf::emit::python_literal::string(s)).collect();
    for l in &literals {
        assert!(!l.contains("{{"), "a KFP placeholder survived in {l}");
    }
    let result = python(
        "import ast, json, sys\nd = json.load(open(sys.argv[1]))\nprint(json.dumps([ast.literal_eval(l) == s for s, l in zip(d['s'], d['l'])]))",
        &json!({"s": cases, "l": literals}),
    );
    for (i, ok) in result.as_array().unwrap().iter().enumerate() {
        assert_eq!(ok, &json!(true), "literal {:?} does not give back {:?}", literals[i], cases[i]);
    }
}

fn notebook(cells: Value, metadata: Value) -> Vec<u8> {
    json!({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells}).to_string().into_bytes()
}

fn code(tags: Vec<String>, source: &str) -> Value {
    json!({"cell_type": "code", "metadata": {"tags": tags}, "source": source, "outputs": [], "execution_count": null})
}

fn convert(bytes: &[u8]) -> nbkf::Conversion {
    let (nb, diags) = nbkf::notebook::Notebook::from_slice(bytes, "p.ipynb").unwrap();
    nbkf::convert(nb, diags, "p.ipynb", None, &Default::default()).unwrap()
}

/// Annotation values, string parameter defaults and secret/env names, through the YAML
/// and back, read by serde-saphyr and by PyYAML.
#[test]
fn user_strings_reach_the_yaml_exactly() {
    let cases: Vec<String> = strings(150).into_iter().filter(|s| !s.contains('\u{0}')).collect();
    let mut yamls = Vec::new();
    for s in &cases {
        // A JSON string is also a valid Python string literal.
        let param = format!("TEXT = {}", serde_json::to_string(s).unwrap());
        let nb = notebook(
            json!([
                code(vec!["pipeline-parameters".into()], &param),
                code(vec!["step:a".into(), format!("annotation:example.com/note:{s}")], "copy = TEXT")
            ]),
            json!({"kubeflow_notebook": {"pipeline_description": s}}),
        );
        let c = convert(&nb);
        let yaml = c.yaml.unwrap_or_else(|| panic!("{s:?}: {:#?}", c.diagnostics));
        let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
        assert_eq!(docs[0]["root"]["inputDefinitions"]["parameters"]["TEXT"]["defaultValue"], json!(s), "{yaml}");
        let description = if s.trim().is_empty() { Value::Null } else { json!(s.trim()) };
        assert_eq!(docs[0]["pipelineInfo"]["description"], description);
        let annotation = &docs[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-a"]["podMetadata"]
            ["annotations"]["example.com/note"];
        assert_eq!(annotation, &json!(s), "{yaml}");
        yamls.push(yaml);
    }
    let result = python(
        "import json, sys, yaml\nd = json.load(open(sys.argv[1]))\nout = []\nfor s, y in zip(d['s'], d['y']):\n    docs = list(yaml.safe_load_all(y))\n    out.append([docs[0]['root']['inputDefinitions']['parameters']['TEXT']['defaultValue'] == s,\n                docs[1]['platforms']['kubernetes']['deploymentSpec']['executors']['exec-a']['podMetadata']['annotations']['example.com/note'] == s])\nprint(json.dumps(out))",
        &json!({"s": cases, "y": yamls}),
    );
    for (i, ok) in result.as_array().unwrap().iter().enumerate() {
        assert_eq!(ok, &json!([true, true]), "PyYAML reads {:?} differently", cases[i]);
    }
}

proptest! {
    #![proptest_config(Config { cases: 200, ..Config::default() })]

    /// Step names (any name nbkf accepts) become distinct DNS-1123 task names and Python
    /// function names; collisions are resolved deterministically.
    #[test]
    fn step_names_become_valid_unique_task_names(names in prop::collection::vec("[A-Za-z0-9_-]{1,80}", 1..6)) {
        let names: Vec<String> = names.into_iter().filter(|n| n.chars().any(|c| c.is_ascii_alphanumeric())).collect();
        prop_assume!(!names.is_empty());
        let cells: Vec<Value> = names.iter().enumerate().map(|(i, n)| code(vec![format!("step:{n}")], &format!("v{i} = {i}"))).collect();
        let c = convert(&notebook(Value::Array(cells), json!({})));
        let yaml = c.yaml.unwrap_or_else(|| panic!("{:#?}", c.diagnostics));
        let again = convert(&notebook(Value::Array(names.iter().enumerate().map(|(i, n)| code(vec![format!("step:{n}")], &format!("v{i} = {i}"))).collect()), json!({}))).yaml.unwrap();
        prop_assert_eq!(&yaml, &again, "not deterministic");
        let mut tasks = BTreeSet::new();
        for step in &c.plan.steps {
            let t = &step.task;
            prop_assert!(t.len() <= 63 && t.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "task {t}");
            prop_assert!(t.starts_with(|c: char| c.is_ascii_lowercase()) && !t.ends_with('-'), "task {t}");
            prop_assert!(tasks.insert(t.clone()), "duplicate task {t}");
            prop_assert!(step.function.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !step.function.starts_with(|c: char| c.is_ascii_digit()));
        }
    }

    /// Any pipeline name in the notebook's metadata becomes a valid KFP pipeline name.
    #[test]
    fn pipeline_names_are_made_valid(name in "\\PC{0,200}") {
        let c = convert(&notebook(json!([code(vec![], "x = 1")]), json!({"kubeflow_notebook": {"pipeline_name": name}})));
        let n = &c.plan.settings.name;
        prop_assert!(nbkf::config::is_pipeline_name(n), "{n:?}");
    }

    /// Variables named with any Python identifier (Unicode included) pass between steps.
    #[test]
    fn any_identifier_can_be_passed(name in "[a-zA-Z_àéîõüßçñøåæœÆŒαβγδλπσωжщюя中文字][a-zA-Z0-9_àéîõüßçñøåæœαβγδλπσωжщюя中文字]{0,20}") {
        let keywords = ["False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while", "with", "yield", "match", "case", "type", "_"];
        prop_assume!(!keywords.contains(&name.as_str()));
        let c = convert(&notebook(json!([code(vec!["step:a".into()], &format!("{name} = 1")), code(vec!["step:b".into()], &format!("y = {name} + 1"))]), json!({})));
        let b = c.plan.steps.iter().find(|s| s.name == "b").unwrap();
        prop_assert_eq!(b.inputs.iter().map(|i| i.variable.clone()).collect::<Vec<_>>(), vec![name.clone()]);
        prop_assert!(c.yaml.is_some());
    }
}

/// End to end under the KFP local runner: a string parameter holding every troublemaker
/// reaches the step exactly (compared with the notebook's own value by the equivalence
/// harness), and so does an annotation value in the platform document.
#[test]
fn troublesome_strings_reach_the_running_step() {
    // KFP resolves its own placeholders (`{{$...}}`) inside parameter values by design
    // (that is how a pipeline passes its run's name to a step), so those are left out here;
    // generated code never contains them (see `python_literals_give_back_the_exact_string`).
    let text: String =
        TROUBLE.iter().filter(|s| !s.contains('\u{0}') && !s.contains("{{")).copied().collect::<Vec<_>>().join("|");
    let param = format!("TEXT = {}", serde_json::to_string(&text).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("strings.ipynb");
    std::fs::write(
        &path,
        notebook(
            json!([
                code(vec!["pipeline-parameters".into()], &param),
                code(
                    vec!["step:a".into(), format!("annotation:example.com/text:{text}")],
                    "copy = TEXT\nsize = len(TEXT)"
                ),
                code(vec!["step:b".into()], "same = copy == TEXT"),
                code(vec!["pipeline-metrics".into()], "print(size)"),
            ]),
            json!({}),
        ),
    )
    .unwrap();
    let yaml = common::convert(&path, dir.path(), &[]);
    common::validate_ir(std::slice::from_ref(&yaml));
    let report = common::equivalence(&path, &yaml, &[]);
    assert_eq!(report["differences"], json!([]), "{report:#}");
    assert!(report["variables"].as_array().unwrap().contains(&json!("a:copy")), "{report:#}");
    assert_eq!(report["metrics"]["size"], json!(text.chars().count() as f64));
}

/// Unicode variable names become KFP input and output names (`in_données`) that the
/// validator and the KFP local runner accept, and their values arrive.
#[test]
fn unicode_variable_names_run_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unicode.ipynb");
    std::fs::write(
        &path,
        notebook(
            json!([
                code(vec!["step:a".into()], "données = [1, 2]\nπ = 3.5"),
                code(vec!["step:b".into()], "total = sum(données) * π"),
                code(vec!["pipeline-metrics".into()], "print(total)"),
            ]),
            json!({}),
        ),
    )
    .unwrap();
    let yaml = common::convert(&path, dir.path(), &[]);
    common::validate_ir(std::slice::from_ref(&yaml));
    let report = common::equivalence(&path, &yaml, &[]);
    assert_eq!(report["differences"], json!([]), "{report:#}");
    assert_eq!(report["metrics"]["total"], json!(10.5));
}
