//! The commands that talk to a KFP installation: `submit`, `runs`, `experiments`,
//! `pipelines`, and `config` for the connection profiles they use.

mod lists;
mod profiles;
mod submit;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};

use nbkf::submit::api::{Kfp, KfpError};
use nbkf::submit::connection::{self, Connection, Flags};

pub use lists::{experiments, pipelines, runs};
pub use profiles::config;
pub use submit::submit;

/// Where the KFP API is and who is calling: each setting from its flag, else its
/// environment variable, else the profile.
#[derive(clap::Args, Clone, Default)]
#[command(next_help_heading = "Connection (flags win over the environment, which wins over the profile)")]
pub struct ConnectionArgs {
    /// The profile of the configuration file to use. [env: NBKF_PROFILE; default: the
    /// file's current profile]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The configuration file. [env: NBKF_CONFIG; default:
    /// $XDG_CONFIG_HOME/nbkf/config.toml, else ~/.config/nbkf/config.toml]
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The KFP API's URL: behind the Kubeflow gateway usually
    /// https://<kubeflow-host>/pipeline; in the cluster http://ml-pipeline.kubeflow:8888.
    /// [env: KF_PIPELINES_ENDPOINT]
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// The Kubeflow profile namespace (multi-user Kubeflow). [env: KF_PIPELINES_NAMESPACE]
    #[arg(short = 'n', long, value_name = "NS")]
    pub namespace: Option<String>,
    /// A bearer token. Prefer `--token-file` or KF_PIPELINES_TOKEN: a flag's value is
    /// visible in the shell history and to other users' `ps`. [env: KF_PIPELINES_TOKEN]
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// A file holding a bearer token, e.g. a projected service-account token (read each
    /// time). [env: KF_PIPELINES_SA_TOKEN_PATH; in a pod the pipelines token at
    /// /var/run/secrets/kubeflow/pipelines/token is used when present]
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// The user, sent as the `kubeflow-userid` header (for gateways and in-cluster
    /// setups that trust it). [env: KF_PIPELINES_USERID]
    #[arg(long, value_name = "USER")]
    pub user_id: Option<String>,
    /// The session cookie of a Kubeflow login: the `authservice_session` value, or
    /// `NAME=VALUE` for another cookie (e.g. `oauth2_proxy_kubeflow=...`).
    /// [env: KF_PIPELINES_COOKIE]
    #[arg(long, value_name = "COOKIE")]
    pub cookie: Option<String>,
    /// A PEM file of CA certificates to trust instead of the system's.
    /// [env: KF_PIPELINES_CA_CERT]
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,
    /// Accept any server certificate (for test installations only).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Reach KFP through the Kubernetes API server's service proxy with the kubeconfig's
    /// credentials, no port-forward needed.
    #[arg(long)]
    pub via_kube: bool,
    /// The kubeconfig context (with `--via-kube`). [default: the current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig file (with `--via-kube`). [env: KUBECONFIG; default: ~/.kube/config]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The namespace of KFP's `ml-pipeline` service (with `--via-kube`). [default: kubeflow]
    #[arg(long, value_name = "NS")]
    pub kfp_namespace: Option<String>,
    /// The KFP UI's URL, for run links, when it is not the API's. [env: KF_PIPELINES_UI_ENDPOINT]
    #[arg(long, value_name = "URL")]
    pub ui_host: Option<String>,
    /// Give up connecting after this long.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// Give up waiting for an answer after this long.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
}

/// Following a run to its end.
#[derive(clap::Args, Clone)]
pub struct WaitArgs {
    /// Follow the run to its end, showing each task's state (a live display on a terminal,
    /// a line per change when piped); exit 0 if it succeeds, 1 if it fails or is canceled,
    /// naming the failed task and its error.
    #[arg(long)]
    pub wait: bool,
    /// With `--wait`: stop waiting after this long (the run goes on; exit 1).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "wait")]
    pub timeout: Option<Duration>,
    /// With `--wait`: time between two looks at the run.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "5s")]
    pub poll_interval: Duration,
}

impl WaitArgs {
    fn options(&self) -> Result<nbkf::submit::wait::WaitOptions, ExitCode> {
        if self.poll_interval.is_zero() {
            return Err(super::usage_error("`--poll-interval` must be longer than 0"));
        }
        Ok(nbkf::submit::wait::WaitOptions { poll: self.poll_interval, timeout: self.timeout, ..Default::default() })
    }
}

/// How a list or a record is printed.
#[derive(Clone, Copy, Default, ValueEnum, PartialEq, Eq)]
pub enum Shape {
    /// A table (lists) or lines (one record), for people.
    #[default]
    Table,
    /// The server's objects as JSON, for programs.
    Json,
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first (of an experiment, or of the namespace).
    List(lists::RunsListArgs),
    /// Show a run: its state, each task's, and errors.
    Get(lists::RunArgs),
    /// Stop a run.
    Terminate(lists::RunArgs),
    /// Run a failed or stopped run's unfinished tasks again.
    Retry(lists::RunArgs),
}

#[derive(Subcommand)]
pub enum ExperimentsCommand {
    /// List experiments.
    List(lists::ListArgs),
}

#[derive(Subcommand)]
pub enum PipelinesCommand {
    /// List pipelines.
    List(lists::ListArgs),
    /// List a pipeline's versions, newest first.
    Versions(lists::VersionsArgs),
}

pub use profiles::ConfigCommand;
pub use submit::SubmitArgs;

impl ConnectionArgs {
    fn flags(&self) -> Flags {
        Flags {
            profile: self.profile.clone(),
            host: self.host.clone(),
            namespace: self.namespace.clone(),
            token: self.token.clone(),
            token_file: self.token_file.clone(),
            user_id: self.user_id.clone(),
            cookie: self.cookie.clone(),
            ca_cert: self.ca_cert.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            via_kube: self.via_kube,
            context: self.context.clone(),
            kubeconfig: self.kubeconfig.clone(),
            kfp_namespace: self.kfp_namespace.clone(),
            ui_host: self.ui_host.clone(),
            connect_timeout: Some(self.connect_timeout),
            request_timeout: Some(self.request_timeout),
        }
    }

    /// The resolved connection (settings only; nothing is sent).
    fn resolve(&self) -> Result<Connection, ExitCode> {
        connection::resolve(&self.flags(), &connection::process_environment(self.config.clone()))
            .map_err(|e| super::usage_error(&e.to_string()))
    }
}

/// The client of the connection the flags, environment and profile describe.
fn connect(args: &ConnectionArgs) -> Result<(Kfp, Connection), ExitCode> {
    let conn = args.resolve()?;
    let kfp = conn.client().map_err(|e| super::usage_error(&e))?;
    Ok((kfp, conn))
}

/// Refuses to go on against a multi-user KFP without a namespace (exit code 2).
fn check_namespace(kfp: &Kfp) -> Result<(), ExitCode> {
    if kfp.needs_namespace() {
        return Err(super::usage_error(&format!(
            "the KFP API at {} is multi-user Kubeflow: give your Kubeflow profile namespace with `-n NS` (or KF_PIPELINES_NAMESPACE, or the profile's `namespace`)",
            kfp.endpoint()
        )));
    }
    Ok(())
}

/// Prints a KFP error with its hint; exit code 1.
fn kfp_error(e: &KfpError) -> ExitCode {
    eprintln!("error: {e}");
    if let Some(hint) = e.hint() {
        eprintln!("  hint: {hint}");
    }
    ExitCode::from(1)
}

/// Whether standard error shows a live display.
fn interactive() -> bool {
    std::io::stderr().is_terminal()
}
