//! `nbkf serve` on loopback: every route, its security (token, Host, Origin, CORS, paths
//! confined to the root, body size), a local run followed through its event stream to the
//! end, a cancel, the OpenAPI document, and the cluster routes against the KFP stand-in.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{nbkf, python, repo};
use serde_json::{json, Value};

/// A running `nbkf serve`; stopped when dropped.
struct Server {
    child: Child,
    base: String,
    token: String,
    root: tempfile::TempDir,
}

impl Server {
    /// Serves a new root holding copies of `notebooks` (fixtures or test notebooks).
    fn start(notebooks: &[PathBuf], extra: &[&str], env: &[(&str, &str)]) -> Server {
        let root = tempfile::tempdir().unwrap();
        for nb in notebooks {
            std::fs::copy(nb, root.path().join(nb.file_name().unwrap())).unwrap();
        }
        let mut cmd = nbkf();
        cmd.args(["serve", "--port", "0", "--root"])
            .arg(root.path())
            .arg("--python")
            .arg(python())
            .args(extra)
            .env("NBKF_CONFIG", root.path().join("no-config.toml"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for var in ["KF_PIPELINES_ENDPOINT", "KF_PIPELINES_TOKEN", "NBKF_PROFILE", "KUBECONFIG", "NBKF_SERVE_TOKEN"] {
            cmd.env_remove(var);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("cannot start nbkf serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim();
        let (base, token) = url.split_once("/?token=").unwrap_or_else(|| {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("nbkf serve did not start: {line:?} {err}")
        });
        Server { base: base.to_string(), token: token.to_string(), child, root }
    }

    /// A raw HTTP/1.1 request (so tests control every header); returns status, headers
    /// (lower-case names) and body.
    fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let address = self.base.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request.push_str(&format!("Host: {address}\r\n"));
        }
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        // A server that refuses a body (too large) may answer and close before reading it
        // all: the write then fails, and the answer is still there to read.
        let _ = stream.write_all(body);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let mut body = response[split + 4..].to_vec();
        let mut lines = head.lines();
        let status: u16 = lines.next().unwrap().split_whitespace().nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())))
            .collect();
        if headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked")) {
            body = dechunk(&body);
        }
        (status, headers, body)
    }

    /// An authorised JSON request.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let auth = format!("token {}", self.token);
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let (status, _, body) =
            self.raw(method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], &bytes);
        (status, serde_json::from_slice(&body).unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned())))
    }

    /// The events of a run's stream until its end: (event, data).
    fn events(&self, run_id: &str) -> Vec<(String, Value)> {
        let auth = format!("token {}", self.token);
        let (status, _, body) =
            self.raw("GET", &format!("/api/v1/runs/{run_id}/events"), &[("Authorization", &auth)], b"");
        assert_eq!(status, 200);
        let text = String::from_utf8_lossy(&body).into_owned();
        let mut out = Vec::new();
        let mut event = String::new();
        for line in text.lines() {
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                out.push((event.clone(), serde_json::from_str(d).unwrap()));
            }
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
    out
}

fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

fn test_notebook(name: &str) -> PathBuf {
    repo().join("tests/notebooks").join(format!("{name}.ipynb"))
}

