//! The `nbkf` command line: parse arguments, call the library, print, exit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use nbkf::check::{self, CheckOptions};
use nbkf::config::Overrides;
use nbkf::run::{self, LocalPipeline, RunOptions, StepState, TerminalProgress};
use nbkf::{diagnostics, Conversion, ConvertOptions, PreambleMode};

/// Turn Jupyter notebooks into Kubeflow Pipelines (KFP v2) that compute what the
/// notebook computes.
///
/// Exit codes: 0 success; 1 the notebook has errors (each is printed with its cell and
/// line); 2 usage or I/O problems (bad flags, unreadable or invalid files).
#[derive(Parser)]
#[command(name = "nbkf", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to color messages.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a notebook into a KFP v2 pipeline (IR YAML).
    ///
    /// Cells are grouped into steps by their tags (Kale's `step:`, `prev:`, `imports`,
    /// `pipeline-parameters`, ...; a notebook without step tags becomes one step). What
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
}

#[derive(clap::Args)]
struct RunArgs {
    /// A notebook (.ipynb) or a pipeline YAML written by `nbkf convert`.
    target: PathBuf,
    #[command(flatten)]
    local: LocalArgs,
    /// Reuse the outputs of an earlier run for steps whose program, parameters and
    /// inputs are unchanged (like KFP caching; steps with `cache:disabled` always run).
    #[arg(long)]
    cache: bool,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// The notebook.
    notebook: PathBuf,
    #[command(flatten)]
    local: LocalArgs,
    /// Seed `random` and `numpy.random` with this value at the start of both runs, so a
    /// notebook that draws unseeded random numbers can be compared.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

/// Flags shared by `run` and `check`.
#[derive(clap::Args)]
struct LocalArgs {
    /// A pipeline parameter value, checked against the parameter's type (repeatable).
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
    /// Run at most N steps at once. [default: the number of cores]
    #[arg(short, long, value_name = "N")]
    jobs: Option<usize>,
    /// Directory that keeps runs (`<workdir>/runs/<run-id>/`).
    #[arg(long, value_name = "DIR", default_value = ".nbkf")]
    workdir: PathBuf,
    /// The Python interpreter that runs the steps.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    python: PathBuf,
    /// Run the cells of each step in a real IPython shell (as `nbkf convert --ipython`),
    /// when converting a notebook.
    #[arg(long)]
    ipython: bool,
    /// Run each step in its own empty folder, as on a cluster where pods share no files:
    /// only the files nbkf carries between steps are there (the notebook's data files are
    /// then reachable by absolute paths only).
    #[arg(long)]
    isolated: bool,
    /// Print errors only.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ConvertArgs {
    /// The notebook (.ipynb, nbformat 4).
    notebook: PathBuf,
    /// Where to write the pipeline YAML; `-` for standard output.
    /// [default: <pipeline-name>.pipeline.yaml beside the notebook]
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Pipeline name (lower-case letters, digits and `-`); wins over the notebook's
    /// `kubeflow_notebook.pipeline_name`. [default: from the notebook, else its file name]
    #[arg(long, value_name = "NAME")]
    pipeline_name: Option<String>,
    /// Pipeline description; wins over `kubeflow_notebook.pipeline_description`.
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
    /// Default container image of the steps (an `image:` tag still wins for its step);
    /// wins over `kubeflow_notebook.base_image`. [default: from the notebook, else python:3.11]
    #[arg(long, value_name = "IMAGE")]
    image: Option<String>,
    /// KFP experiment that runs of this pipeline go to; wins over
    /// `kubeflow_notebook.experiment_name`. Recorded for submission.
    #[arg(long, value_name = "NAME")]
    experiment: Option<String>,
    /// How step pods get `kfp` and the step's packages: `pip` installs them when the pod
    /// starts (as the KFP SDK does; needs PyPI access), `image` means the images already
    /// contain them.
    #[arg(long, value_enum, default_value_t = Packages::Pip)]
    packages: Packages,
    /// Run the cells of each step in a real IPython shell (IPython is added to every
    /// step's packages), for notebooks that need every magic exactly as in Jupyter; by
    /// default steps run the cells as plain Python with IPython syntax translated.
    #[arg(long)]
    ipython: bool,
    /// Print errors only, no warnings or summary.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Packages {
    Pip,
    Image,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let color = match cli.color {
        Color::Auto => std::io::stderr().is_terminal(),
        Color::Always => true,
        Color::Never => false,
    };
    match cli.command {
        Command::Convert(args) => convert(args, color),
        Command::Run(args) => run_command(args, color),
        Command::Check(args) => check_command(args, color),
    }
}

/// A pipeline to run locally: from a notebook (converted here) or a YAML file.
struct Target {
    yaml: String,
    pipeline: LocalPipeline,
    conversion: Option<Conversion>,
    step_dir: PathBuf,
}

fn load_target(path: &Path, color: bool, local: &LocalArgs) -> Result<Target, ExitCode> {
    let quiet = local.quiet;
    let is_notebook = path.extension().is_some_and(|e| e == "ipynb");
    let (yaml, conversion) = if is_notebook {
        let options = ConvertOptions { overrides: Overrides { ipython: local.ipython, ..Default::default() }, ..Default::default() };
        let conversion = nbkf::convert_file(path, &options).map_err(|e| io_error(&e.to_string()))?;
        let shown: Vec<_> = conversion.diagnostics.iter().filter(|d| d.is_error() || !quiet).cloned().collect();
        eprint!("{}", diagnostics::render(&shown, Some(&conversion.notebook), &path.display().to_string(), color));
        let Some(yaml) = conversion.yaml.clone() else {
            eprintln!("error: {} has errors; nothing was run", path.display());
            return Err(ExitCode::from(1));
        };
        (yaml, Some(conversion))
    } else {
        (std::fs::read_to_string(path).map_err(|e| io_error(&format!("cannot read {}: {e}", path.display())))?, None)
    };
    let pipeline = LocalPipeline::from_yaml(&yaml).map_err(|e| io_error(&format!("{}: {e}", path.display())))?;
    let step_dir = if is_notebook {
        path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
    } else {
        PathBuf::from(".")
    };
    let step_dir = std::fs::canonicalize(&step_dir).unwrap_or(step_dir);
    Ok(Target { yaml, pipeline, conversion, step_dir })
}

fn run_options(target: &Target, local: &LocalArgs, cache: bool) -> Result<RunOptions, ExitCode> {
    let mut given = Vec::new();
    for p in &local.params {
        match p.split_once('=') {
            Some((name, value)) if !name.is_empty() => given.push((name.to_string(), value.to_string())),
            _ => return Err(usage_error(&format!("`--param {p}`: write `--param NAME=VALUE`"))),
        }
    }
    let parameters = target.pipeline.resolve_parameters(&given).map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        ExitCode::from(2)
    })?;
    if local.jobs == Some(0) {
        return Err(usage_error("`--jobs` must be at least 1"));
    }
    Ok(RunOptions {
        parameters,
        jobs: local.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        runs_dir: local.workdir.join("runs"),
        step_dir: target.step_dir.clone(),
        python: local.python.clone(),
        cache,
        env: Vec::new(),
        isolated: local.isolated,
    })
}

