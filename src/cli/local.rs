//! `nbkf run` and `nbkf check`: run the pipeline here, and compare it with the notebook.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nbkf::check::{self, CheckOptions};
use nbkf::config::Overrides;
use nbkf::run::{self, CancelToken, LocalPipeline, RunOptions, StepState, TerminalProgress};
use nbkf::{diagnostics, Conversion, ConvertOptions};

use super::{io_error, usage_error, CheckArgs, LocalArgs, RunArgs};

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
        let options = ConvertOptions {
            overrides: Overrides { ipython: local.ipython, ..Default::default() },
            split: local.split.into(),
            module_paths: super::module_paths(&local.module_path)?,
            ..Default::default()
        };
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
        // A relative path means relative to here, not to the folder steps run in.
        python: if local.python.components().count() > 1 {
            std::path::absolute(&local.python).unwrap_or_else(|_| local.python.clone())
        } else {
            local.python.clone()
        },
        cache,
        env: Vec::new(),
        isolated: local.isolated,
        run_id: None,
        cancel: interrupted(),
    })
}

/// A token cancelled by Ctrl-C or SIGTERM: steps run in their own process groups (so that
/// a cancelled run stops everything they started), so the terminal's Ctrl-C reaches nbkf
/// only, which then stops them.
fn interrupted() -> CancelToken {
    let token = CancelToken::default();
    let t = token.clone();
    // Only one handler per process; a second call (never made) would be refused.
    let _ = ctrlc::set_handler(move || {
        if t.is_canceled() {
            // Asked twice: leave now.
            std::process::exit(130);
        }
        eprintln!("stopping the running steps (Ctrl-C again to leave at once)");
        t.cancel();
    });
    token
}

fn print_run(report: &run::RunReport, quiet: bool) {
    for step in report.steps.iter().filter(|s| s.state == StepState::Failed) {
        eprintln!("error: {}", step.failure.as_deref().unwrap_or("the step failed"));
        eprintln!("  (full log: {})", step.log.display());
    }
    let not_started: Vec<&str> =
        report.steps.iter().filter(|s| s.state == StepState::NotStarted).map(|s| s.task.as_str()).collect();
    if !not_started.is_empty() {
        let why = if report.steps.iter().any(|s| s.state == StepState::Canceled) { "cancel" } else { "failure" };
        eprintln!("not started after the {why}: {}", not_started.join(", "));
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

pub fn run_command(args: RunArgs, color: bool) -> ExitCode {
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
            if options.cancel.is_canceled() {
                eprintln!("run {} was cancelled", report.run_id);
                ExitCode::from(130)
            } else if report.succeeded() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => io_error(&e.to_string()),
    }
}

pub fn check_command(args: CheckArgs, color: bool) -> ExitCode {
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
