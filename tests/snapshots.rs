//! Snapshot of the KFP IR YAML nbkf emits for every notebook in `fixtures/`.
//!
//! The step runtime (`src/runtime/step_runtime.py`) is embedded verbatim in the source of the
//! pipeline's first task, which writes it for the steps; in the snapshots it is replaced by
//! one marker line, and each step's SHA-256 of it by a marker too, so a change to the
//! runtime does not rewrite every snapshot while a change to what surrounds it shows.
//! Update with `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta review`).
mod common;

use serde_json::Value;

const RUNTIME: &str = include_str!("../src/runtime/step_runtime.py");
const RUNTIME_MARKER: &str = "# <nbkf step runtime, src/runtime/step_runtime.py>";

/// Replaces every copy of the step runtime inside the strings of `value`; returns how many.
fn strip_runtime(value: &mut Value) -> usize {
    static MARKED: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (runtime, sha) =
        MARKED.get_or_init(|| (nbkf::emit::python_literal::string(RUNTIME), nbkf::emit::runtime_sha256()));
    match value {
        Value::String(s) if s.contains(runtime.as_str()) || s.contains(sha.as_str()) => {
            let n = s.matches(runtime.as_str()).count();
            *s = s.replace(runtime.as_str(), RUNTIME_MARKER).replace(sha.as_str(), "<sha256 of the step runtime>");
            n
        }
        Value::Array(items) => items.iter_mut().map(strip_runtime).sum(),
        Value::Object(map) => map.values_mut().map(strip_runtime).sum(),
        _ => 0,
    }
}

/// The emitted YAML of a fixture with the runtime replaced: its header comment lines, then
/// each document re-serialized.
fn snapshot_text(name: &str) -> String {
    snapshot_text_with(name, &[])
}

/// As [`snapshot_text`], converted with more flags.
fn snapshot_text_with(name: &str, flags: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let notebook = common::repo().join("fixtures").join(format!("{name}.ipynb"));
    let yaml = std::fs::read_to_string(common::convert(&notebook, dir.path(), flags)).unwrap();
    let mut docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    // The exit step (a root task with a trigger policy) carries the runtime too.
    let exits = docs[0]["root"]["dag"]["tasks"]
        .as_object()
        .map_or(0, |tasks| tasks.values().filter(|t| t.get("triggerPolicy").is_some()).count());
    let replaced: usize = docs.iter_mut().map(strip_runtime).sum();
    assert_eq!(
        replaced,
        1 + exits,
        "the step runtime should appear once, in the task that writes it, and in the exit step"
    );
    let mut out: String = yaml.lines().take_while(|l| l.starts_with('#')).map(|l| format!("{l}\n")).collect();
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&serde_saphyr::to_string(doc).unwrap());
    }
    out
}

macro_rules! snapshot_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let yaml = snapshot_text(stringify!($name));
            insta::assert_snapshot!(stringify!($name), yaml);
        }
    )*};
}

snapshot_tests!(
    steps_and_continuation,
    skip_cells,
    prev_ordering,
    parameters,
    metrics,
    mutated_list,
    function_reads_global,
    magic_lines,
    class_instances,
    mutation_forms,
    definitions_with_dependencies,
    files_between_steps,
    cell_magics,
    headings_mixed_levels,
    headings_duplicate_text,
    no_headings,
    code_before_first_heading,
    papermill_parameters,
    partially_tagged,
    legacy_block,
    untagged,
    random_state,
    platform_settings,
    optional_imports,
    local_modules,
    process_state,
    module_settings,
    alias_across_steps,
    never_stricter,
    conditional_definitions,
    classes_by_calls,
    calls_change_arguments,
    unicode_step_names,
    exit_step,
    fan_out_parameter,
    fan_out_list,
    fan_out_with_exit_step,
    composed_two_levels,
    composed_three_levels,
);

/// The Kubernetes-native manifests (`--format k8s`) of one fixture with a platform document.
/// The content hash that ends the version's name changes with every change of the IR
/// (the step runtime's included), so it is replaced by a marker after checking its form.
#[test]
fn k8s_manifests_platform_settings() {
    let text = snapshot_text_with("platform_settings", &["--format", "k8s", "-n", "team-a"]);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let version = docs[1]["metadata"]["name"].as_str().unwrap();
    let hash = version.strip_prefix("platform-settings-").unwrap();
    assert!(hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{version}");
    insta::assert_snapshot!("k8s_manifests_platform_settings", text.replace(hash, "<content hash>"));
}

/// Every fixture notebook has a snapshot test (add new fixtures to the list above).
#[test]
fn every_fixture_is_snapshotted() {
    let listed = [
        "steps_and_continuation",
        "skip_cells",
        "prev_ordering",
        "parameters",
        "metrics",
        "mutated_list",
        "function_reads_global",
        "magic_lines",
        "class_instances",
        "mutation_forms",
        "definitions_with_dependencies",
        "files_between_steps",
        "cell_magics",
        "headings_mixed_levels",
        "headings_duplicate_text",
        "no_headings",
        "code_before_first_heading",
        "papermill_parameters",
        "partially_tagged",
        "legacy_block",
        "untagged",
        "random_state",
        "platform_settings",
        "optional_imports",
        "local_modules",
        "process_state",
        "module_settings",
        "alias_across_steps",
        "never_stricter",
        "conditional_definitions",
        "classes_by_calls",
        "calls_change_arguments",
        "unicode_step_names",
        "exit_step",
        "fan_out_parameter",
        "fan_out_list",
        "fan_out_with_exit_step",
        "composed_two_levels",
        "composed_three_levels",
    ];
    let mut found: Vec<String> = std::fs::read_dir(common::repo().join("fixtures"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".ipynb").map(str::to_string))
        .collect();
    found.sort();
    let mut listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed);
}
