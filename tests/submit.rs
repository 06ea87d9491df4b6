//! `nbkf submit`, `runs`, `experiments`, `pipelines` and `config` against the local KFP API
//! stand-in (`tests/support/kfp_standin.py`): it serves the v2beta1 endpoints nbkf uses,
//! checks every request body against the official `kfp-server-api` models (a body the real
//! server would refuse fails the request), and is told to fail in the ways real
//! installations do. The same commands against the real KFP API server: `tests/submit_real.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::standin::StandIn;
use common::{fixture, nbkf};
use serde_json::{json, Value};

/// The service proxy path of the Kubernetes API server in front of KFP.
const PROXY_PREFIX: &str = "/api/v1/namespaces/kubeflow/services/ml-pipeline:http/proxy";

/// `nbkf ARGS` with a clean environment for the connection settings (no profile, no KFP
/// variables from the machine), returning the output whatever the exit code.
fn nbkf_remote(config_dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = common::nbkf_isolated(&config_dir.join("config.toml"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run nbkf: {e}"))
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn expect(out: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = text(out);
    assert_eq!(out.status.code(), Some(code), "exit code\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    (stdout, stderr)
}

/// `key  value` from nbkf's submit output.
fn line_value(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_else(|| panic!("no `{key}` line in\n{stdout}"))
}

fn list(state: &Value, key: &str) -> Vec<Value> {
    state[key].as_array().cloned().unwrap_or_default()
}

/// No request with a body that the stand-in received was refused (it checks bodies
/// against the official models).
fn assert_bodies_accepted(s: &StandIn) {
    for r in s.requests().into_iter().filter(|r| !r["body"].is_null() || r.get("multipart").is_some()) {
        let status = r["response_status"].as_u64().unwrap_or(0);
        assert!(status != 400, "the stand-in refused a request nbkf made: {r:#}");
    }
}

#[test]
fn submit_finds_or_creates_and_reuses_a_version_for_the_same_content() {
    let s = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("parameters.ipynb");
    let nb = nb.to_str().unwrap();
    let host = s.host();
    let out = nbkf_remote(dir.path(), &["submit", nb, "--host", &host, "-p", "EPOCHS=7", "-p", "NAME=x y"], &[]);
    let (stdout, _) = expect(&out, 0);
    let run_id = line_value(&stdout, "run id");
    assert!(stdout.contains("pipeline    parameters (created"), "{stdout}");
    assert!(stdout.contains("(uploaded"), "{stdout}");
    assert!(line_value(&stdout, "run page").ends_with(&format!("/#/runs/details/{run_id}")));

    let state = s.state();
    let versions = list(&state, "pipeline_versions");
    assert_eq!(versions.len(), 1);
    let version = &versions[0];
    assert_eq!(version["description"], "converted by nbkf from parameters.ipynb");
    assert_eq!(list(&state, "pipelines")[0]["description"], "converted by nbkf from parameters.ipynb");
    let name = version["name"].as_str().unwrap();
    assert!(name.len() == 12 && name.chars().all(|c| c.is_ascii_hexdigit()), "{name}");
    // The version holds the pipeline as converted.
    let converted = common::run(nbkf().args(["convert", nb, "-o", "-"]), true);
    let ir: Value =
        serde_saphyr::from_multiple::<Value>(&String::from_utf8_lossy(&converted.stdout)).unwrap().remove(0);
    let stored = if version["pipeline_spec"].get("pipeline_spec").is_some() {
        &version["pipeline_spec"]["pipeline_spec"]
    } else {
        &version["pipeline_spec"]
    };
    assert_eq!(stored, &ir);
    let runs = list(&state, "runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["run_id"], run_id);
    assert_eq!(run["pipeline_version_reference"]["pipeline_version_id"], version["pipeline_version_id"]);
    // Values given are sent typed; the others are left to the server's defaults.
    assert_eq!(run["runtime_config"]["parameters"], json!({"EPOCHS": 7, "NAME": "x y"}));
    let experiments = list(&state, "experiments");
    assert_eq!(experiments.len(), 1);
    assert_eq!(experiments[0]["display_name"], "Default");
    assert_eq!(run["experiment_id"], experiments[0]["experiment_id"]);

    // The same notebook again: the version is reused, a second run starts.
    let (stdout, _) = expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host], &[]), 0);
    assert!(stdout.contains("(unchanged, reused"), "{stdout}");
    assert!(stdout.contains("pipeline    parameters (found"), "{stdout}");
    let state = s.state();
    assert_eq!(list(&state, "pipeline_versions").len(), 1);
    assert_eq!(list(&state, "runs").len(), 2);
    assert_eq!(list(&state, "experiments").len(), 1);

    // A change (another image) is a new version of the same pipeline.
    let (stdout, _) =
        expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host, "--image", "python:3.12"], &[]), 0);
    assert!(stdout.contains("(uploaded"), "{stdout}");
    let state = s.state();
    assert_eq!(list(&state, "pipelines").len(), 1);
    assert_eq!(list(&state, "pipeline_versions").len(), 2);
    assert_bodies_accepted(&s);
}

