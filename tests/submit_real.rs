//! `nbkf submit`, `runs`, `experiments` and `pipelines` against the REAL Kubeflow Pipelines
//! 2.17 API server (unmodified `backend/src/apiserver` on MariaDB, moto as S3 and a real
//! kube-apiserver 1.20; `scripts/kfp-real/start.sh`, started by scripts/test), single-user and
//! multi-user. What nbkf reports is checked against what the server stored (its REST API) and
//! against the Argo `Workflow` it created in the kube-apiserver. No Argo controller runs:
//! `tests/support/kfp_fake_agent.py` plays Argo and the persistence agent to end runs.
//!
//! Every test uses pipeline and experiment names of its own, so the tests run in parallel and
//! again on a kept server. Skipped (with a note) without `$NBKF_TEST_KFP_REAL_STATE`; failed
//! instead with `$NBKF_REQUIRE_KFP_REAL=1` (see `tests/common/kfp_real.rs`).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use common::kfp_real::{self, http_get, list_all_at, unique, KfpReal};
use common::{fixture, python, run};
use serde_json::{json, Value};

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn expect(out: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(code), "exit code\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    (stdout, stderr)
}

/// `nbkf ARGS --host <single-user server>`.
fn remote(k: &KfpReal, args: &[&str]) -> Output {
    k.nbkf().args(args).args(["--host", k.host()]).output().unwrap()
}