fn print_run(report: &run::RunReport, quiet: bool) {
    for step in report.steps.iter().filter(|s| s.state == StepState::Failed) {
        eprintln!("error: {}", step.failure.as_deref().unwrap_or("the step failed"));
        eprintln!("  (full log: {})", step.log.display());
    }
    let not_started: Vec<&str> =
        report.steps.iter().filter(|s| s.state == StepState::NotStarted).map(|s| s.task.as_str()).collect();
    if !not_started.is_empty() {
        eprintln!("not started after the failure: {}", not_started.join(", "));
    }
    if !quiet || !report.succeeded() {
        let done = report.steps.iter().filter(|s| matches!(s.state, StepState::Succeeded | StepState::Cached)).count();
        let cached = report.steps.iter().filter(|s| s.state == StepState::Cached).count();
        eprintln!(
            "run {} of `{}`: {done}/{} steps done{} in {:.2} s; artifacts and logs in {}",
            report.run_id,
            report.pipeline,
            report.steps.len(),
            if cached > 0 { format!(" ({cached} from the cache)") } else { String::new() },
            report.seconds,
            report.run_dir.display()
        );
    }
}

fn run_command(args: RunArgs, color: bool) -> ExitCode {
    let target = match load_target(&args.target, color, &args.local) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let options = match run_options(&target, &args.local, args.cache) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let progress =
        TerminalProgress::new(target.pipeline.tasks.len(), std::io::stderr().is_terminal(), args.local.quiet);
    let report = run::run(&target.pipeline, &target.yaml, &options, &progress);
    progress.finish();
    match report {
        Ok(report) => {
            print_run(&report, args.local.quiet);
            if report.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => io_error(&e.to_string()),
    }
}

fn check_command(args: CheckArgs, color: bool) -> ExitCode {
    if args.notebook.extension().is_none_or(|e| e != "ipynb") {
        return usage_error("`nbkf check` takes a notebook (.ipynb): it compares the pipeline with the notebook");
    }
    let target = match load_target(&args.notebook, color, &args.local) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let options = match run_options(&target, &args.local, false) {
        Ok(o) => CheckOptions { run: o, seed: args.seed },
        Err(code) => return code,
    };
    let Some(conversion) = &target.conversion else { return usage_error("`nbkf check` takes a notebook") };
    let progress =
        TerminalProgress::new(target.pipeline.tasks.len(), std::io::stderr().is_terminal(), args.local.quiet);
    let report = check::check(&conversion.notebook, &conversion.plan, &target.yaml, &options, &progress);
    progress.finish();
    match report {
        Ok(report) => {
            if !report.run.succeeded() {
                print_run(&report.run, args.local.quiet);
                return ExitCode::from(1);
            }
            print!("{}", check::render(&report, &conversion.plan));
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => io_error(&e.to_string()),
    }
}

fn convert(args: ConvertArgs, color: bool) -> ExitCode {
    if let Some(name) = &args.pipeline_name {
        if !nbkf::config::is_pipeline_name(name) {
            return usage_error(&format!(
                "invalid pipeline name `{name}`: use lower-case letters, digits and `-`, starting with a letter or digit (e.g. `{}`)",
                nbkf::config::pipeline_name_from(name)
            ));
        }
    }
    let options = ConvertOptions {
        overrides: Overrides {
            pipeline_name: args.pipeline_name,
            experiment: args.experiment,
            base_image: args.image,
            description: args.description,
            ipython: args.ipython,
        },
        preamble: match args.packages {
            Packages::Pip => PreambleMode::Pip,
            Packages::Image => PreambleMode::Image,
        },
    };
    let started = std::time::Instant::now();
    let conversion = match nbkf::convert_file(&args.notebook, &options) {
        Ok(c) => c,
        Err(e) => return io_error(&e.to_string()),
    };
    let file = args.notebook.display().to_string();
    let shown: Vec<_> = conversion.diagnostics.iter().filter(|d| d.is_error() || !args.quiet).cloned().collect();
    eprint!("{}", diagnostics::render(&shown, Some(&conversion.notebook), &file, color));
    let errors = conversion.diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = conversion.diagnostics.len() - errors;
    let Some(yaml) = conversion.yaml else {
        eprintln!("error: {file} has {errors} error{}; no pipeline was written", plural(errors));
        return ExitCode::from(1);
    };
    let output = match args.output {
        Some(p) => p,
        None => args
            .notebook
            .parent()
            .unwrap_or(Path::new("."))
            .join(format!("{}.pipeline.yaml", conversion.plan.settings.name)),
    };
    if output.as_os_str() == "-" {
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout.write_all(yaml.as_bytes()).and_then(|_| stdout.flush()) {
            return io_error(&format!("cannot write to standard output: {e}"));
        }
    } else if let Err(e) = write_atomically(&output, yaml.as_bytes()) {
        return io_error(&format!("cannot write {}: {e}", output.display()));
    }
    if !args.quiet {
        let steps = conversion.plan.steps.len();
        let target =
            if output.as_os_str() == "-" { "standard output".to_string() } else { output.display().to_string() };
        eprintln!(
            "converted {file} into pipeline `{}`: {steps} step{}, {} parameter{}, {warnings} warning{} ({} ms) -> {target}",
            conversion.plan.settings.name,
            plural(steps),
            conversion.plan.parameters.len(),
            plural(conversion.plan.parameters.len()),
            plural(warnings),
            started.elapsed().as_millis(),
        );
    }
    ExitCode::SUCCESS
}

/// Writes a file so that readers see the old content or the whole new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn io_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
