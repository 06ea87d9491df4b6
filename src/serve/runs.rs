//! Local runs and checks started over the API: each runs on its own thread with the local
//! runner, records its events (a step started or ended, a line of a step's log, the end),
//! and streams them as Server-Sent Events to any number of listeners, late ones included
//! (they get the events so far first). A run can be cancelled: its step processes are
//! stopped.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::Json;
use futures_util::stream::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Notify;
use utoipa::ToSchema;

use super::error::ApiError;
use super::model::{diagnostic_out, notebook_request, ConvertFlags, NamesNotebook};
use super::notebooks::{convert, load, options};
use super::state::AppState;
use crate::check::{self, CheckOptions};
use crate::run::{self, CancelToken, LocalPipeline, Observer, RunOptions, StepOutcome, StepState};

/// The most log lines a run keeps as events (the log files keep everything).
const MAX_LOG_EVENTS: usize = 20_000;
/// How often running steps' logs are read.
const TAIL_EVERY: Duration = Duration::from_millis(200);

notebook_request! {
    /// A run or check request.
    RunRequest {
        #[serde(default)]
        options: ConvertFlags,
        /// Parameter values, checked against the parameters' types (`{"EPOCHS": 3}` or
        /// `{"EPOCHS": "3"}`).
        #[serde(default)]
        #[schema(value_type = Object)]
        parameters: BTreeMap<String, Value>,
        /// At most this many steps at once (default: the number of cores).
        #[serde(default)]
        jobs: Option<usize>,
        /// Run each step in its own empty folder, as pods share no files.
        #[serde(default)]
        isolated: bool,
        /// For a check: seed `random` and `numpy.random` in both runs.
        #[serde(default)]
        seed: Option<u64>,
    }
}

/// A run that started.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Started {
    pub run_id: String,
    pub pipeline: String,
    /// Its tasks, in an order where each follows its dependencies.
    pub tasks: Vec<String>,
}

/// How a step stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepStatus {
    pub task: String,
    /// `pending`, `running`, `succeeded`, `cached`, `failed`, `canceled`, `not_started`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// For a failed step: the error, with the notebook cell and line when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// How a run stands.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RunStatus {
    pub run_id: String,
    /// `run` or `check`.
    pub kind: String,
    pub pipeline: String,
    /// `running`, `succeeded`, `failed` (a step failed, or for a check: something differs),
    /// `canceled` or `error` (it could not run).
    pub state: String,
    pub steps: Vec<StepStatus>,
    /// When it has ended: the run's report (for a check, the comparisons too).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One recorded event.
#[derive(Debug, Clone)]
struct Event {
    kind: &'static str,
    data: Value,
}

struct Inner {
    state: String,
    steps: Vec<StepStatus>,
    events: Vec<Event>,
    log_events: usize,
    result: Option<Value>,
    error: Option<String>,
}

/// One run.
pub struct RunEntry {
    id: String,
    kind: &'static str,
    pipeline: String,
    cancel: CancelToken,
    inner: Mutex<Inner>,
    changed: Notify,
    /// Where its steps write their logs (`<run_dir>/<task>/log.txt`).
    run_dir: PathBuf,
    /// How far each step's log has been read, and its last incomplete line.
    logs: Mutex<HashMap<String, (u64, String)>>,
}

impl RunEntry {
    fn push(&self, kind: &'static str, data: Value) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.events.push(Event { kind, data });
        }
        self.changed.notify_waiters();
    }

    fn set_step(&self, task: &str, state: &str, seconds: Option<f64>, failure: Option<String>) {
        if let Ok(mut inner) = self.inner.lock() {
            if let Some(s) = inner.steps.iter_mut().find(|s| s.task == task) {
                s.state = state.to_string();
                s.seconds = seconds;
                s.failure = failure.clone();
            }
        }
        self.push("step", json!({"task": task, "state": state, "seconds": seconds, "failure": failure}));
    }

    fn status(&self) -> RunStatus {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        RunStatus {
            run_id: self.id.clone(),
            kind: self.kind.to_string(),
            pipeline: self.pipeline.clone(),
            state: inner.state.clone(),
            steps: inner.steps.clone(),
            result: inner.result.clone(),
            error: inner.error.clone(),
        }
    }

    fn running_tasks(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.steps.iter().filter(|s| s.state == "running").map(|s| s.task.clone()).collect()
    }

    fn ended(&self) -> bool {
        self.inner.lock().map(|i| i.state != "running").unwrap_or(true)
    }
}

