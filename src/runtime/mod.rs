//! The Python that runs inside every step: it executes the notebook's cells in a fresh
//! `__main__` module, loads and saves the variables passed between steps, logs metrics
//! and writes the step's HTML report. Kept as a real Python file so it can be read,
//! linted and tested as Python.

/// The step runtime's source, embedded in every step program.
pub const STEP_RUNTIME: &str = include_str!("step_runtime.py");
