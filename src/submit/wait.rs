//! Following a run on KFP to its end: its state and each task's, reported as they
//! change, until it succeeds, fails, is canceled, or the wait times out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::api::{items, Kfp, KfpError};

/// Run states after which nothing changes.
pub const TERMINAL: &[&str] = &["SUCCEEDED", "SKIPPED", "FAILED", "CANCELED"];

/// Task states after which a task does not change (a retry makes it run again).
pub const TASK_ENDS: &[&str] = &["SUCCEEDED", "SKIPPED", "FAILED", "CANCELED", "CACHED"];

/// How to wait.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Time between two looks at the run.
    pub poll: Duration,
    /// Give up waiting (the run goes on) after this long.
    pub timeout: Option<Duration>,
    /// Give up after this many looks in a row fail (each is retried by the client first).
    pub max_failed_polls: u32,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions { poll: Duration::from_secs(5), timeout: None, max_failed_polls: 5 }
    }
}

/// Told about what changes.
pub trait WaitObserver {
    /// The run's state changed.
    fn run_state(&self, state: &str);
    /// A task's state changed; `error` when it failed with a message.
    fn task_state(&self, task: &str, state: &str, error: Option<&str>);
    /// A look at the run failed and will be tried again.
    fn poll_failed(&self, error: &KfpError);
}

/// How the wait ended.
#[derive(Debug, Clone)]
pub struct RunEnd {
    /// The last state seen.
    pub state: String,
    /// Failed tasks and their errors.
    pub failed_tasks: Vec<(String, String)>,
    /// The run's own error message.
    pub error: Option<String>,
    /// The wait timed out before the run ended.
    pub timed_out: bool,
    /// The run as last fetched.
    pub run: Value,
}

impl RunEnd {
    pub fn succeeded(&self) -> bool {
        !self.timed_out && matches!(self.state.as_str(), "SUCCEEDED" | "SKIPPED")
    }
}

/// The tasks of a run worth showing: those named in `tasks` when given, else all but
/// KFP's own driver and root entries. Each with its state and error message.
pub fn task_states(run: &Value, tasks: &[String]) -> BTreeMap<String, (String, Option<String>)> {
    let mut out = BTreeMap::new();
    for t in items(&run["run_details"], "task_details") {
        let Some(name) = t["display_name"].as_str() else { continue };
        let shown = if tasks.is_empty() {
            name != "root" && !name.ends_with("-driver")
        } else {
            tasks.iter().any(|n| n == name)
        };
        if !shown {
            continue;
        }
        let state = t["state"].as_str().unwrap_or("RUNTIME_STATE_UNSPECIFIED").to_string();
        let mut error = t["error"]["message"].as_str().filter(|m| !m.is_empty()).map(str::to_string);
        if error.is_none() && state == "FAILED" {
            // KFP 2.17 fills in no task errors: the pod's log has them.
            error = Some(match pod_name(&t) {
                Some(pod) => format!("no message from KFP; the step's log: `kubectl logs {pod} -c main`"),
                None => "no message from KFP; see the run's page for the step's log".to_string(),
            });
        }
        out.insert(name.to_string(), (state, error));
    }
    out
}

/// The pod that ran a task: its own `pod_name`, else its children's (KFP lists the
/// executor pod under the task).
fn pod_name(task: &Value) -> Option<String> {
    let own = task["pod_name"].as_str().filter(|p| !p.is_empty());
    own.or_else(|| {
        task["child_tasks"].as_array()?.iter().rev().find_map(|c| c["pod_name"].as_str().filter(|p| !p.is_empty()))
    })
    .map(str::to_string)
}

/// Follows the run until it ends or `options.timeout` passes.
pub fn follow(
    kfp: &Kfp,
    run_id: &str,
    tasks: &[String],
    options: WaitOptions,
    observer: &dyn WaitObserver,
) -> Result<RunEnd, KfpError> {
    let start = Instant::now();
    let mut last_state = String::new();
    let mut last_tasks: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut failures = 0;
    let mut run = Value::Null;
    loop {
        match kfp.get_run(run_id) {
            Ok(r) => {
                failures = 0;
                run = r;
            }
            Err(e) => {
                failures += 1;
                // A run that is not there, or a refusal, will not get better by waiting.
                if failures >= options.max_failed_polls || matches!(e.status(), Some(400..=499)) {
                    return Err(e);
                }
                observer.poll_failed(&e);
            }
        }
        let state = run["state"].as_str().unwrap_or("RUNTIME_STATE_UNSPECIFIED").to_string();
        let now = task_states(&run, tasks);
        let mut changes: Vec<(&String, &String, Option<&str>)> = now
            .iter()
            .filter(|(task, (s, _))| {
                last_tasks.get(*task).map(|(old, _)| old) != Some(s)
                    && !matches!(s.as_str(), "PENDING" | "RUNTIME_STATE_UNSPECIFIED")
            })
            .map(|(task, (s, err))| (task, s, err.as_deref()))
            .collect();
        // Tasks that ended before those that started (one look may see both).
        changes.sort_by_key(|(_, s, _)| !TASK_ENDS.contains(&s.as_str()));
        for (task, s, err) in changes {
            observer.task_state(task, s, err);
        }
        last_tasks = now;
        if !run.is_null() && state != last_state {
            observer.run_state(&state);
            last_state = state.clone();
        }
        let ended = TERMINAL.contains(&state.as_str());
        let timed_out = !ended && options.timeout.is_some_and(|t| start.elapsed() >= t);
        if ended || timed_out {
            let failed_tasks = last_tasks
                .iter()
                .filter(|(_, (s, _))| s == "FAILED")
                .map(|(t, (_, e))| (t.clone(), e.clone().unwrap_or_else(|| "no message".into())))
                .collect();
            let error = run["error"]["message"].as_str().filter(|m| !m.is_empty()).map(str::to_string);
            return Ok(RunEnd { state, failed_tasks, error, timed_out, run });
        }
        let mut pause = options.poll;
        if let Some(t) = options.timeout {
            pause = pause.min(t.saturating_sub(start.elapsed()));
        }
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_states_skip_kfp_internals_and_explain_silent_failures() {
        let run = json!({"run_details": {"task_details": [
            {"display_name": "root", "state": "FAILED"},
            {"display_name": "train-driver", "state": "SUCCEEDED"},
            {"display_name": "train", "state": "FAILED", "child_tasks": [{"pod_name": "p-train-exec-123"}]},
            {"display_name": "load", "state": "SUCCEEDED"},
            {"display_name": "eval", "state": "FAILED", "error": {"code": 2, "message": "boom"}},
            {"display_name": "odd", "state": "FAILED"},
        ]}});
        let all = task_states(&run, &[]);
        assert_eq!(all.keys().collect::<Vec<_>>(), ["eval", "load", "odd", "train"]);
        assert_eq!(all["eval"].1.as_deref(), Some("boom"));
        assert!(all["train"].1.as_deref().unwrap().contains("kubectl logs p-train-exec-123 -c main"));
        assert!(all["odd"].1.as_deref().unwrap().contains("run's page"));
        let named = task_states(&run, &["load".to_string()]);
        assert_eq!(named.keys().collect::<Vec<_>>(), ["load"]);
    }
}