#[test]
fn parameters_are_checked_before_anything_is_sent() {
    let s = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("parameters.ipynb");
    let host = s.host();
    for (param, message) in [
        ("EPOCHS=many", "parameter `EPOCHS` is an integer"),
        ("EPOCH=3", "did you mean `EPOCHS`?"),
        ("VERBOSE=maybe", "a boolean"),
    ] {
        let out = nbkf_remote(dir.path(), &["submit", nb.to_str().unwrap(), "--host", &host, "-p", param], &[]);
        let (_, stderr) = expect(&out, 2);
        assert!(stderr.contains(message), "{param}: {stderr}");
    }
    assert!(s.requests().is_empty(), "{:?}", s.request_lines());
}

#[test]
fn the_experiment_comes_from_the_flag_else_the_notebook() {
    let s = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("p.yaml");
    let nb = fixture("steps_and_continuation.ipynb");
    // Names with characters the server decodes twice still match.
    common::run(
        nbkf().args([
            "convert",
            nb.to_str().unwrap(),
            "-o",
            yaml.to_str().unwrap(),
            "--experiment",
            "nightly 100% + more",
        ]),
        true,
    );
    let host = s.host();
    for _ in 0..2 {
        expect(&nbkf_remote(dir.path(), &["submit", yaml.to_str().unwrap(), "--host", &host], &[]), 0);
    }
    expect(
        &nbkf_remote(dir.path(), &["submit", yaml.to_str().unwrap(), "--host", &host, "--experiment", "other"], &[]),
        0,
    );
    let names: Vec<String> =
        list(&s.state(), "experiments").iter().map(|e| e["display_name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["nightly 100% + more", "other"]);
    // Conversion flags are refused for a YAML, which is converted already.
    let out = nbkf_remote(dir.path(), &["submit", yaml.to_str().unwrap(), "--host", &host, "--split", "cells"], &[]);
    let (_, stderr) = expect(&out, 2);
    assert!(stderr.contains("`--split` changes how a notebook is converted"), "{stderr}");
}

#[test]
fn wait_follows_the_run_and_names_the_failed_task() {
    let s = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("parameters.ipynb");
    let host = s.host();
    let args = ["submit", nb.to_str().unwrap(), "--host", &host, "--wait", "--poll-interval", "10ms"];
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &args, &[]), 0);
    // Piped: a line per change, every task seen to its end.
    for task in ["prepare", "train", "report"] {
        assert!(stderr.contains(&format!("task {task}  SUCCEEDED")), "{stderr}");
    }
    assert!(stderr.contains("run  RUNNING") && stderr.contains("SUCCEEDED"), "{stderr}");

    s.behaviour(json!({"fail_task": "train", "fail_message": "ZeroDivisionError: division by zero"}));
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &args, &[]), 1);
    assert!(stderr.contains("task train failed: ZeroDivisionError: division by zero"), "{stderr}");

    // JSON for programs: what was made and how the run ended.
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let (stdout, _) = expect(&nbkf_remote(dir.path(), &json_args, &[]), 1);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["end"]["state"], "FAILED");
    assert_eq!(v["end"]["failed_tasks"][0]["task"], "train");
    assert_eq!(v["submitted"]["pipeline_name"], "parameters");

    // A run slower than the timeout: the wait gives up, the run goes on.
    s.behaviour(json!({"fail_task": null, "gets_per_state": 1000}));
    let mut slow = args.to_vec();
    slow.extend(["--timeout", "300ms"]);
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &slow, &[]), 1);
    assert!(stderr.contains("after the timeout; it goes on"), "{stderr}");
}

