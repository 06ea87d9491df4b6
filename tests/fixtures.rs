//! One test per notebook in `fixtures/` (written by `fixtures/make_fixtures.py`): convert it
//! with the real binary, validate the IR with the shared strict validator, run it under the
//! KFP local runner and compare every routed value and metric with a one-process IPython run
//! of the notebook (`tests/support/equivalence.py`), plus what is particular to the fixture.
mod common;

use std::path::PathBuf;

use serde_json::Value;
use tempfile::TempDir;

fn fixture(name: &str) -> PathBuf {
    common::repo().join("fixtures").join(format!("{name}.ipynb"))
}

/// A converted, validated fixture.
struct Converted {
    notebook: PathBuf,
    yaml: PathBuf,
    /// The YAML documents: the pipeline spec, then (when there is one) the platform spec.
    docs: Vec<Value>,
    _dir: TempDir,
}

fn convert(name: &str) -> Converted {
    let dir = tempfile::tempdir().unwrap();
    let notebook = fixture(name);
    let yaml = common::convert(&notebook, dir.path(), &[]);
    common::validate_ir(std::slice::from_ref(&yaml));
    let docs = parse_docs(&yaml);
    Converted { notebook, yaml, docs, _dir: dir }
}

fn parse_docs(yaml: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(yaml).unwrap();
    serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", yaml.display()))
}

impl Converted {
    /// Runs the equivalence harness and checks that nothing differs and at least
    /// `min_compared` values were compared.
    fn equivalent(&self, min_compared: u64, args: &[&str]) -> Value {
        let report = common::equivalence(&self.notebook, &self.yaml, args);
        assert_eq!(report["differences"], serde_json::json!([]), "differences:\n{report:#}");
        let compared = report["compared"].as_u64().unwrap();
        assert!(compared >= min_compared, "compared {compared} < {min_compared}:\n{report:#}");
        report
    }

    fn tasks(&self) -> &serde_json::Map<String, Value> {
        self.docs[0]["root"]["dag"]["tasks"].as_object().expect("root.dag.tasks")
    }

    /// The tasks of the notebook's steps (not the task that writes the step runtime).
    fn task_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> =
            self.tasks().keys().map(String::as_str).filter(|t| *t != nbkf::names::RUNTIME_TASK).collect();
        names.sort();
        names
    }

    /// The sorted `dependentTasks` of a task.
    fn deps(&self, task: &str) -> Vec<String> {
        let mut deps: Vec<String> = self.tasks()[task]["dependentTasks"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        // Every step runs after the task that writes the step runtime.
        assert!(deps.iter().any(|d| d == nbkf::names::RUNTIME_TASK), "{task} does not load the step runtime");
        deps.retain(|d| d != nbkf::names::RUNTIME_TASK);
        deps.sort();
        deps
    }
}