#[test]
fn every_request_needs_the_token_and_a_known_host_and_origin() {
    let s = Server::start(&[fixture("parameters.ipynb")], &["--allow-origin", "https://lab.example.com"], &[]);
    let good = format!("token {}", s.token);
    let routes = [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/notebooks"),
        ("POST", "/api/v1/analyze"),
        ("POST", "/api/v1/graph"),
        ("POST", "/api/v1/compile"),
        ("POST", "/api/v1/tag"),
        ("POST", "/api/v1/runs"),
        ("GET", "/api/v1/runs"),
        ("GET", "/api/v1/runs/x"),
        ("GET", "/api/v1/runs/x/events"),
        ("POST", "/api/v1/runs/x/cancel"),
        ("POST", "/api/v1/check"),
        ("GET", "/api/v1/kfp/health"),
        ("GET", "/api/v1/kfp/experiments"),
        ("POST", "/api/v1/kfp/submit"),
        ("GET", "/api/v1/kfp/runs/x"),
        ("GET", "/api/v1/kube/namespace"),
        ("GET", "/api/v1/kube/pvcs"),
        ("GET", "/api/openapi.json"),
        ("GET", "/"),
    ];
    let body = br#"{"path":"parameters.ipynb"}"#;
    for (method, path) in routes {
        let (status, _, text) = s.raw(method, path, &[("Content-Type", "application/json")], body);
        assert_eq!(status, 401, "{method} {path} without a token");
        if path.starts_with("/api/") {
            let v: Value = serde_json::from_slice(&text).unwrap();
            assert_eq!(v["error"]["code"], "unauthorized", "{method} {path}");
        }
        let (status, _, _) = s.raw(
            method,
            path,
            &[("Authorization", "token wrong-token-0123456789"), ("Content-Type", "application/json")],
            body,
        );
        assert_eq!(status, 401, "{method} {path} with a wrong token");
        let (status, _, _) = s.raw(method, path, &[("Authorization", &good), ("Host", "attacker.example:80")], body);
        assert_eq!(status, 403, "{method} {path} to another host (DNS rebinding)");
        let (status, _, _) = s.raw(method, path, &[("Authorization", &good), ("Origin", "https://evil.example")], body);
        assert_eq!(status, 403, "{method} {path} from another page");
    }
    // Bearer works too; the page's own origin and an allowed one pass, with CORS for the latter.
    let bearer = format!("Bearer {}", s.token);
    let (status, _, _) = s.raw("GET", "/api/v1/health", &[("Authorization", &bearer)], b"");
    assert_eq!(status, 200);
    let own = s.base.clone();
    let (status, headers, _) = s.raw("GET", "/api/v1/health", &[("Authorization", &good), ("Origin", &own)], b"");
    assert_eq!(status, 200);
    assert!(!headers.iter().any(|(k, _)| k == "access-control-allow-origin"), "no CORS for the page itself");
    let (status, headers, _) =
        s.raw("GET", "/api/v1/health", &[("Authorization", &good), ("Origin", "https://lab.example.com")], b"");
    assert_eq!(status, 200);
    assert!(headers.contains(&("access-control-allow-origin".into(), "https://lab.example.com".into())));
    let (status, headers, _) = s.raw(
        "OPTIONS",
        "/api/v1/analyze",
        &[("Origin", "https://lab.example.com"), ("Access-Control-Request-Method", "POST")],
        b"",
    );
    assert_eq!(status, 204);
    assert!(headers.iter().any(|(k, v)| k == "access-control-allow-headers" && v.contains("authorization")));

    // The page: `?token=` sets a cookie and drops the token from the address.
    let (status, headers, _) = s.raw("GET", &format!("/?token={}", s.token), &[], b"");
    assert_eq!(status, 303);
    let cookie = headers.iter().find(|(k, _)| k == "set-cookie").map(|(_, v)| v.clone()).unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let (status, headers, page) = s.raw("GET", "/", &[("Cookie", &pair)], b"");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<html"));
    assert!(headers.iter().any(|(k, v)| k == "content-security-policy" && v.contains("default-src 'self'")));
    let (status, _, _) = s.raw("GET", "/?token=not-the-token", &[], b"");
    assert_eq!(status, 401);
}

