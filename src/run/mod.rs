//! The local runner: executes a pipeline's steps as local processes, in dependency order,
//! independent steps in parallel, running the very step programs the IR carries.
//!
//! Each task gets an `ExecutorInput` JSON as on a cluster and runs the IR's own launcher
//! (`sh -ec <launcher> <source>`, which starts `python3 -m kfp.dsl.executor_main`); the
//! pip preamble is skipped (the local Python must have the notebook's packages). A tiny
//! stand-in for the `kfp` package (`shim/kfp`) is put first on `PYTHONPATH`, so the KFP SDK
//! need not be installed. Artifacts, logs and a `run.json` summary stay in the run
//! directory.

mod cache;
mod cancel;
mod pipeline;
mod progress;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

pub(crate) use cancel::wait_unless_canceled;
pub use cancel::CancelToken;
pub use pipeline::{container_task_names, parameter_defs, resolve_parameters, LocalPipeline, LocalTask, ParameterDef};
pub use progress::{Observer, Silent, TerminalProgress};

/// What can stop a run before or while it starts.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Pipeline(String),
    #[error("{0}")]
    Parameters(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("the run was cancelled")]
    Canceled,
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunError {
    let context = context.into();
    move |source| RunError::Io { context, source }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Parameter values, already checked ([`LocalPipeline::resolve_parameters`]).
    pub parameters: BTreeMap<String, Value>,
    /// At most this many steps at once.
    pub jobs: usize,
    /// Where runs are kept: each run in `<runs_dir>/<run-id>/`.
    pub runs_dir: PathBuf,
    /// The directory steps run in (the notebook's, so relative paths mean what they mean
    /// in Jupyter).
    pub step_dir: PathBuf,
    /// The Python interpreter for steps.
    pub python: PathBuf,
    /// Reuse the outputs of an earlier run of a step whose program, parameters and inputs
    /// are unchanged.
    pub cache: bool,
    /// Extra environment variables for the steps.
    pub env: Vec<(String, String)>,
    /// Run each step in its own empty folder, as pods share no files: only the files nbkf
    /// carries between steps are there.
    pub isolated: bool,
    /// The run's id (a new one from the time when `None`); must not exist yet.
    pub run_id: Option<String>,
    /// Stops the run when cancelled: no step starts after it, running ones are stopped.
    pub cancel: CancelToken,
}

impl RunOptions {
    /// The folder a task runs in.
    fn work_dir(&self, task_dir: &Path) -> PathBuf {
        if self.isolated {
            task_dir.join("work")
        } else {
            self.step_dir.clone()
        }
    }
}

/// The state a step ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Succeeded,
    /// Outputs reused from an earlier run.
    Cached,
    Failed,
    /// Stopped, because the run was cancelled.
    Canceled,
    /// Not started, because another step failed or the run was cancelled.
    NotStarted,
}

/// How one step went.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub task: String,
    pub state: StepState,
    /// Seconds since the Unix epoch.
    pub started_at: Option<f64>,
    pub ended_at: Option<f64>,
    pub seconds: f64,
    pub log: PathBuf,
    /// For a failed step: the error, with the notebook cell and line when known.
    pub failure: Option<String>,
    /// For a cached step: the run it reused.
    pub cached_from: Option<String>,
}

/// The result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: String,
    pub run_dir: PathBuf,
    pub pipeline: String,
    pub parameters: BTreeMap<String, Value>,
    pub steps: Vec<StepOutcome>,
    pub seconds: f64,
}

impl RunReport {
    /// Whether every step succeeded (or was reused from the cache).
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(|s| matches!(s.state, StepState::Succeeded | StepState::Cached))
    }
}

/// An output artifact a step wrote.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ProducedArtifact {
    pub uri: String,
    pub metadata: Value,
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// A new run id: the UTC time and a counter, e.g. `20261129-204500-1`.
fn new_run_id(runs_dir: &Path) -> String {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let base: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
    let base = format!("{}-{}", &base[..8.min(base.len())], &base[8.min(base.len())..]);
    (1..).map(|n| format!("{base}-{n}")).find(|id| !runs_dir.join(id).exists()).expect("some run id is free")
}

