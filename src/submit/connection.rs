//! Which KFP API to talk to and as whom: command-line flags, then the environment, then
//! the profile (`nbkf config`), each setting on its own. The result says where every
//! credential came from, so that a refused request can say which one was refused, and
//! never holds a secret in anything that is printed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::config::{Config, ConfigError, Profile};
use super::http::DirectSettings;

/// Where the KFP API's `ml-pipeline` service is by default, seen from inside a cluster
/// (what `kfp.Client` uses in a pod).
pub const IN_CLUSTER_HOST: &str = "http://ml-pipeline.kubeflow.svc.cluster.local:8888";

/// Where KFP mounts a pipelines service-account token in a pod (audience
/// `pipelines.kubeflow.org`); `kfp.Client` reads it too.
pub const IN_CLUSTER_TOKEN: &str = "/var/run/secrets/kubeflow/pipelines/token";

/// The cookie Kubeflow's oidc-authservice sets after a login; a bare cookie value is
/// sent under this name.
pub const SESSION_COOKIE: &str = "authservice_session";

/// The header a Kubeflow gateway sets to the logged-in user, which the KFP API trusts
/// (`KUBEFLOW_USERID_HEADER` in Kubeflow's multi-user manifests).
pub const USERID_HEADER: &str = "kubeflow-userid";

/// Connection settings given on the command line (all optional).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// The profile to use (else `NBKF_PROFILE`, else the configuration's current one).
    pub profile: Option<String>,
    pub host: Option<String>,
    pub namespace: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub user_id: Option<String>,
    pub cookie: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
    pub via_kube: bool,
    pub context: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub kfp_namespace: Option<String>,
    pub ui_host: Option<String>,
    pub connect_timeout: Option<Duration>,
    pub request_timeout: Option<Duration>,
}

/// How requests reach the API.
#[derive(Debug, Clone)]
pub enum Route {
    /// Straight to a URL.
    Direct(DirectSettings),
    /// Through the Kubernetes API server's service proxy, with the kubeconfig's
    /// credentials.
    ViaKube {
        kubeconfig: Option<PathBuf>,
        context: Option<String>,
        /// The namespace of the `ml-pipeline` service.
        kfp_namespace: String,
        /// Extra headers (the user id, a session cookie) passed through the proxy.
        headers: Vec<(String, String)>,
        request_timeout: Duration,
    },
}

/// A resolved connection.
#[derive(Debug, Clone)]
pub struct Connection {
    pub route: Route,
    /// The Kubeflow profile namespace of multi-user Kubeflow.
    pub namespace: Option<String>,
    /// The credential in words, for messages (`a bearer token from KF_PIPELINES_TOKEN`).
    pub credential: String,
    /// The profile used, if any.
    pub profile: Option<String>,
    /// The base of the KFP UI, for run links (`https://host/pipeline`), if known.
    pub ui: Option<String>,
}

/// Why no connection could be made from the settings.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "no KFP API to talk to: give `--host URL` (e.g. https://kubeflow.example.com/pipeline), set \
         KF_PIPELINES_ENDPOINT, use `--via-kube`, or save a profile with `nbkf config set-profile NAME --host URL`"
    )]
    NoHost,
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read the {what} {path}: {source}")]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
}

/// What the resolver may look at besides the flags: the environment, the configuration
/// file, and the in-cluster token path (parameters, so tests need no real pod).
pub struct Environment<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub config_path: PathBuf,
    pub in_cluster_token: PathBuf,
}

impl Environment<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }
}

/// A setting and where it came from.
struct Sourced<T> {
    value: T,
    from: String,
}

/// Picks the first of flag, environment variable and profile that is set.
fn pick<T>(
    flag: Option<T>,
    flag_name: &str,
    env: Option<(T, &str)>,
    profile: Option<T>,
    profile_name: Option<&str>,
) -> Option<Sourced<T>> {
    if let Some(value) = flag {
        return Some(Sourced { value, from: format!("`{flag_name}`") });
    }
    if let Some((value, var)) = env {
        return Some(Sourced { value, from: var.to_string() });
    }
    profile.map(|value| Sourced { value, from: format!("profile `{}`", profile_name.unwrap_or("?")) })
}