#[test]
fn paths_stay_under_the_root_and_bodies_are_limited() {
    let s = Server::start(&[fixture("parameters.ipynb")], &["--max-body-mib", "1"], &[]);
    let outside = s.root.path().parent().unwrap().join("nbkf-outside-secret.ipynb");
    std::fs::copy(fixture("parameters.ipynb"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, s.root.path().join("escape.ipynb")).unwrap();
    std::fs::create_dir(s.root.path().join("sub")).unwrap();
    for (path, expected) in [
        ("../nbkf-outside-secret.ipynb", 403),
        ("sub/../../nbkf-outside-secret.ipynb", 403),
        (outside.to_str().unwrap(), 403),
        ("escape.ipynb", 403),
        ("%2e%2e/nbkf-outside-secret.ipynb", 404),
        ("missing.ipynb", 404),
        ("sub", 400),
    ] {
        for route in ["/api/v1/analyze", "/api/v1/compile", "/api/v1/tag", "/api/v1/runs"] {
            let (status, v) = s.call("POST", route, Some(json!({"path": path})));
            assert_eq!(status, expected, "{route} {path}: {v}");
            assert!(v["error"]["message"].is_string(), "{v}");
        }
    }
    // Writing outside the root is refused too, and nothing is written.
    let (status, _) =
        s.call("POST", "/api/v1/compile", Some(json!({"path": "parameters.ipynb", "output": "../nbkf-written.yaml"})));
    assert_eq!(status, 403);
    assert!(!s.root.path().parent().unwrap().join("nbkf-written.yaml").exists());
    let (status, _) = s.call(
        "POST",
        "/api/v1/analyze",
        Some(json!({"path": "parameters.ipynb", "options": {"module_path": ["../"]}})),
    );
    assert_eq!(status, 403);
    let _ = std::fs::remove_file(&outside);

    // 2 MiB against a 1 MiB limit.
    let big = json!({"notebook": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "pad": "x".repeat(2 << 20)}});
    let (status, v) = s.call("POST", "/api/v1/analyze", Some(big));
    assert_eq!(status, 413, "{v}");
    // Not JSON, unknown fields, a body that is not a notebook.
    let auth = format!("token {}", s.token);
    let (status, _, _) =
        s.raw("POST", "/api/v1/analyze", &[("Authorization", &auth), ("Content-Type", "application/json")], b"{");
    assert_eq!(status, 400);
    let (status, _) = s.call("POST", "/api/v1/analyze", Some(json!({"path": "parameters.ipynb", "bogus": 1})));
    assert!(status == 400 || status == 422, "{status}");
    let (status, v) = s.call("POST", "/api/v1/analyze", Some(json!({"notebook": {"nbformat": 3}})));
    assert_eq!(status, 422, "{v}");
    let (status, v) = s.call("POST", "/api/v1/analyze", Some(json!({})));
    assert_eq!(status, 400, "{v}");
    let (status, v) = s.call("GET", "/api/v1/nothing-here", None);
    assert_eq!((status, v["error"]["code"].as_str()), (404, Some("not-found")));
}

