//! The `nbkf` command line: argument definitions (clap) and one module per command.
//! Each command parses nothing itself: it calls the library and prints.

mod convert;
mod graph;
mod kube;
mod local;
mod migrate;
mod remote;
mod serve;
mod tag;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Turn Jupyter notebooks into Kubeflow Pipelines (KFP v2) that compute what the
/// notebook computes.
///
/// Exit codes: 0 success; 1 the notebook has errors (each is printed with its cell and
/// line), a step failed, or `check` found a difference; 2 usage or I/O problems (bad
/// flags, unreadable or invalid files).
#[derive(Parser)]
#[command(name = "nbkf", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to color messages.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
pub enum Command {
    /// Convert a notebook into a KFP v2 pipeline (IR YAML).
    ///
    /// Cells are grouped into steps by their tags (Kale's `step:`, `prev:`, `imports`,
    /// `pipeline-parameters`, ...); a notebook without step tags is split automatically
    /// (`--split`: at its headings, else into groups of cells that depend on each other). What
    /// each step needs from the others is found by analysing the Python; every problem is
    /// reported with its cell and line, and nothing is written when there are errors.
    Convert(ConvertArgs),
    /// Run a pipeline here, without a cluster: its steps as local processes.
    ///
    /// Takes a notebook (converted first) or a pipeline YAML. Steps run in dependency
    /// order, independent ones in parallel, executing the same step programs the IR
    /// carries; the pip preamble is skipped, so the local Python needs the notebook's
    /// packages (the `kfp` package is not needed). Steps run in the notebook's folder (the
    /// current one for a YAML file). Artifacts, logs and `run.json` stay in
    /// `<workdir>/runs/<run-id>/`. Exit codes: 0 all steps succeeded; 1 the notebook has
    /// errors or a step failed; 2 usage or I/O problems.
    Run(RunArgs),
    /// Check that the pipeline computes what the notebook computes.
    ///
    /// Runs the pipeline locally (as `nbkf run`), runs the notebook's non-`skip` cells top
    /// to bottom in one Python process, and compares every value passed between steps
    /// (with the notebook's value after the cell that made it final), every metric, and
    /// each step cell's printed output. Exit codes: 0 nothing differs; 1 something differs,
    /// a step or the notebook fails, or the notebook has errors; 2 usage or I/O problems.
    Check(CheckArgs),
    /// Show how the notebook becomes a pipeline: steps, their cells, what each reads
    /// (and from which step), passes on, its parameters and packages.
    ///
    /// For a person deciding whether the split is right; `--format json` gives the same
    /// as data. Exit codes: 0 success; 1 the notebook has errors; 2 usage or I/O problems.
    Plan(PlanArgs),
    /// Draw the pipeline: steps, the variables each edge carries, parameters and metrics.
    ///
    /// As SVG laid out by nbkf (each step a `<g class="step" data-step=NAME>` a page can
    /// style by state), Graphviz DOT, or a Mermaid flowchart for Markdown. Exit codes: 0
    /// success; 1 the notebook has errors; 2 usage or I/O problems.
    Graph(graph::GraphArgs),
    /// Write the inferred plan back into the notebook as Kale tags.
    ///
    /// Adds `step:` tags (for a notebook without them, from the automatic split),
    /// `imports` for import-only cells, and a `prev:` tag for each step a step runs after,
    /// so that the notebook opens in Kale's JupyterLab extension (or nbkf) showing the same
    /// pipeline. Everything else in the file is kept byte for byte. `--check` only reports
    /// whether the tags match. Exit codes: 0 success (or, with --check, the tags match);
    /// 1 the notebook has errors or (with --check) the tags differ; 2 usage or I/O
    /// problems.
    Tag(TagArgs),
    /// Convert many notebooks in one batch: folders walked, the tree mirrored, a report.
    ///
    /// Finds `*.ipynb` under the paths (hidden folders, `.ipynb_checkpoints` and what
    /// `.gitignore` files ignore are skipped), converts them in parallel as `convert` would,
    /// writes each pipeline to the mirrored place under `--out`, and records every notebook
    /// (converted, refused with its diagnostics, unreadable, invalid, failed, timed out) in
    /// `<out>/report.json` and `<out>/report.html`. One notebook never stops the batch.
    /// Exit codes: 0 every notebook converted (warnings are fine) and every check passed;
    /// 1 some notebook needs attention (see the report); 2 usage or I/O problems, or no
    /// notebook found.
    Migrate(migrate::MigrateArgs),
    /// Submit a notebook or pipeline YAML to Kubeflow Pipelines and start a run.
    ///
    /// A notebook is converted first (same flags as `convert`). The pipeline is found by
    /// name or created; the version is named by a hash of the pipeline's content, so the
    /// same content reuses the version already there and a change uploads a new one; the
    /// experiment (`--experiment`, else the notebook's, else `Default`) is found or
    /// created; a run of that version starts with the `--param` values, checked against the
    /// pipeline's parameters. Prints the run id and its page. Exit codes: 0 the run was
    /// started (with --wait: it succeeded); 1 the notebook has errors, the server refused
    /// or could not be reached, or (with --wait) the run failed, was canceled or the wait
    /// timed out; 2 usage or I/O problems.
    Submit(remote::SubmitArgs),
    /// List, show, stop and retry runs on Kubeflow Pipelines.
    #[command(subcommand)]
    Runs(remote::RunsCommand),
    /// List experiments on Kubeflow Pipelines.
    #[command(subcommand)]
    Experiments(remote::ExperimentsCommand),
    /// List pipelines and their versions on Kubeflow Pipelines.
    #[command(subcommand)]
    Pipelines(remote::PipelinesCommand),
    /// Manage connection profiles (host, namespace, credentials) for the commands that
    /// talk to Kubeflow Pipelines.
    ///
    /// Profiles live in $NBKF_CONFIG, else $XDG_CONFIG_HOME/nbkf/config.toml, else
    /// ~/.config/nbkf/config.toml, written readable by their owner only (a profile may hold
    /// a token or a session cookie). `view` masks secrets.
    #[command(subcommand)]
    Config(remote::ConfigCommand),
    /// Create or update the pipeline in a cluster running Kubernetes-native KFP.
    ///
    /// Takes a notebook (converted first, with the flags of `convert`) or a pipeline YAML
    /// from `nbkf convert`, and server-side applies (field manager `nbkf`) a `Pipeline` and a
    /// `PipelineVersion` (pipelines.kubeflow.org/v2beta1) named after a hash of the
    /// pipeline's content: applying the same content again changes nothing; a changed
    /// notebook makes a new version (a version's spec is immutable). Prints each object,
    /// whether it was created, updated or unchanged, and its uid (the KFP id). Exit codes:
    /// 0 success; 1 the notebook has errors or the cluster refused (no rights, no KFP
    /// CRDs, a conflict); 2 usage, I/O or kubeconfig problems.
    Apply(kube::ApplyArgs),
    /// Ask the cluster what an editor needs: the namespace in use, the volume claims.
    ///
    /// Exit codes: 0 success; 1 the cluster refused or could not be reached; 2 usage or
    /// kubeconfig problems.
    #[command(subcommand)]
    Kube(kube::KubeCommand),
    /// Serve an HTTP API (and a pipeline page) for editors: analyse, compile, tag, run and
    /// check notebooks under a root folder, and submit them to a cluster.
    ///
    /// Listens on 127.0.0.1 by default and prints the address to open, with a new token
    /// (every request needs it: `Authorization: token ...`, or the page's cookie). The API
    /// is described at /api/openapi.json. Stops on Ctrl-C. Exit codes: 0 stopped; 2 usage
    /// or I/O problems (a non-loopback address without `--token`, a port in use).
    Serve(serve::ServeArgs),
}