fn has_variables(report: &Value, expected: &[&str]) {
    let vars: Vec<&str> = report["variables"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    for v in expected {
        assert!(vars.contains(v), "`{v}` was not compared; compared variables: {vars:?}");
    }
}

fn metric(report: &Value, key: &str) -> f64 {
    report["metrics"][key].as_f64().unwrap_or_else(|| panic!("no metric `{key}` in {report:#}"))
}

#[test]
fn steps_and_continuation() {
    let c = convert("steps_and_continuation");
    assert_eq!(c.task_names(), ["a", "b", "c"]);
    assert_eq!(c.deps("b"), ["a"]);
    assert_eq!(c.deps("c"), ["a", "b"], "c reads `base` from a and `total_b` from b");
    let r = c.equivalent(4, &[]);
    // `scale` and `total_b` are bound in continuation cells, so they belong to a and b.
    has_variables(&r, &["a:base", "a:scale", "b:total_b"]);
    assert_eq!(metric(&r, "result"), 63.0);
}

#[test]
fn skip_cells() {
    let c = convert("skip_cells");
    assert_eq!(c.task_names(), ["make", "use"]);
    let text = std::fs::read_to_string(&c.yaml).unwrap();
    assert!(!text.contains("this cell must never run"), "the skip cell's code is in the pipeline");
    let r = c.equivalent(2, &[]);
    // `doubled` comes from the untagged cell after the skip cell: still step `make`.
    has_variables(&r, &["make:value", "make:doubled"]);
}

#[test]
fn prev_ordering() {
    let c = convert("prev_ordering");
    assert_eq!(c.task_names(), ["first", "second", "third"]);
    assert_eq!(c.deps("second"), ["first"], "`prev:first` orders second after first");
    let inputs: Vec<&String> = c.tasks()["second"]["inputs"]["artifacts"].as_object().unwrap().keys().collect();
    assert_eq!(inputs, ["nbkf_runtime"], "second reads nothing but the step runtime: {:#}", c.tasks()["second"]);
    assert_eq!(c.deps("third"), ["first"], "third reads `alpha` from first");
    let r = c.equivalent(1, &[]);
    has_variables(&r, &["first:alpha"]);
}

#[test]
fn parameters() {
    let c = convert("parameters");
    let params = &c.docs[0]["root"]["inputDefinitions"]["parameters"];
    let expect = |name: &str, ty: &str, default: Value| {
        assert_eq!(params[name]["parameterType"], ty, "{name}: {params:#}");
        assert_eq!(params[name]["defaultValue"], default, "{name}: {params:#}");
    };
    expect("EPOCHS", "NUMBER_INTEGER", 4.into());
    expect("OFFSET", "NUMBER_INTEGER", (-3).into());
    expect("LR", "NUMBER_DOUBLE", (-0.25).into());
    expect("VERBOSE", "BOOLEAN", true.into());
    expect("NAME", "STRING", r#"it's a "test" \ ok"#.into());

    let r = c.equivalent(6, &[]);
    // `train` reassigns LR and passes the new value on; `report` reads it.
    has_variables(&r, &["prepare:label", "prepare:steps", "train:LR", "train:loss"]);
    assert_eq!(metric(&r, "final-lr"), -0.5);

    // Parameter values given at run time reach the steps (the harness sets the same values
    // in the notebook right after its parameters cell).
    let r = c.equivalent(6, &["LR=0.5", "NAME=x'y", "OFFSET=-7", "VERBOSE=false"]);
    assert_eq!(metric(&r, "final-lr"), 1.0);
    // "x'y: lr=1.0 loss=-3.0": not upper-cased (VERBOSE=false), steps = 4 - 7.
    assert_eq!(metric(&r, "message-length"), "x'y: lr=1.0 loss=-3.0".len() as f64);
}

#[test]
fn metrics() {
    let c = convert("metrics");
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["score:predictions", "score:labels"]);
    assert_eq!(metric(&r, "accuracy"), 0.75);
    assert_eq!(metric(&r, "THRESHOLD"), 0.5);
}

#[test]
fn mutated_list() {
    let c = convert("mutated_list");
    assert_eq!(c.task_names(), ["a", "b", "c", "d"]);
    assert_eq!(c.deps("b"), ["a"]);
    assert_eq!(c.deps("c"), ["b"], "c reads the list and dict b mutated");
    assert_eq!(c.deps("d"), ["c"], "d reads the list and dict c mutated");
    let r = c.equivalent(8, &[]);
    has_variables(&r, &["a:xs", "b:xs", "c:xs", "a:counts", "b:counts", "c:counts"]);
    assert_eq!(metric(&r, "total"), 105.0);
    assert_eq!(metric(&r, "count-total"), 13.0);
}

#[test]
fn function_reads_global() {
    let c = convert("function_reads_global");
    assert_eq!(c.deps("apply"), ["define", "setup"]);
    let r = c.equivalent(4, &[]);
    // FACTOR is read by `scaled` (a functions cell) only when `apply` calls it; OFFSET by
    // `shift`, defined in step `define`.
    has_variables(&r, &["setup:FACTOR", "setup:raw", "define:OFFSET"]);
    assert_eq!(metric(&r, "checksum"), 318.0);
}

#[test]
fn magic_lines() {
    let c = convert("magic_lines");
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["first:start", "first:has_root_dirs", "second:combined", "first:files"]);
    assert_eq!(metric(&r, "final"), 96.0);
}

#[test]
fn class_instances() {
    let c = convert("class_instances");
    // `use` never names `Point`, but its input `p` is a Point: the class goes with it.
    let use_source = c.docs[0]["deploymentSpec"]["executors"]["exec-use"]["container"]["command"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    assert!(use_source.contains("class Point:"), "the class definition must be copied into `use`");
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["define:p", "use:p", "use:n", "subclass:q"]);
    // p = (4, 4) after `use`, n = 25, q = (4, 25): 16 + 625 + 32
    assert_eq!(metric(&r, "total"), 673.0);
}

