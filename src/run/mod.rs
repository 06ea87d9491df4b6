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

/// What a task gave: its output artifacts (a list per output: one, or one per item of a
/// loop) and output parameters.
#[derive(Debug, Clone, Default)]
pub struct Produced {
    pub artifacts: BTreeMap<String, Vec<ProducedArtifact>>,
    pub parameters: BTreeMap<String, Value>,
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
    let mut produced: BTreeMap<String, Produced> = BTreeMap::new();
    let mut launched = vec![false; n];
    let mut running = 0usize;
    let mut failed = false;
    let (tx, rx) = mpsc::channel::<(usize, StepOutcome, Produced)>();
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
                let inputs: BTreeMap<String, Vec<ProducedArtifact>> = task
                    .artifact_inputs
                    .iter()
                    .filter_map(|a| {
                        produced.get(&a.producer).and_then(|p| p.artifacts.get(&a.output_key)).map(|arts| {
                            let arts = if a.list { arts.clone() } else { arts.iter().take(1).cloned().collect() };
                            (a.argument.clone(), arts)
                        })
                    })
                    .collect();
                let items = task.loop_over.as_ref().map(|l| {
                    produced
                        .get(&l.items_task)
                        .and_then(|p| p.parameters.get(&l.items_key))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                });
                // The exit step learns how the others ended, as KFP tells an exit task.
                let status = task.status_argument.as_ref().map(|arg| {
                    let failure = outcomes.iter().flatten().find(|o| o.failure.is_some());
                    let state = if failed { "FAILED" } else { "SUCCEEDED" };
                    let error = match failure {
                        Some(o) if failed => {
                            json!({"code": 1, "message": format!("step `{}` failed: {}", o.task, o.failure.clone().unwrap_or_default())})
                        }
                        _ => json!({}),
                    };
                    (
                        arg.clone(),
                        json!({"state": state, "pipelineJobResourceName": run_id, "pipelineTaskName": crate::names::EXIT_HANDLER_TASK, "error": error}),
                    )
                });
                let tx = tx.clone();
                let ctx = RunContext { run_dir: &run_dir, run_id: &run_id, env: &env, options, cache: &cache };
                scope.spawn(move || {
                    let (outcome, outputs) = match items {
                        Some(items) => execute_items(task, &items, &inputs, ctx),
                        None => execute(task, &task.name, status, &inputs, ctx),
                    };
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

/// What every task of a run shares.
#[derive(Clone, Copy)]
struct RunContext<'a> {
    run_dir: &'a Path,
    run_id: &'a str,
    env: &'a [(String, String)],
    options: &'a RunOptions,
    cache: &'a cache::Cache,
}

/// Runs a task inside a loop once per item (in `<task>/item-<i>/`), at most its
/// parallelism (and `--jobs`) at once; the outputs are each item's, in item order. The task
/// fails when an item fails.
fn execute_items(
    task: &LocalTask,
    items: &[Value],
    inputs: &BTreeMap<String, Vec<ProducedArtifact>>,
    ctx: RunContext,
) -> (StepOutcome, Produced) {
    let (run_dir, options) = (ctx.run_dir, ctx.options);
    let started_at = now();
    let clock = Instant::now();
    let item_argument = task.loop_over.as_ref().map(|l| l.item_argument.clone()).unwrap_or_default();
    let width = task.loop_over.as_ref().and_then(|l| l.parallelism).map_or(usize::MAX, |n| n as usize);
    let width = width.min(options.jobs.max(1)).max(1);
    let mut results: Vec<Option<(StepOutcome, Produced)>> = vec![None; items.len()];
    for chunk in (0..items.len()).collect::<Vec<_>>().chunks(width) {
        let done: Vec<(usize, (StepOutcome, Produced))> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&k| {
                    let dir_name = format!("{}/item-{k}", task.name);
                    let item = (item_argument.clone(), items[k].clone());
                    scope.spawn(move || (k, execute(task, &dir_name, Some(item), inputs, ctx)))
                })
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        let failed = done.iter().any(|(_, (o, _))| !matches!(o.state, StepState::Succeeded | StepState::Cached));
        for (k, r) in done {
            results[k] = Some(r);
        }
        if failed || options.cancel.is_canceled() {
            break;
        }
    }
    let mut produced = Produced::default();
    let mut failure = None;
    let mut state = StepState::Succeeded;
    let mut log = run_dir.join(&task.name).join("item-0").join("log.txt");
    for (k, r) in results.iter().enumerate() {
        match r {
            Some((o, p)) if matches!(o.state, StepState::Succeeded | StepState::Cached) => {
                for (key, arts) in &p.artifacts {
                    produced.artifacts.entry(key.clone()).or_default().extend(arts.iter().cloned());
                }
            }
            Some((o, _)) => {
                if failure.is_none() {
                    state = o.state;
                    log = o.log.clone();
                    failure = Some(format!("item {k} of {}: {}", items.len(), o.failure.clone().unwrap_or_default()));
                }
            }
            None => {
                if failure.is_none() {
                    state = StepState::Canceled;
                    failure = Some("the run was cancelled".into());
                }
            }
        }
    }
    let outcome = StepOutcome {
        task: task.name.clone(),
        state,
        started_at: Some(started_at),
        ended_at: Some(now()),
        seconds: clock.elapsed().as_secs_f64(),
        log,
        failure,
        cached_from: None,
    };
    (outcome, produced)
}

/// Runs one task (in `<run>/<dir_name>/`, with `item` as one more parameter for an item of
/// a loop); returns its outcome and what it produced.
fn execute(
    task: &LocalTask,
    dir_name: &str,
    item: Option<(String, Value)>,
    inputs: &BTreeMap<String, Vec<ProducedArtifact>>,
    ctx: RunContext,
) -> (StepOutcome, Produced) {
    let RunContext { run_dir, run_id, env, options, cache } = ctx;
    let task_dir = run_dir.join(dir_name);
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
            Produced::default(),
        );
    }
    let mut parameters: BTreeMap<String, Value> = task
        .parameter_inputs
        .iter()
        .map(|(arg, p)| (arg.clone(), options.parameters.get(p).cloned().unwrap_or(Value::Null)))
        .collect();
    parameters.extend(item);

    // Output parameters (an items task's list) are not kept by the cache: such tasks rerun.
    let cacheable = options.cache && task.caching && task.output_parameters.is_empty();
    let key = cacheable.then(|| cache::key(task, &parameters, inputs));
    if let Some(key) = &key {
        if let Some((from, outputs)) = cache.reuse(key, &task_dir) {
            let _ = std::fs::write(
                &log,
                format!("nbkf: outputs reused from run {from} (unchanged program, parameters and inputs)\n"),
            );
            let artifacts = outputs.into_iter().map(|(k, a)| (k, vec![a])).collect();
            return (finish(StepState::Cached, None, Some(from)), Produced { artifacts, parameters: BTreeMap::new() });
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
                Produced::default(),
            )
        }
    };
    let stderr = match log_file.try_clone() {
        Ok(f) => f,
        Err(e) => {
            return (
                finish(StepState::Failed, Some(format!("cannot write {}: {e}", log.display())), None),
                Produced::default(),
            )
        }
    };
    let work_dir = options.work_dir(&task_dir);
    if let Err(e) = std::fs::create_dir_all(&work_dir) {
        return (
            finish(StepState::Failed, Some(format!("cannot create {}: {e}", work_dir.display())), None),
            Produced::default(),
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
        Ok(None) => {
            return (finish(StepState::Canceled, Some("the run was cancelled".into()), None), Produced::default())
        }
        Err(e) => {
            return (
                finish(StepState::Failed, Some(format!("cannot start `{}`: {e}", task.launcher[0])), None),
                Produced::default(),
            )
        }
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return (finish(StepState::Failed, Some(failure_message(&text, status)), None), Produced::default());
    }
    let (outputs, output_parameters) = match read_outputs(&task_dir) {
        Ok(o) => o,
        Err(e) => return (finish(StepState::Failed, Some(e), None), Produced::default()),
    };
    if let Some(key) = &key {
        cache.store(key, run_id, &task.name, &outputs);
    }
    let artifacts = outputs.into_iter().map(|(k, a)| (k, vec![a])).collect();
    (finish(StepState::Succeeded, None, None), Produced { artifacts, parameters: output_parameters })
}

/// The `ExecutorInput` a KFP backend would give the task.
fn executor_input(
    task: &LocalTask,
    parameters: &BTreeMap<String, Value>,
    inputs: &BTreeMap<String, Vec<ProducedArtifact>>,
    task_dir: &Path,
) -> Value {
    let artifacts: serde_json::Map<String, Value> = task
        .artifact_inputs
        .iter()
        .filter_map(|a| {
            inputs.get(&a.argument).map(|arts| {
                let list: Vec<Value> = arts
                    .iter()
                    .map(|art| json!({"name": a.argument, "type": {"schemaTitle": a.schema_title, "schemaVersion": "0.0.1"}, "uri": art.uri, "metadata": art.metadata}))
                    .collect();
                (a.argument.clone(), json!({ "artifacts": list }))
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

/// The artifacts and output parameters a task wrote (`executor_output.json`).
#[allow(clippy::type_complexity)]
fn read_outputs(task_dir: &Path) -> Result<(BTreeMap<String, ProducedArtifact>, BTreeMap<String, Value>), String> {
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
    let parameters = json["parameterValues"].as_object().map(|p| p.clone().into_iter().collect()).unwrap_or_default();
    Ok((out, parameters))
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