/// The runs this server started.
#[derive(Default)]
pub struct Runs {
    map: Mutex<HashMap<String, Arc<RunEntry>>>,
}

impl Runs {
    /// Stops every run still going (the server is shutting down).
    pub fn cancel_all(&self) {
        if let Ok(m) = self.map.lock() {
            for e in m.values() {
                e.cancel.cancel();
            }
        }
    }

    fn get(&self, id: &str) -> Result<Arc<RunEntry>, ApiError> {
        self.map
            .lock()
            .ok()
            .and_then(|m| m.get(id).cloned())
            .ok_or_else(|| ApiError::not_found(format!("there is no run `{id}` (runs are kept while the server runs)")))
    }
}

/// Told by the runner; records events.
struct Recorder(Arc<RunEntry>);

impl Observer for Recorder {
    fn step_started(&self, task: &str) {
        self.0.set_step(task, "running", None, None);
    }

    fn step_finished(&self, outcome: &StepOutcome) {
        self.0.read_log(&outcome.task, true);
        let state = match outcome.state {
            StepState::Succeeded => "succeeded",
            StepState::Cached => "cached",
            StepState::Failed => "failed",
            StepState::Canceled => "canceled",
            StepState::NotStarted => "not_started",
        };
        self.0.set_step(&outcome.task, state, Some(outcome.seconds), outcome.failure.clone());
    }
}

impl RunEntry {
    /// Turns what a step wrote to its log since the last look into `log` events; `all`
    /// also takes a last line without a line break (the step has ended).
    fn read_log(&self, task: &str, all: bool) {
        let Ok(mut logs) = self.logs.lock() else { return };
        let (offset, partial) = logs.entry(task.to_string()).or_default();
        let path = self.run_dir.join(task).join("log.txt");
        if let Ok(mut f) = std::fs::File::open(&path) {
            let mut buf = Vec::new();
            if f.seek(SeekFrom::Start(*offset)).is_ok() && f.read_to_end(&mut buf).is_ok() {
                *offset += buf.len() as u64;
                partial.push_str(&String::from_utf8_lossy(&buf));
            }
        }
        let mut lines: Vec<String> = Vec::new();
        while let Some(end) = partial.find('\n') {
            lines.push(partial.drain(..=end).collect::<String>().trim_end().to_string());
        }
        if all && !partial.is_empty() {
            lines.push(std::mem::take(partial));
        }
        drop(logs);
        for line in lines {
            let kept = self.inner.lock().map(|mut i| {
                i.log_events += 1;
                i.log_events
            });
            match kept {
                Ok(n) if n < MAX_LOG_EVENTS => self.push("log", json!({"task": task, "line": line})),
                Ok(n) if n == MAX_LOG_EVENTS => self.push(
                    "log",
                    json!({"task": task, "line": format!("(nbkf: more than {MAX_LOG_EVENTS} log lines; the rest is in the step's log file)")}),
                ),
                _ => {}
            }
        }
    }
}

/// Reads what running steps write to their logs, as `log` events, until the run ends
/// (a step's last lines are read when it ends, before its `step` event).
fn tail_logs(entry: Arc<RunEntry>) {
    while !entry.ended() {
        for task in entry.running_tasks() {
            entry.read_log(&task, false);
        }
        std::thread::sleep(TAIL_EVERY);
    }
}

/// Starts a local run of the notebook's pipeline.
#[utoipa::path(post, path = "/api/v1/runs", tag = "local runs", request_body = RunRequest,
    responses((status = 202, description = "started; follow it at /api/v1/runs/{id}/events", body = Started),
              (status = 400, body = super::error::ErrorBody), (status = 422, description = "the notebook has errors", body = super::error::ErrorBody)))]
pub async fn start_run(
    State(state): State<Arc<AppState>>,
    Json(request): Json<RunRequest>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    start(state, request, "run").await
}