#[test]
fn legacy_block() {
    let notebook = fixture("legacy_block");
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("legacy_block.yaml");
    let out = common::run(common::nbkf().arg("convert").arg(&notebook).arg("-o").arg(&yaml), true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("kubeflow_notebook.autosnapshot` is ignored"), "{stderr}");
    assert!(stderr.contains("of type `new_pvc` is ignored"), "{stderr}");
    assert!(stderr.contains("2 warnings"), "{stderr}");
    common::validate_ir(std::slice::from_ref(&yaml));
    let c = Converted { notebook, docs: parse_docs(&yaml), yaml, _dir: dir };
    assert_eq!(c.docs[0]["pipelineInfo"]["name"], "legacy-block");
    assert_eq!(c.task_names(), ["area", "load"]);
    assert_eq!(c.deps("area"), ["load"]);
    // `docker_image: ""` means "no image": the default base image is used.
    let exec = &c.docs[0]["deploymentSpec"]["executors"]["exec-area"]["container"];
    assert!(exec["image"].as_str().unwrap().starts_with("python:"), "{exec:#}");
    let r = c.equivalent(1, &[]);
    has_variables(&r, &["load:radius"]);
}

#[test]
fn untagged() {
    let c = convert("untagged");
    assert_eq!(c.task_names().len(), 1);
    // One step passes nothing between steps and the notebook has no metrics cell, so there is
    // nothing to compare: this checks that the one-step pipeline runs under the local runner.
    let r = c.equivalent(0, &["--min-compared", "0"]);
    assert_eq!(r["compared"], 0, "{r:#}");
}

#[test]
fn random_state() {
    let c = convert("random_state");
    assert_eq!(c.deps("draw2"), ["draw1"], "draw2 continues draw1's generators");
    assert_eq!(c.deps("draw3"), ["draw2"], "draw3 continues draw2's generators");
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["draw1:@random", "draw1:@numpy.random", "draw2:@random", "draw2:@numpy.random"]);
}

#[test]
fn platform_settings() {
    let c = convert("platform_settings");
    let (spec, platform) = (&c.docs[0], &c.docs[1]);
    let prepare = &spec["deploymentSpec"]["executors"]["exec-prepare"]["container"];
    assert_eq!(prepare["image"], "python:3.11-slim");
    let res = &prepare["resources"];
    assert_eq!(res["resourceCpuLimit"], "500m", "{res:#}");
    assert_eq!(res["resourceMemoryLimit"], "1Gi", "{res:#}");
    assert_eq!(res["accelerator"]["resourceType"], "nvidia.com/gpu", "{res:#}");
    assert_eq!(res["accelerator"]["resourceCount"], "1", "{res:#}");
    let aggregate = &spec["deploymentSpec"]["executors"]["exec-aggregate"]["container"];
    assert!(aggregate["resources"].is_null(), "{aggregate:#}");

    let k8s = &platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"];
    let p = &k8s["exec-prepare"];
    assert_eq!(p["podMetadata"]["labels"]["team"], "ml");
    assert_eq!(p["podMetadata"]["labels"]["owner"], "nbkf", "steps_defaults apply to every step");
    assert_eq!(p["podMetadata"]["annotations"]["example.com/url"], "http://host:8080/x", "the value keeps its colons");
    let secret = &p["secretAsEnv"][0];
    assert_eq!(secret["secretName"], "db-creds", "{p:#}");
    assert_eq!(secret["keyToEnv"][0]["secretKey"], "password", "{p:#}");
    assert_eq!(secret["keyToEnv"][0]["envVar"], "DB_PASSWORD", "{p:#}");
    for exec in ["exec-prepare", "exec-aggregate"] {
        let mount = &k8s[exec]["pvcMount"][0];
        assert_eq!(mount["mountPath"], "/data", "{exec}: {:#}", k8s[exec]);
        assert_eq!(mount["constant"], "data", "{exec}: {:#}", k8s[exec]);
    }
    assert_eq!(k8s["exec-aggregate"]["podMetadata"]["labels"]["owner"], "nbkf");
    assert!(k8s["exec-aggregate"]["podMetadata"]["labels"]["team"].is_null(), "the label is prepare's only");

    let tasks = c.tasks();
    assert_eq!(tasks["aggregate"]["cachingOptions"], serde_json::json!({}), "cache:disabled");
    assert_eq!(tasks["prepare"]["cachingOptions"]["enableCache"], true);
    let outputs = |comp: &str| spec["components"][comp]["outputDefinitions"]["artifacts"].clone();
    assert!(
        outputs("comp-aggregate").get("report").is_none(),
        "report:disabled: {:#}",
        spec["components"]["comp-aggregate"]
    );
    assert!(outputs("comp-prepare").get("report").is_some());

    let r = c.equivalent(1, &[]);
    has_variables(&r, &["prepare:rows"]);
}

