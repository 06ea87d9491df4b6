//! A Kubernetes client configured the way kubectl and kube configure one: `--kubeconfig`,
//! else `$KUBECONFIG` (a list of files, merged), else `~/.kube/config`, else the in-cluster
//! service account; `--context` picks a context (default: the current one); authentication
//! (tokens, client certificates, exec plugins) is kube's. The namespace is `-n`, else the
//! context's, else the service account's (in a pod), else `default`.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::manifests::is_dns1123_label;
use super::K8sError;

/// How to reach a cluster: the flags of `nbkf apply`, `nbkf kube` and `--via-kube`.
#[derive(Debug, Clone, Default)]
pub struct KubeOptions {
    /// A kubeconfig file (`--kubeconfig`), instead of `$KUBECONFIG` or `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// A context of the kubeconfig (`--context`), instead of its current context.
    pub context: Option<String>,
    /// The namespace (`-n`), instead of the context's.
    pub namespace: Option<String>,
}

/// Where the namespace in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceSource {
    /// The `-n/--namespace` flag.
    Flag,
    /// The kubeconfig context of this name.
    Context(String),
    /// The service account's namespace file, inside a pod.
    InCluster,
    /// Nothing said: `default`.
    Default,
}

impl NamespaceSource {
    /// A stable word for programs: `flag`, `context`, `in-cluster`, `default`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NamespaceSource::Flag => "flag",
            NamespaceSource::Context(_) => "context",
            NamespaceSource::InCluster => "in-cluster",
            NamespaceSource::Default => "default",
        }
    }

    /// In words: `the namespace of context dev`.
    pub fn describe(&self) -> String {
        match self {
            NamespaceSource::Flag => "given with -n".into(),
            NamespaceSource::Context(c) => format!("the namespace of context `{c}`"),
            NamespaceSource::InCluster => "the namespace of the pod's service account".into(),
            NamespaceSource::Default => "no namespace set, so `default`".into(),
        }
    }
}

/// A resolved configuration: kube's `Config` plus what nbkf says about it.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub config: kube::Config,
    pub namespace: String,
    pub namespace_source: NamespaceSource,
    /// The kubeconfig context in use (`None` in a pod).
    pub context: Option<String>,
    /// The kubeconfig user of the context, for messages.
    pub user: Option<String>,
    /// Where the configuration was read: `kubeconfig /home/me/.kube/config`.
    pub origin: String,
}

fn config_error(message: impl Into<String>, hint: impl Into<String>) -> K8sError {
    K8sError::Config { message: message.into(), hint: Some(hint.into()) }
}

/// A current-thread runtime for kube's async client.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, K8sError> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| K8sError::Config {
        message: format!("cannot start the runtime of the Kubernetes client: {e}"),
        hint: None,
    })
}

impl ClusterConfig {
    /// Resolves the configuration (reads files, no request is made).
    pub fn load(options: &KubeOptions) -> Result<Self, K8sError> {
        if let Some(ns) = &options.namespace {
            if !is_dns1123_label(ns) {
                return Err(config_error(
                    format!("invalid namespace `{ns}`"),
                    "a namespace is lower-case letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters",
                ));
            }
        }
        let mut loaded = match find_kubeconfig(options)? {
            Some((kubeconfig, origin)) => from_kubeconfig(kubeconfig, origin, options.context.as_deref())?,
            None => in_cluster(options)?,
        };
        if let Some(ns) = &options.namespace {
            loaded.namespace = ns.clone();
            loaded.namespace_source = NamespaceSource::Flag;
        }
        loaded.config.default_namespace = loaded.namespace.clone();
        Ok(loaded)
    }

    /// The API server's URL, without a trailing `/`.
    pub fn server(&self) -> String {
        self.config.cluster_url.to_string().trim_end_matches('/').to_string()
    }

    /// Who requests are made as, in words, for messages.
    pub fn user_description(&self) -> String {
        match (&self.user, &self.context) {
            (Some(u), _) => format!("kubeconfig user `{u}`"),
            (None, Some(c)) => format!("the user of context `{c}`"),
            (None, None) => "the pod's service account".into(),
        }
    }

    /// `context dev` or `in-cluster`, for messages.
    pub fn context_description(&self) -> String {
        match &self.context {
            Some(c) => format!("kube context {c}"),
            None => "the in-cluster service account".into(),
        }
    }
}

