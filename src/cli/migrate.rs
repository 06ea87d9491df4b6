//! `nbkf migrate`: many notebooks converted in one batch, with a report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use nbkf::config::Overrides;
use nbkf::migrate::{self, CheckSettings, Counting, MigrateError, MigrateObserver, MigrateOptions, Outcome};
use nbkf::{ConvertOptions, PreambleMode};

use super::{plural, usage_error, Packages, Split};

#[derive(clap::Args)]
pub struct MigrateArgs {
    /// Folders (walked recursively) and notebooks.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where to write: the input tree mirrored (`<dir>/<stem>.pipeline.yaml`, with several
    /// inputs each under its own name), `report.json` and `report.html`. Created when
    /// missing; never walked when it is inside an input.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Notebooks converted at once. [default: the number of cores]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Give up on a notebook still converting after this long (`timed_out`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// `ir` writes KFP IR YAML (`<stem>.pipeline.yaml`); `k8s` Kubernetes-native KFP
    /// manifests (`<stem>.k8s.yaml`).
    #[arg(long, value_enum, default_value_t = MigrateFormat::Ir)]
    pub format: MigrateFormat,
    /// Also write each notebook with the tags of its plan (as `nbkf tag` makes it) as
    /// `<stem>.ipynb` in the mirrored tree.
    #[arg(long)]
    pub tag: bool,
    /// Also write each pipeline drawn as SVG (`<stem>.svg`).
    #[arg(long)]
    pub graph: bool,
    /// Skip the notebooks an earlier run into the same `--out` already did: same content
    /// (SHA-256), same nbkf version and settings, outputs still there. Their records are
    /// carried over with `"resumed": true`.
    #[arg(long)]
    pub resume: bool,
    /// Run `nbkf check` on each converted notebook (runs its pipeline and the notebook here
    /// and compares them); needs a Python with the notebooks' packages.
    #[arg(long)]
    pub check: bool,
    /// With `--check`: checks run at once. [default: half the cores, at least 1]
    #[arg(long, value_name = "N", requires = "check")]
    pub check_jobs: Option<usize>,
    /// With `--check`: stop a check still running after this long (`timed_out`).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub check_timeout: Duration,
    /// With `--check`: the Python interpreter for the steps and the notebook.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub python: PathBuf,
    /// Default container image of the steps (an `image:` tag still wins for its step);
    /// wins over `kubeflow_notebook.base_image`. [default: from the notebook, else python:3.11]
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// How step pods get `kfp` and the step's packages: `pip` installs them when the pod
    /// starts, `image` means the images already contain them.
    #[arg(long, value_enum, default_value_t = Packages::Pip)]
    pub packages: Packages,
    /// How to split a notebook that has no `step:` tags into steps.
    #[arg(long, value_enum, default_value_t = Split::Auto)]
    pub split: Split,
    /// A folder to find the notebooks' own modules in, after each notebook's folder
    /// (repeatable).
    #[arg(long = "module-path", value_name = "DIR")]
    pub module_path: Vec<PathBuf>,
    /// Print nothing but errors and the final line when something needs attention.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Progress on standard error: a bar with counts and ETA on a terminal; one line per
/// notebook (outcome and path) otherwise; nothing with `-q`.
struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    /// Plain lines are written whole, one at a time.
    lines: Mutex<()>,
}

impl MigrateObserver for Progress {
    fn total(&self, notebooks: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(notebooks);
        }
    }

    fn finished(&self, outcome: Outcome, source: &str, resumed: bool) {
        let label = if resumed { format!("{} (resumed)", outcome.name()) } else { outcome.name().to_string() };
        match &self.bar {
            Some(bar) => {
                if !outcome.converted() {
                    bar.println(format!("{label:<24} {source}"));
                }
                bar.inc(1);
            }
            None if !self.quiet => {
                let _guard = self.lines.lock();
                eprintln!("{label:<24} {source}");
            }
            None => {}
        }
    }
}

/// What `migrate` writes for each notebook.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateFormat {
    /// KFP IR YAML.
    Ir,
    /// Kubernetes-native KFP manifests (Pipeline + PipelineVersion).
    K8s,
}

fn options(args: &MigrateArgs) -> Result<MigrateOptions, ExitCode> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if args.jobs == Some(0) || args.check_jobs == Some(0) {
        return Err(usage_error("`--jobs` and `--check-jobs` must be at least 1"));
    }
    if args.timeout.is_zero() || args.check_timeout.is_zero() {
        return Err(usage_error("`--timeout` and `--check-timeout` must be longer than 0 (e.g. `60s`, `5m`)"));
    }
    Ok(MigrateOptions {
        inputs: args.paths.clone(),
        out: args.out.clone(),
        jobs: args.jobs.unwrap_or(cores),
        convert: ConvertOptions {
            overrides: Overrides { base_image: args.image.clone(), ..Default::default() },
            preamble: match args.packages {
                Packages::Pip => PreambleMode::Pip,
                Packages::Image => PreambleMode::Image,
            },
            split: args.split.into(),
            module_paths: super::module_paths(&args.module_path)?,
            notebook_root: None,
        },
        format: match args.format {
            MigrateFormat::Ir => migrate::PipelineFormat::Ir,
            MigrateFormat::K8s => migrate::PipelineFormat::K8s,
        },
        tag: args.tag,
        graph: args.graph,
        timeout: args.timeout,
        resume: args.resume,
        check: args.check.then(|| CheckSettings {
            jobs: args.check_jobs.unwrap_or((cores / 2).max(1)),
            timeout: args.check_timeout,
            python: if args.python.components().count() > 1 {
                std::path::absolute(&args.python).unwrap_or_else(|_| args.python.clone())
            } else {
                args.python.clone()
            },
        }),
    })
}

pub fn migrate(args: MigrateArgs) -> ExitCode {
    let options = match options(&args) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let interactive = std::io::stderr().is_terminal() && !args.quiet;
    let bar = interactive.then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} notebooks, ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = Progress { bar, quiet: args.quiet, lines: Mutex::new(()) };
    let counting = if interactive { Counting::Count } else { Counting::Skip };
    let started = std::time::Instant::now();
    let result = migrate::migrate(&options, &progress, counting);
    if let Some(bar) = &progress.bar {
        bar.finish_and_clear();
    }
    let summary = match result {
        Ok(s) => s,
        Err(e @ (MigrateError::Io { .. } | MigrateError::Resume(_))) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
        Err(e) => return usage_error(&e.to_string()),
    };
    let t = &summary.totals;
    let good = summary.all_good();
    if !args.quiet || !good {
        let mut parts = vec![format!("{} converted ({} with warnings)", t.converted, t.converted_with_warnings)];
        for (n, what) in [
            (t.refused, "refused"),
            (t.invalid, "invalid"),
            (t.unreadable, "unreadable"),
            (t.failed, "failed"),
            (t.timed_out, "timed out"),
            (t.resumed, "resumed from the earlier report"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        if args.check {
            parts.push(format!("checks: {} passed, {} not", t.check_passed, t.check_failed));
        }
        eprintln!(
            "migrated {} notebook{} in {:.1} s: {}; report: {}",
            t.notebooks,
            plural(t.notebooks as usize),
            started.elapsed().as_secs_f64(),
            parts.join(", "),
            summary.report_json.display()
        );
    }
    if good {
        ExitCode::SUCCESS
    } else {
        eprintln!("hint: see {} for what needs attention", summary.report_html.display());
        ExitCode::from(1)
    }
}
