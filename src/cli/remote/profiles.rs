//! `nbkf config`: named connection profiles in the user's configuration file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use nbkf::submit::config::{default_path, Config, Profile};
use nbkf::submit::connection::normalize_host;

use super::Shape;
use crate::cli::{io_error, usage_error};

#[derive(Subcommand)]
pub enum ConfigCommand {
    /// Create a profile, or change the settings given of an existing one.
    SetProfile(Box<SetProfileArgs>),
    /// Make a profile the one used when none is named.
    Use(NameArgs),
    /// Show the configuration, secrets masked.
    View(ViewArgs),
    /// Remove a profile.
    DeleteProfile(NameArgs),
}

#[derive(clap::Args)]
pub struct FileArg {
    /// The configuration file. [env: NBKF_CONFIG; default:
    /// $XDG_CONFIG_HOME/nbkf/config.toml, else ~/.config/nbkf/config.toml]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct NameArgs {
    /// The profile's name.
    pub name: String,
    #[command(flatten)]
    pub file: FileArg,
}

#[derive(clap::Args)]
pub struct ViewArgs {
    #[arg(long, value_enum, default_value_t = Shape::Table)]
    pub format: Shape,
    #[command(flatten)]
    pub file: FileArg,
}

#[derive(clap::Args)]
pub struct SetProfileArgs {
    /// The profile's name.
    pub name: String,
    /// The KFP API's URL (https://<kubeflow-host>/pipeline behind the Kubeflow gateway).
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// The Kubeflow profile namespace.
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// A bearer token, kept in the file (readable by you only). Prefer `--token-file`.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A file holding a bearer token (read at each use).
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// The user for the `kubeflow-userid` header.
    #[arg(long, value_name = "USER")]
    pub user_id: Option<String>,
    /// The session cookie of a Kubeflow login (`authservice_session` value or NAME=VALUE),
    /// kept in the file (readable by you only).
    #[arg(long, value_name = "COOKIE")]
    pub cookie: Option<String>,
    /// A PEM file of CA certificates to trust.
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate (`--insecure-skip-tls-verify=false` to stop).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub insecure_skip_tls_verify: Option<bool>,
    /// Reach KFP through the Kubernetes API server's service proxy
    /// (`--via-kube=false` to stop).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub via_kube: Option<bool>,
    /// The kubeconfig context (with `--via-kube`).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace of KFP's `ml-pipeline` service (with `--via-kube`).
    #[arg(long, value_name = "NS")]
    pub kfp_namespace: Option<String>,
    /// The KFP UI's URL, for run links.
    #[arg(long, value_name = "URL")]
    pub ui_host: Option<String>,
    /// Remove these settings from the profile (repeatable): host, namespace, token,
    /// token-file, user-id, cookie, ca-cert, context, kfp-namespace, ui-host.
    #[arg(long, value_name = "SETTING")]
    pub unset: Vec<String>,
    /// Also make it the current profile.
    #[arg(long = "use")]
    pub make_current: bool,
    #[command(flatten)]
    pub file: FileArg,
}

fn path_of(file: &FileArg) -> PathBuf {
    file.config.clone().unwrap_or_else(|| default_path(&|k: &str| std::env::var(k).ok()))
}

fn load(path: &Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| io_error(&e.to_string()))
}

fn save(config: &Config, path: &Path) -> Result<(), ExitCode> {
    config.save(path).map_err(|e| io_error(&e.to_string()))
}

pub fn config(command: ConfigCommand) -> ExitCode {
    let result = match command {
        ConfigCommand::SetProfile(args) => set_profile(*args),
        ConfigCommand::Use(args) => use_profile(args),
        ConfigCommand::View(args) => view(args),
        ConfigCommand::DeleteProfile(args) => delete_profile(args),
    };
    result.unwrap_or_else(|code| code)
}