/// Resolves the connection: each setting from the flag, else the environment, else the
/// profile.
pub fn resolve(flags: &Flags, env: &Environment) -> Result<Connection, ConnectionError> {
    let config = Config::load(&env.config_path)?;
    let wanted = flags.profile.clone().or_else(|| env.get("NBKF_PROFILE"));
    let (profile_name, profile) = match config.profile(wanted.as_deref(), &env.config_path)? {
        Some((n, p)) => (Some(n), p),
        None => (None, Profile::default()),
    };
    let pn = profile_name.as_deref();
    let var = |name: &'static str| env.get(name).map(|v| (v, name));

    let via_kube = flags.via_kube || profile.via_kube;
    let namespace =
        pick(flags.namespace.clone(), "--namespace", var("KF_PIPELINES_NAMESPACE"), profile.namespace.clone(), pn);
    let user_id = pick(flags.user_id.clone(), "--user-id", var("KF_PIPELINES_USERID"), profile.user_id.clone(), pn);
    let cookie = pick(flags.cookie.clone(), "--cookie", var("KF_PIPELINES_COOKIE"), profile.cookie.clone(), pn);
    let token = pick(flags.token.clone(), "--token", var("KF_PIPELINES_TOKEN"), profile.token.clone(), pn);
    let token_file = pick(
        flags.token_file.clone(),
        "--token-file",
        env.get("KF_PIPELINES_SA_TOKEN_PATH").map(|p| (PathBuf::from(p), "KF_PIPELINES_SA_TOKEN_PATH")),
        profile.token_file.clone(),
        pn,
    );
    let ui = pick(flags.ui_host.clone(), "--ui-host", var("KF_PIPELINES_UI_ENDPOINT"), profile.ui_host.clone(), pn);

    let mut headers = Vec::new();
    let mut credentials = Vec::new();
    if let Some(u) = &user_id {
        check_header_value(&u.value, "user id")?;
        headers.push((USERID_HEADER.to_string(), u.value.clone()));
        credentials.push(format!("the user id `{}` (from {}) in the {USERID_HEADER} header", u.value, u.from));
    }
    if let Some(c) = &cookie {
        let value = session_cookie(&c.value);
        check_header_value(&value, "session cookie")?;
        let name = value.split('=').next().unwrap_or(SESSION_COOKIE).to_string();
        headers.push(("Cookie".to_string(), value));
        credentials.push(format!("the {name} cookie from {}", c.from));
    }

    if via_kube {
        if token.is_some() || token_file.is_some() {
            return Err(ConnectionError::Invalid(
                "a KFP bearer token cannot pass through the Kubernetes API server's proxy: with `--via-kube` \
                 requests carry the kubeconfig's credentials; drop the token or `--via-kube`"
                    .into(),
            ));
        }
        let context = pick(flags.context.clone(), "--context", None, profile.context.clone(), pn).map(|s| s.value);
        let kfp_namespace =
            pick(flags.kfp_namespace.clone(), "--kfp-namespace", None, profile.kfp_namespace.clone(), pn)
                .map_or_else(|| "kubeflow".to_string(), |s| s.value);
        credentials
            .insert(0, format!("the credentials of kube context `{}`", context.as_deref().unwrap_or("(current)")));
        return Ok(Connection {
            route: Route::ViaKube {
                kubeconfig: flags.kubeconfig.clone(),
                context,
                kfp_namespace,
                headers,
                request_timeout: flags.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
            },
            namespace: namespace.map(|s| s.value),
            credential: credentials.join(" and "),
            profile: profile_name,
            ui: ui.map(|s| trim_url(&s.value)),
        });
    }

    let in_cluster = env.get("KUBERNETES_SERVICE_HOST").is_some();
    let host = match pick(flags.host.clone(), "--host", var("KF_PIPELINES_ENDPOINT"), profile.host.clone(), pn) {
        Some(h) => h.value,
        None if in_cluster => IN_CLUSTER_HOST.to_string(),
        None => return Err(ConnectionError::NoHost),
    };
    let host = normalize_host(&host)?;

    // The bearer token: given, else from a file, else the pod's pipelines token.
    let bearer = if let Some(t) = token {
        Some((t.value.trim().to_string(), format!("the bearer token from {}", t.from)))
    } else if let Some(f) = token_file {
        Some((read_token(&f.value)?, format!("the bearer token in {} (from {})", f.value.display(), f.from)))
    } else if env.in_cluster_token.is_file() {
        Some((
            read_token(&env.in_cluster_token)?,
            format!("the pod's pipelines token {}", env.in_cluster_token.display()),
        ))
    } else {
        None
    };
    if let Some((value, described)) = bearer {
        check_header_value(&value, "token")?;
        headers.insert(0, ("Authorization".to_string(), format!("Bearer {value}")));
        credentials.insert(0, described);
    }

    let ca = pick(
        flags.ca_cert.clone(),
        "--ca-cert",
        env.get("KF_PIPELINES_CA_CERT").map(|p| (PathBuf::from(p), "KF_PIPELINES_CA_CERT")),
        profile.ca_cert.clone(),
        pn,
    );
    let ca_bundle = match ca {
        Some(c) => Some(std::fs::read(&c.value).map_err(|source| ConnectionError::Read {
            what: "CA bundle",
            path: c.value.clone(),
            source,
        })?),
        None => None,
    };
    let ui = ui.map(|s| trim_url(&s.value)).or_else(|| (!in_cluster || flags.host.is_some()).then(|| host.clone()));
    Ok(Connection {
        route: Route::Direct(DirectSettings {
            proxy: proxy_for(&host, &|n| env.get(n)),
            host,
            headers,
            ca_bundle,
            insecure_skip_tls_verify: flags.insecure_skip_tls_verify || profile.insecure_skip_tls_verify,
            connect_timeout: flags.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            request_timeout: flags.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT),
        }),
        namespace: namespace.map(|s| s.value),
        credential: if credentials.is_empty() { "no credential".into() } else { credentials.join(" and ") },
        profile: profile_name,
        ui,
    })
}