/// Writes nbkf's stand-in for the `kfp` package under `dir`; returns the directory to put
/// on `PYTHONPATH`.
fn write_shim(dir: &Path) -> Result<PathBuf, RunError> {
    let root = dir.join(".kfp-shim");
    for (path, text) in [
        ("kfp/__init__.py", include_str!("shim/kfp/__init__.py")),
        ("kfp/dsl/__init__.py", include_str!("shim/kfp/dsl/__init__.py")),
        ("kfp/dsl/executor_main.py", include_str!("shim/kfp/dsl/executor_main.py")),
    ] {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap_or(&root))
            .map_err(io(format!("cannot create {}", root.display())))?;
        std::fs::write(&file, text).map_err(io(format!("cannot write {}", file.display())))?;
    }
    Ok(root)
}

/// A directory whose `python3` is the chosen interpreter (the IR's launcher calls
/// `python3`), to put first on `PATH`.
fn python_bin_dir(run_dir: &Path, python: &Path) -> Result<Option<PathBuf>, RunError> {
    if python == Path::new("python3") {
        return Ok(None);
    }
    let dir = run_dir.join(".bin");
    std::fs::create_dir_all(&dir).map_err(io("cannot create the run directory"))?;
    // Absolute, but not canonical: a virtualenv's `bin/python` is a symlink whose target
    // would run outside the environment.
    let resolved = if python.components().count() > 1 {
        if !python.exists() {
            return Err(RunError::Pipeline(format!("there is no Python at {}", python.display())));
        }
        std::path::absolute(python).map_err(io(format!("cannot find Python at {}", python.display())))?
    } else {
        python.to_path_buf()
    };
    let script = format!("#!/bin/sh\nexec {} \"$@\"\n", crate::emit::shell_quote(&resolved.to_string_lossy()));
    let link = dir.join("python3");
    std::fs::write(&link, script).map_err(io("cannot write the python3 wrapper"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&link, std::fs::Permissions::from_mode(0o755))
            .map_err(io("cannot make the python3 wrapper executable"))?;
    }
    Ok(Some(dir))
}

/// Runs a pipeline. Steps start as soon as their dependencies are done, at most
/// `options.jobs` at a time; after a failure no new step starts (running ones finish),
/// except the exit step, which then runs last.
pub fn run(
    pipeline: &LocalPipeline,
    yaml: &str,
    options: &RunOptions,
    observer: &dyn Observer,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    std::fs::create_dir_all(&options.runs_dir).map_err(io(format!("cannot create {}", options.runs_dir.display())))?;
    let run_id = match &options.run_id {
        Some(id) => id.clone(),
        None => new_run_id(&options.runs_dir),
    };
    let run_dir = options.runs_dir.join(&run_id);
    if options.run_id.is_some() && run_dir.exists() {
        return Err(RunError::Pipeline(format!("run {run_id} exists already in {}", options.runs_dir.display())));
    }
    std::fs::create_dir_all(&run_dir).map_err(io(format!("cannot create {}", run_dir.display())))?;
    let run_dir = std::fs::canonicalize(&run_dir).map_err(io("cannot resolve the run directory"))?;
    std::fs::write(run_dir.join("pipeline.yaml"), yaml).map_err(io("cannot write pipeline.yaml"))?;
    let shim = write_shim(&run_dir)?;
    let bin = python_bin_dir(&run_dir, &options.python)?;
    let mut env: Vec<(String, String)> = options.env.clone();
    let pythonpath = std::env::var("PYTHONPATH")
        .map(|p| format!("{}:{p}", shim.display()))
        .unwrap_or_else(|_| shim.display().to_string());
    env.push(("PYTHONPATH".into(), pythonpath));
    env.push(("MPLBACKEND".into(), "Agg".into()));
    env.push(("PYTHONUNBUFFERED".into(), "1".into()));
    if let Some(bin) = &bin {
        env.push(("PATH".into(), format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())));
    }
    let cache = cache::Cache::new(&options.runs_dir);

    let n = pipeline.tasks.len();
    let mut outcomes: Vec<Option<StepOutcome>> = vec![None; n];
    let mut produced: BTreeMap<String, BTreeMap<String, ProducedArtifact>> = BTreeMap::new();
    let mut launched = vec![false; n];
    let mut running = 0usize;
    let mut failed = false;
    let (tx, rx) = mpsc::channel::<(usize, StepOutcome, BTreeMap<String, ProducedArtifact>)>();
    std::thread::scope(|scope| loop {
        // After a failure no new step starts, but for the exit step, once nothing runs.
        let exit_only = failed && running == 0;
        if (!failed || exit_only) && !options.cancel.is_canceled() {
            for (i, task) in pipeline.tasks.iter().enumerate() {
                if running >= options.jobs.max(1) {
                    break;
                }
                let ready =
                    if exit_only { task.finally } else { task.dependencies.iter().all(|d| produced.contains_key(d)) };
                if launched[i] || !ready {
                    continue;
                }
                launched[i] = true;
                running += 1;
                observer.step_started(&task.name);
                let inputs: BTreeMap<String, ProducedArtifact> = task
                    .artifact_inputs
                    .iter()
                    .filter_map(|a| {
                        produced
                            .get(&a.producer)
                            .and_then(|p| p.get(&a.output_key))
                            .map(|art| (a.argument.clone(), art.clone()))
                    })
                    .collect();
                let tx = tx.clone();
                let (run_dir, env, cache, run_id) = (&run_dir, &env, &cache, &run_id);
                scope.spawn(move || {
                    let (outcome, outputs) = execute(task, &inputs, run_dir, run_id, env, options, cache);
                    let _ = tx.send((i, outcome, outputs));
                });
            }
        }
        if running == 0 {
            break;
        }
        let Ok((i, outcome, outputs)) = rx.recv() else { break };
        running -= 1;
        observer.step_finished(&outcome);
        let task = &pipeline.tasks[i].name;
        if matches!(outcome.state, StepState::Succeeded | StepState::Cached) {
            produced.insert(task.clone(), outputs);
        } else {
            failed = true;
        }
        outcomes[i] = Some(outcome);
    });
    let steps: Vec<StepOutcome> = pipeline
        .tasks
        .iter()
        .zip(outcomes)
        .map(|(task, o)| {
            o.unwrap_or_else(|| StepOutcome {
                task: task.name.clone(),
                state: StepState::NotStarted,
                started_at: None,
                ended_at: None,
                seconds: 0.0,
                log: run_dir.join(&task.name).join("log.txt"),
                failure: None,
                cached_from: None,
            })
        })
        .collect();
    let report = RunReport {
        run_id,
        run_dir: run_dir.clone(),
        pipeline: pipeline.name.clone(),
        parameters: options.parameters.clone(),
        steps,
        seconds: started.elapsed().as_secs_f64(),
    };
    let summary = serde_json::to_string_pretty(&report).unwrap_or_default();
    std::fs::write(run_dir.join("run.json"), summary).map_err(io("cannot write run.json"))?;
    Ok(report)
}

