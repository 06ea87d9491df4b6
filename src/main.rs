//! The `nbkf` command line: parse arguments, call the library, print, exit.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use nbkf::config::Overrides;
use nbkf::{diagnostics, ConvertOptions, PreambleMode};

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
        overrides: Overrides { pipeline_name: args.pipeline_name, experiment: args.experiment, base_image: args.image, description: args.description },
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
        None => args.notebook.parent().unwrap_or(Path::new(".")).join(format!("{}.pipeline.yaml", conversion.plan.settings.name)),
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
        let target = if output.as_os_str() == "-" { "standard output".to_string() } else { output.display().to_string() };
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
    if n == 1 { "" } else { "s" }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn io_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