#[test]
fn runs_can_be_listed_shown_stopped_and_retried() {
    let s = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("steps_and_continuation.ipynb");
    let host = s.host();
    s.behaviour(json!({"gets_per_state": 1000}));
    let (stdout, _) = expect(
        &nbkf_remote(dir.path(), &["submit", nb.to_str().unwrap(), "--host", &host, "--run-name", "nightly"], &[]),
        0,
    );
    let run_id = line_value(&stdout, "run id");

    let (stdout, _) = expect(&nbkf_remote(dir.path(), &["runs", "list", "--host", &host], &[]), 0);
    assert!(stdout.contains(&run_id) && stdout.contains("nightly 20"), "{stdout}");
    let (stdout, _) = expect(&nbkf_remote(dir.path(), &["runs", "list", "--host", &host, "--format", "json"], &[]), 0);
    let runs: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(runs[0]["run_id"], run_id);
    let (stdout, _) =
        expect(&nbkf_remote(dir.path(), &["runs", "list", "--host", &host, "--experiment", "Default"], &[]), 0);
    assert!(stdout.contains(&run_id), "{stdout}");
    let (_, stderr) =
        expect(&nbkf_remote(dir.path(), &["runs", "list", "--host", &host, "--experiment", "nope"], &[]), 1);
    assert!(stderr.contains("there is no experiment `nope`"), "{stderr}");

    let (stdout, _) = expect(&nbkf_remote(dir.path(), &["runs", "get", &run_id, "--host", &host], &[]), 0);
    assert!(stdout.contains("state") && stdout.contains(&run_id), "{stdout}");

    let (_, stderr) = expect(
        &nbkf_remote(
            dir.path(),
            &["runs", "terminate", &run_id, "--host", &host, "--wait", "--poll-interval", "10ms"],
            &[],
        ),
        0,
    );
    assert!(stderr.contains("stopped: CANCELED"), "{stderr}");
    s.behaviour(json!({"gets_per_state": 1}));
    let (_, stderr) = expect(
        &nbkf_remote(
            dir.path(),
            &["runs", "retry", &run_id, "--host", &host, "--wait", "--poll-interval", "10ms"],
            &[],
        ),
        0,
    );
    assert!(stderr.contains(&format!("run {run_id} SUCCEEDED")), "{stderr}");
    // Retrying a run that succeeded, or stopping it, is refused by the server, and said why.
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["runs", "retry", &run_id, "--host", &host], &[]), 1);
    assert!(stderr.contains(":retry") && stderr.contains("current state"), "{stderr}");
    assert!(stderr.contains("the run is SUCCEEDED: only a failed or canceled run can be retried"), "{stderr}");
    assert!(!stderr.contains("exists already"), "{stderr}");
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["runs", "terminate", &run_id, "--host", &host], &[]), 1);
    assert!(stderr.contains("the run has already ended (SUCCEEDED): there is nothing to stop"), "{stderr}");
    // A run that is not there: the host is right, so no advice about the host.
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["runs", "get", "no-such-run", "--host", &host], &[]), 1);
    assert!(stderr.contains("not found") && !stderr.contains("does not answer as the KFP API"), "{stderr}");

    let (stdout, _) = expect(&nbkf_remote(dir.path(), &["experiments", "list", "--host", &host], &[]), 0);
    assert!(stdout.contains("Default"), "{stdout}");
    let (stdout, _) = expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--host", &host], &[]), 0);
    assert!(stdout.contains("steps-and-continuation"), "{stdout}");
    let (stdout, _) = expect(
        &nbkf_remote(
            dir.path(),
            &["pipelines", "versions", "steps-and-continuation", "--host", &host, "--format", "json"],
            &[],
        ),
        0,
    );
    let versions: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 1);
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["pipelines", "versions", "absent", "--host", &host], &[]), 1);
    assert!(stderr.contains("there is no pipeline `absent`"), "{stderr}");
    assert_bodies_accepted(&s);
}

