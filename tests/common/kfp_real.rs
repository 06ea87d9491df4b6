//! The real Kubeflow Pipelines API server (KFP 2.17, unmodified `backend/src/apiserver`, with
//! MariaDB, moto and a real kube-apiserver 1.20) that `tests/submit_real.rs` talks to:
//! `scripts/kfp-real/start.sh DIR` starts it (scripts/test does, with both a single-user and a
//! multi-user server) and `$NBKF_TEST_KFP_REAL_STATE` names that state folder (its `env` has
//! `KFP_REAL_HOST`, `KFP_REAL_MU_HOST`, `KUBECONFIG`, `KUBECTL`, ...).
//!
//! Without `$NBKF_TEST_KFP_REAL_STATE` the tests that need the server are skipped with a note,
//! unless `$NBKF_REQUIRE_KFP_REAL=1` (scripts/test sets it whenever it started one), when they
//! fail: a run that should test against the server never skips it silently.
//!
//! Nothing executes runs there (no Argo controller): `tests/support/kfp_fake_agent.py` plays
//! Argo and KFP's persistence agent to move a run along ([`KfpReal::fake_agent`]).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde_json::Value;

use super::{repo, run};

/// A started instance.
pub struct KfpReal {
    su_host: Option<String>,
    mu_host: Option<String>,
    /// The admin kubeconfig of the kube-apiserver the KFP servers use.
    pub kubeconfig: PathBuf,
    kubectl: PathBuf,
    /// Where nbkf's configuration file would be: nothing is there, so no profile applies.
    config_dir: tempfile::TempDir,
}

static KFP: OnceLock<Option<KfpReal>> = OnceLock::new();

fn required() -> bool {
    std::env::var("NBKF_REQUIRE_KFP_REAL").as_deref() == Ok("1")
}

fn instance() -> Option<&'static KfpReal> {
    KFP.get_or_init(|| {
        let Some(state) = std::env::var_os("NBKF_TEST_KFP_REAL_STATE").map(PathBuf::from) else {
            if required() {
                panic!(
                    "NBKF_REQUIRE_KFP_REAL=1 but NBKF_TEST_KFP_REAL_STATE is not set: start the real KFP API \
                     server with `KFP_REAL_MULTIUSER=both scripts/kfp-real/start.sh DIR` and set \
                     NBKF_TEST_KFP_REAL_STATE=DIR (scripts/test does both when the server is available)"
                );
            }
            eprintln!(
                "note: NBKF_TEST_KFP_REAL_STATE is not set, so the tests against the real KFP API server are \
                 skipped (scripts/test starts one when it is available; NBKF_REQUIRE_KFP_REAL=1 makes this an error)"
            );
            return None;
        };
        Some(KfpReal::open(&state))
    })
    .as_ref()
}

/// The instance with its single-user server, or `None` (after a note) when the tests are to
/// be skipped: `let Some(k) = kfp_real::single_user() else { return };`.
pub fn single_user() -> Option<&'static KfpReal> {
    let k = instance()?;
    if k.su_host.is_none() {
        assert!(
            !required(),
            "NBKF_REQUIRE_KFP_REAL=1 but the instance has no single-user server (KFP_REAL_MULTIUSER=1)"
        );
        eprintln!("note: the real KFP instance is multi-user only; the single-user tests are skipped");
        return None;
    }
    Some(k)
}

/// The instance with its multi-user server, or `None` (after a note).
pub fn multi_user() -> Option<&'static KfpReal> {
    let k = instance()?;
    if k.mu_host.is_none() {
        assert!(
            !required(),
            "NBKF_REQUIRE_KFP_REAL=1 but the instance has no multi-user server (start it with KFP_REAL_MULTIUSER=both)"
        );
        eprintln!("note: the real KFP instance has no multi-user server; the multi-user tests are skipped");
        return None;
    }
    Some(k)
}

fn env_value(env: &str, key: &str) -> Option<String> {
    env.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).next_back().map(str::to_string)
}

/// A name no other test (or earlier test run on a kept server) uses: `PREFIX-<pid>-<n><time>`,
/// lower-case letters, digits and `-` (a valid pipeline name).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{:x}-{n}{:x}", std::process::id(), nanos >> 12)
}

impl KfpReal {
    fn open(state: &Path) -> KfpReal {
        let env = std::fs::read_to_string(state.join("env")).unwrap_or_else(|e| {
            panic!("cannot read {}/env (written by scripts/kfp-real/start.sh): {e}", state.display())
        });
        let get =
            |key: &str| env_value(&env, key).unwrap_or_else(|| panic!("{key} missing from {}/env", state.display()));
        let mode = get("KFP_REAL_MULTIUSER");
        let k = KfpReal {
            su_host: (mode != "1").then(|| get("KFP_REAL_HOST")),
            mu_host: (mode != "0").then(|| get("KFP_REAL_MU_HOST")),
            kubeconfig: PathBuf::from(get("KUBECONFIG")),
            kubectl: PathBuf::from(get("KUBECTL")),
            config_dir: tempfile::tempdir().unwrap(),
        };
        for host in k.su_host.iter().chain(&k.mu_host) {
            let (status, body) = http_get(host, "/apis/v2beta1/healthz", &[]);
            assert_eq!(status, 200, "the KFP API server at {host} is not healthy: {body}");
        }
        k
    }