/// The kubeconfig to use and where it came from, or `None` when there is none (then the
/// in-cluster configuration is tried).
fn find_kubeconfig(options: &KubeOptions) -> Result<Option<(Kubeconfig, String)>, K8sError> {
    let read = |path: &Path| {
        Kubeconfig::read_from(path).map_err(|e| {
            config_error(
                format!("cannot read the kubeconfig {}: {}", path.display(), error_chain(&e)),
                "check the file (`kubectl config view --kubeconfig FILE`)",
            )
        })
    };
    if let Some(path) = &options.kubeconfig {
        if !path.is_file() {
            return Err(config_error(
                format!("--kubeconfig {}: no such file", path.display()),
                "give the path of a kubeconfig file",
            ));
        }
        return Ok(Some((read(path)?, format!("kubeconfig {}", path.display()))));
    }
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let paths: Vec<PathBuf> = std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()).collect();
        // kubectl skips files of the list that do not exist.
        let existing: Vec<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
        if existing.is_empty() {
            return Err(config_error(
                format!("KUBECONFIG names no existing file ({})", value.to_string_lossy()),
                "point KUBECONFIG at a kubeconfig file, or pass --kubeconfig PATH",
            ));
        }
        let mut merged = Kubeconfig::default();
        for p in &existing {
            merged = merged.merge(read(p)?).map_err(|e| {
                config_error(
                    format!("cannot merge the kubeconfig {}: {e}", p.display()),
                    "check the files of KUBECONFIG",
                )
            })?;
        }
        let names: Vec<String> = existing.iter().map(|p| p.display().to_string()).collect();
        return Ok(Some((merged, format!("KUBECONFIG {}", names.join(":")))));
    }
    match std::env::home_dir().map(|h| h.join(".kube").join("config")) {
        Some(default) if default.is_file() => Ok(Some((read(&default)?, format!("kubeconfig {}", default.display())))),
        _ => Ok(None),
    }
}

fn from_kubeconfig(kubeconfig: Kubeconfig, origin: String, context: Option<&str>) -> Result<ClusterConfig, K8sError> {
    let names: Vec<&str> = kubeconfig.contexts.iter().map(|c| c.name.as_str()).collect();
    let listed = if names.is_empty() { "it has none".to_string() } else { format!("it has: {}", names.join(", ")) };
    let context = match context.or(kubeconfig.current_context.as_deref()) {
        Some(c) => c.to_string(),
        None => {
            return Err(config_error(
                format!("the {origin} sets no current context"),
                format!("pass --context NAME ({listed}) or run `kubectl config use-context NAME`"),
            ))
        }
    };
    let Some(named) = kubeconfig.contexts.iter().find(|c| c.name == context) else {
        return Err(config_error(
            format!("no context `{context}` in the {origin}"),
            format!("pick one with --context ({listed})"),
        ));
    };
    let namespace = named.context.as_ref().and_then(|c| c.namespace.clone()).filter(|n| !n.is_empty());
    let user = named.context.as_ref().and_then(|c| c.user.clone()).filter(|u| !u.is_empty());
    let options = KubeConfigOptions { context: Some(context.clone()), ..Default::default() };
    let mut config = runtime()?.block_on(kube::Config::from_custom_kubeconfig(kubeconfig, &options)).map_err(|e| {
        config_error(
            format!("cannot use context `{context}` of the {origin}: {}", error_chain(&e)),
            "check its cluster and user entries (`kubectl config view`)",
        )
    })?;
    config.apply_debug_overrides();
    let (namespace, namespace_source) = match namespace {
        Some(ns) => (ns, NamespaceSource::Context(context.clone())),
        None => ("default".to_string(), NamespaceSource::Default),
    };
    Ok(ClusterConfig { config, namespace, namespace_source, context: Some(context), user, origin })
}

fn in_cluster(options: &KubeOptions) -> Result<ClusterConfig, K8sError> {
    let looked = "--kubeconfig (not given), KUBECONFIG (not set) and ~/.kube/config (no such file)";
    if let Some(c) = &options.context {
        return Err(config_error(
            format!("--context {c} needs a kubeconfig, and there is none: looked at {looked}"),
            "pass --kubeconfig PATH or set KUBECONFIG",
        ));
    }
    match kube::Config::incluster() {
        Ok(mut config) => {
            config.apply_debug_overrides();
            let namespace = config.default_namespace.clone();
            Ok(ClusterConfig {
                config,
                namespace,
                namespace_source: NamespaceSource::InCluster,
                context: None,
                user: None,
                origin: "the in-cluster service account".into(),
            })
        }
        Err(e) => Err(config_error(
            format!(
                "no Kubernetes configuration found: looked at {looked}, and this is not a pod with a service account ({})",
                error_chain(&e)
            ),
            "pass --kubeconfig PATH, set KUBECONFIG, or run nbkf in a pod",
        )),
    }
}