fn set_profile(args: SetProfileArgs) -> Result<ExitCode, ExitCode> {
    let path = path_of(&args.file);
    let mut config = load(&path)?;
    if args.name.trim().is_empty() {
        return Err(usage_error("a profile needs a name"));
    }
    let created = !config.profiles.contains_key(&args.name);
    let p = config.profiles.entry(args.name.clone()).or_default();
    for setting in &args.unset {
        match setting.as_str() {
            "host" => p.host = None,
            "namespace" => p.namespace = None,
            "token" => p.token = None,
            "token-file" => p.token_file = None,
            "user-id" => p.user_id = None,
            "cookie" => p.cookie = None,
            "ca-cert" => p.ca_cert = None,
            "context" => p.context = None,
            "kfp-namespace" => p.kfp_namespace = None,
            "ui-host" => p.ui_host = None,
            other => return Err(usage_error(&format!("`--unset {other}`: no such setting"))),
        }
    }
    if let Some(h) = &args.host {
        p.host = Some(normalize_host(h).map_err(|e| usage_error(&e.to_string()))?);
    }
    let absolute = |f: &PathBuf| std::path::absolute(f).unwrap_or_else(|_| f.clone());
    if let Some(f) = &args.token_file {
        p.token_file = Some(absolute(f));
    }
    if let Some(f) = &args.ca_cert {
        if !f.is_file() {
            return Err(usage_error(&format!("--ca-cert {}: no such file", f.display())));
        }
        p.ca_cert = Some(absolute(f));
    }
    set(&mut p.namespace, &args.namespace);
    set(&mut p.token, &args.token);
    set(&mut p.user_id, &args.user_id);
    set(&mut p.cookie, &args.cookie);
    set(&mut p.context, &args.context);
    set(&mut p.kfp_namespace, &args.kfp_namespace);
    set(&mut p.ui_host, &args.ui_host);
    if let Some(b) = args.insecure_skip_tls_verify {
        p.insecure_skip_tls_verify = b;
    }
    if let Some(b) = args.via_kube {
        p.via_kube = b;
    }
    if p.token.is_some() && p.token_file.is_some() {
        return Err(usage_error(
            "a profile has a token or a token file, not both (`--unset token` or `--unset token-file`)",
        ));
    }
    if args.make_current || config.current.is_none() {
        config.current = Some(args.name.clone());
    }
    save(&config, &path)?;
    eprintln!(
        "profile `{}` {} in {}{}",
        args.name,
        if created { "created" } else { "updated" },
        path.display(),
        if config.current.as_deref() == Some(&args.name) { " (current)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

fn set(slot: &mut Option<String>, value: &Option<String>) {
    if let Some(v) = value {
        *slot = Some(v.clone());
    }
}

fn use_profile(args: NameArgs) -> Result<ExitCode, ExitCode> {
    let path = path_of(&args.file);
    let mut config = load(&path)?;
    config.profile(Some(&args.name), &path).map_err(|e| usage_error(&e.to_string()))?;
    config.current = Some(args.name.clone());
    save(&config, &path)?;
    eprintln!("profile `{}` is now the current one", args.name);
    Ok(ExitCode::SUCCESS)
}

fn delete_profile(args: NameArgs) -> Result<ExitCode, ExitCode> {
    let path = path_of(&args.file);
    let mut config = load(&path)?;
    config.profile(Some(&args.name), &path).map_err(|e| usage_error(&e.to_string()))?;
    config.profiles.remove(&args.name);
    if config.current.as_deref() == Some(&args.name) {
        config.current = None;
    }
    save(&config, &path)?;
    eprintln!("profile `{}` removed", args.name);
    Ok(ExitCode::SUCCESS)
}

fn view(args: ViewArgs) -> Result<ExitCode, ExitCode> {
    let path = path_of(&args.file);
    let config = load(&path)?;
    let masked = Config {
        current: config.current.clone(),
        profiles: config.profiles.iter().map(|(k, p): (&String, &Profile)| (k.clone(), p.masked())).collect(),
    };
    match args.format {
        Shape::Json => {
            let v = serde_json::json!({"path": path, "current": masked.current, "profiles": masked.profiles});
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Shape::Table => {
            println!("# {}", path.display());
            if masked.profiles.is_empty() {
                eprintln!("no profiles yet: `nbkf config set-profile NAME --host URL ...` makes one");
            } else {
                print!("{}", toml::to_string_pretty(&masked).map_err(|e| io_error(&e.to_string()))?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
