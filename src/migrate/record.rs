//! One notebook's record in `report.json` (the shape `schemas/migrate-report-v1.json`
//! pins), and the totals and common diagnostics gathered from the records as they stream
//! by.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostics::{Diagnostic, Severity};
use crate::notebook::Notebook;
use crate::plan::Plan;

/// How a notebook's migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Converted, no warnings.
    Converted,
    /// Converted; the record's diagnostics say what to look at.
    ConvertedWithWarnings,
    /// nbkf refused it: its diagnostics have errors (no pipeline).
    Refused,
    /// The file (or a folder on the way) could not be read.
    Unreadable,
    /// Not a notebook nbkf reads: broken JSON, empty, not nbformat 4, not Python.
    Invalid,
    /// Could not be finished: a bug in nbkf (a panic) or the outputs could not be written.
    Failed,
    /// Still converting after `--timeout`.
    TimedOut,
}

impl Outcome {
    /// The name in the report and on the plain progress lines.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Converted => "converted",
            Outcome::ConvertedWithWarnings => "converted_with_warnings",
            Outcome::Refused => "refused",
            Outcome::Unreadable => "unreadable",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::TimedOut => "timed_out",
        }
    }

    /// Parses [`Outcome::name`].
    pub fn from_name(name: &str) -> Option<Outcome> {
        serde_json::from_value(Value::String(name.to_string())).ok()
    }

    /// Whether a pipeline was written.
    pub fn converted(self) -> bool {
        matches!(self, Outcome::Converted | Outcome::ConvertedWithWarnings)
    }
}

/// A data edge (or an ordering one, with no variables) between two steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EdgeRecord {
    pub from: String,
    pub to: String,
    pub variables: Vec<String>,
}

/// A pipeline parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParameterRecord {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The default as Python would print it (`0.1`, `adam`).
    pub default: String,
}

/// A diagnostic, located as people read it (cells and lines from 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DiagnosticRecord {
    pub severity: String,
    pub code: String,
    pub message: String,
    pub cell: Option<usize>,
    /// The notebook the cell is in, when a `notebook:` cell runs it (its path from the
    /// migrated notebook's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
    pub cell_id: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub hint: Option<String>,
}

impl DiagnosticRecord {
    /// `d` with its cell's id from `notebook`.
    pub fn new(d: &Diagnostic, notebook: Option<&Notebook>) -> Self {
        DiagnosticRecord {
            severity: match d.severity {
                Severity::Error => "error".into(),
                Severity::Warning => "warning".into(),
            },
            code: d.code.to_string(),
            message: d.message.clone(),
            cell: d.cell.map(|c| c + 1),
            notebook: d.notebook.clone(),
            cell_id: d.cell.and_then(|c| {
                use crate::diagnostics::CellSources;
                let notebook = notebook?;
                notebook.cells.get(notebook.located(d.notebook.as_deref(), c)?)?.id.clone()
            }),
            line: d.span.map(|s| s.line),
            column: d.span.map(|s| s.column),
            hint: d.hint.clone(),
        }
    }
}

/// Milliseconds spent on each part of a notebook's migration.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Timings {
    pub read: f64,
    pub convert: f64,
    pub write: f64,
    pub total: f64,
}

/// What `--check` found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRecord {
    /// `passed`, `differs`, `failed`, `timed_out` or `error`.
    pub outcome: String,
    pub message: Option<String>,
    pub seconds: f64,
}

/// One notebook's record in `report.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// The notebook's path relative to its input.
    pub source: String,
    /// The input (as given on the command line) it was found under.
    pub input: String,
    pub outcome: Outcome,
    /// One line saying why, when it did not convert.
    pub message: Option<String>,
    pub pipeline_name: Option<String>,
    pub steps: Vec<String>,
    pub edges: Vec<EdgeRecord>,
    pub parameters: Vec<ParameterRecord>,
    pub packages: Vec<String>,
    /// The files written, relative to `--out`.
    pub outputs: Vec<String>,
    pub diagnostics: Vec<DiagnosticRecord>,
    pub content_sha256: Option<String>,
    pub settings_sha256: String,
    pub resumed: bool,
    pub timings_ms: Timings,
    pub check: Option<CheckRecord>,
}

impl Record {
    /// A record with nothing but where the notebook is and how it ended.
    pub fn bare(source: String, input: String, outcome: Outcome, settings_sha256: String) -> Self {
        Record {
            source,
            input,
            outcome,
            message: None,
            pipeline_name: None,
            steps: Vec::new(),
            edges: Vec::new(),
            parameters: Vec::new(),
            packages: Vec::new(),
            outputs: Vec::new(),
            diagnostics: Vec::new(),
            content_sha256: None,
            settings_sha256,
            resumed: false,
            timings_ms: Timings::default(),
            check: None,
        }
    }