/// An error and its sources, joined, without repeats (`tcp connect error: Connection
/// refused (os error 111)`).
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// Whether a failed request looks like a timeout rather than a refused or broken connection.
pub(crate) fn is_timeout(error: &dyn std::error::Error) -> bool {
    let text = error_chain(error).to_ascii_lowercase();
    text.contains("timed out") || text.contains("timeout")
}

/// The error for a request that got no answer from the API server.
pub(crate) fn transport_error(error: kube::Error, cluster: &ClusterConfig) -> K8sError {
    match &error {
        kube::Error::Auth(_) => K8sError::Unauthorized {
            server: cluster.server(),
            user: cluster.user_description(),
            message: format!("cannot get credentials: {}", error_chain(&error)),
        },
        _ => K8sError::Connection { server: cluster.server(), message: error_chain(&error) },
    }
}

/// A client and the runtime it runs on.
pub struct Connection {
    // Dropped before the runtime it was made on.
    client: kube::Client,
    runtime: tokio::runtime::Runtime,
    pub cluster: ClusterConfig,
}

impl Connection {
    /// Builds the client. `read_timeout` bounds the wait for each answer (`None`: no limit).
    /// No request is made yet.
    pub fn open(mut cluster: ClusterConfig, read_timeout: Option<Duration>) -> Result<Self, K8sError> {
        cluster.config.read_timeout = read_timeout;
        let runtime = runtime()?;
        let config = cluster.config.clone();
        // The client's buffer spawns its worker on the current runtime.
        let client = runtime.block_on(async { kube::Client::try_from(config) }).map_err(|e| {
            config_error(
                format!(
                    "cannot make a Kubernetes client for {} ({}): {}",
                    cluster.server(),
                    cluster.origin,
                    error_chain(&e)
                ),
                "check the kubeconfig's certificate and user entries",
            )
        })?;
        Ok(Connection { client, runtime, cluster })
    }

    /// Resolves the configuration and builds the client.
    pub fn connect(options: &KubeOptions, read_timeout: Option<Duration>) -> Result<Self, K8sError> {
        Self::open(ClusterConfig::load(options)?, read_timeout)
    }

    /// The client (cheap to clone).
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The namespace requests go to.
    pub fn namespace(&self) -> &str {
        &self.cluster.namespace
    }

    /// Runs a future of the client to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
current-context: first
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u
  user: {token: abc}
contexts:
- name: first
  context: {cluster: c, user: u, namespace: team-a}
- name: second
  context: {cluster: c, user: u}
"#;

    fn load(context: Option<&str>, namespace: Option<&str>) -> Result<ClusterConfig, K8sError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, TWO_CONTEXTS).unwrap();
        ClusterConfig::load(&KubeOptions {
            kubeconfig: Some(path),
            context: context.map(str::to_string),
            namespace: namespace.map(str::to_string),
        })
    }

    #[test]
    fn the_namespace_comes_from_the_flag_then_the_context_then_default() {
        let c = load(None, None).unwrap();
        assert_eq!((c.namespace.as_str(), &c.namespace_source), ("team-a", &NamespaceSource::Context("first".into())));
        assert_eq!(c.server(), "http://127.0.0.1:1");
        assert_eq!(c.user.as_deref(), Some("u"));
        let c = load(Some("second"), None).unwrap();
        assert_eq!((c.namespace.as_str(), &c.namespace_source), ("default", &NamespaceSource::Default));
        let c = load(Some("second"), Some("other")).unwrap();
        assert_eq!((c.namespace.as_str(), &c.namespace_source), ("other", &NamespaceSource::Flag));
        assert_eq!(c.config.default_namespace, "other");
    }

    #[test]
    fn bad_contexts_and_namespaces_are_explained() {
        let e = load(Some("third"), None).unwrap_err();
        assert!(e.to_string().contains("no context `third`"), "{e}");
        assert!(e.hint().unwrap().contains("first, second"), "{:?}", e.hint());
        assert!(e.is_usage());
        let e = load(None, Some("Bad_NS")).unwrap_err();
        assert!(e.to_string().contains("invalid namespace `Bad_NS`"), "{e}");
        let e = ClusterConfig::load(&KubeOptions { kubeconfig: Some("/no/such/config".into()), ..Default::default() })
            .unwrap_err();
        assert!(e.to_string().contains("--kubeconfig /no/such/config: no such file"), "{e}");
    }
}