impl Connection {
    /// The client of this connection: a direct HTTP transport, or one through the
    /// Kubernetes API server's service proxy. Nothing is sent yet.
    pub fn client(&self) -> Result<super::api::Kfp, String> {
        let transport: Box<dyn super::http::Transport> = match &self.route {
            Route::Direct(settings) => Box::new(super::http::Direct::new(settings.clone()).map_err(|e| e.to_string())?),
            Route::ViaKube { kubeconfig, context, kfp_namespace, headers, request_timeout } => {
                let proxy = crate::k8s::proxy::KubeProxy::new(
                    kubeconfig.as_deref(),
                    context.as_deref(),
                    kfp_namespace,
                    *request_timeout,
                )
                .map_err(|e| match e.hint() {
                    Some(h) => format!("{e} ({h})"),
                    None => e.to_string(),
                })?;
                Box::new(proxy.with_headers(headers.clone()))
            }
        };
        Ok(super::api::Kfp::new(transport, self.namespace.clone(), self.credential.clone()))
    }

    /// The headers every request carries (to show them masked).
    pub fn headers(&self) -> &[(String, String)] {
        match &self.route {
            Route::Direct(d) => &d.headers,
            Route::ViaKube { headers, .. } => headers,
        }
    }
}

/// The environment of this process, the default configuration file and the pod's
/// pipelines token path: what the commands resolve connections against.
pub fn process_environment(config: Option<PathBuf>) -> Environment<'static> {
    fn var(name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
    Environment {
        var: &var,
        config_path: config.unwrap_or_else(|| super::config::default_path(&var)),
        in_cluster_token: PathBuf::from(IN_CLUSTER_TOKEN),
    }
}