    /// Fills in what the plan says: pipeline name, steps, edges, parameters, packages.
    pub fn describe_plan(&mut self, plan: &Plan) {
        self.pipeline_name = Some(plan.settings.name.clone());
        self.steps = plan.steps.iter().map(|s| s.name.clone()).collect();
        let mut edges: BTreeMap<(usize, usize), BTreeSet<String>> = BTreeMap::new();
        for (to, step) in plan.steps.iter().enumerate() {
            for &from in &step.after {
                edges.entry((from, to)).or_default();
            }
            for input in &step.inputs {
                edges.entry((input.producer, to)).or_default().insert(input.variable.clone());
            }
        }
        self.edges = edges
            .into_iter()
            .filter_map(|((from, to), variables)| {
                Some(EdgeRecord {
                    from: plan.steps.get(from)?.name.clone(),
                    to: plan.steps.get(to)?.name.clone(),
                    variables: variables.into_iter().collect(),
                })
            })
            .collect();
        let summary = crate::plan::summary(plan);
        self.parameters = summary
            .parameters
            .iter()
            .map(|p| ParameterRecord {
                name: p.name.clone(),
                kind: p.kind.to_string(),
                default: match &p.default {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            })
            .collect();
        let packages: BTreeSet<&String> = plan.steps.iter().flat_map(|s| &s.packages).collect();
        self.packages = packages.into_iter().cloned().collect();
    }
}

/// The report's `totals`. `notebooks` counts every record (an unreadable folder is one);
/// `converted` counts every notebook that got a pipeline, those with warnings included
/// (`converted_with_warnings` is the part of it with warnings); `resumed` counts records
/// carried over from the earlier report by `--resume` (they are counted in their outcome
/// too); `check_failed` counts checks that did not pass (differs, failed, timed out,
/// error).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Totals {
    pub notebooks: u64,
    pub converted: u64,
    pub converted_with_warnings: u64,
    pub refused: u64,
    pub unreadable: u64,
    pub invalid: u64,
    pub failed: u64,
    pub timed_out: u64,
    pub resumed: u64,
    pub check_passed: u64,
    pub check_failed: u64,
}

impl Totals {
    /// Counts one record (as JSON, so that carried-over records count the same way).
    pub fn count(&mut self, record: &Value) {
        self.notebooks += 1;
        match record.get("outcome").and_then(Value::as_str).and_then(Outcome::from_name) {
            Some(Outcome::Converted) => self.converted += 1,
            Some(Outcome::ConvertedWithWarnings) => {
                self.converted += 1;
                self.converted_with_warnings += 1;
            }
            Some(Outcome::Refused) => self.refused += 1,
            Some(Outcome::Unreadable) => self.unreadable += 1,
            Some(Outcome::Invalid) => self.invalid += 1,
            Some(Outcome::Failed) | None => self.failed += 1,
            Some(Outcome::TimedOut) => self.timed_out += 1,
        }
        if record.get("resumed").and_then(Value::as_bool) == Some(true) {
            self.resumed += 1;
        }
        match record.pointer("/check/outcome").and_then(Value::as_str) {
            Some("passed") => self.check_passed += 1,
            Some(_) => self.check_failed += 1,
            None => {}
        }
    }
}

/// A diagnostic code seen across notebooks.
#[derive(Debug, Clone)]
struct Common {
    count: u64,
    notebooks: u64,
    example: String,
}

/// The report's `common_diagnostics`: each code (and severity) with how often it was seen,
/// in how many notebooks, and one message as an example; most frequent first. Memory grows
/// with the number of distinct codes only.
#[derive(Debug, Default)]
pub struct CommonDiagnostics(BTreeMap<(String, String), Common>);

impl CommonDiagnostics {
    /// Counts one record's diagnostics.
    pub fn count(&mut self, record: &Value) {
        let mut seen = BTreeSet::new();
        for d in record.get("diagnostics").and_then(Value::as_array).into_iter().flatten() {
            let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let key = (text("code"), text("severity"));
            let entry = self.0.entry(key.clone()).or_insert_with(|| Common {
                count: 0,
                notebooks: 0,
                example: text("message"),
            });
            entry.count += 1;
            if seen.insert(key) {
                entry.notebooks += 1;
            }
        }
    }

    /// As the report writes it.
    pub fn to_json(&self) -> Value {
        let mut list: Vec<(&(String, String), &Common)> = self.0.iter().collect();
        list.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(b.0)));
        Value::Array(
            list.into_iter()
                .map(|((code, severity), c)| {
                    serde_json::json!({"code": code, "severity": severity, "count": c.count, "notebooks": c.notebooks, "example": c.example})
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn totals_count_warnings_inside_converted_and_resumed_beside_their_outcome() {
        let mut totals = Totals::default();
        totals.count(&json!({"outcome": "converted", "resumed": false, "check": {"outcome": "passed"}}));
        totals.count(&json!({"outcome": "converted_with_warnings", "resumed": true, "check": {"outcome": "differs"}}));
        totals.count(&json!({"outcome": "refused", "resumed": false, "check": null}));
        assert_eq!(
            totals,
            Totals {
                notebooks: 3,
                converted: 2,
                converted_with_warnings: 1,
                refused: 1,
                resumed: 1,
                check_passed: 1,
                check_failed: 1,
                ..Totals::default()
            }
        );
    }

    #[test]
    fn common_diagnostics_count_occurrences_and_notebooks_most_frequent_first() {
        let mut common = CommonDiagnostics::default();
        let d = |code: &str, message: &str| json!({"code": code, "severity": "warning", "message": message});
        common.count(&json!({"diagnostics": [d("foreign-tag", "first"), d("foreign-tag", "second"), d("x", "x")]}));
        common.count(&json!({"diagnostics": [d("foreign-tag", "third")]}));
        assert_eq!(
            common.to_json(),
            json!([
                {"code": "foreign-tag", "severity": "warning", "count": 3, "notebooks": 2, "example": "first"},
                {"code": "x", "severity": "warning", "count": 1, "notebooks": 1, "example": "x"}
            ])
        );
    }
}