    /// The single-user server's URL, `http://127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        self.su_host.as_deref().expect("a single-user server")
    }

    /// The multi-user server's URL.
    pub fn mu_host(&self) -> &str {
        self.mu_host.as_deref().expect("a multi-user server")
    }

    /// nbkf with no connection settings from the machine (no profile, no KFP variables, no
    /// proxies): the tests give them as flags.
    pub fn nbkf(&self) -> Command {
        let mut cmd = super::nbkf_isolated(&self.config_dir.path().join("config.toml"));
        cmd.arg("--color=never");
        cmd
    }

    /// `GET path` of the single-user server, expecting 200; the JSON answer.
    pub fn get(&self, path: &str) -> Value {
        let (status, body) = http_get(self.host(), path, &[]);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Every object of a list endpoint of the single-user server (`/apis/v2beta1/runs?...`),
    /// following `next_page_token`; `key` is the list's field (`runs`, `experiments`, ...).
    pub fn list_all(&self, path: &str, key: &str) -> Vec<Value> {
        list_all_at(self.host(), path, key, &[])
    }

    /// kubectl as the admin of the kube-apiserver; panics when it fails.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        run(self.kubectl_command().args(args), true)
    }

    fn kubectl_command(&self) -> Command {
        let mut c = Command::new(&self.kubectl);
        c.env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// A JSON object or list from `kubectl get ... -o json`.
    pub fn get_json(&self, args: &[&str]) -> Value {
        super::kube::get_json(self.kubectl_command(), args)
    }

    /// The Argo Workflows the KFP server made for a run (found in any namespace by its
    /// `pipeline/runid` label).
    pub fn workflows_of(&self, run_id: &str) -> Vec<Value> {
        let list = self.get_json(&["workflows.argoproj.io", "-A", "-l", &format!("pipeline/runid={run_id}")]);
        list["items"].as_array().cloned().unwrap_or_default()
    }

    /// Moves a run of the single-user server along as Argo and the persistence agent would:
    /// `Running`, `Succeeded`, `Failed:<task>`, `Error:<task>` or `Canceled`
    /// (`tests/support/kfp_fake_agent.py`).
    pub fn fake_agent(&self, run_id: &str, outcome: &str) {
        let out = Command::new("python3")
            .arg(repo().join("tests/support/kfp_fake_agent.py"))
            .args([run_id, outcome])
            .env("KFP_REAL_HOST", self.host())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECTL", &self.kubectl)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kfp_fake_agent.py {run_id} {outcome}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A Kubeflow-profile-like namespace of the multi-user server for one test: a user (for the
    /// `kubeflow-userid` header) and the service account `nbkf` of the namespace may do
    /// everything on `pipelines.kubeflow.org` there (what KFP's SubjectAccessReviews ask), and a
    /// token of that service account with audience `pipelines.kubeflow.org` (TokenRequest, as a
    /// pod's projected token) is in `token_file`. Deleted when dropped.
    pub fn profile(&self, purpose: &str) -> Profile<'_> {
        let namespace = unique(&format!("nbkf-{purpose}"));
        let user = format!("{namespace}@example.com");
        self.kubectl(&["create", "namespace", &namespace]);
        let objects = format!(
            "apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: nbkf, namespace: {namespace}}}\n---\n\
             apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: default-editor, namespace: {namespace}}}\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: kfp-edit, namespace: {namespace}}}\n\
             rules:\n- apiGroups: [pipelines.kubeflow.org]\n  resources: [\"*\"]\n  verbs: [\"*\"]\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: kfp-edit, namespace: {namespace}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: kfp-edit}}\nsubjects:\n\
             - {{apiGroup: rbac.authorization.k8s.io, kind: User, name: \"{user}\"}}\n\
             - {{kind: ServiceAccount, name: nbkf, namespace: {namespace}}}\n"
        );
        self.kubectl_stdin(&["apply", "-f", "-"], &objects);
        let request = r#"{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"audiences":["pipelines.kubeflow.org"],"expirationSeconds":3600}}"#;
        let path = format!("/api/v1/namespaces/{namespace}/serviceaccounts/nbkf/token");
        let answer: Value =
            serde_json::from_slice(&self.kubectl_stdin(&["create", "--raw", &path, "-f", "-"], request).stdout)
                .unwrap();
        let token = answer["status"]["token"].as_str().expect("a token").to_string();
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, &token).unwrap();
        Profile { kfp: self, namespace, user, token, token_file, _dir: dir }
    }

    fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
        super::kube::with_input(self.kubectl_command(), args, input)
    }
}

/// A namespace of the multi-user server made for one test ([`KfpReal::profile`]).
pub struct Profile<'a> {
    kfp: &'a KfpReal,
    pub namespace: String,
    /// The user that may work there (the `kubeflow-userid` header's value).
    pub user: String,
    /// A token of the namespace's service account `nbkf` (audience `pipelines.kubeflow.org`).
    pub token: String,
    pub token_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Profile<'_> {
    fn drop(&mut self) {
        let _ = self.kfp.kubectl_command().args(["delete", "namespace", &self.namespace, "--wait=false"]).output();
    }
}

/// `GET host+path` with extra headers: the status and the JSON answer (`Null` when empty or
/// not JSON).
pub fn http_get(host: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut request = agent.get(&format!("{host}{path}"));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {host}{path}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Every object of a list endpoint (see [`KfpReal::list_all`]) of `host`, as `headers` allow.
pub fn list_all_at(host: &str, path: &str, key: &str, headers: &[(&str, &str)]) -> Vec<Value> {
    let mut all = Vec::new();
    let mut token = String::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let page = if token.is_empty() {
            format!("{path}{sep}page_size=200")
        } else {
            // A page token is base64: its `+`, `/` and `=` must not be read as URL syntax.
            let token = token.replace('+', "%2B").replace('/', "%2F").replace('=', "%3D");
            format!("{path}{sep}page_size=200&page_token={token}")
        };
        let (status, body) = http_get(host, &page, headers);
        assert_eq!(status, 200, "GET {page}: {body}");
        all.extend(body[key].as_array().cloned().unwrap_or_default());
        match body["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => return all,
        }
    }
}