#[derive(clap::Args)]
pub struct PlanArgs {
    /// The notebook.
    pub notebook: PathBuf,
    /// `text` for people, `json` for programs.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// How to split a notebook that has no `step:` tags into steps.
    #[arg(long, value_enum, default_value_t = Split::Auto)]
    pub split: Split,
    /// A folder to find the notebook's own modules in, after the notebook's folder
    /// (repeatable): their sources travel with the steps that import them.
    #[arg(long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct TagArgs {
    /// The notebook.
    pub notebook: PathBuf,
    /// Write the tagged notebook here (`-` for standard output).
    #[arg(short, long, value_name = "OUT.ipynb", conflicts_with_all = ["in_place", "check"])]
    pub output: Option<PathBuf>,
    /// Rewrite the notebook itself.
    #[arg(long, conflicts_with = "check")]
    pub in_place: bool,
    /// Only report whether the notebook's tags match what nbkf infers (exit 1 if not).
    #[arg(long)]
    pub check: bool,
    /// How to split a notebook that has no `step:` tags into steps.
    #[arg(long, value_enum, default_value_t = Split::Auto)]
    pub split: Split,
    /// A folder to find the notebook's own modules in, after the notebook's folder
    /// (repeatable): their sources travel with the steps that import them.
    #[arg(long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// A notebook (.ipynb) or a pipeline YAML written by `nbkf convert`.
    pub target: PathBuf,
    #[command(flatten)]
    pub local: LocalArgs,
    /// Reuse the outputs of an earlier run for steps whose program, parameters and
    /// inputs are unchanged (like KFP caching; steps with `cache:disabled` always run).
    #[arg(long)]
    pub cache: bool,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The notebook.
    pub notebook: PathBuf,
    #[command(flatten)]
    pub local: LocalArgs,
    /// Seed `random` and `numpy.random` with this value at the start of both runs, so a
    /// notebook that draws unseeded random numbers can be compared.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// Flags shared by `run` and `check`.
#[derive(clap::Args)]
pub struct LocalArgs {
    /// A pipeline parameter value, checked against the parameter's type (repeatable).
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Run at most N steps at once. [default: the number of cores]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Directory that keeps runs (`<workdir>/runs/<run-id>/`).
    #[arg(long, value_name = "DIR", default_value = ".nbkf")]
    pub workdir: PathBuf,
    /// The Python interpreter that runs the steps.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: PathBuf,
    /// How to split a notebook that has no `step:` tags into steps.
    #[arg(long, value_enum, default_value_t = Split::Auto)]
    pub split: Split,
    /// Run the cells of each step in a real IPython shell (as `nbkf convert --ipython`),
    /// when converting a notebook.
    #[arg(long)]
    pub ipython: bool,
    /// Run each step in its own empty folder, as on a cluster where pods share no files:
    /// only the files nbkf carries between steps are there (the notebook's data files are
    /// then reachable by absolute paths only).
    #[arg(long)]
    pub isolated: bool,
    /// A folder to find the notebook's own modules in, after the notebook's folder
    /// (repeatable): their sources travel with the steps that import them.
    #[arg(long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
    /// Print errors only.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(clap::Args)]
pub struct ConvertArgs {
    /// The notebook (.ipynb, nbformat 4).
    pub notebook: PathBuf,
    /// Where to write the pipeline; `-` for standard output.
    /// [default: beside the notebook, <pipeline-name>.pipeline.yaml, <pipeline-name>.k8s.yaml
    /// with `--format k8s`, or <pipeline_name>_pipeline.py with `--format dsl`]
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// `ir`: KFP IR YAML (upload it to KFP, or `nbkf submit` it); `k8s`: the `Pipeline` and
    /// `PipelineVersion` objects of Kubernetes-native KFP (pipelines.kubeflow.org/v2beta1),
    /// for GitOps or `kubectl apply --server-side`; `dsl`: a KFP Python DSL script, one
    /// component per step, that the KFP SDK compiles into a pipeline behaving as the YAML does
    /// (to take the pipeline over in Python).
    #[arg(long, value_enum, default_value_t = PipelineFormat::Ir)]
    pub format: PipelineFormat,
    /// With `--format k8s`: the namespace written in the objects' metadata. [default: none,
    /// so whoever applies them chooses]
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    #[command(flatten)]
    pub conversion: ConversionArgs,
    /// Print errors only, no warnings or summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// What `convert` writes.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PipelineFormat {
    /// KFP IR YAML.
    Ir,
    /// Kubernetes-native KFP manifests (Pipeline + PipelineVersion).
    K8s,
    /// A KFP Python DSL script.
    Dsl,
}

/// How a notebook becomes a pipeline: shared by `convert` and the commands that take a
/// notebook and convert it first (`submit`, `apply`).
#[derive(clap::Args, Clone)]
#[command(next_help_heading = "Conversion")]
pub struct ConversionArgs {
    /// Pipeline name (lower-case letters, digits and `-`); wins over the notebook's
    /// `kubeflow_notebook.pipeline_name`. [default: from the notebook, else its file name]
    #[arg(long, value_name = "NAME")]
    pub pipeline_name: Option<String>,
    /// Pipeline description; wins over `kubeflow_notebook.pipeline_description`.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Default container image of the steps (an `image:` tag still wins for its step);
    /// wins over `kubeflow_notebook.base_image`. [default: from the notebook, else python:3.11]
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// KFP experiment that runs of this pipeline go to; wins over
    /// `kubeflow_notebook.experiment_name`. Recorded in the YAML for `nbkf submit`.
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// How step pods get `kfp` and the step's packages: `pip` installs them when the pod
    /// starts (as the KFP SDK does; needs PyPI access), `image` means the images already
    /// contain them. [default: pip]
    #[arg(long, value_enum)]
    pub packages: Option<Packages>,
    /// How to split a notebook that has no `step:` tags into steps. [default: auto]
    #[arg(long, value_enum)]
    pub split: Option<Split>,
    /// Run the cells of each step in a real IPython shell (IPython is added to every
    /// step's packages), for notebooks that need every magic exactly as in Jupyter; by
    /// default steps run the cells as plain Python with IPython syntax translated.
    #[arg(long)]
    pub ipython: bool,
    /// A folder to find the notebook's own modules in, after the notebook's folder
    /// (repeatable): their sources travel with the steps that import them.
    #[arg(long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
}

impl ConversionArgs {
    /// The first flag given that only matters when converting a notebook.
    pub fn notebook_only_flag(&self) -> Option<&'static str> {
        [
            ("--pipeline-name", self.pipeline_name.is_some()),
            ("--description", self.description.is_some()),
            ("--image", self.image.is_some()),
            ("--packages", self.packages.is_some()),
            ("--split", self.split.is_some()),
            ("--ipython", self.ipython),
            ("--module-path", !self.module_path.is_empty()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// How a notebook without `step:` tags is split into steps.
#[derive(Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Split {
    /// At markdown headings (the level that gives at least two sections with code), else
    /// into groups of cells that depend on each other, else one step for tiny notebooks.
    #[default]
    Auto,
    /// At markdown headings.
    Headings,
    /// One step per code cell.
    Cells,
    /// One step for the whole notebook.
    None,
}

impl From<Split> for nbkf::SplitMode {
    fn from(s: Split) -> Self {
        match s {
            Split::Auto => nbkf::SplitMode::Auto,
            Split::Headings => nbkf::SplitMode::Headings,
            Split::Cells => nbkf::SplitMode::Cells,
            Split::None => nbkf::SplitMode::None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Packages {
    Pip,
    Image,
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Auto => std::io::stderr().is_terminal(),
        Color::Always => true,
        Color::Never => false,
    };
    match cli.command {
        Command::Convert(args) => convert::convert(args, color),
        Command::Run(args) => local::run_command(args, color),
        Command::Check(args) => local::check_command(args, color),
        Command::Plan(args) => tag::plan(args, color),
        Command::Tag(args) => tag::tag(args, color),
        Command::Migrate(args) => migrate::migrate(args),
        Command::Graph(args) => graph::graph(args, color),
        Command::Submit(args) => remote::submit(args, color),
        Command::Runs(command) => remote::runs(command),
        Command::Experiments(command) => remote::experiments(command),
        Command::Pipelines(command) => remote::pipelines(command),
        Command::Config(command) => remote::config(command),
        Command::Apply(args) => kube::apply(args, color),
        Command::Kube(command) => kube::kube(command),
        Command::Serve(args) => serve::serve(args),
    }
}

/// Writes `bytes` to `target`: standard output for `-`, else atomically.
pub fn write_output(target: &Path, bytes: &[u8]) -> Result<(), ExitCode> {
    if target.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        match out.write_all(bytes).and_then(|_| out.flush()) {
            // The reader stopped reading (`| head`): nothing left to say.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(io_error(&format!("cannot write to standard output: {e}"))),
            Ok(()) => Ok(()),
        }
    } else {
        nbkf::output::write_atomically(target, bytes)
            .map_err(|e| io_error(&format!("cannot write {}: {e}", target.display())))
    }
}

/// Checks `--module-path` folders: each must be a folder.
pub fn module_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ExitCode> {
    for p in paths {
        if !p.is_dir() {
            return Err(usage_error(&format!("--module-path {}: no such folder", p.display())));
        }
    }
    Ok(paths.to_vec())
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

pub fn io_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