#[test]
fn mutation_forms() {
    let c = convert("mutation_forms");
    let r = c.equivalent(8, &[]);
    // Each change is passed on by the step that made it.
    has_variables(&r, &["change:df", "change:config", "change:items", "change:SIZES", "rebind:gone"]);
    assert_eq!((metric(&r, "rows"), metric(&r, "level"), metric(&r, "count")), (2.0, 2.0, 8.0));
}

#[test]
fn definitions_with_dependencies() {
    let c = convert("definitions_with_dependencies");
    let use_source = c.docs[0]["deploymentSpec"]["executors"]["exec-use"]["container"]["command"].as_array().unwrap();
    let preamble = use_source[2].as_str().unwrap();
    assert!(preamble.contains("'cloudpickle'"), "a lambda crosses steps: cloudpickle must be installed:\n{preamble}");
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["define:OFFSET", "define:times_k", "use:calls"]);
    // add_offset(1) = 21 (decorated twice, default 10); scaled 42; counted twice; times 3.
    assert_eq!(metric(&r, "result"), 131.0);
}

#[test]
fn files_between_steps() {
    let c = convert("files_between_steps");
    let r = c.equivalent(5, &[]);
    has_variables(
        &r,
        &["write:@file:clean.csv", "write:@file:notes.txt", "write:@file:weights.npy", "script:@file:helper.py"],
    );
    assert_eq!(c.deps("read"), ["script", "write"]);
}

#[test]
fn cell_magics() {
    let c = convert("cell_magics");
    let setup =
        c.docs[0]["deploymentSpec"]["executors"]["exec-setup"]["container"]["command"][2].as_str().unwrap().to_string();
    assert!(setup.contains("'numpy'"), "`%pip install numpy` must add numpy to the step's packages:\n{setup}");
    let r = c.equivalent(3, &[]);
    // "captured text" (13) + 7 + len("hello")
    assert_eq!(metric(&r, "length"), 25.0);
}

#[test]
fn headings_mixed_levels() {
    let c = convert("headings_mixed_levels");
    assert_eq!(c.task_names(), ["compute-the-area", "report-it", "untagged-headings-at-mixed-levels"]);
    assert_eq!(c.deps("report-it"), ["compute-the-area"]);
    c.equivalent(2, &[]);
}

#[test]
fn headings_duplicate_text() {
    let c = convert("headings_duplicate_text");
    assert_eq!(c.task_names(), ["plot", "plot-2"]);
    c.equivalent(1, &[]);
}

#[test]
fn no_headings() {
    let c = convert("no_headings");
    assert_eq!(c.task_names(), ["step-1", "step-2"]);
    c.equivalent(1, &[]);
}

#[test]
fn code_before_first_heading() {
    let c = convert("code_before_first_heading");
    // The code above the first heading is part of the first step, not dropped.
    assert_eq!(c.task_names(), ["mean", "spread"]);
    let r = c.equivalent(2, &[]);
    has_variables(&r, &["mean:values"]);
}

#[test]
fn papermill_parameters() {
    let c = convert("papermill_parameters");
    let params = &c.docs[0]["root"]["inputDefinitions"]["parameters"];
    assert_eq!(params["alpha"]["parameterType"], "NUMBER_DOUBLE");
    assert_eq!(params["repeats"]["defaultValue"], 3);
    let r = c.equivalent(1, &["repeats=5"]);
    assert_eq!(metric(&r, "repeats"), 5.0);
}

#[test]
fn partially_tagged() {
    let notebook = fixture("partially_tagged");
    let out = common::run(common::nbkf().arg("convert").arg(&notebook).args(["-o", "-", "--color", "never"]), true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("come before the first step tag; they run at the start of step `first`"), "{stderr}");
    let c = convert("partially_tagged");
    let r = c.equivalent(2, &[]);
    has_variables(&r, &["first:base", "first:doubled"]);
}

