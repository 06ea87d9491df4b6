//! The real Kubernetes API server (kube-apiserver 1.20 with etcd, on loopback) that the
//! Kubernetes tests talk to: `../shared/kube/start.sh` starts it (scripts/test does) and
//! `$NBKF_TEST_KUBE_STATE` names its state folder (with `env` and `kubeconfig`).
//!
//! Without `$NBKF_TEST_KUBE_STATE` the tests that need the server are skipped with a note,
//! unless `$NBKF_REQUIRE_KUBE=1` (scripts/test sets both), when they fail: CI never skips
//! them silently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use super::{nbkf, repo, run};

/// A started API server, with the KFP CRDs installed.
pub struct Kube {
    /// The admin kubeconfig `start.sh` wrote.
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// The CA certificate of the server.
    pub ca: PathBuf,
    /// The admin's bearer token.
    pub admin_token: String,
    kubectl: PathBuf,
    /// What `nbkf apply` said before the KFP CRDs were installed.
    pub before_crds: Output,
}

static KUBE: OnceLock<Option<Kube>> = OnceLock::new();

/// The server, or `None` (after a note) when the tests that need it are to be skipped:
/// `let Some(k) = common::kube::kube() else { return };`.
pub fn kube() -> Option<&'static Kube> {
    KUBE.get_or_init(|| {
        let Some(state) = std::env::var_os("NBKF_TEST_KUBE_STATE").map(PathBuf::from) else {
            if std::env::var("NBKF_REQUIRE_KUBE").as_deref() == Ok("1") {
                panic!(
                    "NBKF_REQUIRE_KUBE=1 but NBKF_TEST_KUBE_STATE is not set: start an API server with \
                     `../shared/kube/start.sh DIR` and set NBKF_TEST_KUBE_STATE=DIR (scripts/test does both)"
                );
            }
            eprintln!(
                "note: NBKF_TEST_KUBE_STATE is not set, so the tests against a real kube-apiserver are skipped \
                 (scripts/test starts one; set NBKF_REQUIRE_KUBE=1 to make this an error)"
            );
            return None;
        };
        Some(Kube::start(&state))
    })
    .as_ref()
}

fn env_value(env: &str, key: &str) -> Option<String> {
    env.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

impl Kube {
    fn start(state: &Path) -> Kube {
        let env = std::fs::read_to_string(state.join("env"))
            .unwrap_or_else(|e| panic!("cannot read {}/env (written by start.sh): {e}", state.display()));
        let get =
            |key: &str| env_value(&env, key).unwrap_or_else(|| panic!("{key} missing from {}/env", state.display()));
        let kubectl = std::env::var_os("NBKF_TEST_KUBECTL").map(PathBuf::from).unwrap_or_else(|| {
            let home = std::env::var_os("NBKF_KUBE_HOME").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/nbkf-kube")
            });
            home.join("debroot/usr/bin/kubectl")
        });
        assert!(
            kubectl.exists(),
            "kubectl of the kube build is missing at {} (run ../shared/kube/build.sh)",
            kubectl.display()
        );
        let token_file = get("KUBE_REAL_TOKEN_FILE");
        let mut kube = Kube {
            kubeconfig: PathBuf::from(get("KUBECONFIG")),
            server: get("KUBE_REAL_SERVER"),
            ca: PathBuf::from(get("KUBE_REAL_CA")),
            admin_token: std::fs::read_to_string(&token_file).expect("admin token").trim().to_string(),
            kubectl,
            before_crds: Command::new("true").output().unwrap(),
        };
        let crds = repo().join("tests/support/kfp-crds.yaml");
        // What a cluster without the KFP CRDs answers: removed first when a kept server
        // has them from an earlier run.
        if kube.kubectl_try(&["get", "crd", "pipelines.pipelines.kubeflow.org"]).status.success() {
            kube.kubectl(&["delete", "--wait=true", "-f", crds.to_str().unwrap()]);
        }
        let notebook = repo().join("fixtures/steps_and_continuation.ipynb");
        kube.before_crds = kube.nbkf().arg("apply").arg(&notebook).args(["-n", "default", "-q"]).output().unwrap();
        kube.kubectl(&["apply", "-f", crds.to_str().unwrap()]);
        kube.kubectl(&[
            "wait",
            "--for=condition=established",
            "--timeout=60s",
            "crd/pipelines.pipelines.kubeflow.org",
            "crd/pipelineversions.pipelines.kubeflow.org",
        ]);
        kube
    }

    /// kubectl as the admin.
    pub fn kubectl_command(&self) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// Runs kubectl as the admin; panics when it fails.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        run(self.kubectl_command().args(args), true)
    }

    /// Runs kubectl as the admin, whatever its outcome.
    pub fn kubectl_try(&self, args: &[&str]) -> Output {
        self.kubectl_command().args(args).output().unwrap()
    }

    /// Runs kubectl as the admin with `input` on its standard input.
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
        with_input(self.kubectl_command(), args, input)
    }

    /// A JSON object or list from `kubectl get ... -o json`.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        get_json(self.kubectl_command(), args)
    }

    /// The nbkf binary, with the admin kubeconfig in `KUBECONFIG`.
    pub fn nbkf(&self) -> Command {
        let mut c = nbkf();
        c.env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// A new namespace of its own for a test (deleted when dropped).
    pub fn namespace(&self, purpose: &str) -> Namespace<'_> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let name = format!("nbkf-{purpose}-{}-{nanos:x}", std::process::id());
        assert!(name.len() <= 63, "{name}");
        self.kubectl(&["create", "namespace", &name]);
        Namespace { kube: self, name }
    }

    /// A token of a new service account `account` of `namespace` (TokenRequest API), with
    /// no rights unless a test grants some.
    pub fn service_account_token(&self, namespace: &str, account: &str) -> String {
        self.kubectl(&["create", "serviceaccount", account, "-n", namespace]);
        let request =
            r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}"#;
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token");
        let out = self.kubectl_stdin(&["create", "--raw", &path, "-f", "-"], request);
        let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        answer["status"]["token"].as_str().expect("a token").to_string()
    }

    /// Writes a kubeconfig for this server with a bearer-token user and the given contexts
    /// (name, namespace), the first one current.
    pub fn write_kubeconfig(&self, path: &Path, token: &str, contexts: &[(&str, Option<&str>)]) {
        let mut text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster:\n    server: {}\n    certificate-authority: {}\n\
             users:\n- name: tester\n  user:\n    token: {token}\ncontexts:\n",
            self.server,
            self.ca.display()
        );
        for (name, namespace) in contexts {
            text.push_str(&format!("- name: {name}\n  context:\n    cluster: real\n    user: tester\n"));
            if let Some(ns) = namespace {
                text.push_str(&format!("    namespace: {ns}\n"));
            }
        }
        text.push_str(&format!("current-context: {}\n", contexts[0].0));
        std::fs::write(path, text).unwrap();
    }
}

/// A namespace made for one test.
pub struct Namespace<'a> {
    kube: &'a Kube,
    pub name: String,
}

impl Drop for Namespace<'_> {
    fn drop(&mut self) {
        let _ = self.kube.kubectl_try(&["delete", "namespace", &self.name, "--wait=false"]);
    }
}

/// Runs a kubectl `command` with `args` and `input` on its standard input; panics when it
/// fails.
pub fn with_input(mut command: Command, args: &[&str], input: &str) -> Output {
    let mut child =
        command.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "kubectl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// A JSON object or list from a kubectl `command` running `get ARGS -o json`.
pub fn get_json(mut command: Command, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    serde_json::from_slice(&run(command.args(&all), true).stdout).unwrap()
}