/// Starts a check: the pipeline run locally and the notebook run top to bottom, every
/// value passed between steps, metric and output compared.
#[utoipa::path(post, path = "/api/v1/check", tag = "local runs", request_body = RunRequest,
    responses((status = 202, description = "started; the comparisons are in the result at /api/v1/runs/{id}", body = Started),
              (status = 400, body = super::error::ErrorBody), (status = 422, description = "the notebook has errors", body = super::error::ErrorBody)))]
pub async fn start_check(
    State(state): State<Arc<AppState>>,
    Json(request): Json<RunRequest>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    start(state, request, "check").await
}

async fn start(
    state: Arc<AppState>,
    request: RunRequest,
    kind: &'static str,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let prepared = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || prepare(&state, request, kind)).await??
    };
    let started = Started {
        run_id: prepared.entry.id.clone(),
        pipeline: prepared.entry.pipeline.clone(),
        tasks: prepared.pipeline.tasks.iter().map(|t| t.name.clone()).collect(),
    };
    if let Ok(mut m) = state.runs.map.lock() {
        m.insert(prepared.entry.id.clone(), prepared.entry.clone());
    }
    let entry = prepared.entry.clone();
    std::thread::spawn(move || tail_logs(entry));
    std::thread::spawn(move || execute(prepared));
    Ok((StatusCode::ACCEPTED, Json(started)))
}

struct Prepared {
    entry: Arc<RunEntry>,
    pipeline: LocalPipeline,
    yaml: String,
    options: RunOptions,
    conversion: crate::Conversion,
    seed: Option<u64>,
}

fn prepare(state: &AppState, request: RunRequest, kind: &'static str) -> Result<Prepared, ApiError> {
    let loaded = load(&state.root, &request.source())?;
    let step_dir = loaded.dir.clone();
    let options_ = options(&state.root, &request.options)?;
    let (conversion, _, _) = convert(loaded, &options_)?;
    let Some(yaml) = conversion.yaml.clone() else {
        let d = conversion.diagnostics.iter().map(|d| diagnostic_out(d, &conversion.notebook)).collect();
        return Err(ApiError::notebook_errors(d));
    };
    let pipeline = LocalPipeline::from_yaml(&yaml).map_err(|e| ApiError::internal(e.to_string()))?;
    let given: Vec<(String, String)> = request
        .parameters
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    let parameters = pipeline.resolve_parameters(&given).map_err(|errors| ApiError::bad_request(errors.join("; ")))?;
    if request.jobs == Some(0) {
        return Err(ApiError::bad_request("`jobs` must be at least 1"));
    }
    let runs_dir = state.workdir.join("runs");
    std::fs::create_dir_all(&runs_dir)
        .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", runs_dir.display())))?;
    let id = new_id(&runs_dir);
    let cancel = CancelToken::default();
    let steps = pipeline
        .tasks
        .iter()
        .map(|t| StepStatus { task: t.name.clone(), state: "pending".into(), seconds: None, failure: None })
        .collect();
    let entry = Arc::new(RunEntry {
        id: id.clone(),
        kind,
        pipeline: pipeline.name.clone(),
        cancel: cancel.clone(),
        inner: Mutex::new(Inner {
            state: "running".into(),
            steps,
            events: Vec::new(),
            log_events: 0,
            result: None,
            error: None,
        }),
        changed: Notify::new(),
        run_dir: runs_dir.join(&id),
        logs: Mutex::new(HashMap::new()),
    });
    let options = RunOptions {
        parameters,
        jobs: request.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
        runs_dir,
        step_dir,
        python: state.python.clone(),
        cache: false,
        env: Vec::new(),
        isolated: request.isolated,
        run_id: Some(id),
        cancel,
    };
    Ok(Prepared { entry, pipeline, yaml, options, conversion, seed: request.seed })
}

/// A run id unused in `runs_dir`: the time and a random suffix.
fn new_id(runs_dir: &std::path::Path) -> String {
    loop {
        let stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let id = format!("{}-{}-{:04x}", &stamp[..8.min(stamp.len())], &stamp[8.min(stamp.len())..], fastrand::u16(..));
        if !runs_dir.join(&id).exists() {
            return id;
        }
    }
}