#[test]
fn dry_run_prints_the_requests_and_creates_nothing() {
    let s = StandIn::start(&["--token", "s3cret-token-value"]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("parameters.ipynb");
    let host = s.host();
    let out = nbkf_remote(
        dir.path(),
        &["submit", nb.to_str().unwrap(), "--host", &host, "--dry-run", "-p", "LR=0.5"],
        &[("KF_PIPELINES_TOKEN", "s3cret-token-value")],
    );
    let (stdout, stderr) = expect(&out, 0);
    assert!(stdout.contains("Authorization: Bearer ***"), "{stdout}");
    assert!(
        stdout.contains("GET /apis/v2beta1/pipelines/names/parameters") && stdout.contains("-> 404 (sent)"),
        "{stdout}"
    );
    assert!(stdout.contains("POST /apis/v2beta1/pipelines    (not sent)"), "{stdout}");
    assert!(stdout.contains("multipart/form-data: uploadfile=pipeline.yaml"), "{stdout}");
    assert!(stdout.contains("POST /apis/v2beta1/runs    (not sent)") && stdout.contains("\"LR\": 0.5"), "{stdout}");
    assert!(!format!("{stdout}{stderr}").contains("s3cret-token-value"));
    let state = s.state();
    assert!(list(&state, "pipelines").is_empty() && list(&state, "runs").is_empty());
    assert!(s.requests().iter().all(|r| r["method"] == "GET"), "{:?}", s.request_lines());
}

#[test]
fn credentials_are_sent_and_never_printed() {
    let secret = "tok-3f9a7c1e5b";
    let cookie = "sess-8d2b4a6f0c";
    let s = StandIn::start(&["--token", secret, "--cookie", &format!("authservice_session={cookie}"), "--multi-user"]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("steps_and_continuation.ipynb");
    let nb = nb.to_str().unwrap();
    let host = s.host();
    let mut everything = String::new();
    let mut keep = |out: &Output| {
        let (o, e) = text(out);
        everything.push_str(&o);
        everything.push_str(&e);
    };

    // No credential: 401, with what was used and what to try.
    let out = nbkf_remote(dir.path(), &["submit", nb, "--host", &host, "-n", "team-a"], &[]);
    let (_, stderr) = expect(&out, 1);
    assert!(stderr.contains("401") && stderr.contains("none was given") && stderr.contains("--user-id"), "{stderr}");
    keep(&out);

    // Multi-user KFP: experiments and runs need the profile namespace; said before anything
    // is made.
    let before = list(&s.state(), "pipelines").len();
    for args in [
        vec!["submit", nb, "--host", &host],
        vec!["runs", "list", "--host", &host],
        vec!["experiments", "list", "--host", &host],
    ] {
        let out = nbkf_remote(dir.path(), &args, &[("KF_PIPELINES_TOKEN", secret)]);
        let (_, stderr) = expect(&out, 2);
        assert!(stderr.contains("multi-user") && stderr.contains("-n NS"), "{stderr}");
    }
    assert_eq!(list(&s.state(), "pipelines").len(), before);

    // A wrong token: the message says which one (where it came from), not its value.
    let out = nbkf_remote(
        dir.path(),
        &["submit", nb, "--host", &host, "-n", "team-a"],
        &[("KF_PIPELINES_TOKEN", "wrong-tok-77")],
    );
    let (_, stderr) = expect(&out, 1);
    assert!(stderr.contains("the bearer token from KF_PIPELINES_TOKEN"), "{stderr}");
    assert!(!stderr.contains("wrong-tok-77"), "{stderr}");

    // The token from the environment, from a file, the session cookie, the user id header.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{secret}\n")).unwrap();
    let runs = [
        nbkf_remote(dir.path(), &["submit", nb, "--host", &host, "-n", "team-a"], &[("KF_PIPELINES_TOKEN", secret)]),
        nbkf_remote(
            dir.path(),
            &["submit", nb, "--host", &host, "-n", "team-a", "--token-file", token_file.to_str().unwrap()],
            &[],
        ),
        nbkf_remote(
            dir.path(),
            &["submit", nb, "--host", &host, "--cookie", cookie],
            &[("KF_PIPELINES_NAMESPACE", "team-a")],
        ),
        nbkf_remote(
            dir.path(),
            &[
                "submit",
                nb,
                "--host",
                &host,
                "-n",
                "team-a",
                "--user-id",
                "alice@example.com",
                "--wait",
                "--poll-interval",
                "10ms",
            ],
            &[("KF_PIPELINES_SA_TOKEN_PATH", token_file.to_str().unwrap())],
        ),
    ];
    for out in &runs {
        expect(out, 0);
        keep(out);
    }
    let requests = s.requests();
    let sent = |header: &str, value: &str| requests.iter().any(|r| r["headers"][header].as_str() == Some(value));
    assert!(sent("authorization", &format!("Bearer {secret}")));
    assert!(sent("cookie", &format!("authservice_session={cookie}")));
    assert!(sent("kubeflow-userid", "alice@example.com"));
    // Multi-user: experiments and runs are made in the namespace.
    let state = s.state();
    assert!(list(&state, "experiments").iter().all(|e| e["namespace"] == "team-a"), "{state:#}");

    // Profiles: saved with the secrets, shown masked.
    let out = nbkf_remote(
        dir.path(),
        &["config", "set-profile", "prod", "--host", &host, "--token", secret, "--cookie", cookie, "-n", "team-a"],
        &[],
    );
    expect(&out, 0);
    keep(&out);
    let out = nbkf_remote(dir.path(), &["config", "view"], &[]);
    let (stdout, _) = expect(&out, 0);
    assert!(stdout.contains("token = \"***\"") && stdout.contains("[profiles.prod]"), "{stdout}");
    keep(&out);
    let out = nbkf_remote(dir.path(), &["config", "view", "--format", "json"], &[]);
    keep(&out);
    for args in [
        vec!["runs", "list"],
        vec!["experiments", "list"],
        vec!["pipelines", "list"],
        vec!["submit", nb, "--dry-run"],
        vec!["submit", nb, "--format", "json"],
    ] {
        let out = nbkf_remote(dir.path(), &args, &[]);
        expect(&out, 0);
        keep(&out);
    }
    // A failure with the profile's credentials names the profile, not the secret.
    s.faults(json!([{"method": "GET", "path": "/runs", "kind": "status", "status": 403}]));
    let out = nbkf_remote(dir.path(), &["runs", "list"], &[]);
    let (_, stderr) = expect(&out, 1);
    assert!(
        stderr.contains("403") && stderr.contains("profile `prod`") && stderr.contains("namespace `team-a`"),
        "{stderr}"
    );
    keep(&out);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("config.toml")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!everything.contains(secret), "the token was printed:\n{everything}");
    assert!(!everything.contains(cookie), "the cookie was printed:\n{everything}");
}

#[test]
fn flags_beat_the_environment_which_beats_the_profile() {
    let good = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("steps_and_continuation.ipynb");
    let nb = nb.to_str().unwrap();
    let nowhere = "http://127.0.0.1:9"; // discard port: nothing listens
    expect(&nbkf_remote(dir.path(), &["config", "set-profile", "p", "--host", nowhere], &[]), 0);
    let env_good = [("KF_PIPELINES_ENDPOINT", good.host())];
    let env_good: Vec<(&str, &str)> = env_good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let env_bad = [("KF_PIPELINES_ENDPOINT", nowhere)];
    // Profile only: fails to connect, saying where it tried.
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--connect-timeout", "2s"], &[]), 1);
    assert!(stderr.contains("127.0.0.1:9") && stderr.contains("hint:"), "{stderr}");
    // The environment wins over the profile; the flag over the environment.
    expect(&nbkf_remote(dir.path(), &["pipelines", "list"], &env_good), 0);
    expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &good.host()], &env_bad), 0);
    // Another profile, named on the command line.
    expect(&nbkf_remote(dir.path(), &["config", "set-profile", "good", "--host", &good.host()], &[]), 0);
    expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--profile", "good"], &[]), 0);
    expect(&nbkf_remote(dir.path(), &["config", "use", "good"], &[]), 0);
    expect(&nbkf_remote(dir.path(), &["pipelines", "list"], &[]), 0);
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--profile", "missing"], &[]), 2);
    assert!(stderr.contains("no profile `missing`") && stderr.contains("good, p"), "{stderr}");
    let (_, stderr) =
        expect(&nbkf_remote(dir.path(), &["config", "set-profile", "x", "--host", "kubeflow.local"], &[]), 2);
    assert!(stderr.contains("no scheme"), "{stderr}");
    // Nothing configured at all.
    let empty = tempfile::tempdir().unwrap();
    let (_, stderr) = expect(&nbkf_remote(empty.path(), &["runs", "list"], &[]), 2);
    assert!(stderr.contains("no KFP API to talk to"), "{stderr}");
}