#[test]
fn analysis_compile_and_tag() {
    let s = Server::start(&[fixture("parameters.ipynb"), fixture("no_headings.ipynb")], &[], &[]);
    let (status, list) = s.call("GET", "/api/v1/notebooks", None);
    assert_eq!(status, 200);
    let paths: Vec<&str> = list.as_array().unwrap().iter().map(|n| n["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["no_headings.ipynb", "parameters.ipynb"]);

    let (status, a) = s.call("POST", "/api/v1/analyze", Some(json!({"path": "parameters.ipynb"})));
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["ok"], true);
    assert_eq!(a["cached"], false);
    // The same plan as `nbkf plan --format json`.
    let plan = common::run(nbkf().args(["plan", "--format", "json"]).arg(fixture("parameters.ipynb")), true);
    let plan: Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(a["plan"], plan);
    let edge = a["edges"].as_array().unwrap().iter().find(|e| e["from"] == "train" && e["to"] == "report").unwrap();
    assert_eq!(edge["variables"], json!(["LR", "loss"]));
    let roles: Vec<&str> = a["cells"].as_array().unwrap().iter().map(|c| c["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"parameters") && roles.contains(&"step"), "{roles:?}");
    let (_, again) = s.call("POST", "/api/v1/analyze", Some(json!({"path": "parameters.ipynb"})));
    assert_eq!(again["cached"], true);
    let (_, other) =
        s.call("POST", "/api/v1/analyze", Some(json!({"path": "parameters.ipynb", "options": {"split": "cells"}})));
    assert_eq!(other["cached"], false, "other options are another analysis");

    // An editor's unsaved notebook with an error: diagnostics with cell ids and ranges.
    let mut nb: Value = serde_json::from_str(&std::fs::read_to_string(fixture("parameters.ipynb")).unwrap()).unwrap();
    let last = nb["cells"].as_array().unwrap().len() - 1;
    nb["cells"][last]["source"] = json!("result = undefined_thing + 1\n");
    nb["cells"][last]["metadata"]["tags"] = json!(["step:broken"]);
    let (status, a) =
        s.call("POST", "/api/v1/analyze", Some(json!({"path": "parameters.ipynb", "notebook": nb.clone()})));
    assert_eq!(status, 200);
    assert_eq!(a["ok"], false);
    let d = a["diagnostics"].as_array().unwrap().iter().find(|d| d["severity"] == "error").unwrap().clone();
    assert_eq!(d["code"], "undefined-name");
    assert_eq!(d["cell_id"], nb["cells"][last]["id"]);
    assert_eq!(d["range"], json!({"start_line": 1, "start_column": 10, "end_line": 1, "end_column": 25}));
    let (status, e) = s.call("POST", "/api/v1/compile", Some(json!({"notebook": nb})));
    assert_eq!(status, 422);
    assert_eq!(e["error"]["code"], "notebook-errors");
    assert_eq!(e["error"]["cell_id"], d["cell_id"]);
    assert!(!e["diagnostics"].as_array().unwrap().is_empty());

    // Compile: the same YAML as `nbkf convert`, written under the root when asked.
    let (status, c) =
        s.call("POST", "/api/v1/compile", Some(json!({"path": "parameters.ipynb", "output": "out.yaml"})));
    assert_eq!(status, 200, "{c}");
    let cli = common::run(nbkf().args(["convert", "-o", "-"]).arg(s.root.path().join("parameters.ipynb")), true);
    assert_eq!(c["yaml"].as_str().unwrap(), String::from_utf8_lossy(&cli.stdout));
    assert_eq!(c["written"], "out.yaml");
    assert_eq!(std::fs::read_to_string(s.root.path().join("out.yaml")).unwrap(), c["yaml"].as_str().unwrap());
    let (status, k) = s.call("POST", "/api/v1/compile", Some(json!({"path": "parameters.ipynb", "format": "k8s"})));
    assert_eq!(status, 200);
    assert!(k["yaml"].as_str().unwrap().contains("kind: PipelineVersion"));
    let (status, d) = s.call("POST", "/api/v1/compile", Some(json!({"path": "parameters.ipynb", "format": "dsl"})));
    assert_eq!(status, 200, "{d}");
    let cli = common::run(
        nbkf().args(["convert", "--format", "dsl", "-o", "-"]).arg(s.root.path().join("parameters.ipynb")),
        true,
    );
    assert_eq!(d["yaml"].as_str().unwrap(), String::from_utf8_lossy(&cli.stdout));
    let (status, e) = s.call("POST", "/api/v1/compile", Some(json!({"path": "parameters.ipynb", "format": "py"})));
    assert_eq!(status, 400);
    assert!(e["error"]["message"].as_str().unwrap().contains("ir, k8s or dsl"), "{e}");

    // Tag: the tags `nbkf tag` writes; written back only when asked.
    let before = std::fs::read_to_string(s.root.path().join("no_headings.ipynb")).unwrap();
    let (status, t) = s.call("POST", "/api/v1/tag", Some(json!({"path": "no_headings.ipynb"})));
    assert_eq!(status, 200, "{t}");
    assert!(!t["changes"].as_array().unwrap().is_empty());
    assert_eq!(std::fs::read_to_string(s.root.path().join("no_headings.ipynb")).unwrap(), before);
    let cli = common::run(nbkf().args(["tag", "-o", "-"]).arg(s.root.path().join("no_headings.ipynb")), true);
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(t["notebook"], cli);
    let (status, t) = s.call("POST", "/api/v1/tag", Some(json!({"path": "no_headings.ipynb", "write": true})));
    assert_eq!((status, t["written"].as_str()), (200, Some("no_headings.ipynb")));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(s.root.path().join("no_headings.ipynb")).unwrap()).unwrap();
    assert_eq!(written, cli);
    let (status, _) = s.call("POST", "/api/v1/tag", Some(json!({"notebook": written, "write": true})));
    assert_eq!(status, 400, "writing needs a path");
}

#[test]
fn the_graph_route_draws_the_plan_of_analyze() {
    let s = Server::start(&[fixture("parameters.ipynb")], &[], &[]);
    let body = json!({"path": "parameters.ipynb"});
    let (status, _, _) =
        s.raw("POST", "/api/v1/graph", &[("Content-Type", "application/json")], body.to_string().as_bytes());
    assert_eq!(status, 401, "the drawing needs the token too");

    let (status, a) = s.call("POST", "/api/v1/analyze", Some(body.clone()));
    assert_eq!(status, 200, "{a}");
    let (status, g) = s.call("POST", "/api/v1/graph", Some(body.clone()));
    assert_eq!(status, 200, "{g}");
    assert_eq!(g["format"], "svg");
    assert_eq!(g["ok"], true);
    assert_eq!(g["pipeline"], a["plan"]["pipeline"]);
    let svg = g["drawing"].as_str().unwrap();
    let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{svg}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    // A node per step, by task, and an edge per analysed edge, labelled with its variables.
    let mut drawn: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class").is_some_and(|c| c.split(' ').any(|c| c == "step")))
        .map(|n| n.attribute("data-task").unwrap())
        .collect();
    drawn.sort();
    let mut tasks: Vec<&str> =
        a["plan"]["steps"].as_array().unwrap().iter().map(|s| s["task"].as_str().unwrap()).collect();
    tasks.sort();
    assert!(!tasks.is_empty());
    assert_eq!(drawn, tasks);
    for edge in a["edges"].as_array().unwrap() {
        let task = |name: &Value| {
            a["plan"]["steps"].as_array().unwrap().iter().find(|s| &s["name"] == name).unwrap()["task"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (from, to) = (format!("step-{}", task(&edge["from"])), format!("step-{}", task(&edge["to"])));
        let drawn = doc
            .descendants()
            .find(|n| {
                n.attribute("data-source") == Some(from.as_str()) && n.attribute("data-target") == Some(to.as_str())
            })
            .unwrap_or_else(|| panic!("no edge {from} -> {to}"));
        let label: String = drawn.descendants().filter(|n| n.has_tag_name("text")).filter_map(|n| n.text()).collect();
        for v in edge["variables"].as_array().unwrap() {
            assert!(label.contains(v.as_str().unwrap()), "edge {from} -> {to}: {label:?} lacks {v}");
        }
    }
    // The same drawing as `nbkf graph`, from the cached analysis.
    let cli = common::run(nbkf().args(["graph", "--format", "svg", "-o", "-"]).arg(fixture("parameters.ipynb")), true);
    assert_eq!(svg, String::from_utf8_lossy(&cli.stdout));

    let (status, dot) = s.call("POST", "/api/v1/graph", Some(json!({"path": "parameters.ipynb", "format": "dot"})));
    assert_eq!(status, 200);
    assert_eq!(dot["format"], "dot");
    assert!(dot["drawing"].as_str().unwrap().contains("digraph \"parameters\" {"), "{dot}");
    let (status, m) = s.call("POST", "/api/v1/graph", Some(json!({"path": "parameters.ipynb", "format": "mermaid"})));
    assert_eq!(status, 200);
    assert_eq!(m["format"], "mermaid");
    let (status, e) = s.call("POST", "/api/v1/graph", Some(json!({"path": "parameters.ipynb", "format": "png"})));
    assert_eq!(status, 400);
    assert_eq!(e["error"]["code"], "bad-request");
    let (status, e) = s.call("POST", "/api/v1/graph", Some(json!({"path": "missing.ipynb"})));
    assert_eq!(status, 404, "{e}");
    assert!(e["error"]["message"].is_string());
}

#[test]
fn a_local_run_streams_its_events_to_the_end() {
    let s = Server::start(
        &[test_notebook("failing_step"), test_notebook("typed_parameters"), fixture("steps_and_continuation.ipynb")],
        &[],
        &[],
    );
    let (status, started) =
        s.call("POST", "/api/v1/runs", Some(json!({"path": "typed_parameters.ipynb", "parameters": {"EPOCHS": 5}})));
    assert_eq!(status, 202, "{started}");
    let id = started["run_id"].as_str().unwrap();
    let events = s.events(id);
    let (last_kind, last) = events.last().unwrap();
    assert_eq!((last_kind.as_str(), last["state"].as_str()), ("end", Some("succeeded")));
    for task in started["tasks"].as_array().unwrap() {
        let seen: Vec<&str> = events
            .iter()
            .filter(|(k, d)| k == "step" && d["task"] == *task)
            .map(|(_, d)| d["state"].as_str().unwrap())
            .collect();
        assert_eq!(seen, ["running", "succeeded"], "{task}");
    }
    let (_, run) = s.call("GET", &format!("/api/v1/runs/{id}"), None);
    assert_eq!(run["state"], "succeeded");
    assert_eq!(run["result"]["parameters"]["EPOCHS"], 5);
    // A late listener gets everything again; Last-Event-ID resumes after an event.
    assert_eq!(s.events(id).len(), events.len());
    let auth = format!("token {}", s.token);
    let (_, _, rest) =
        s.raw("GET", &format!("/api/v1/runs/{id}/events"), &[("Authorization", &auth), ("Last-Event-ID", "2")], b"");
    assert!(String::from_utf8_lossy(&rest).starts_with("id: 3\n"), "{}", String::from_utf8_lossy(&rest));

    // A failing step: its failure points at the cell and line; printed lines arrive as log events.
    let (_, started) = s.call("POST", "/api/v1/runs", Some(json!({"path": "failing_step.ipynb"})));
    let events = s.events(started["run_id"].as_str().unwrap());
    let failed = events.iter().find(|(k, d)| k == "step" && d["state"] == "failed").unwrap();
    assert_eq!(failed.1["task"], "b");
    assert!(failed.1["failure"].as_str().unwrap().contains("ZeroDivisionError"), "{}", failed.1);
    assert_eq!(events.last().unwrap().1["state"], "failed");
    assert!(events
        .iter()
        .any(|(k, d)| k == "log" && d["task"] == "b" && d["line"].as_str().unwrap().contains("ZeroDivisionError")));

    // A wrong parameter, and a notebook with errors, are refused before anything runs.
    let (status, e) = s.call(
        "POST",
        "/api/v1/runs",
        Some(json!({"path": "typed_parameters.ipynb", "parameters": {"EPOCHS": "many"}})),
    );
    assert_eq!(status, 400, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("EPOCHS"));

    // A check compares the pipeline with the notebook.
    let (status, started) = s.call("POST", "/api/v1/check", Some(json!({"path": "steps_and_continuation.ipynb"})));
    assert_eq!(status, 202);
    let id = started["run_id"].as_str().unwrap();
    assert_eq!(s.events(id).last().unwrap().1["state"], "succeeded");
    let (_, run) = s.call("GET", &format!("/api/v1/runs/{id}"), None);
    assert_eq!(run["kind"], "check");
    assert_eq!(run["result"]["passed"], true);
    assert!(!run["result"]["values"].as_array().unwrap().is_empty());
    let (_, all) = s.call("GET", "/api/v1/runs", None);
    assert_eq!(all.as_array().unwrap().len(), 3);
}

#[test]
fn a_cancelled_run_stops_its_steps() {
    let s = Server::start(&[test_notebook("long_step")], &[], &[]);
    let pids = s.root.path().join("pids.txt");
    let (_, started) = s.call("POST", "/api/v1/runs", Some(json!({"path": "long_step.ipynb"})));
    let id = started["run_id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while !pids.exists() && t0.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let running: Vec<i32> =
        std::fs::read_to_string(&pids).unwrap().split_whitespace().map(|p| p.parse().unwrap()).collect();
    let (status, _) = s.call("POST", &format!("/api/v1/runs/{id}/cancel"), None);
    assert_eq!(status, 202);
    let events = s.events(&id);
    assert_eq!(events.last().unwrap().1["state"], "canceled");
    assert!(t0.elapsed() < Duration::from_secs(30));
    let (_, run) = s.call("GET", &format!("/api/v1/runs/{id}"), None);
    let state =
        |task: &str| run["steps"].as_array().unwrap().iter().find(|s| s["task"] == task).unwrap()["state"].clone();
    assert_eq!(state("slow"), "canceled");
    assert_eq!(state("after"), "not_started");
    for pid in running {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(stat.is_empty() || stat.contains(") Z "), "process {pid} of the step is still running");
    }
    let (status, _) = s.call("POST", "/api/v1/runs/no-such-run/cancel", None);
    assert_eq!(status, 404);
}

#[test]
fn the_openapi_document_describes_every_route() {
    let s = Server::start(&[], &[], &[]);
    let (status, doc) = s.call("GET", "/api/openapi.json", None);
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/health",
        "/api/v1/notebooks",
        "/api/v1/analyze",
        "/api/v1/compile",
        "/api/v1/tag",
        "/api/v1/runs",
        "/api/v1/runs/{id}",
        "/api/v1/runs/{id}/events",
        "/api/v1/runs/{id}/cancel",
        "/api/v1/check",
        "/api/v1/kfp/health",
        "/api/v1/kfp/experiments",
        "/api/v1/kfp/submit",
        "/api/v1/kfp/runs/{id}",
        "/api/v1/kube/namespace",
        "/api/v1/kube/pvcs",
    ] {
        assert!(paths.contains_key(p), "{p} is not described");
    }
    assert!(doc["components"]["schemas"]["Analysis"].is_object());
    // The official validator accepts it.
    let file = s.root.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = common::run(
        Command::new(python()).args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')"]).arg(&file),
        true,
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "valid");
}

#[test]
fn the_cluster_routes_use_the_submission_code() {
    let standin = common::standin::StandIn::start(&[]);
    let host = standin.host();
    let s = Server::start(&[fixture("parameters.ipynb")], &[], &[("KF_PIPELINES_ENDPOINT", &host)]);
    let (status, h) = s.call("GET", "/api/v1/kfp/health", None);
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["healthz"]["multi_user"], false);
    let (status, sub) =
        s.call("POST", "/api/v1/kfp/submit", Some(json!({"path": "parameters.ipynb", "parameters": {"EPOCHS": 9}})));
    assert_eq!(status, 200, "{sub}");
    let run_id = sub["run_id"].as_str().unwrap();
    let stored = standin.state();
    assert_eq!(stored["runs"][0]["runtime_config"]["parameters"], json!({"EPOCHS": 9}));
    let (status, run) = s.call("GET", &format!("/api/v1/kfp/runs/{run_id}"), None);
    assert_eq!(status, 200);
    assert_eq!(run["run"]["run_id"], run_id);
    let (status, ex) = s.call("GET", "/api/v1/kfp/experiments", None);
    assert_eq!(status, 200);
    assert_eq!(ex[0]["display_name"], "Default");
    let (status, e) = s.call("GET", "/api/v1/kfp/runs/nope", None);
    assert_eq!(status, 404, "{e}");
    // Without a kubeconfig, the kube routes say so.
    let (status, e) = s.call("GET", "/api/v1/kube/namespace", None);
    assert!(status == 503 || status == 200, "{status} {e}");

    // No KFP configured: 503 saying how to configure it.
    let bare = Server::start(&[], &[], &[]);
    let (status, e) = bare.call("GET", "/api/v1/kfp/health", None);
    assert_eq!(status, 503, "{e}");
    assert_eq!(e["error"]["code"], "kfp-not-configured");
}

#[test]
fn addresses_other_than_loopback_need_a_token() {
    let out = common::run(nbkf().args(["serve", "--host", "0.0.0.0", "--port", "0"]), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = common::run(nbkf().args(["serve", "--token", "short", "--port", "0"]), false);
    assert_eq!(out.status.code(), Some(2));
    let out = common::run(nbkf().args(["serve", "--root", "/no/such/folder", "--port", "0"]), false);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_composed_notebook_is_analysed_in_its_own_cells_and_its_sub_notebooks_stay_under_the_root() {
    let s = Server::start(&[fixture("composed_two_levels.ipynb")], &[], &[]);
    std::fs::create_dir(s.root.path().join("composed")).unwrap();
    let sub = s.root.path().join("composed/prepare.ipynb");
    std::fs::copy(common::repo().join("fixtures/composed/prepare.ipynb"), &sub).unwrap();
    let (status, a) = s.call("POST", "/api/v1/analyze", Some(json!({"path": "composed_two_levels.ipynb"})));
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["ok"], true, "{a}");
    // The cells are the notebook's own (6), the `notebook:` cell marked as such.
    let cells = a["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 6, "{cells:#?}");
    assert_eq!((cells[3]["cell"].as_u64(), cells[3]["role"].as_str()), (Some(4), Some("notebook")));
    assert_eq!((cells[4]["cell"].as_u64(), cells[4]["step"].as_str()), (Some(5), Some("report")));
    assert_eq!(a["plan"]["sub_pipelines"][0]["name"], "prepare");
    let scale = a["plan"]["steps"].as_array().unwrap().iter().find(|s| s["name"] == "prepare_scale").unwrap();
    assert_eq!((scale["notebook"].as_str(), scale["cells"].clone()), (Some("composed/prepare.ipynb"), json!([3])));
    assert_eq!(scale["sub_pipeline"], "prepare");

    // A problem inside the sub-notebook is located there, with its cell's id and range.
    let mut nb: Value = serde_json::from_str(&std::fs::read_to_string(&sub).unwrap()).unwrap();
    nb["cells"][3]["source"] = json!("kept = [x for x in scaled if x >= LIMIT]");
    let (_, again) = s.call("POST", "/api/v1/analyze", Some(json!({"path": "composed_two_levels.ipynb"})));
    assert_eq!(again["cached"], true, "nothing changed");
    std::fs::write(&sub, nb.to_string()).unwrap();
    let (_, a) = s.call("POST", "/api/v1/analyze", Some(json!({"path": "composed_two_levels.ipynb"})));
    assert_eq!(a["cached"], false, "the sub-notebook changed: analysed again");
    let d = a["diagnostics"].as_array().unwrap().iter().find(|d| d["severity"] == "error").unwrap().clone();
    assert_eq!(d["code"], "undefined-name", "{a}");
    assert_eq!((d["notebook"].as_str(), d["cell"].as_u64()), (Some("composed/prepare.ipynb"), Some(4)));
    assert_eq!(d["cell_id"], nb["cells"][3]["id"]);
    assert_eq!(d["range"]["start_line"], 1);

    // A notebook outside the served folder is refused at the cell that names it.
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(common::repo().join("fixtures/composed/prepare.ipynb"), outside.path().join("p.ipynb")).unwrap();
    let mut caller: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("composed_two_levels.ipynb")).unwrap()).unwrap();
    caller["cells"][3]["metadata"]["notebook_path"] = json!(outside.path().join("p.ipynb"));
    let (_, a) = s.call("POST", "/api/v1/analyze", Some(json!({"notebook": caller})));
    let d = a["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["severity"] == "error")
        .unwrap_or_else(|| panic!("{a:#}"))
        .clone();
    assert_eq!((d["code"].as_str(), d["cell"].as_u64()), (Some("notebook-outside-root"), Some(4)), "{a}");
}