/// The pip preamble of a task (its `sh -c` script).
fn preamble(c: &Converted, task: &str) -> String {
    c.docs[0]["deploymentSpec"]["executors"][format!("exec-{task}")]["container"]["command"][2]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The Python source a task runs.
fn program(c: &Converted, task: &str) -> String {
    let command = c.docs[0]["deploymentSpec"]["executors"][format!("exec-{task}")]["container"]["command"]
        .as_array()
        .unwrap()
        .clone();
    command.last().unwrap().as_str().unwrap().to_string()
}

#[test]
fn optional_imports() {
    let c = convert("optional_imports");
    for task in ["load", "use"] {
        let p = preamble(&c, task);
        assert!(!p.contains("StringIO") && !p.contains("ujson"), "optional imports are not installed:\n{p}");
        assert!(!p.contains("/dev/null") && !p.contains("2>&1"), "redirections are not packages:\n{p}");
        assert!(p.contains("'numpy>=1.20'"), "the `%pip` requirement keeps its version:\n{p}");
    }
    let r = c.equivalent(3, &[]);
    has_variables(&r, &["load:StringIO", "load:json", "load:rows"]);
    assert_eq!(metric(&r, "n-rows"), 4.0);
}

#[test]
fn local_modules() {
    let c = convert("local_modules");
    let prepare = program(&c, "prepare");
    assert!(prepare.contains("nbkf_fixture_helpers.py") && prepare.contains("def add_noise"), "the module travels");
    assert!(!prepare.contains("nbkf_fixture_shapes"), "a step carries only the modules it imports");
    let shape = program(&c, "shape");
    assert!(shape.contains("nbkf_fixture_shapes/__init__.py") && shape.contains("nbkf_fixture_shapes/area.py"));
    let p = preamble(&c, "shape");
    assert!(
        p.contains("'numpy'") && !p.contains("nbkf"),
        "the package's imports are installed, the package is not:\n{p}"
    );
    // `helpers.add_noise(values)` may change `values` (a function nbkf does not know).
    assert_eq!(c.deps("total"), ["noise", "shape"]);
    let r = c.equivalent(3, &[]);
    has_variables(&r, &["noise:values"]);
    // [2, 4, 6, 1000] + squares of [2, 4, 6]
    assert_eq!(metric(&r, "total"), 1012.0 + 56.0);
}

#[test]
fn process_state() {
    let c = convert("process_state");
    let r = c.equivalent(6, &[]);
    has_variables(
        &r,
        &["configure:@state:os.environ", "configure:@attrs:Settings", "compute:limits", "compute:record"],
    );
    assert_eq!(metric(&r, "level"), 3.0);
}

#[test]
fn module_settings() {
    let c = convert("module_settings");
    let r = c.equivalent(6, &[]);
    has_variables(
        &r,
        &[
            "configure:@state:pandas.options",
            "configure:@state:numpy.printoptions",
            "configure:@state:matplotlib.rcParams",
            "configure:@state:warnings.filters",
            "configure:@state:sys.path",
            "configure:@attr:math.tau",
        ],
    );
    assert_eq!(metric(&r, "width"), 4.0);
    assert_eq!(metric(&r, "silenced"), 0.0);
    assert_eq!(metric(&r, "tau"), 6.0);
    assert_eq!(metric(&r, "max-rows"), 7.0);
}

#[test]
fn alias_across_steps() {
    let c = convert("alias_across_steps");
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["make:base", "make:holder", "make:view", "make:view_source", "grow:base"]);
    // [1, 2, 3] and 100.0: the changes made through `holder` and `view` reach `base` and `view_source`.
    assert_eq!(metric(&r, "total"), 106.0);
}

#[test]
fn never_stricter() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        common::nbkf().arg("convert").arg(fixture("never_stricter")).arg("-o").arg(dir.path().join("p.yaml")),
        true,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("undefined-name") && stderr.contains("`unicode`"), "a warning names `unicode`:\n{stderr}");
    assert!(!stderr.contains("conditional-binding"), "`text` is bound in both branches:\n{stderr}");
    let c = convert("never_stricter");
    let r = c.equivalent(2, &[]);
    assert_eq!(metric(&r, "doubled"), 5.0);
}

