//! The Kubernetes commands: `nbkf apply` (a pipeline as Kubernetes-native KFP objects),
//! `nbkf kube namespace` and `nbkf kube pvcs`, and the manifests of `convert --format k8s`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Subcommand;
use nbkf::emit::file::PipelineFile;
use nbkf::k8s::apply::{self, Applied, ApplyOptions, ApplyReport};
use nbkf::k8s::{cluster, ClusterConfig, Connection, K8sError, KubeOptions, Manifests};

use super::convert::load_pipeline;
use super::{io_error, usage_error, ConversionArgs, Format};

/// How long nbkf waits for each answer of the API server.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Which kubeconfig and context: the flags every Kubernetes command takes.
#[derive(clap::Args)]
pub struct ContextArgs {
    /// The kubeconfig context to use. [default: the kubeconfig's current context]
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// The kubeconfig file. [default: $KUBECONFIG, else ~/.kube/config, else the pod's
    /// service account when nbkf runs in a cluster]
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// A notebook (.ipynb, converted first) or a pipeline YAML written by `nbkf convert`.
    pub target: PathBuf,
    /// The namespace to apply to. [default: the context's namespace, else the pod's
    /// service account's, else `default`]
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub context: ContextArgs,
    /// Send everything as a server-side dry run (`dryRun=All`): the API server checks
    /// rights, schemas and admission and stores nothing. (To see the objects, use
    /// `nbkf convert --format k8s -o -`.)
    #[arg(long)]
    pub dry_run: bool,
    /// Take over the Pipeline's fields when another field manager (the KFP UI, `kubectl
    /// edit`, a GitOps tool) set them to other values; without it such a conflict is an
    /// error.
    #[arg(long)]
    pub force_conflicts: bool,
    #[command(flatten)]
    pub conversion: ConversionArgs,
    /// Print errors and the applied objects only.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum KubeCommand {
    /// Print the namespace nbkf uses: the context's, else the pod's service account's,
    /// else `default`. Reads the configuration only; makes no request.
    Namespace {
        #[command(flatten)]
        context: ContextArgs,
        /// `text` for people, `json` for programs: {"namespace", "source" (context,
        /// in-cluster or default), "context", "server"}.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the persistent volume claims of the namespace (name, access modes, capacity,
    /// storage class, phase): the volumes a pipeline's steps can mount.
    Pvcs {
        /// The namespace. [default: as for `nbkf kube namespace`]
        #[arg(short, long, value_name = "NS")]
        namespace: Option<String>,
        #[command(flatten)]
        context: ContextArgs,
        /// `text` (a table) for people, `json` for programs: {"namespace", "pvcs": [{"name",
        /// "access_modes", "capacity", "storage_class", "phase"}]}, absent values `null`.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

fn options(context: &ContextArgs, namespace: Option<&String>) -> KubeOptions {
    KubeOptions {
        kubeconfig: context.kubeconfig.clone(),
        context: context.context.clone(),
        namespace: namespace.cloned(),
    }
}

/// Prints a cluster error with its hint; exit code 2 for configuration problems, else 1.
fn cluster_error(e: &K8sError) -> ExitCode {
    eprintln!("error: {e}");
    if let Some(hint) = e.hint() {
        eprintln!("hint: {hint}");
    }
    ExitCode::from(if e.is_usage() { 2 } else { 1 })
}

/// The two manifests of `convert --format k8s` from the IR YAML.
pub fn manifests_yaml(ir_yaml: &str, namespace: Option<&str>) -> Result<String, ExitCode> {
    if let Some(ns) = namespace.filter(|ns| !nbkf::k8s::manifests::is_dns1123_label(ns)) {
        return Err(usage_error(&format!(
            "invalid namespace `{ns}`: lower-case letters, digits and `-`, starting and ending with a letter or digit, at most 63 characters"
        )));
    }
    let ir = PipelineFile::parse(ir_yaml).map_err(|e| usage_error(&e.to_string()))?;
    let manifests = Manifests::build(&ir, namespace).map_err(|e| usage_error(&e.to_string()))?;
    manifests.to_yaml().map_err(|e| io_error(&e.to_string()))
}

fn applied_line(a: &Applied, dry_run: bool) -> String {
    // As kubectl writes it: `pipeline.pipelines.kubeflow.org/demo created`.
    let mut line =
        format!("{}.{}/{} {}", a.kind.to_ascii_lowercase(), nbkf::k8s::manifests::GROUP, a.name, a.outcome.as_str());
    let mut notes = Vec::new();
    if let Some(uid) = &a.uid {
        notes.push(format!("uid {uid}"));
    }
    if dry_run {
        notes.push(if a.checked {
            "server dry run".to_string()
        } else {
            "dry run; not checked by the server, as its pipeline does not exist yet".to_string()
        });
    }
    if !notes.is_empty() {
        line.push_str(&format!(" ({})", notes.join("; ")));
    }
    line
}

pub fn apply(args: ApplyArgs, color: bool) -> ExitCode {
    let ir = match load_pipeline(&args.target, &args.conversion, false, args.quiet, color) {
        Ok(loaded) => loaded.file,
        Err(code) => return code,
    };
    let started = Instant::now();
    let (report, conn) = match apply_to_cluster(&args, &ir) {
        Ok(r) => r,
        Err(e) => return cluster_error(&e),
    };
    let lines = format!(
        "{}\n{}\n",
        applied_line(&report.pipeline, report.dry_run),
        applied_line(&report.version, report.dry_run)
    );
    if let Err(code) = print(&lines) {
        return code;
    }
    if !args.quiet {
        eprintln!(
            "{} pipeline `{}` in namespace `{}` ({}, {}) in {} ms",
            if report.dry_run { "checked (dry run)" } else { "applied" },
            report.pipeline.name,
            report.namespace,
            conn.cluster.context_description(),
            conn.cluster.server(),
            started.elapsed().as_millis()
        );
    }
    ExitCode::SUCCESS
}

/// Connects and applies the pipeline's manifests.
fn apply_to_cluster(args: &ApplyArgs, ir: &PipelineFile) -> Result<(ApplyReport, Connection), K8sError> {
    let manifests = Manifests::build(ir, None)?;
    let conn = Connection::connect(&options(&args.context, args.namespace.as_ref()), Some(READ_TIMEOUT))?;
    let options = ApplyOptions { dry_run: args.dry_run, force_conflicts: args.force_conflicts };
    Ok((apply::apply(&conn, &manifests, options)?, conn))
}

/// Writes to standard output (a reader that stopped reading is fine).
fn print(text: &str) -> Result<(), ExitCode> {
    super::write_output(Path::new("-"), text.as_bytes())
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).map(|j| j + "\n").unwrap_or_default()
}

pub fn kube(command: KubeCommand) -> ExitCode {
    let text = match command {
        KubeCommand::Namespace { context, format } => {
            let cluster = match ClusterConfig::load(&options(&context, None)) {
                Ok(c) => c,
                Err(e) => return cluster_error(&e),
            };
            let info = cluster::namespace(&cluster);
            match format {
                Format::Json => json_text(&info),
                Format::Text => {
                    format!("{}  ({}; {})\n", info.namespace, cluster.namespace_source.describe(), info.server)
                }
            }
        }
        KubeCommand::Pvcs { namespace, context, format } => {
            let listed = Connection::connect(&options(&context, namespace.as_ref()), Some(READ_TIMEOUT))
                .and_then(|conn| Ok((cluster::pvcs(&conn)?, conn)));
            let (pvcs, conn) = match listed {
                Ok(l) => l,
                Err(e) => return cluster_error(&e),
            };
            match format {
                Format::Json => json_text(&serde_json::json!({ "namespace": conn.namespace(), "pvcs": pvcs })),
                Format::Text if pvcs.is_empty() => {
                    eprintln!("no persistent volume claims in namespace `{}`", conn.namespace());
                    String::new()
                }
                Format::Text => format!("{}\n", pvc_table(&pvcs, std::io::stdout().is_terminal())),
            }
        }
    };
    match print(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// The claims as a table: with borders on a terminal, plain columns (like kubectl's)
/// otherwise.
fn pvc_table(pvcs: &[cluster::PvcInfo], terminal: bool) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(if terminal { comfy_table::presets::UTF8_FULL_CONDENSED } else { comfy_table::presets::NOTHING });
    table.set_header(["NAME", "ACCESS MODES", "CAPACITY", "STORAGE CLASS", "PHASE"]);
    let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    for p in pvcs {
        table.add_row([
            p.name.clone(),
            if p.access_modes.is_empty() { "-".into() } else { p.access_modes.join(",") },
            or_dash(&p.capacity),
            or_dash(&p.storage_class),
            or_dash(&p.phase),
        ]);
    }
    table
}