/// How long to wait for a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait for a whole answer (an upload of a large pipeline included).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `authservice_session=VALUE` for a bare value; a `NAME=VALUE` cookie (e.g. the
/// `oauth2_proxy_kubeflow` cookie of newer Kubeflow releases) as it is.
pub fn session_cookie(given: &str) -> String {
    let given = given.trim();
    let given = given.strip_prefix("Cookie:").map(str::trim).unwrap_or(given);
    if given.contains('=') {
        given.to_string()
    } else {
        format!("{SESSION_COOKIE}={given}")
    }
}

fn check_header_value(value: &str, what: &str) -> Result<(), ConnectionError> {
    if value.is_empty() || value.chars().any(|c| c.is_control()) {
        return Err(ConnectionError::Invalid(format!(
            "the {what} is empty or holds a line break or another control character"
        )));
    }
    Ok(())
}

fn read_token(path: &Path) -> Result<String, ConnectionError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConnectionError::Read {
        what: "token file",
        path: path.into(),
        source,
    })?;
    let token = text.trim().to_string();
    if token.is_empty() {
        return Err(ConnectionError::Invalid(format!("the token file {} is empty", path.display())));
    }
    Ok(token)
}

fn trim_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// Checks the host URL and drops a trailing `/` and a trailing `/apis/v2beta1` (users
/// paste either).
pub fn normalize_host(host: &str) -> Result<String, ConnectionError> {
    let mut h = trim_url(host);
    if let Some(stripped) = h.strip_suffix("/apis/v2beta1") {
        h = stripped.trim_end_matches('/').to_string();
    }
    let Some((scheme, rest)) = h.split_once("://") else {
        return Err(ConnectionError::Invalid(format!(
            "the KFP host `{host}` has no scheme: write http://... or https://..."
        )));
    };
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.starts_with('/') {
        return Err(ConnectionError::Invalid(format!(
            "the KFP host `{host}` is not an http:// or https:// URL with a host name"
        )));
    }
    Ok(h)
}