#[test]
fn idempotent_calls_are_retried_and_creations_checked_before_retrying() {
    let s = StandIn::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("steps_and_continuation.ipynb");
    let nb = nb.to_str().unwrap();
    let host = s.host();
    // A gateway briefly unavailable, a dropped connection: look-ups are retried.
    s.faults(json!([
        {"method": "GET", "path": "/pipelines/names/", "kind": "status", "status": 503, "times": 2},
        {"method": "GET", "path": "/experiments$", "kind": "drop"},
    ]));
    expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host], &[]), 0);
    let lines = s.request_lines();
    assert_eq!(lines.iter().filter(|l| l.starts_with("GET /apis/v2beta1/pipelines/names/")).count(), 3, "{lines:#?}");

    // The upload and the new run arrive, but their answers are lost: nbkf looks before it
    // tries again, and nothing is made twice.
    s.faults(json!([
        {"method": "POST", "path": "/pipelines/upload_version", "kind": "drop_after"},
        {"method": "POST", "path": "/runs$", "kind": "drop_after"},
    ]));
    expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host, "--image", "python:3.12"], &[]), 0);
    let state = s.state();
    assert_eq!(list(&state, "pipeline_versions").len(), 2);
    assert_eq!(list(&state, "runs").len(), 2);

    // A request that never arrived is made again after the look-up finds nothing.
    s.faults(json!([{"method": "POST", "path": "/runs$", "kind": "drop"}]));
    expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host], &[]), 0);
    assert_eq!(list(&s.state(), "runs").len(), 3);

    // A slow answer: timed out, then retried.
    s.faults(json!([{"method": "GET", "path": "/experiments$", "kind": "slow", "seconds": 3}]));
    expect(&nbkf_remote(dir.path(), &["experiments", "list", "--host", &host, "--request-timeout", "1s"], &[]), 0);

    // A server error on a creation is not retried blindly: it is reported.
    s.faults(json!([{"method": "POST", "path": "/runs$", "kind": "status", "status": 500}]));
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host], &[]), 1);
    assert!(stderr.contains("POST /apis/v2beta1/runs") && stderr.contains("500"), "{stderr}");
    assert_eq!(list(&s.state(), "runs").len(), 3);

    // A conflict is explained.
    s.faults(json!([{"method": "POST", "path": "/pipelines$", "kind": "status", "status": 409}]));
    let (_, stderr) =
        expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &host, "--pipeline-name", "fresh"], &[]), 1);
    assert!(stderr.contains("409 Conflict"), "{stderr}");
}