/// `nbkf ARGS --host <single-user server> --format json`, expecting success: the JSON.
fn remote_json(k: &KfpReal, args: &[&str]) -> Value {
    let out = remote(k, &[args, &["--format", "json"]].concat());
    let (stdout, _) = expect(&out, 0);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// `nbkf submit TARGET ARGS --format json` to the single-user server, expecting success:
/// its `submitted` object.
fn submit(k: &KfpReal, target: &Path, args: &[&str]) -> Value {
    let json = remote_json(k, &[&["submit", target.to_str().unwrap()], args].concat());
    json["submitted"].clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no string `{key}` in {v:#}"))
}

fn is_content_hash(name: &str) -> bool {
    name.len() == 12 && name.chars().all(|c| c.is_ascii_hexdigit())
}

/// The IR nbkf converts a notebook to (the first YAML document).
fn converted_ir(notebook: &Path, args: &[&str]) -> Value {
    let out = run(common::nbkf().arg("convert").arg(notebook).args(args).args(["-o", "-"]), true);
    serde_saphyr::from_multiple::<Value>(&String::from_utf8_lossy(&out.stdout)).unwrap().remove(0)
}

/// The pipeline spec a version holds (the server keeps `{pipeline_spec, platform_spec}` when
/// there is a platform document).
fn stored_spec(version: &Value) -> &Value {
    let spec = &version["pipeline_spec"];
    if spec.get("pipeline_spec").is_some() {
        &spec["pipeline_spec"]
    } else {
        spec
    }
}

/// The parameter values the Argo Workflow's root DAG driver gets: what the run will use, the
/// run's values merged with the pipeline's defaults by the server.
fn workflow_parameter_values(workflow: &Value) -> Value {
    for template in workflow["spec"]["templates"].as_array().unwrap() {
        for task in template["dag"]["tasks"].as_array().into_iter().flatten() {
            if task["name"] == "root-driver" {
                for p in task["arguments"]["parameters"].as_array().unwrap() {
                    if p["name"] == "runtime-config" {
                        let config: Value = serde_json::from_str(p["value"].as_str().unwrap()).unwrap();
                        return config["parameterValues"].clone();
                    }
                }
            }
        }
    }
    panic!("no root-driver runtime-config in {workflow:#}")
}

/// The executor tasks of the Workflow's `root` DAG (drivers left out).
fn workflow_tasks(workflow: &Value) -> BTreeSet<String> {
    let root = workflow["spec"]["templates"].as_array().unwrap().iter().find(|t| t["name"] == "root").unwrap();
    root["dag"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .filter(|n| !n.ends_with("-driver"))
        .collect()
}

fn run_of(k: &KfpReal, run_id: &str) -> Value {
    k.get(&format!("/apis/v2beta1/runs/{run_id}"))
}

/// Waits (at most 20 s) until the server reports `state` for a run.
fn await_state(k: &KfpReal, run_id: &str, state: &str) -> Value {
    for _ in 0..200 {
        let run = run_of(k, run_id);
        if run["state"] == state {
            return run;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("run {run_id} never reached {state}: {:#}", run_of(k, run_id));
}

/// The runs of an experiment, as the server lists them.
fn runs_in(k: &KfpReal, experiment_id: &str) -> Vec<Value> {
    k.list_all(&format!("/apis/v2beta1/runs?experiment_id={experiment_id}"), "runs")
}

/// A copy of `fixtures/parameters.ipynb` whose header names an experiment.
fn notebook_with_experiment(dir: &Path, experiment: &str) -> PathBuf {
    let mut nb: Value = serde_json::from_str(&std::fs::read_to_string(fixture("parameters.ipynb")).unwrap()).unwrap();
    nb["metadata"]["kubeflow_notebook"] = json!({ "experiment_name": experiment });
    let path = dir.join("parameters.ipynb");
    std::fs::write(&path, serde_json::to_string_pretty(&nb).unwrap()).unwrap();
    path
}

#[test]
fn submit_starts_a_run_of_the_content_version_with_typed_parameters_and_an_argo_workflow() {
    let Some(k) = kfp_real::single_user() else { return };
    let nb = fixture("parameters.ipynb");
    let (name, experiment) = (unique("params"), unique("params"));
    let sub = submit(
        k,
        &nb,
        &[
            "--pipeline-name",
            &name,
            "--experiment",
            &experiment,
            "-p",
            "EPOCHS=7",
            "-p",
            "NAME=x y",
            "-p",
            "VERBOSE=false",
            "-p",
            "LR=0.5",
        ],
    );
    assert_eq!(sub["pipeline_created"], true, "{sub:#}");
    assert_eq!(sub["version_created"], true, "{sub:#}");
    assert_eq!(sub["pipeline_name"], name.as_str());
    assert!(is_content_hash(s(&sub, "version_name")), "{sub:#}");
    let run_id = s(&sub, "run_id");

    // The run, as the server stored it: that version, that experiment, the values typed.
    let stored = run_of(k, run_id);
    assert_eq!(stored["pipeline_version_reference"]["pipeline_id"], sub["pipeline_id"]);
    assert_eq!(stored["pipeline_version_reference"]["pipeline_version_id"], sub["version_id"]);
    assert_eq!(stored["experiment_id"], sub["experiment_id"]);
    assert_eq!(stored["display_name"], sub["run_name"]);
    assert_eq!(
        stored["runtime_config"]["parameters"],
        json!({"EPOCHS": 7, "NAME": "x y", "VERBOSE": false, "LR": 0.5})
    );
    assert_eq!(stored["service_account"], "pipeline-runner");
    assert_eq!(stored["state"], "PENDING", "nothing executes runs here");

    // The pipeline, found by its name, and the version holding the IR as converted.
    let pipeline = k.get(&format!("/apis/v2beta1/pipelines/names/{name}"));
    assert_eq!(pipeline["pipeline_id"], sub["pipeline_id"]);
    let version =
        k.get(&format!("/apis/v2beta1/pipelines/{}/versions/{}", s(&sub, "pipeline_id"), s(&sub, "version_id")));
    assert_eq!(version["name"], sub["version_name"]);
    assert_eq!(stored_spec(&version), &converted_ir(&nb, &["--pipeline-name", &name, "--experiment", &experiment]));
    let exp = k.get(&format!("/apis/v2beta1/experiments/{}", s(&sub, "experiment_id")));
    assert_eq!(exp["display_name"], experiment.as_str());

    // The Argo Workflow the server compiled and created for it, in the kube-apiserver.
    let workflows = k.workflows_of(run_id);
    assert_eq!(workflows.len(), 1, "{workflows:#?}");
    let wf = &workflows[0];
    assert_eq!(wf["metadata"]["namespace"], "kubeflow");
    assert_eq!(wf["metadata"]["annotations"]["pipelines.kubeflow.org/run_name"], sub["run_name"]);
    assert_eq!(wf["spec"]["serviceAccountName"], "pipeline-runner");
    assert_eq!(
        workflow_tasks(wf),
        ["nbkf-runtime", "prepare", "report", "train"].map(String::from).into_iter().collect::<BTreeSet<_>>()
    );
    // The values given, and the notebook's own for the others.
    assert_eq!(
        workflow_parameter_values(wf),
        json!({"EPOCHS": 7, "NAME": "x y", "VERBOSE": false, "LR": 0.5, "OFFSET": -3})
    );
}

#[test]
fn the_same_content_reuses_its_version_and_a_changed_image_uploads_a_second() {
    let Some(k) = kfp_real::single_user() else { return };
    let nb = fixture("parameters.ipynb");
    let (name, experiment) = (unique("reuse"), unique("reuse"));
    let args = ["--pipeline-name", name.as_str(), "--experiment", experiment.as_str()];
    let first = submit(k, &nb, &args);
    let again = submit(k, &nb, &args);
    assert_eq!(again["pipeline_created"], false, "{again:#}");
    assert_eq!(again["version_created"], false, "{again:#}");
    assert_eq!(again["pipeline_id"], first["pipeline_id"]);
    assert_eq!(again["version_id"], first["version_id"]);
    assert_ne!(again["run_id"], first["run_id"]);
    let versions = remote_json(k, &["pipelines", "versions", &name]);
    assert_eq!(versions.as_array().unwrap().len(), 1, "{versions:#}");
    assert_eq!(versions[0]["pipeline_version_id"], first["version_id"]);

    let changed = submit(k, &nb, &[&args[..], &["--image", "python:3.12-slim"]].concat());
    assert_eq!(changed["version_created"], true, "{changed:#}");
    assert_eq!(changed["pipeline_id"], first["pipeline_id"]);
    assert_ne!(changed["version_id"], first["version_id"]);
    assert_ne!(changed["version_name"], first["version_name"]);
    let versions = remote_json(k, &["pipelines", "versions", &name]);
    let ids: BTreeSet<&str> = versions.as_array().unwrap().iter().map(|v| s(v, "pipeline_version_id")).collect();
    assert_eq!(ids, [s(&first, "version_id"), s(&changed, "version_id")].into_iter().collect());
    // The new version carries the new image; the server's versions agree with nbkf's list.
    let stored = k.get(&format!(
        "/apis/v2beta1/pipelines/{}/versions/{}",
        s(&changed, "pipeline_id"),
        s(&changed, "version_id")
    ));
    assert!(stored_spec(&stored).to_string().contains("\"python:3.12-slim\""));
    let on_server =
        k.list_all(&format!("/apis/v2beta1/pipelines/{}/versions", s(&first, "pipeline_id")), "pipeline_versions");
    assert_eq!(on_server.len(), 2);
    // The table names both.
    let (table, _) = expect(&remote(k, &["pipelines", "versions", &name]), 0);
    for v in [&first, &changed] {
        assert!(table.contains(s(v, "version_name")) && table.contains(s(v, "version_id")), "{table}");
    }
    // Three runs, each of the version it was submitted with.
    let runs = runs_in(k, s(&first, "experiment_id"));
    let mut by_version: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| (s(r, "run_id"), r["pipeline_version_reference"]["pipeline_version_id"].as_str().unwrap()))
        .collect();
    by_version.sort();
    let mut expected: Vec<(&str, &str)> =
        [&first, &again, &changed].iter().map(|x| (s(x, "run_id"), s(x, "version_id"))).collect();
    expected.sort();
    assert_eq!(by_version, expected);
}

#[test]
fn experiments_from_the_flag_and_the_notebook_header_are_found_again_whatever_their_characters() {
    let Some(k) = kfp_real::single_user() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base = unique("exp");
    // The server URL-decodes a filter twice: `%25`, `%2B`, `+` and a lone `%` must survive both.
    let by_flag = format!("{base} a+b 100%25 done, 50% left");
    let by_header = format!("{base} header %2B x+y");
    let name = unique("exps");
    let nb = fixture("parameters.ipynb");

    let first = submit(k, &nb, &["--pipeline-name", &name, "--experiment", &by_flag]);
    let second = submit(k, &nb, &["--pipeline-name", &name, "--experiment", &by_flag]);
    assert_eq!(first["experiment_name"], by_flag.as_str());
    assert_eq!(second["experiment_id"], first["experiment_id"], "found again, not made twice");
    let stored = k.get(&format!("/apis/v2beta1/experiments/{}", s(&first, "experiment_id")));
    assert_eq!(stored["display_name"], by_flag.as_str());

    let with_header = notebook_with_experiment(dir.path(), &by_header);
    let from_header = submit(k, &with_header, &["--pipeline-name", &name]);
    assert_eq!(from_header["experiment_name"], by_header.as_str());
    assert_ne!(from_header["experiment_id"], first["experiment_id"]);
    let again = submit(k, &with_header, &["--pipeline-name", &name]);
    assert_eq!(again["experiment_id"], from_header["experiment_id"]);
    let stored = k.get(&format!("/apis/v2beta1/experiments/{}", s(&from_header, "experiment_id")));
    assert_eq!(stored["display_name"], by_header.as_str());
    // The flag wins over the header.
    let flag_wins = submit(k, &with_header, &["--pipeline-name", &name, "--experiment", &by_flag]);
    assert_eq!(flag_wins["experiment_id"], first["experiment_id"]);

    // One experiment of each name on the server, with the runs submitted to it.
    let all = k.list_all("/apis/v2beta1/experiments", "experiments");
    for (n, id, runs) in [(&by_flag, &first, 3), (&by_header, &from_header, 2)] {
        let same: Vec<&Value> = all.iter().filter(|e| e["display_name"] == n.as_str()).collect();
        assert_eq!(same.len(), 1, "{n}: {same:#?}");
        assert_eq!(same[0]["experiment_id"], id["experiment_id"]);
        assert_eq!(runs_in(k, s(id, "experiment_id")).len(), runs, "{n}");
        // nbkf finds it by name too (the same double encoding, in `runs list --experiment`).
        let listed = remote_json(k, &["runs", "list", "--experiment", n]);
        assert_eq!(listed.as_array().unwrap().len(), runs, "{n}: {listed:#}");
    }
}

/// Runs `nbkf submit --wait` while the fake agent moves the run to RUNNING, then to `outcome`;
/// returns nbkf's output (stdout, stderr and exit code) and the run id.
fn wait_through(k: &KfpReal, outcome: &str) -> (Option<i32>, String, String, String) {
    let nb = fixture("parameters.ipynb");
    let name = unique("wait");
    let mut child = k
        .nbkf()
        .arg("submit")
        .arg(&nb)
        .args(["--host", k.host(), "--pipeline-name", &name, "--wait", "--timeout", "90s", "--poll-interval", "1s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        stderr_pipe.read_to_string(&mut text).unwrap();
        text
    });
    let mut stdout = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let run_id = loop {
        let mut line = String::new();
        if lines.read_line(&mut line).unwrap() == 0 {
            let _ = child.wait();
            panic!("nbkf printed no run id:\n{stdout}\n--- stderr\n{}", stderr.join().unwrap());
        }
        stdout.push_str(&line);
        if let Some(id) = line.strip_prefix("run id") {
            break id.trim().to_string();
        }
    };
    // nbkf is waiting now; the run starts, stays running for a few of its polls, then ends.
    std::thread::sleep(Duration::from_millis(1500));
    k.fake_agent(&run_id, "Running");
    std::thread::sleep(Duration::from_secs(3));
    k.fake_agent(&run_id, outcome);
    lines.read_to_string(&mut stdout).unwrap();
    let status = child.wait().unwrap();
    (status.code(), stdout, stderr.join().unwrap(), run_id)
}

#[test]
fn wait_follows_the_run_to_success_and_exits_0() {
    let Some(k) = kfp_real::single_user() else { return };
    let (code, stdout, stderr, run_id) = wait_through(k, "Succeeded");
    assert_eq!(code, Some(0), "--- stdout\n{stdout}\n--- stderr\n{stderr}");
    let all = format!("{stdout}{stderr}");
    // It saw the run go through the states the server reported.
    for state in ["PENDING", "RUNNING", "SUCCEEDED"] {
        assert!(all.contains(state), "{state} not shown:\n{all}");
    }
    let stored = run_of(k, &run_id);
    assert_eq!(stored["state"], "SUCCEEDED");
    let tasks = stored["run_details"]["task_details"].as_array().unwrap();
    assert!(tasks.iter().any(|t| t["display_name"] == "report" && t["state"] == "SUCCEEDED"), "{stored:#}");
}

#[test]
fn wait_exits_1_naming_the_failed_task() {
    let Some(k) = kfp_real::single_user() else { return };
    let (code, stdout, stderr, run_id) = wait_through(k, "Failed:train");
    assert_eq!(code, Some(1), "--- stdout\n{stdout}\n--- stderr\n{stderr}");
    let stored = run_of(k, &run_id);
    assert_eq!(stored["state"], "FAILED");
    let tasks = stored["run_details"]["task_details"].as_array().unwrap();
    assert!(tasks.iter().any(|t| t["display_name"] == "train" && t["state"] == "FAILED"), "{stored:#}");
    // The error names the run and the task that failed (the one the server reports as FAILED),
    // and no other step.
    assert!(stderr.contains(&run_id), "{stderr}");
    let failed_lines: Vec<&str> = stderr.lines().filter(|l| l.to_lowercase().contains("fail")).collect();
    assert!(failed_lines.iter().any(|l| l.contains("train")), "{stderr}");
    assert!(!failed_lines.iter().any(|l| l.contains("prepare") || l.contains("report")), "{stderr}");
}

#[test]
fn runs_list_get_terminate_and_retry() {
    let Some(k) = kfp_real::single_user() else { return };
    let nb = fixture("parameters.ipynb");
    let (name, experiment) = (unique("runs"), unique("runs"));
    let args = ["--pipeline-name", name.as_str(), "--experiment", experiment.as_str()];
    let a = submit(k, &nb, &[&args[..], &["-p", "EPOCHS=1"]].concat());
    let b = submit(k, &nb, &[&args[..], &["-p", "EPOCHS=2"]].concat());
    let (ra, rb) = (s(&a, "run_id"), s(&b, "run_id"));

    // runs list, as a table and as JSON.
    let (table, _) = expect(&remote(k, &["runs", "list", "--experiment", &experiment]), 0);
    for id in [ra, rb] {
        let line = table.lines().find(|l| l.starts_with(id)).unwrap_or_else(|| panic!("{id} not listed:\n{table}"));
        assert!(line.contains("PENDING"), "{line}");
    }
    let listed = remote_json(k, &["runs", "list", "--experiment", &experiment]);
    let ids: BTreeSet<&str> = listed.as_array().unwrap().iter().map(|r| s(r, "run_id")).collect();
    assert_eq!(ids, [ra, rb].into_iter().collect());

    // runs get, as a table and as JSON.
    let (shown, _) = expect(&remote(k, &["runs", "get", ra]), 0);
    assert!(shown.contains(ra) && shown.contains("PENDING") && shown.contains(s(&a, "experiment_id")), "{shown}");
    let got = remote_json(k, &["runs", "get", rb]);
    assert_eq!(got["run_id"], rb);
    assert_eq!(got["runtime_config"]["parameters"], json!({"EPOCHS": 2}));

    // terminate: the server marks the run CANCELING (Argo would then stop it).
    expect(&remote(k, &["runs", "terminate", ra]), 0);
    assert_eq!(run_of(k, ra)["state"], "CANCELING");

    // A failed run, retried.
    k.fake_agent(rb, "Failed:train");
    await_state(k, rb, "FAILED");
    let (shown, _) = expect(&remote(k, &["runs", "get", rb]), 0);
    assert!(shown.contains("FAILED"), "{shown}");
    let train =
        shown.lines().find(|l| l.split_whitespace().next() == Some("train")).unwrap_or_else(|| panic!("{shown}"));
    assert!(train.contains("FAILED"), "{train}");
    let prepare =
        shown.lines().find(|l| l.split_whitespace().next() == Some("prepare")).unwrap_or_else(|| panic!("{shown}"));
    assert!(prepare.contains("SUCCEEDED"), "{prepare}");
    expect(&remote(k, &["runs", "retry", rb]), 0);
    assert_eq!(run_of(k, rb)["state"], "RUNNING");

    // A run the server cannot retry (never started: no workflow reported): refused, unchanged.
    let c = submit(k, &nb, &args);
    let rc = s(&c, "run_id");
    expect(&remote(k, &["runs", "retry", rc]), 1);
    assert_eq!(run_of(k, rc)["state"], "PENDING");
    // A run that does not exist.
    expect(&remote(k, &["runs", "get", "00000000-0000-0000-0000-000000000000"]), 1);
}

#[test]
fn experiments_and_pipelines_lists_show_what_the_server_has() {
    let Some(k) = kfp_real::single_user() else { return };
    let (name, experiment) = (unique("lists"), format!("{} exp", unique("lists")));
    let sub = submit(k, &fixture("parameters.ipynb"), &["--pipeline-name", &name, "--experiment", &experiment]);

    let experiments = remote_json(k, &["experiments", "list", "--limit", "1000"]);
    let mine: Vec<&Value> =
        experiments.as_array().unwrap().iter().filter(|e| e["display_name"] == experiment.as_str()).collect();
    assert_eq!(mine.len(), 1, "{experiments:#}");
    assert_eq!(mine[0]["experiment_id"], sub["experiment_id"]);
    assert_eq!(experiments.as_array().unwrap().len(), k.list_all("/apis/v2beta1/experiments", "experiments").len());
    let (table, _) = expect(&remote(k, &["experiments", "list", "--limit", "1000"]), 0);
    let line = table.lines().find(|l| l.starts_with(s(&sub, "experiment_id"))).unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains(&experiment), "{line}");

    let pipelines = remote_json(k, &["pipelines", "list", "--limit", "1000"]);
    let mine: Vec<&Value> =
        pipelines.as_array().unwrap().iter().filter(|p| p["display_name"] == name.as_str()).collect();
    assert_eq!(mine.len(), 1, "{pipelines:#}");
    assert_eq!(mine[0]["pipeline_id"], sub["pipeline_id"]);
    assert_eq!(pipelines.as_array().unwrap().len(), k.list_all("/apis/v2beta1/pipelines", "pipelines").len());
    let (table, _) = expect(&remote(k, &["pipelines", "list", "--limit", "1000"]), 0);
    let line = table.lines().find(|l| l.starts_with(s(&sub, "pipeline_id"))).unwrap_or_else(|| panic!("{table}"));
    assert!(line.contains(&name), "{line}");

    // A limit below what the server has: that many, and a note that there are more.
    let out = remote(k, &["pipelines", "list", "--limit", "1"]);
    let (table, stderr) = expect(&out, 0);
    assert_eq!(table.lines().count(), 2, "a header and one pipeline:\n{table}");
    assert!(stderr.contains("--limit"), "{stderr}");
}

#[test]
fn dry_run_creates_nothing_on_the_server() {
    let Some(k) = kfp_real::single_user() else { return };
    let nb = fixture("parameters.ipynb");
    let (name, experiment) = (unique("dry"), unique("dry"));
    let args = ["--pipeline-name", name.as_str(), "--experiment", experiment.as_str()];
    expect(&remote(k, &[&["submit", nb.to_str().unwrap(), "--dry-run", "-p", "EPOCHS=3"], &args[..]].concat()), 0);
    let (status, body) = http_get(k.host(), &format!("/apis/v2beta1/pipelines/names/{name}"), &[]);
    assert_eq!(status, 404, "{body}");
    let experiments = k.list_all("/apis/v2beta1/experiments", "experiments");
    assert!(!experiments.iter().any(|e| e["display_name"] == experiment.as_str()));
    let runs = k.list_all("/apis/v2beta1/runs", "runs");
    assert!(!runs.iter().any(|r| r["display_name"].as_str().unwrap_or("").starts_with(&name)));

    // With the pipeline there: a changed notebook's dry run uploads no version, starts no run.
    let real = submit(k, &nb, &args);
    expect(
        &remote(
            k,
            &[&["submit", nb.to_str().unwrap(), "--dry-run", "--image", "python:3.12-slim"], &args[..]].concat(),
        ),
        0,
    );
    let versions =
        k.list_all(&format!("/apis/v2beta1/pipelines/{}/versions", s(&real, "pipeline_id")), "pipeline_versions");
    assert_eq!(versions.len(), 1);
    assert_eq!(runs_in(k, s(&real, "experiment_id")).len(), 1);
}

#[test]
fn every_fixture_that_converts_is_accepted_by_the_server() {
    let Some(k) = kfp_real::single_user() else { return };
    let dir = tempfile::tempdir().unwrap();
    let base = unique("sweep");
    let mut notebooks: Vec<PathBuf> = std::fs::read_dir(common::repo().join("fixtures"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ipynb"))
        .collect();
    notebooks.sort();
    let mut submitted = Vec::new();
    let mut not_converting = Vec::new();
    for nb in &notebooks {
        let stem = nb.file_stem().unwrap().to_string_lossy().replace('_', "-");
        let name = format!("{base}-{stem}");
        let yaml = dir.path().join(format!("{stem}.yaml"));
        let converted =
            common::nbkf().arg("convert").arg(nb).args(["--pipeline-name", &name, "-o"]).arg(&yaml).output().unwrap();
        if !converted.status.success() {
            not_converting.push(stem);
            continue;
        }
        let out = remote(
            k,
            &["submit", nb.to_str().unwrap(), "--pipeline-name", &name, "--experiment", &base, "--format", "json"],
        );
        let (stdout, _) = expect(&out, 0);
        let sub: Value = serde_json::from_str(&stdout).unwrap();
        submitted.push((stem, sub["submitted"].clone()));
    }
    eprintln!("{} fixtures submitted; not converting: {not_converting:?}", submitted.len());
    assert!(submitted.len() >= 30, "only {} fixtures converted: {not_converting:?}", submitted.len());

    // Every run is on the server, of its version, and the server compiled each into a Workflow.
    let experiment_id = s(&submitted[0].1, "experiment_id");
    let runs = runs_in(k, experiment_id);
    assert_eq!(runs.len(), submitted.len());
    for (stem, sub) in &submitted {
        let run = runs.iter().find(|r| r["run_id"] == sub["run_id"]).unwrap_or_else(|| panic!("{stem}: no run"));
        assert_eq!(run["pipeline_version_reference"]["pipeline_version_id"], sub["version_id"], "{stem}");
    }
    let ids: Vec<&str> = submitted.iter().map(|(_, sub)| s(sub, "run_id")).collect();
    let selector = format!("pipeline/runid in ({})", ids.join(","));
    let workflows = k.get_json(&["workflows.argoproj.io", "-n", "kubeflow", "-l", &selector]);
    let with_workflow: BTreeSet<&str> = workflows["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["metadata"]["labels"]["pipeline/runid"].as_str().unwrap())
        .collect();
    assert_eq!(with_workflow, ids.iter().copied().collect());
}

#[test]
fn a_pipeline_compiled_by_the_kfp_sdk_is_submitted_and_its_version_reused() {
    let Some(k) = kfp_real::single_user() else { return };
    let dir = tempfile::tempdir().unwrap();
    let name = unique("sdk");
    let yaml = dir.path().join("sdk_add.yaml");
    run(
        std::process::Command::new(python())
            .arg(common::repo().join("tests/support/kfp_sdk_pipeline.py"))
            .arg(&yaml)
            .arg(&name),
        true,
    );
    let first = submit(k, &yaml, &["-p", "a=7"]);
    assert_eq!(first["pipeline_name"], name.as_str());
    assert_eq!(first["version_created"], true);
    let stored = run_of(k, s(&first, "run_id"));
    assert_eq!(stored["runtime_config"]["parameters"], json!({"a": 7}));
    let workflows = k.workflows_of(s(&first, "run_id"));
    assert_eq!(workflows.len(), 1);
    assert_eq!(workflow_parameter_values(&workflows[0]), json!({"a": 7, "b": 2}));
    assert_eq!(workflow_tasks(&workflows[0]), ["add", "show"].map(String::from).into_iter().collect::<BTreeSet<_>>());

    let again = submit(k, &yaml, &["-p", "b=5"]);
    assert_eq!(again["version_id"], first["version_id"]);
    assert_eq!(again["version_created"], false);
    // A wrong value is refused before anything is sent.
    let before = runs_in(k, s(&first, "experiment_id")).len();
    expect(&remote(k, &["submit", yaml.to_str().unwrap(), "-p", "a=oops"]), 2);
    assert_eq!(runs_in(k, s(&first, "experiment_id")).len(), before);
}

// ----- multi-user mode ------------------------------------------------------------------------

/// `nbkf ARGS --host <multi-user server>`.
fn mu(k: &KfpReal, args: &[&str]) -> Output {
    k.nbkf().args(args).args(["--host", k.mu_host()]).output().unwrap()
}

#[test]
fn multi_user_the_kubeflow_userid_header_works_in_the_users_namespace_only() {
    let Some(k) = kfp_real::multi_user() else { return };
    let (team_a, team_b) = (k.profile("ua"), k.profile("ub"));
    let nb = fixture("parameters.ipynb");
    let name = unique("mu-header");
    let as_a = ["-n", team_a.namespace.as_str(), "--user-id", team_a.user.as_str()];
    let out =
        mu(k, &[&["submit", nb.to_str().unwrap(), "--pipeline-name", &name, "--format", "json"], &as_a[..]].concat());
    let (stdout, _) = expect(&out, 0);
    let sub = serde_json::from_str::<Value>(&stdout).unwrap()["submitted"].clone();
    let run_id = s(&sub, "run_id");

    // On the server: the run and its experiment in team A's namespace, seen as user A.
    let header = [("kubeflow-userid", team_a.user.as_str())];
    let (status, exp) =
        http_get(k.mu_host(), &format!("/apis/v2beta1/experiments/{}", s(&sub, "experiment_id")), &header);
    assert_eq!(status, 200, "{exp}");
    assert_eq!(exp["namespace"], team_a.namespace.as_str());
    let (status, run) = http_get(k.mu_host(), &format!("/apis/v2beta1/runs/{run_id}"), &header);
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["pipeline_version_reference"]["pipeline_version_id"], sub["version_id"]);
    // The Workflow is in team A's namespace.
    let workflows = k.workflows_of(run_id);
    assert_eq!(workflows.len(), 1);
    assert_eq!(workflows[0]["metadata"]["namespace"], team_a.namespace.as_str());

    // nbkf lists it there.
    for what in [&["runs", "list"][..], &["experiments", "list"], &["pipelines", "list", "--limit", "1000"]] {
        let out = mu(k, &[what, &as_a[..], &["--format", "json"]].concat());
        let (stdout, _) = expect(&out, 0);
        let listed: Value = serde_json::from_str(&stdout).unwrap();
        let ids: Vec<&Value> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.get("run_id").or(x.get("experiment_id")).or(x.get("pipeline_id")).unwrap())
            .collect();
        let expected = match what[0] {
            "runs" => &sub["run_id"],
            "experiments" => &sub["experiment_id"],
            _ => &sub["pipeline_id"],
        };
        assert!(ids.contains(&expected), "{what:?}: {listed:#}");
    }

    // User A in team B's namespace: refused (403 from the server's SubjectAccessReview), and
    // nothing is made there.
    let a_in_b = ["-n", team_b.namespace.as_str(), "--user-id", team_a.user.as_str()];
    let (status, _) = http_get(
        k.mu_host(),
        &format!("/apis/v2beta1/runs?namespace={}", team_b.namespace),
        &[("kubeflow-userid", team_a.user.as_str())],
    );
    assert_eq!(status, 403);
    expect(&mu(k, &[&["runs", "list"], &a_in_b[..]].concat()), 1);
    expect(&mu(k, &[&["submit", nb.to_str().unwrap(), "--pipeline-name", &name], &a_in_b[..]].concat()), 1);
    let as_b = [("kubeflow-userid", team_b.user.as_str())];
    let in_b = |what: &str| {
        list_all_at(k.mu_host(), &format!("/apis/v2beta1/{what}?namespace={}", team_b.namespace), what, &as_b).len()
    };
    assert_eq!((in_b("experiments"), in_b("runs"), in_b("pipelines")), (0, 0, 0));
}

#[test]
fn multi_user_a_service_account_token_with_the_pipelines_audience_works() {
    let Some(k) = kfp_real::multi_user() else { return };
    let (team_a, team_b) = (k.profile("ta"), k.profile("tb"));
    let nb = fixture("parameters.ipynb");
    let name = unique("mu-token");
    let token_file = team_a.token_file.to_str().unwrap();
    let with_token = ["-n", team_a.namespace.as_str(), "--token-file", token_file];
    let out = mu(
        k,
        &[
            &["submit", nb.to_str().unwrap(), "--pipeline-name", &name, "--format", "json", "-p", "EPOCHS=5"],
            &with_token[..],
        ]
        .concat(),
    );
    let (stdout, stderr) = expect(&out, 0);
    assert!(!stdout.contains(&team_a.token) && !stderr.contains(&team_a.token), "the token was printed");
    let sub = serde_json::from_str::<Value>(&stdout).unwrap()["submitted"].clone();
    let workflows = k.workflows_of(s(&sub, "run_id"));
    assert_eq!(workflows.len(), 1);
    assert_eq!(workflows[0]["metadata"]["namespace"], team_a.namespace.as_str());
    assert_eq!(workflow_parameter_values(&workflows[0])["EPOCHS"], 5);
    let listed: Value =
        serde_json::from_str(&expect(&mu(k, &[&["runs", "list", "--format", "json"], &with_token[..]].concat()), 0).0)
            .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["run_id"], sub["run_id"]);

    // The same token in another namespace: 403.
    let out = mu(k, &["runs", "list", "-n", &team_b.namespace, "--token-file", token_file]);
    let (stdout, stderr) = expect(&out, 1);
    assert!(!stdout.contains(&team_a.token) && !stderr.contains(&team_a.token), "the token was printed");
}

#[test]
fn multi_user_refuses_a_bad_token_and_a_missing_namespace() {
    let Some(k) = kfp_real::multi_user() else { return };
    let team = k.profile("bad");
    // A token the server's TokenReview rejects: the server answers 401, nbkf exits 1.
    let bad = "not-a-jwt";
    let (status, body) = http_get(
        k.mu_host(),
        &format!("/apis/v2beta1/runs?namespace={}", team.namespace),
        &[("authorization", &format!("Bearer {bad}"))],
    );
    assert_eq!(status, 401, "{body}");
    let (stdout, stderr) = expect(&mu(k, &["runs", "list", "-n", &team.namespace, "--token", bad]), 1);
    assert!(!stdout.contains(bad) && !stderr.contains(bad), "the token was printed:\n{stdout}{stderr}");
    // No credentials at all.
    expect(&mu(k, &["runs", "list", "-n", &team.namespace]), 1);

    // Without a namespace, a multi-user server has nothing to list or submit to: nbkf fails
    // and creates nothing, even for a user with rights in some namespace.
    let as_user = ["--user-id", team.user.as_str()];
    for what in [&["runs", "list"][..], &["experiments", "list"]] {
        let out = mu(k, &[what, &as_user[..]].concat());
        assert!(!out.status.success(), "{what:?}: {:?}", text(&out));
    }
    let name = unique("mu-no-ns");
    let nb = fixture("parameters.ipynb");
    let out = mu(k, &[&["submit", nb.to_str().unwrap(), "--pipeline-name", &name], &as_user[..]].concat());
    assert!(!out.status.success(), "{:?}", text(&out));
    let header = [("kubeflow-userid", team.user.as_str())];
    let (status, _) = http_get(k.mu_host(), &format!("/apis/v2beta1/pipelines/names/{name}"), &header);
    assert_ne!(status, 200, "a pipeline was created");
    let (status, _) =
        http_get(k.mu_host(), &format!("/apis/v2beta1/pipelines/names/{name}?namespace={}", team.namespace), &header);
    assert_ne!(status, 200, "a pipeline was created in the user's namespace");
}
