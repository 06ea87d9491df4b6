//! `--check`: `nbkf check` on a converted notebook, stopped after a time limit, its
//! outcome in a line for the report.

use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;

use super::record::CheckRecord;
use super::CheckSettings;
use crate::check::{self, CheckOptions};
use crate::run::{CancelToken, LocalPipeline, Observer, RunOptions, StepOutcome, StepState};
use crate::Conversion;

/// Sees nothing: the batch's progress is per notebook, not per step.
struct Unobserved;

impl Observer for Unobserved {
    fn step_started(&self, _: &str) {}
    fn step_finished(&self, _: &StepOutcome) {}
}

/// How many differences a `differs` message names.
const SHOWN_DIFFERENCES: usize = 3;

/// Runs the check of a converted notebook (runs kept under `<out>/.nbkf-check/runs`; the
/// run of a check that passed is removed).
pub fn check(conversion: &Conversion, notebook_dir: &Path, out: &Path, settings: &CheckSettings) -> CheckRecord {
    let started = Instant::now();
    let record = |outcome: &str, message: Option<String>| CheckRecord {
        outcome: outcome.into(),
        message,
        seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
    };
    let Some(yaml) = conversion.yaml.as_deref() else { return record("error", Some("no pipeline to check".into())) };
    let pipeline = match LocalPipeline::from_yaml(yaml) {
        Ok(p) => p,
        Err(e) => return record("error", Some(e.to_string())),
    };
    let parameters = match pipeline.resolve_parameters(&[]) {
        Ok(p) => p,
        Err(errors) => return record("error", Some(errors.join("; "))),
    };
    let cancel = CancelToken::default();
    let options = CheckOptions {
        run: RunOptions {
            parameters,
            jobs: 1,
            runs_dir: out.join(".nbkf-check").join("runs"),
            step_dir: std::fs::canonicalize(notebook_dir).unwrap_or_else(|_| notebook_dir.to_path_buf()),
            python: settings.python.clone(),
            cache: false,
            env: Vec::new(),
            isolated: false,
            run_id: None,
            cancel: cancel.clone(),
        },
        seed: None,
    };
    // Cancels the check when the time limit passes first.
    let (done, limit) = mpsc::channel::<()>();
    let timeout = settings.timeout;
    let timer_token = cancel.clone();
    let timer = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = limit.recv_timeout(timeout) {
            timer_token.cancel();
        }
    });
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        check::check(&conversion.notebook, &conversion.plan, yaml, &options, &Unobserved)
    }));
    drop(done);
    let _ = timer.join();
    let timed_out = cancel.is_canceled();
    let report = match result {
        Err(_) => return record("error", Some("nbkf bug: the check panicked".into())),
        Ok(Err(_)) if timed_out => return record("timed_out", Some(limit_message(settings))),
        Ok(Err(e)) => return record("error", Some(e.to_string())),
        Ok(Ok(report)) => report,
    };
    if timed_out {
        return record(
            "timed_out",
            Some(format!("{} (run kept in {})", limit_message(settings), report.run.run_dir.display())),
        );
    }
    if !report.run.succeeded() {
        let failed = report.run.steps.iter().find(|s| s.state == StepState::Failed);
        let message = match failed {
            Some(step) => format!(
                "step `{}` failed: {} (log: {})",
                step.task,
                step.failure.as_deref().unwrap_or("no message"),
                step.log.display()
            ),
            None => "the pipeline did not finish".into(),
        };
        return record("failed", Some(message));
    }
    if let Some(failure) = &report.notebook_failure {
        return record("failed", Some(format!("the notebook itself fails when run top to bottom: {failure}")));
    }
    let differences: Vec<String> = report
        .comparisons()
        .filter(|c| c.status == "differs")
        .take(SHOWN_DIFFERENCES + 1)
        .map(|c| {
            let what = c.variable.as_deref().map_or_else(|| "printed output".to_string(), |v| format!("`{v}`"));
            format!(
                "{what} of `{}`: pipeline {}, notebook {}",
                c.task,
                c.pipeline.as_deref().unwrap_or("?"),
                c.notebook.as_deref().unwrap_or("?")
            )
        })
        .collect();
    if differences.is_empty() {
        let _ = std::fs::remove_dir_all(&report.run.run_dir);
        return record("passed", None);
    }
    let more = if differences.len() > SHOWN_DIFFERENCES { "; ..." } else { "" };
    let shown = differences.iter().take(SHOWN_DIFFERENCES).cloned().collect::<Vec<_>>().join("; ");
    record("differs", Some(format!("{shown}{more} (run kept in {})", report.run.run_dir.display())))
}

fn limit_message(settings: &CheckSettings) -> String {
    format!("the check was stopped after {} s (--check-timeout)", settings.timeout.as_secs_f64())
}