#[test]
fn wrong_paths_and_refusals_say_what_to_do() {
    let s = StandIn::start(&["--prefix", PROXY_PREFIX]);
    let dir = tempfile::tempdir().unwrap();
    let nb = fixture("steps_and_continuation.ipynb");
    let nb = nb.to_str().unwrap();
    // The API is under the prefix: the bare host is a 404 with a hint about the path.
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &s.base], &[]), 1);
    assert!(stderr.contains("404") && stderr.contains("/pipeline"), "{stderr}");
    // Under the service-proxy prefix, everything works.
    expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &s.host(), "--wait", "--poll-interval", "10ms"], &[]), 0);
    assert!(s.requests().iter().filter(|r| r["prefix_matched"] == true).count() >= 5);

    // The server refuses a pipeline it cannot read: its message, and our file.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "schemaVersion: 2.1.0\npipelineInfo: {name: bad-one}\nroot: {dag: {tasks: {}}}\nbogusField: 1\n",
    )
    .unwrap();
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["submit", bad.to_str().unwrap(), "--host", &s.host()], &[]), 1);
    assert!(stderr.contains("refused") && stderr.contains("bad.yaml"), "{stderr}");

    // A refusal that names a task points at the notebook's step and cells.
    s.faults(json!([{"method": "POST", "path": "upload_version", "kind": "status", "status": 400,
                     "message": "invalid executor exec-b: container image is empty"}]));
    let (_, stderr) =
        expect(&nbkf_remote(dir.path(), &["submit", nb, "--host", &s.host(), "--image", "python:3.12"], &[]), 1);
    assert!(stderr.contains("exec-b: container image is empty (in step `b`, cells "), "{stderr}");
    assert!(stderr.contains("of steps_and_continuation.ipynb)"), "{stderr}");

    // Over the server's upload limit: refused before sending.
    let big = dir.path().join("big.yaml");
    let ir =
        String::from_utf8(common::run(nbkf().args(["convert", nb, "-o", "-", "--pipeline-name", "big"]), true).stdout)
            .unwrap();
    let mut padded = format!("# {}\n", "x".repeat(33 * 1024 * 1024));
    padded.push_str(&ir);
    std::fs::write(&big, padded).unwrap();
    let before = s.requests().len();
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["submit", big.to_str().unwrap(), "--host", &s.host()], &[]), 1);
    assert!(stderr.contains("over the 32 MiB"), "{stderr}");
    let after = s.requests();
    assert!(after[before..].iter().all(|r| !r["path"].as_str().unwrap_or("").contains("upload")), "nothing uploaded");
}

