//! `nbkf submit`: a notebook or pipeline YAML becomes a run on KFP; `--wait` follows it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use nbkf::submit::api::{Kfp, KfpError};
use nbkf::submit::dry_run::DryRun;
use nbkf::submit::submission::{self, Submission};
use nbkf::submit::wait::{self, RunEnd, WaitObserver, WaitOptions};

use super::{check_namespace, connect, interactive, kfp_error, ConnectionArgs, Shape, WaitArgs};
use crate::cli::convert::{load_pipeline, LoadedPipeline};
use crate::cli::{usage_error, ConversionArgs};

#[derive(clap::Args)]
pub struct SubmitArgs {
    /// A notebook (.ipynb, converted first) or a pipeline YAML (from `nbkf convert` or
    /// the KFP SDK).
    pub target: PathBuf,
    /// A pipeline parameter value, checked against the parameter's type (repeatable).
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The start of the run's name; nbkf adds the time and a random suffix, so that a
    /// run it may have created is recognised before it creates another.
    /// [default: the pipeline's name]
    #[arg(long, value_name = "NAME")]
    pub run_name: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
    /// Print the requests instead of making changes: look-ups are sent (to show whether
    /// the pipeline, version and experiment exist), uploads and creations are printed
    /// with their bodies, secrets masked.
    #[arg(long, conflicts_with = "wait")]
    pub dry_run: bool,
    /// `table` prints what was found and made; `json` prints it as one JSON object (with
    /// the run's end when waiting).
    #[arg(long, value_enum, default_value_t = Shape::Table)]
    pub format: Shape,
    /// Print errors only (and the run id).
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub conversion: ConversionArgs,
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

pub fn submit(args: SubmitArgs, color: bool) -> ExitCode {
    match submit_inner(&args, color) {
        Ok(code) | Err(code) => code,
    }
}

fn submit_inner(args: &SubmitArgs, color: bool) -> Result<ExitCode, ExitCode> {
    let options = args.wait.options()?;
    let mut given = Vec::new();
    for p in &args.params {
        match p.split_once('=') {
            Some((name, value)) if !name.is_empty() => given.push((name.to_string(), value.to_string())),
            _ => return Err(usage_error(&format!("`--param {p}`: write `--param NAME=VALUE`"))),
        }
    }
    // Connection problems show before the notebook is converted.
    let conn = args.connection.resolve()?;
    let loaded = load_pipeline(&args.target, &args.conversion, true, args.quiet, color)?;
    let defs =
        nbkf::run::parameter_defs(&loaded.file.spec).map_err(|e| usage_error(&format!("{}: {e}", loaded.source)))?;
    let resolved = nbkf::run::resolve_parameters(&defs, &given).map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        ExitCode::from(2)
    })?;
    // Only the values given are sent: the server fills in the defaults it stores.
    let parameters: Map<String, Value> =
        resolved.into_iter().filter(|(k, _)| given.iter().any(|(g, _)| g == k)).collect();

    let kfp = if args.dry_run {
        let inner = conn.client().map_err(|e| usage_error(&e))?;
        let printer = DryRun::new(inner.into_transport(), conn.headers(), Box::new(|l| println!("{l}")));
        Kfp::new(Box::new(printer), conn.namespace.clone(), conn.credential.clone())
    } else {
        connect(&args.connection)?.0
    };
    check_namespace(&kfp)?;
    let origin = if loaded.from_notebook {
        format!("converted by nbkf from {}", loaded.source)
    } else {
        format!("uploaded by nbkf from {}", loaded.source)
    };
    let submission = Submission {
        file: &loaded.file,
        yaml: loaded.yaml.as_bytes(),
        origin: &origin,
        experiment: args.conversion.experiment.clone(),
        run_name: args.run_name.clone(),
        parameters,
    };
    let done =
        submission::submit(&kfp, &submission, conn.ui.as_deref()).map_err(|e| kfp_error(&located(e, &loaded)))?;
    if args.dry_run {
        eprintln!("dry run: nothing was created");
        return Ok(ExitCode::SUCCESS);
    }
    let text = args.format == Shape::Table;
    if text {
        if !args.quiet {
            let said = |created: bool| if created { "created" } else { "found" };
            println!("pipeline    {} ({}, {})", done.pipeline_name, said(done.pipeline_created), done.pipeline_id);
            println!(
                "version     {} ({}, {})",
                done.version_name,
                if done.version_created { "uploaded" } else { "unchanged, reused" },
                done.version_id
            );
            println!("experiment  {} ({})", done.experiment_name, done.experiment_id);
            println!("run         {}", done.run_name);
        }
        println!("run id      {}", done.run_id);
        if let Some(url) = &done.run_url {
            println!("run page    {url}");
        }
    }
    if !args.wait.wait {
        if !text {
            println!("{}", serde_json::to_string_pretty(&json!({"submitted": done})).unwrap_or_default());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let tasks = nbkf::run::container_task_names(&loaded.file.spec);
    let end = follow(&kfp, &done.run_id, &tasks, options, args.quiet).map_err(|e| kfp_error(&e))?;
    if !text {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"submitted": done, "end": end_json(&end)})).unwrap_or_default()
        );
    }
    Ok(report_end(&end, &done.run_id))
}