#[test]
fn conditional_definitions() {
    let c = convert("conditional_definitions");
    let r = c.equivalent(5, &[]);
    has_variables(&r, &["define:transform", "define:encode", "define:Shape", "define:scaler"]);
    // transform(5) == 10 in the `fast` branch, Shape.sides == 2 for KIND 2.
    assert_eq!(metric(&r, "final"), 12.0);
    // The other branches, chosen by parameters at run time.
    let r = c.equivalent(5, &["MODE=slow", "KIND=1"]);
    assert_eq!(metric(&r, "final"), 106.0);
    let r = c.equivalent(5, &["MODE=other", "KIND=7"]);
    assert_eq!(metric(&r, "final"), -5.0);
}

#[test]
fn classes_by_calls() {
    let c = convert("classes_by_calls");
    let r = c.equivalent(2, &[]);
    has_variables(&r, &["make:things"]);
    assert_eq!(metric(&r, "count"), 5.0);
}

#[test]
fn calls_change_arguments() {
    let c = convert("calls_change_arguments");
    for variable in ["buffer", "out_positional", "out_keyword", "grid", "source", "counts", "numbers", "queue"] {
        let inputs = &c.tasks()["report"]["inputs"]["artifacts"];
        let producer = inputs.as_object().unwrap().iter().find(|(k, _)| k.ends_with(variable)).map(|(_, v)| v);
        assert_eq!(
            producer.map(|p| p["taskOutputArtifact"]["producerTask"].as_str().unwrap()),
            Some("change"),
            "`{variable}` comes from the step that changed it: {inputs:#}"
        );
    }
    let r = c.equivalent(10, &[]);
    assert_eq!(metric(&r, "trace"), 21.0);
}

#[test]
fn unicode_step_names() {
    let c = convert("unicode_step_names");
    let names = c.task_names();
    assert_eq!(names.len(), 3);
    for n in &names {
        assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{n}");
    }
    let shown: Vec<&str> = c.tasks().values().map(|t| t["taskInfo"]["name"].as_str().unwrap()).collect();
    for name in ["données", "résumé", "数据"] {
        assert!(shown.contains(&name), "the KFP UI shows `{name}`: {shown:?}");
    }
    let r = c.equivalent(2, &[]);
    assert_eq!(metric(&r, "answer"), 12.0);
}

#[test]
fn exit_step() {
    let c = convert("exit_step");
    let root = c.tasks();
    assert_eq!(
        sorted_keys(root),
        ["cleanup", nbkf::names::EXIT_HANDLER_TASK],
        "the root runs the exit handler and the exit step"
    );
    let cleanup = &root["cleanup"];
    assert_eq!(cleanup["triggerPolicy"]["strategy"], "ALL_UPSTREAM_TASKS_COMPLETED");
    assert_eq!(cleanup["dependentTasks"], serde_json::json!([nbkf::names::EXIT_HANDLER_TASK]));
    assert!(cleanup["inputs"].get("artifacts").is_none(), "the exit step takes no artifact: {cleanup:#}");
    assert_eq!(cleanup["cachingOptions"], serde_json::json!({}), "the exit step is not cached by default");
    let handler = &c.docs[0]["components"]["comp-exit-handler-1"]["dag"]["tasks"];
    assert_eq!(sorted_keys(handler.as_object().unwrap()), ["load", nbkf::names::RUNTIME_TASK, "train"]);
    assert_eq!(handler["train"]["inputs"]["parameters"]["FAIL"]["componentInputParameter"], "pipelinechannel--FAIL");
    assert_eq!(cleanup["inputs"]["parameters"]["nbkf_status"]["taskFinalStatus"]["producerTask"], "exit-handler-1");
    let status = &c.docs[0]["components"]["comp-cleanup"]["inputDefinitions"]["parameters"]["nbkf_status"];
    assert_eq!(status["parameterType"], "TASK_FINAL_STATUS");

    // It computes what the notebook computes, the exit step's metric included.
    let r = c.equivalent(3, &[]);
    assert_eq!(metric(&r, "model"), 4.5);
    assert_eq!(metric(&r, "notified"), 36.0, "`pipeline nightly finished: SUCCEEDED`");

    // When a step fails, the KFP SDK's local runner still runs the exit step.
    let dir = tempfile::tempdir().unwrap();
    let notify = dir.path().join("notify.txt");
    let out = std::process::Command::new(common::python())
        .current_dir(dir.path())
        .arg(common::shared().join("oracles").join("kfp_local_run.py"))
        .arg(&c.yaml)
        .arg("FAIL=true")
        .arg(format!("NOTIFY_FILE={}", notify.display()))
        .arg("--root")
        .arg(dir.path().join("outputs"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("RUN FAILED") && text.contains("'train'"), "{text}");
    // It read how the others ended (`PipelineTaskFinalStatus`, given by the runner).
    assert_eq!(std::fs::read_to_string(&notify).unwrap_or_default(), "pipeline nightly finished: FAILED\n", "{text}");
}

/// A map's keys, sorted.
fn sorted_keys(map: &serde_json::Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort();
    keys
}

/// The tasks of a sub-DAG component.
fn sub_dag<'a>(c: &'a Converted, component: &str) -> &'a serde_json::Map<String, Value> {
    c.docs[0]["components"][component]["dag"]["tasks"].as_object().unwrap_or_else(|| panic!("no sub-DAG {component}"))
}