/// A CA and a server certificate for 127.0.0.1, made with openssl.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ca_key = dir.join("ca.key");
    let ca = dir.join("ca.crt");
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let crt = dir.join("server.crt");
    let ext = dir.join("server.ext");
    std::fs::write(&ext, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    let openssl = |args: &[&str]| common::run(Command::new("openssl").args(args), true);
    let p = |p: &PathBuf| p.to_str().unwrap().to_string();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "2",
        "-subj",
        "/CN=nbkf-test-ca",
        "-keyout",
        &p(&ca_key),
        "-out",
        &p(&ca),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-subj",
        "/CN=localhost",
        "-keyout",
        &p(&key),
        "-out",
        &p(&csr),
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p(&csr),
        "-CA",
        &p(&ca),
        "-CAkey",
        &p(&ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-sha256",
        "-extfile",
        &p(&ext),
        "-out",
        &p(&crt),
    ]);
    (ca, crt, key)
}

#[test]
fn tls_with_a_ca_bundle_insecure_mode_and_a_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, crt, key) = certificates(dir.path());
    let s = StandIn::start(&["--tls-cert", crt.to_str().unwrap(), "--tls-key", key.to_str().unwrap()]);
    assert!(s.base.starts_with("https://"));
    let host = s.host();
    // The system's CA store does not know the test CA.
    let (_, stderr) = expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--host", &host], &[]), 1);
    assert!(stderr.contains("TLS"), "{stderr}");
    expect(
        &nbkf_remote(dir.path(), &["pipelines", "list", "--host", &host, "--ca-cert", ca.to_str().unwrap()], &[]),
        0,
    );
    expect(
        &nbkf_remote(
            dir.path(),
            &["pipelines", "list", "--host", &host],
            &[("KF_PIPELINES_CA_CERT", ca.to_str().unwrap())],
        ),
        0,
    );
    expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--host", &host, "--insecure-skip-tls-verify"], &[]), 0);
    let (_, stderr) =
        expect(&nbkf_remote(dir.path(), &["pipelines", "list", "--host", &host, "--ca-cert", "/no/such.pem"], &[]), 2);
    assert!(stderr.contains("cannot read the CA bundle /no/such.pem"), "{stderr}");

    // HTTPS_PROXY: the connection goes through the proxy (a CONNECT tunnel).
    let log = dir.path().join("proxy.log");
    let mut proxy = Command::new(common::python())
        .arg(common::repo().join("tests/support/connect_proxy.py"))
        .arg(&log)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(proxy.stdout.take().unwrap()), &mut line).unwrap();
    let proxy_url = line.trim().strip_prefix("LISTENING ").unwrap().to_string();
    let env = [("HTTPS_PROXY", proxy_url.as_str())];
    let result =
        nbkf_remote(dir.path(), &["pipelines", "list", "--host", &host, "--ca-cert", ca.to_str().unwrap()], &env);
    let no_proxy = nbkf_remote(
        dir.path(),
        &["experiments", "list", "--host", &host, "--ca-cert", ca.to_str().unwrap()],
        &[env[0], ("NO_PROXY", "127.0.0.1")],
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
    expect(&result, 0);
    expect(&no_proxy, 0);
    let tunnels = std::fs::read_to_string(&log).unwrap_or_default();
    let port = host.rsplit(':').next().unwrap();
    assert_eq!(tunnels.lines().filter(|l| *l == format!("CONNECT 127.0.0.1:{port}")).count(), 1, "{tunnels}");
}

