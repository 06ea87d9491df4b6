//! Named connection profiles in the user's configuration file
//! (`$NBKF_CONFIG`, else `$XDG_CONFIG_HOME/nbkf/config.toml`, else
//! `~/.config/nbkf/config.toml`), written by `nbkf config set-profile` and `nbkf config use`.
//! The file may hold secrets (a token, a session cookie): it is written readable by its
//! owner only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How to reach one KFP installation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The KFP API's base URL (`https://kubeflow.example.com/pipeline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The Kubeflow profile namespace (multi-user Kubeflow).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A bearer token (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A file holding a bearer token (read at each use: projected tokens rotate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// The user, sent as the `kubeflow-userid` header (for gateways that trust it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The `authservice_session` cookie of a Kubeflow login (a secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// A PEM file of CA certificates to trust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_tls_verify: bool,
    /// Reach KFP through the Kubernetes API server's service proxy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub via_kube: bool,
    /// The base URL of the KFP UI, for run links, when it is not the API's host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui_host: Option<String>,
    /// The kubeconfig context (with `via_kube`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The namespace of KFP's `ml-pipeline` service (with `via_kube`; default `kubeflow`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kfp_namespace: Option<String>,
}

impl Profile {
    /// The profile with its secrets replaced by `***`.
    pub fn masked(&self) -> Profile {
        let hide = |s: &Option<String>| s.as_ref().map(|_| "***".to_string());
        Profile { token: hide(&self.token), cookie: hide(&self.cookie), ..self.clone() }
    }
}

/// The configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The profile used when none is named.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// Why the configuration could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid nbkf configuration: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("there is no profile `{name}` in {path}{known}")]
    NoProfile { name: String, path: PathBuf, known: String },
}

/// Where the configuration file is, from the environment.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(p) = env("NBKF_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let base = env("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env("HOME").unwrap_or_default()).join(".config"));
    base.join("nbkf").join("config.toml")
}

impl Config {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => return Err(ConfigError::Read { path: path.into(), source }),
        };
        toml::from_str(&text).map_err(|e| ConfigError::Invalid { path: path.into(), message: e.to_string() })
    }

    /// Writes the file atomically, readable and writable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self)
            .map_err(|e| ConfigError::Write { path: path.into(), source: std::io::Error::other(e.to_string()) })?;
        let fail = |source| ConfigError::Write { path: path.into(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        crate::output::write_private(path, text.as_bytes()).map_err(fail)
    }

    /// The profile of this name, or the current one (`None` when there is none).
    pub fn profile(&self, name: Option<&str>, path: &Path) -> Result<Option<(String, Profile)>, ConfigError> {
        let Some(name) = name.map(str::to_string).or_else(|| self.current.clone()) else {
            return Ok(None);
        };
        match self.profiles.get(&name) {
            Some(p) => Ok(Some((name, p.clone()))),
            None => Err(ConfigError::NoProfile {
                name,
                path: path.into(),
                known: if self.profiles.is_empty() {
                    String::new()
                } else {
                    format!(" (profiles: {})", self.profiles.keys().cloned().collect::<Vec<_>>().join(", "))
                },
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config.toml");
        let mut c = Config::default();
        c.profiles.insert(
            "prod".into(),
            Profile {
                host: Some("https://kf.example.com/pipeline".into()),
                token: Some("t0k".into()),
                ..Default::default()
            },
        );
        c.current = Some("prod".into());
        c.save(&path).unwrap();
        let back = Config::load(&path).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.profile(None, &path).unwrap().unwrap().0, "prod");
        assert!(matches!(back.profile(Some("dev"), &path), Err(ConfigError::NoProfile { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(back.profiles["prod"].masked().token.as_deref(), Some("***"));
        assert_eq!(Config::load(&dir.path().join("missing.toml")).unwrap(), Config::default());
        std::fs::write(&path, "profiles = 3").unwrap();
        assert!(matches!(Config::load(&path), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn path_from_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(default_path(&env(&[("NBKF_CONFIG", "/x/c.toml")])), PathBuf::from("/x/c.toml"));
        assert_eq!(default_path(&env(&[("XDG_CONFIG_HOME", "/cfg")])), PathBuf::from("/cfg/nbkf/config.toml"));
        assert_eq!(default_path(&env(&[("HOME", "/home/u")])), PathBuf::from("/home/u/.config/nbkf/config.toml"));
    }
}