/// The proxy for a URL, as curl and most tools read the environment: `HTTPS_PROXY` for
/// https, `HTTP_PROXY` for http, else `ALL_PROXY` (upper or lower case), unless
/// `NO_PROXY` names the host (a name matches itself and its subdomains; `*` matches
/// all).
pub fn proxy_for(url: &str, var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let get = |n: &str| var(n).or_else(|| var(&n.to_ascii_lowercase())).filter(|v| !v.trim().is_empty());
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    }
    .to_ascii_lowercase();
    if let Some(no) = get("NO_PROXY") {
        for entry in no.split(',').map(|e| e.trim().to_ascii_lowercase()) {
            let entry = entry.split(':').next().unwrap_or_default().trim_start_matches("*.").trim_start_matches('.');
            if entry == "*" || (!entry.is_empty() && (host == entry || host.ends_with(&format!(".{entry}")))) {
                return None;
            }
        }
    }
    let specific = if scheme.eq_ignore_ascii_case("https") { get("HTTPS_PROXY") } else { get("HTTP_PROXY") };
    specific.or_else(|| get("ALL_PROXY"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)], config: &Path, token: &Path) -> (HashMap<String, String>, PathBuf, PathBuf) {
        (vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), config.into(), token.into())
    }

    fn resolve_with(
        flags: &Flags,
        vars: &[(&str, &str)],
        config: &Path,
        token: &Path,
    ) -> Result<Connection, ConnectionError> {
        let (map, config_path, in_cluster_token) = env_of(vars, config, token);
        let var = move |k: &str| map.get(k).cloned();
        resolve(flags, &Environment { var: &var, config_path, in_cluster_token })
    }

    fn direct(c: &Connection) -> &DirectSettings {
        match &c.route {
            Route::Direct(d) => d,
            Route::ViaKube { .. } => panic!("expected a direct route"),
        }
    }

    fn header<'a>(d: &'a DirectSettings, name: &str) -> Option<&'a str> {
        d.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn with_profile(dir: &Path) -> PathBuf {
        let path = dir.join("config.toml");
        let mut c = Config::default();
        c.profiles.insert(
            "prod".into(),
            Profile {
                host: Some("https://profile.example.com/pipeline".into()),
                namespace: Some("team-profile".into()),
                token: Some("profile-token".into()),
                user_id: Some("profile@example.com".into()),
                ..Default::default()
            },
        );
        c.current = Some("prod".into());
        c.save(&path).unwrap();
        path
    }

    #[test]
    fn flags_win_over_the_environment_which_wins_over_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let config = with_profile(dir.path());
        let none = dir.path().join("no-token");
        // Profile only.
        let c = resolve_with(&Flags::default(), &[], &config, &none).unwrap();
        let d = direct(&c);
        assert_eq!(d.host, "https://profile.example.com/pipeline");
        assert_eq!(header(d, "authorization"), Some("Bearer profile-token"));
        assert_eq!(c.namespace.as_deref(), Some("team-profile"));
        assert!(c.credential.contains("profile `prod`"), "{}", c.credential);
        assert!(!c.credential.contains("profile-token"), "no secret in the description");
        // The environment wins over the profile.
        let vars = [
            ("KF_PIPELINES_ENDPOINT", "http://env.example.com:8888/"),
            ("KF_PIPELINES_TOKEN", "env-token"),
            ("KF_PIPELINES_NAMESPACE", "team-env"),
        ];
        let c = resolve_with(&Flags::default(), &vars, &config, &none).unwrap();
        let d = direct(&c);
        assert_eq!(d.host, "http://env.example.com:8888");
        assert_eq!(header(d, "authorization"), Some("Bearer env-token"));
        assert_eq!(c.namespace.as_deref(), Some("team-env"));
        assert!(c.credential.contains("KF_PIPELINES_TOKEN"), "{}", c.credential);
        // Flags win over both.
        let flags = Flags {
            host: Some("https://flag.example.com/apis/v2beta1".into()),
            token: Some("flag-token".into()),
            namespace: Some("team-flag".into()),
            ..Default::default()
        };
        let c = resolve_with(&flags, &vars, &config, &none).unwrap();
        let d = direct(&c);
        assert_eq!(d.host, "https://flag.example.com");
        assert_eq!(header(d, "authorization"), Some("Bearer flag-token"));
        assert_eq!(c.namespace.as_deref(), Some("team-flag"));
        // Settings the higher levels do not give still come from the profile.
        assert_eq!(header(d, USERID_HEADER), Some("profile@example.com"));
    }

    #[test]
    fn token_files_and_the_pods_token() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("missing.toml");
        let file = dir.path().join("token");
        std::fs::write(&file, "file-token\n").unwrap();
        let pod = dir.path().join("pod-token");
        std::fs::write(&pod, "pod-token").unwrap();
        let base = [("KF_PIPELINES_ENDPOINT", "http://kfp:8888")];
        let c = resolve_with(
            &Flags::default(),
            &[base[0], ("KF_PIPELINES_SA_TOKEN_PATH", file.to_str().unwrap())],
            &config,
            &pod,
        )
        .unwrap();
        assert_eq!(header(direct(&c), "authorization"), Some("Bearer file-token"));
        assert!(c.credential.contains("KF_PIPELINES_SA_TOKEN_PATH"));
        let c = resolve_with(&Flags::default(), &base, &config, &pod).unwrap();
        assert_eq!(header(direct(&c), "authorization"), Some("Bearer pod-token"));
        let c = resolve_with(&Flags::default(), &base, &config, &dir.path().join("absent")).unwrap();
        assert_eq!(header(direct(&c), "authorization"), None);
        assert_eq!(c.credential, "no credential");
        let err = resolve_with(
            &Flags { token_file: Some(dir.path().join("nope")), ..Default::default() },
            &base,
            &config,
            &pod,
        )
        .unwrap_err();
        assert!(err.to_string().contains("cannot read the token file"), "{err}");
        std::fs::write(&file, "  \n").unwrap();
        let err = resolve_with(&Flags { token_file: Some(file.clone()), ..Default::default() }, &base, &config, &pod)
            .unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
    }

    #[test]
    fn hosts_cookies_and_in_cluster_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("missing.toml");
        let none = dir.path().join("none");
        assert!(matches!(resolve_with(&Flags::default(), &[], &config, &none), Err(ConnectionError::NoHost)));
        let c = resolve_with(&Flags::default(), &[("KUBERNETES_SERVICE_HOST", "10.0.0.1")], &config, &none).unwrap();
        assert_eq!(direct(&c).host, IN_CLUSTER_HOST);
        for bad in ["kubeflow.example.com", "ftp://x", "https://"] {
            let e =
                resolve_with(&Flags { host: Some(bad.into()), ..Default::default() }, &[], &config, &none).unwrap_err();
            assert!(matches!(e, ConnectionError::Invalid(_)), "{bad}: {e}");
        }
        assert_eq!(session_cookie("abc"), "authservice_session=abc");
        assert_eq!(session_cookie("Cookie: oauth2_proxy_kubeflow=xyz"), "oauth2_proxy_kubeflow=xyz");
        let flags = Flags { host: Some("https://kf".into()), cookie: Some("s3cret".into()), ..Default::default() };
        let c = resolve_with(&flags, &[], &config, &none).unwrap();
        assert_eq!(header(direct(&c), "cookie"), Some("authservice_session=s3cret"));
        assert!(!c.credential.contains("s3cret"));
        let bad = Flags { host: Some("https://kf".into()), token: Some("a\nb".into()), ..Default::default() };
        assert!(resolve_with(&bad, &[], &config, &none).is_err());
    }

    #[test]
    fn via_kube_refuses_tokens_and_keeps_headers() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("missing.toml");
        let none = dir.path().join("none");
        let flags =
            Flags { via_kube: true, user_id: Some("a@b.c".into()), context: Some("prod".into()), ..Default::default() };
        let c = resolve_with(&flags, &[("KF_PIPELINES_ENDPOINT", "http://ignored")], &config, &none).unwrap();
        match &c.route {
            Route::ViaKube { context, kfp_namespace, headers, .. } => {
                assert_eq!(context.as_deref(), Some("prod"));
                assert_eq!(kfp_namespace, "kubeflow");
                assert_eq!(headers, &vec![(USERID_HEADER.to_string(), "a@b.c".to_string())]);
            }
            Route::Direct(_) => panic!("expected via kube"),
        }
        let flags = Flags { via_kube: true, token: Some("t".into()), ..Default::default() };
        assert!(matches!(resolve_with(&flags, &[], &config, &none), Err(ConnectionError::Invalid(_))));
    }

    #[test]
    fn proxies_by_scheme_and_no_proxy() {
        let vars: HashMap<&str, &str> = [
            ("HTTPS_PROXY", "http://secure-proxy:3128"),
            ("http_proxy", "http://plain-proxy:3128"),
            ("NO_PROXY", "internal.example.com, .svc.cluster.local,10.0.0.5:8888"),
        ]
        .into_iter()
        .collect();
        let var = |k: &str| vars.get(k).map(|v| v.to_string());
        assert_eq!(proxy_for("https://kf.example.com/pipeline", &var).as_deref(), Some("http://secure-proxy:3128"));
        assert_eq!(proxy_for("http://kf.example.com", &var).as_deref(), Some("http://plain-proxy:3128"));
        assert_eq!(proxy_for("https://internal.example.com", &var), None);
        assert_eq!(proxy_for("https://kf.internal.example.com:443/x", &var), None);
        assert_eq!(proxy_for("http://ml-pipeline.kubeflow.svc.cluster.local:8888", &var), None);
        assert_eq!(proxy_for("http://10.0.0.5:8888", &var), None);
        assert_eq!(proxy_for("https://notinternal.example.com", &var).as_deref(), Some("http://secure-proxy:3128"));
        let all = |k: &str| (k == "ALL_PROXY").then(|| "socks5://p:1080".to_string());
        assert_eq!(proxy_for("https://kf", &all).as_deref(), Some("socks5://p:1080"));
    }
}