/// The stand-in answers the official `kfp.Client` (kfp 2.17.3) the way the server does:
/// uploads, versions, experiments, runs, filters, faults, the proxy prefix, multi-user
/// rules (`tests/support/kfp_standin_selftest.py`), so passing tests above mean requests
/// the real API accepts.
#[test]
fn the_stand_in_serves_the_official_client() {
    let out = common::run(
        Command::new(common::python()).arg(common::repo().join("tests/support/kfp_standin_selftest.py")),
        true,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("all") && stdout.contains("checks passed"), "{stdout}");
}

/// A kubeconfig whose contexts point at `server` with `token`, one per (name, namespace).
fn kubeconfig(dir: &Path, server: &str, token: &str, contexts: &[(&str, &str)]) -> PathBuf {
    let mut text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\nusers:\n- name: u\n  user:\n    token: {token}\ncontexts:\n"
    );
    for (name, ns) in contexts {
        text.push_str(&format!("- name: {name}\n  context:\n    cluster: c\n    user: u\n    namespace: {ns}\n"));
    }
    text.push_str(&format!("current-context: {}\n", contexts[0].0));
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// `--via-kube`: requests go through the Kubernetes API server's service proxy with the
/// kubeconfig's credentials. The real API server will not proxy to loopback, so the
/// stand-in is mounted under the proxy prefix and the kubeconfig points at it.
#[test]
fn via_kube_goes_through_the_service_proxy_path() {
    let kube_token = "kube-tok-51c9d2";
    let s = StandIn::start(&[
        "--prefix",
        "/api/v1/namespaces/kfp-system/services/ml-pipeline:http/proxy",
        "--token",
        kube_token,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &s.base, kube_token, &[("dev", "team-a")]);
    let nb = fixture("steps_and_continuation.ipynb");
    let args = [
        "submit",
        nb.to_str().unwrap(),
        "--via-kube",
        "--kubeconfig",
        config.to_str().unwrap(),
        "--kfp-namespace",
        "kfp-system",
        "--user-id",
        "alice@example.com",
        "--wait",
        "--poll-interval",
        "10ms",
    ];
    let (stdout, stderr) = expect(&nbkf_remote(dir.path(), &args, &[]), 0);
    assert!(stderr.contains("SUCCEEDED"), "{stderr}");
    assert!(!stdout.contains("run page"), "no UI link through the proxy: {stdout}");
    let requests = s.requests();
    assert!(requests.len() >= 6);
    for r in &requests {
        assert_eq!(r["prefix_matched"], true, "{r:#}");
        assert_eq!(r["headers"]["authorization"], format!("Bearer {kube_token}"));
        assert_eq!(r["headers"]["kubeflow-userid"], "alice@example.com");
    }
    let upload = requests.iter().find(|r| r["path"].as_str().unwrap().ends_with("upload_version")).unwrap();
    assert_eq!(upload["multipart"][0]["field_name"], "uploadfile");
    // The same with the settings in a profile; listing works the same way.
    expect(
        &nbkf_remote(
            dir.path(),
            &["config", "set-profile", "cluster", "--via-kube", "--kfp-namespace", "kfp-system", "--context", "dev"],
            &[],
        ),
        0,
    );
    let (stdout, _) =
        expect(&nbkf_remote(dir.path(), &["runs", "list"], &[("KUBECONFIG", config.to_str().unwrap())]), 0);
    assert!(stdout.contains("SUCCEEDED"), "{stdout}");
    // A KFP token cannot pass the proxy: refused, not ignored.
    let (_, stderr) = expect(
        &nbkf_remote(dir.path(), &["runs", "list", "--token", "t"], &[("KUBECONFIG", config.to_str().unwrap())]),
        2,
    );
    assert!(stderr.contains("cannot pass through the Kubernetes API server's proxy"), "{stderr}");
    // A context that does not exist.
    let (_, stderr) = expect(
        &nbkf_remote(dir.path(), &["runs", "list", "--context", "nope"], &[("KUBECONFIG", config.to_str().unwrap())]),
        2,
    );
    assert!(stderr.contains("nope"), "{stderr}");
}