#[test]
fn fan_out_parameter() {
    let c = convert("fan_out_parameter");
    let root = c.tasks();
    assert_eq!(sorted_keys(root), ["fit-items", "for-loop-1", "load", nbkf::names::RUNTIME_TASK, "report"]);
    let for_loop = &root["for-loop-1"];
    assert_eq!(for_loop["iteratorPolicy"]["parallelismLimit"], 2, "parallelism:2");
    assert_eq!(for_loop["parameterIterator"]["items"]["inputParameter"], "pipelinechannel--fit-items-Output");
    assert_eq!(root["fit-items"]["inputs"]["parameters"]["items"]["componentInputParameter"], "SIZES");
    assert_eq!(sub_dag(&c, "comp-for-loop-1").keys().collect::<Vec<_>>(), ["fit"]);
    // `report` reads the lists collected over the items.
    let scores = &root["report"]["inputs"]["artifacts"]["in_scores"]["taskOutputArtifact"];
    assert_eq!(scores["producerTask"], "for-loop-1");
    assert_eq!(
        c.docs[0]["components"]["comp-report"]["inputDefinitions"]["artifacts"]["in_scores"]["isArtifactList"],
        true
    );

    let r = c.equivalent(6, &[]);
    has_variables(&r, &["fit:scores", "fit:sizes"]);
    assert_eq!(r["items"], 6, "two lists of three items each: {r:#}");
    assert_eq!(metric(&r, "best-size"), 8.0);
    assert_eq!(metric(&r, "count"), 3.0);
    // Another list: as many items as it has, in its order.
    let r = c.equivalent(6, &["SIZES=\"[5, 1, 3, 20]\""]);
    assert_eq!(r["items"], 8, "{r:#}");
    assert_eq!(metric(&r, "count"), 4.0);
}

#[test]
fn fan_out_list() {
    let c = convert("fan_out_list");
    let root = c.tasks();
    let items = &root["clean-items"];
    assert_eq!(items["inputs"]["artifacts"]["items"]["taskOutputArtifact"]["producerTask"], "load");
    assert_eq!(items["dependentTasks"], serde_json::json!(["load"]));
    assert!(root["for-loop-1"].get("iteratorPolicy").is_none(), "no parallelism tag, no limit");
    let r = c.equivalent(5, &[]);
    has_variables(&r, &["clean:names", "clean:totals", "load:records"]);
    assert_eq!(r["items"], 6, "{r:#}");
    assert_eq!(metric(&r, "grand-total"), 16.0);
    assert_eq!(metric(&r, "rows"), 2.0);
}

#[test]
fn fan_out_with_exit_step() {
    let c = convert("fan_out_with_exit_step");
    assert_eq!(sorted_keys(c.tasks()), [nbkf::names::EXIT_HANDLER_TASK, "notify"]);
    let handler = sub_dag(&c, "comp-exit-handler-1");
    assert_eq!(
        sorted_keys(handler),
        ["for-loop-2", "load", nbkf::names::RUNTIME_TASK, "square-items", "total"],
        "numbered as the SDK numbers"
    );
    assert_eq!(
        handler["square-items"]["inputs"]["parameters"]["items"]["componentInputParameter"],
        "pipelinechannel--XS"
    );
    assert_eq!(sub_dag(&c, "comp-for-loop-2").keys().collect::<Vec<_>>(), ["square"]);
    let r = c.equivalent(3, &[]);
    assert_eq!(r["items"], 3, "{r:#}");
    assert_eq!(metric(&r, "total"), 44.0);
    assert_eq!(metric(&r, "length"), 16.0);
}

