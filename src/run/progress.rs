//! Showing a run as it happens: a live display on a terminal, plain lines when piped.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::{StepOutcome, StepState};

/// Told about each step as it starts and ends (called from the runner's thread).
pub trait Observer: Sync {
    fn step_started(&self, task: &str);
    fn step_finished(&self, outcome: &StepOutcome);
}

/// Progress on standard error: a spinner with the running steps on a terminal, one line
/// per event otherwise.
pub struct TerminalProgress {
    bar: ProgressBar,
    running: Mutex<Vec<String>>,
    interactive: bool,
    quiet: bool,
}

impl TerminalProgress {
    /// `total` steps; `interactive` when standard error is a terminal; `quiet` shows
    /// nothing.
    pub fn new(total: usize, interactive: bool, quiet: bool) -> Self {
        let interactive = interactive && !quiet;
        let bar = if interactive { ProgressBar::new(total as u64) } else { ProgressBar::hidden() };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{pos}/{len}] {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        if interactive {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        TerminalProgress { bar, running: Mutex::new(Vec::new()), interactive, quiet }
    }

    fn line(&self, text: String) {
        if self.quiet {
            return;
        }
        if self.interactive {
            self.bar.println(text);
        } else {
            eprintln!("{text}");
        }
    }

    fn refresh(&self) {
        if let Ok(r) = self.running.lock() {
            self.bar.set_message(if r.is_empty() { String::new() } else { format!("running: {}", r.join(", ")) });
        }
    }

    /// Removes the live display.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for TerminalProgress {
    fn step_started(&self, task: &str) {
        if let Ok(mut r) = self.running.lock() {
            r.push(task.to_string());
        }
        if !self.interactive {
            self.line(format!("started   {task}"));
        }
        self.refresh();
    }

    fn step_finished(&self, outcome: &StepOutcome) {
        if let Ok(mut r) = self.running.lock() {
            r.retain(|t| t != &outcome.task);
        }
        self.bar.inc(1);
        let what = match outcome.state {
            StepState::Succeeded => "succeeded",
            StepState::Cached => "cached   ",
            StepState::Failed => "FAILED   ",
            StepState::Canceled => "canceled ",
            StepState::NotStarted => "skipped  ",
        };
        let extra = outcome.cached_from.as_ref().map(|r| format!(" (outputs reused from run {r})")).unwrap_or_default();
        self.line(format!("{what} {} in {:.2} s{extra}", outcome.task, outcome.seconds));
        self.refresh();
    }
}

/// An observer that shows nothing.
pub struct Silent;

impl Observer for Silent {
    fn step_started(&self, _: &str) {}
    fn step_finished(&self, _: &StepOutcome) {}
}