fn execute(p: Prepared) {
    let entry = p.entry.clone();
    let recorder = Recorder(entry.clone());
    let (state, result, error) = if entry.kind == "check" {
        let options = CheckOptions { run: p.options.clone(), seed: p.seed };
        match check::check(&p.conversion.notebook, &p.conversion.plan, &p.yaml, &options, &recorder) {
            Ok(report) => {
                let state = if p.options.cancel.is_canceled() {
                    "canceled"
                } else if report.passed() {
                    "succeeded"
                } else {
                    "failed"
                };
                let mut v = serde_json::to_value(&report).unwrap_or(Value::Null);
                v["passed"] = json!(report.passed());
                (state, Some(v), None)
            }
            Err(run::RunError::Canceled) => ("canceled", None, None),
            Err(e) => ("error", None, Some(e.to_string())),
        }
    } else {
        match run::run(&p.pipeline, &p.yaml, &p.options, &recorder) {
            Ok(report) => {
                let state = if p.options.cancel.is_canceled() {
                    "canceled"
                } else if report.succeeded() {
                    "succeeded"
                } else {
                    "failed"
                };
                (state, serde_json::to_value(&report).ok(), None)
            }
            Err(e) => ("error", None, Some(e.to_string())),
        }
    };
    if let Ok(mut inner) = entry.inner.lock() {
        for s in inner.steps.iter_mut().filter(|s| s.state == "pending") {
            s.state = "not_started".into();
        }
        inner.state = state.into();
        inner.result = result;
        inner.error = error.clone();
    }
    entry.push("end", json!({"state": state, "error": error}));
}

/// How a run stands: its state, each step's, and its result when it has ended.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "local runs",
    params(("id" = String, Path, description = "the run id")),
    responses((status = 200, body = RunStatus), (status = 404, body = super::error::ErrorBody)))]
pub async fn get_run(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<RunStatus>, ApiError> {
    Ok(Json(state.runs.get(&id)?.status()))
}

/// The runs this server started, newest last.
#[utoipa::path(get, path = "/api/v1/runs", tag = "local runs", responses((status = 200, body = [RunStatus])))]
pub async fn list_runs(State(state): State<Arc<AppState>>) -> Json<Vec<RunStatus>> {
    let entries: Vec<Arc<RunEntry>> = state.runs.map.lock().map(|m| m.values().cloned().collect()).unwrap_or_default();
    let mut list: Vec<RunStatus> = entries.iter().map(|e| RunStatus { result: None, ..e.status() }).collect();
    list.sort_by(|a, b| a.run_id.cmp(&b.run_id));
    Json(list)
}

/// Stops a run: no step starts after this, running steps' processes are stopped.
#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", tag = "local runs",
    params(("id" = String, Path, description = "the run id")),
    responses((status = 202, description = "asked to stop (see its `end` event)", body = RunStatus),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn cancel_run(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<(StatusCode, Json<RunStatus>), ApiError> {
    let entry = state.runs.get(&id)?;
    entry.cancel.cancel();
    Ok((StatusCode::ACCEPTED, Json(entry.status())))
}

/// The run's events as Server-Sent Events, from the first: `step` (`{task, state,
/// seconds, failure}`), `log` (`{task, line}`), and a last `end` (`{state, error}`). Each
/// has an `id`; a `Last-Event-ID` header resumes after it.
#[utoipa::path(get, path = "/api/v1/runs/{id}/events", tag = "local runs",
    params(("id" = String, Path, description = "the run id")),
    responses((status = 200, description = "an event stream (text/event-stream)", content_type = "text/event-stream", body = String),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
    headers: axum::http::HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let entry = state.runs.get(&id)?;
    let start = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(0, |last| last + 1);
    let stream = futures_util::stream::unfold((entry, start, false), |(entry, next, done)| async move {
        if done {
            return None;
        }
        loop {
            let event = {
                let notified = entry.changed.notified();
                tokio::pin!(notified);
                // Registered before looking, so a change right after the look is not missed.
                notified.as_mut().enable();
                match entry.inner.lock().ok().and_then(|i| i.events.get(next).cloned()) {
                    Some(e) => Some(e),
                    None => {
                        notified.await;
                        None
                    }
                }
            };
            if let Some(e) = event {
                let last = e.kind == "end";
                let sse = SseEvent::default().id(next.to_string()).event(e.kind).data(e.data.to_string());
                return Some((Ok(sse), (entry, next + 1, last)));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