/// Points a refusal of the server (a pipeline it cannot read, a run it cannot make) at the
/// file, and at the notebook's step and cells when it names a task.
fn located(e: KfpError, loaded: &LoadedPipeline) -> KfpError {
    match e {
        KfpError::Http { status: status @ (400 | 422 | 500), request, message, hint }
            if request.starts_with("POST") =>
        {
            KfpError::Http { status, request, message: loaded.locate(&message), hint }
        }
        other => other,
    }
}

/// The end of a wait, for `--format json`.
pub fn end_json(end: &RunEnd) -> Value {
    json!({
        "state": end.state,
        "timed_out": end.timed_out,
        "error": end.error,
        "failed_tasks": end.failed_tasks.iter().map(|(t, e)| json!({"task": t, "error": e})).collect::<Vec<_>>(),
    })
}

/// Says how the run ended; the exit code: 0 succeeded, 1 otherwise.
pub fn report_end(end: &RunEnd, run_id: &str) -> ExitCode {
    if end.timed_out {
        eprintln!("error: run {run_id} is still {} after the timeout; it goes on (stop it with `nbkf runs terminate {run_id}`)", end.state);
        return ExitCode::from(1);
    }
    if end.succeeded() {
        eprintln!("run {run_id} {}", end.state);
        return ExitCode::SUCCESS;
    }
    eprintln!("error: run {run_id} {}", end.state);
    for (task, error) in &end.failed_tasks {
        eprintln!("  task {task} failed: {error}");
    }
    if let Some(e) = &end.error {
        if !end.failed_tasks.iter().any(|(_, te)| e.contains(te.as_str())) {
            eprintln!("  {e}");
        }
    }
    ExitCode::from(1)
}

/// Follows a run with a live display on a terminal, a line per change otherwise.
pub fn follow(
    kfp: &Kfp,
    run_id: &str,
    tasks: &[String],
    options: WaitOptions,
    quiet: bool,
) -> Result<RunEnd, KfpError> {
    let display = Display::new(tasks.len(), interactive() && !quiet, quiet);
    let end = wait::follow(kfp, run_id, tasks, options, &display);
    display.bar.finish_and_clear();
    end
}

/// Shows run and task states as they change.
struct Display {
    bar: ProgressBar,
    interactive: bool,
    quiet: bool,
}

impl Display {
    fn new(tasks: usize, interactive: bool, quiet: bool) -> Self {
        let bar = if interactive { ProgressBar::new(tasks as u64) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        if interactive {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Display { bar, interactive, quiet }
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        let stamped = format!("{} {text}", humantime::format_rfc3339_seconds(std::time::SystemTime::now()));
        if self.interactive {
            self.bar.println(stamped);
        } else {
            eprintln!("{stamped}");
        }
    }
}

impl WaitObserver for Display {
    fn run_state(&self, state: &str) {
        self.bar.set_message(format!("run {state}"));
        self.line(format!("run  {state}"));
    }

    fn task_state(&self, task: &str, state: &str, error: Option<&str>) {
        if wait::TASK_ENDS.contains(&state) {
            self.bar.inc(1);
        }
        match error {
            Some(e) => self.line(format!("task {task}  {state}: {e}")),
            None => self.line(format!("task {task}  {state}")),
        }
    }

    fn poll_failed(&self, error: &KfpError) {
        self.line(format!("(could not look at the run; trying again: {error})"));
    }
}
