//! The local KFP API stand-in (`tests/support/kfp_standin.py`), started per test on a free
//! loopback port, with its control API: recorded requests, injected faults, how runs
//! progress, and everything it stores.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::{python, repo};

/// A running stand-in; stopped when dropped.
pub struct StandIn {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The API prefix it serves under (empty, or the service-proxy path).
    pub prefix: String,
}

impl StandIn {
    /// Starts one; `args` are its command-line options (`--token T`, `--multi-user`, ...).
    pub fn start(args: &[&str]) -> StandIn {
        let mut child = Command::new(python())
            .arg(repo().join("tests/support/kfp_standin.py"))
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start the KFP stand-in");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line
            .trim()
            .strip_prefix("LISTENING ")
            .unwrap_or_else(|| panic!("the stand-in did not start: {line:?}"))
            .to_string();
        let prefix = args.iter().position(|a| *a == "--prefix").map(|i| args[i + 1].to_string()).unwrap_or_default();
        StandIn { child, base, prefix }
    }

    /// The URL to give nbkf as `--host`.
    pub fn host(&self) -> String {
        format!("{}{}", self.base, self.prefix)
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/_standin/{path}", self.base);
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(true).build().into();
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).call(),
            ("DELETE", _) => agent.delete(&url).call(),
            (_, Some(b)) => agent.post(&url).send_json(&b),
            (_, None) => agent.post(&url).send_empty(),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let text = response.body_mut().read_to_string().unwrap();
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.control("GET", "requests", None).as_array().cloned().unwrap_or_default()
    }

    /// The requests received as `METHOD path` lines, for assertions on the sequence.
    pub fn request_lines(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| format!("{} {}", r["method"].as_str().unwrap_or(""), r["path"].as_str().unwrap_or("")))
            .collect()
    }

    /// Adds fault rules (`[{"method": "POST", "path": "regex", "kind": "drop", ...}]`).
    pub fn faults(&self, rules: Value) {
        self.control("POST", "faults", Some(rules));
    }

    /// Sets how runs progress (`{"fail_task": "train", "gets_per_state": 1}`).
    pub fn behaviour(&self, b: Value) {
        self.control("POST", "behaviour", Some(b));
    }

    /// Everything stored: pipelines, versions, experiments, runs.
    pub fn state(&self) -> Value {
        self.control("GET", "state", None)
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