#[test]
fn composed_two_levels() {
    let c = convert("composed_two_levels");
    assert_eq!(sorted_keys(c.tasks()), ["load", nbkf::names::RUNTIME_TASK, "prepare", "report"]);
    // `prepare.ipynb`'s steps run in their own sub-DAG, named after the `notebook:` tag.
    let prepare = &c.tasks()["prepare"];
    assert_eq!(prepare["componentRef"]["name"], "comp-prepare");
    assert_eq!(sorted_keys(sub_dag(&c, "comp-prepare")), ["prepare-keep", "prepare-scale"]);
    // Its parameters: `SCALE` bound from this notebook's, `OFFSET` its own default (now a
    // pipeline parameter), `THRESHOLD` from the variable step `load` binds (an artifact).
    let params = &prepare["inputs"]["parameters"];
    assert_eq!(params["SCALE"]["componentInputParameter"], "SCALE");
    assert_eq!(params["OFFSET"]["componentInputParameter"], "OFFSET");
    assert!(params.get("THRESHOLD").is_none(), "{prepare:#}");
    let root_params = &c.docs[0]["root"]["inputDefinitions"]["parameters"];
    assert_eq!(sorted_keys(root_params.as_object().unwrap()), ["OFFSET", "SCALE", "SIZE"]);
    assert_eq!(root_params["OFFSET"]["defaultValue"], 3);
    let threshold = &prepare["inputs"]["artifacts"]["load_out_THRESHOLD"]["taskOutputArtifact"];
    assert_eq!(threshold["producerTask"], "load");
    // What `report` reads from it comes out as the sub-DAG's output.
    let kept = &c.tasks()["report"]["inputs"]["artifacts"]["in_kept"]["taskOutputArtifact"];
    assert_eq!(kept["producerTask"], "prepare");
    assert_eq!(kept["outputArtifactKey"], "prepare_keep_out_kept");
    assert_eq!(c.deps("report"), ["prepare"]);

    // The caller's values reach the sub-notebook: SCALE = 2, THRESHOLD = 3 (its defaults,
    // 1 and 100, would keep nothing).
    let r = c.equivalent(4, &[]);
    has_variables(&r, &["prepare-keep:kept", "prepare-scale:scaled", "load:THRESHOLD"]);
    assert_eq!(metric(&r, "total"), 48.0);
    assert_eq!(metric(&r, "count"), 6.0);
    // A sub-notebook's own parameter is a pipeline parameter like the caller's.
    let r = c.equivalent(4, &["OFFSET=0", "SCALE=1"]);
    assert_eq!(metric(&r, "total"), 12.0, "kept [3, 4, 5]: {r:#}");
}

#[test]
fn composed_three_levels() {
    let c = convert("composed_three_levels");
    assert_eq!(sorted_keys(c.tasks()), ["finish", nbkf::names::RUNTIME_TASK, "outer", "start"]);
    let outer = sub_dag(&c, "comp-outer");
    assert_eq!(sorted_keys(outer), ["outer-shift", "outer-square"]);
    // The third level: `inner/square.ipynb` (relative to `outer.ipynb`), one untagged step
    // with a `for:` loop, in a sub-DAG of the sub-DAG.
    let square = sub_dag(&c, "comp-outer-square");
    assert_eq!(sorted_keys(square), ["for-loop-1", "outer-square-main-items"]);
    assert_eq!(sorted_keys(sub_dag(&c, "comp-for-loop-1")), ["outer-square-main"]);
    let squares = &c.tasks()["finish"]["inputs"]["artifacts"]["in_squares"]["taskOutputArtifact"];
    assert_eq!(squares["producerTask"], "outer");
    let out = &c.docs[0]["components"]["comp-outer"]["outputDefinitions"]["artifacts"];
    assert_eq!(out["outer_square_main_out_squares"]["isArtifactList"], true, "the loop's list: {out:#}");
    // `XS` is the caller's (bound at both levels); `SHIFT`, `outer`'s default.
    assert_eq!(sorted_keys(c.docs[0]["root"]["inputDefinitions"]["parameters"].as_object().unwrap()), ["SHIFT", "XS"]);

    let r = c.equivalent(3, &[]);
    assert_eq!(r["items"], 3, "{r:#}");
    assert_eq!(metric(&r, "result"), 54.0, "squares of 1, 2, 3 plus 10 each, plus 10");
    let r = c.equivalent(3, &["XS=\"[4]\"", "SHIFT=2"]);
    assert_eq!(metric(&r, "result"), 56.0, "16 + 20, plus 20: {r:#}");
}