/// Runs one task; returns its outcome and the artifacts it produced.
fn execute(
    task: &LocalTask,
    inputs: &BTreeMap<String, ProducedArtifact>,
    run_dir: &Path,
    run_id: &str,
    env: &[(String, String)],
    options: &RunOptions,
    cache: &cache::Cache,
) -> (StepOutcome, BTreeMap<String, ProducedArtifact>) {
    let task_dir = run_dir.join(&task.name);
    let log = task_dir.join("log.txt");
    let started_at = now();
    let clock = Instant::now();
    let finish = |state: StepState, failure: Option<String>, cached_from: Option<String>| StepOutcome {
        task: task.name.clone(),
        state,
        started_at: Some(started_at),
        ended_at: Some(now()),
        seconds: clock.elapsed().as_secs_f64(),
        log: log.clone(),
        failure,
        cached_from,
    };
    if let Err(e) = std::fs::create_dir_all(&task_dir) {
        return (
            finish(StepState::Failed, Some(format!("cannot create {}: {e}", task_dir.display())), None),
            BTreeMap::new(),
        );
    }
    let parameters: BTreeMap<String, Value> = task
        .parameter_inputs
        .iter()
        .map(|(arg, p)| (arg.clone(), options.parameters.get(p).cloned().unwrap_or(Value::Null)))
        .collect();

    let key = (options.cache && task.caching).then(|| cache::key(task, &parameters, inputs));
    if let Some(key) = &key {
        if let Some((from, outputs)) = cache.reuse(key, &task_dir) {
            let _ = std::fs::write(
                &log,
                format!("nbkf: outputs reused from run {from} (unchanged program, parameters and inputs)\n"),
            );
            return (finish(StepState::Cached, None, Some(from)), outputs);
        }
    }

    let executor_input = executor_input(task, &parameters, inputs, &task_dir);
    let args: Vec<String> =
        task.args.iter().map(|a| if a == "{{$}}" { executor_input.to_string() } else { a.clone() }).collect();
    let _ = std::fs::write(
        task_dir.join("executor_input.json"),
        serde_json::to_string_pretty(&executor_input).unwrap_or_default(),
    );
    let log_file = match std::fs::File::create(&log) {
        Ok(f) => f,
        Err(e) => {
            return (
                finish(StepState::Failed, Some(format!("cannot write {}: {e}", log.display())), None),
                BTreeMap::new(),
            )
        }
    };
    let stderr = match log_file.try_clone() {
        Ok(f) => f,
        Err(e) => {
            return (
                finish(StepState::Failed, Some(format!("cannot write {}: {e}", log.display())), None),
                BTreeMap::new(),
            )
        }
    };
    let work_dir = options.work_dir(&task_dir);
    if let Err(e) = std::fs::create_dir_all(&work_dir) {
        return (
            finish(StepState::Failed, Some(format!("cannot create {}: {e}", work_dir.display())), None),
            BTreeMap::new(),
        );
    }
    let mut command = Command::new(&task.launcher[0]);
    command
        .args(&task.launcher[1..])
        .args(&args)
        .current_dir(&work_dir)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(stderr);
    command.env("NBKF_RUN_ID", run_id).env("NBKF_TASK", &task.name);
    // The launcher writes the step's program into a temporary folder (as on a cluster,
    // where the pod's files go with it): here it stays with the step's files.
    let tmp = task_dir.join("tmp");
    if std::fs::create_dir_all(&tmp).is_ok() {
        command.env("TMPDIR", &tmp);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let status = match wait_unless_canceled(&mut command, &options.cancel) {
        Ok(Some(s)) => s,
        Ok(None) => return (finish(StepState::Canceled, Some("the run was cancelled".into()), None), BTreeMap::new()),
        Err(e) => {
            return (
                finish(StepState::Failed, Some(format!("cannot start `{}`: {e}", task.launcher[0])), None),
                BTreeMap::new(),
            )
        }
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return (finish(StepState::Failed, Some(failure_message(&text, status)), None), BTreeMap::new());
    }
    let outputs = match read_outputs(&task_dir) {
        Ok(o) => o,
        Err(e) => return (finish(StepState::Failed, Some(e), None), BTreeMap::new()),
    };
    if let Some(key) = &key {
        cache.store(key, run_id, &task.name, &outputs);
    }
    (finish(StepState::Succeeded, None, None), outputs)
}

/// The `ExecutorInput` a KFP backend would give the task.
fn executor_input(
    task: &LocalTask,
    parameters: &BTreeMap<String, Value>,
    inputs: &BTreeMap<String, ProducedArtifact>,
    task_dir: &Path,
) -> Value {
    let artifacts: serde_json::Map<String, Value> = task
        .artifact_inputs
        .iter()
        .filter_map(|a| {
            inputs.get(&a.argument).map(|art| {
                (a.argument.clone(), json!({"artifacts": [{"name": a.argument, "type": {"schemaTitle": a.schema_title, "schemaVersion": "0.0.1"}, "uri": art.uri, "metadata": art.metadata}]}))
            })
        })
        .collect();
    let outputs: serde_json::Map<String, Value> = task
        .outputs
        .iter()
        .map(|(arg, schema)| {
            let uri = task_dir.join("outputs").join(arg).to_string_lossy().into_owned();
            (arg.clone(), json!({"artifacts": [{"name": arg, "type": {"schemaTitle": schema, "schemaVersion": "0.0.1"}, "uri": uri, "metadata": {}}]}))
        })
        .collect();
    json!({
        "inputs": {"parameterValues": parameters, "artifacts": artifacts},
        "outputs": {"artifacts": outputs, "outputFile": task_dir.join("executor_output.json").to_string_lossy()},
    })
}

fn read_outputs(task_dir: &Path) -> Result<BTreeMap<String, ProducedArtifact>, String> {
    let path = task_dir.join("executor_output.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("the step wrote no {}: {e}", path.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    if let Some(arts) = json["artifacts"].as_object() {
        for (name, entry) in arts {
            if let Some(first) = entry["artifacts"].get(0) {
                out.insert(
                    name.clone(),
                    ProducedArtifact {
                        uri: first["uri"].as_str().unwrap_or_default().to_string(),
                        metadata: first["metadata"].clone(),
                    },
                );
            }
        }
    }
    Ok(out)
}

/// What to show for a failed step: the step runtime's message (the notebook cell and
/// line, and the user's traceback), or the end of the log.
fn failure_message(log: &str, status: std::process::ExitStatus) -> String {
    if let Some(start) = log.find("nbkf: step ") {
        let text = &log[start + "nbkf: ".len()..];
        let end = text.find("\n[KFP Executor").unwrap_or(text.len());
        return text[..end].trim_end().to_string();
    }
    let tail: Vec<&str> = log.lines().rev().take(25).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    format!("the step exited with {status}:\n{}", tail.join("\n"))
}
