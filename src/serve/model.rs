//! What the API takes and answers, as types (their OpenAPI schemas are generated from
//! them): a notebook by path or inline, conversion options named as the CLI names them,
//! and the plan and diagnostics in the shape an editor needs (cell ids and ranges).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::diagnostics::Diagnostic;
use crate::notebook::Notebook;
use crate::plan::{Plan, PlanSummary};

/// Which notebook: a path under the server's root, or the notebook itself (as an editor
/// holds it, unsaved changes included). With both, the notebook is used and the path says
/// where it lives (its folder holds its local modules and data files). Every request that
/// takes a notebook has these two fields (`path`, `notebook`).
#[derive(Debug, Clone, Default)]
pub struct NotebookSource {
    pub path: Option<String>,
    /// The notebook's JSON text as the request carried it: hashed and parsed once, never
    /// built into a tree first.
    pub notebook: Option<Box<serde_json::value::RawValue>>,
}

/// The request types that name a notebook.
pub trait NamesNotebook {
    fn source(&self) -> NotebookSource;
}

/// Declares a request type whose first fields are `path` and `notebook`; unknown fields
/// are refused (as with the CLI, nothing is silently ignored).
macro_rules! notebook_request {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// A path relative to the root (`analysis/titanic.ipynb`).
            #[serde(default)]
            pub path: Option<String>,
            /// The notebook's JSON (nbformat 4), e.g. with unsaved changes.
            #[serde(default)]
            #[schema(value_type = Option<Object>)]
            pub notebook: Option<Box<serde_json::value::RawValue>>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $crate::serve::model::NamesNotebook for $name {
            fn source(&self) -> $crate::serve::model::NotebookSource {
                $crate::serve::model::NotebookSource { path: self.path.clone(), notebook: self.notebook.clone() }
            }
        }
    };
}
pub(crate) use notebook_request;

/// How a notebook becomes a pipeline, as `nbkf convert` names its flags.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConvertFlags {
    #[serde(default)]
    pub pipeline_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub experiment: Option<String>,
    /// `pip` (default) or `image`.
    #[serde(default)]
    pub packages: Option<String>,
    /// `auto` (default), `headings`, `cells` or `none`.
    #[serde(default)]
    pub split: Option<String>,
    #[serde(default)]
    pub ipython: bool,
    /// Folders (relative to the root) to find the notebook's own modules in.
    #[serde(default)]
    pub module_path: Vec<String>,
}

notebook_request! {
    /// A notebook and how to convert it.
    NotebookRequest {
        #[serde(default)]
        options: ConvertFlags,
    }
}

/// A range in a cell's source: 1-based lines, 1-based columns counted in characters,
/// the end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Range {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// A problem in the notebook, located for an editor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DiagnosticOut {
    /// `error` (no pipeline) or `warning`.
    pub severity: String,
    pub code: String,
    pub message: String,
    /// The cell (1-based), when the problem is in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<usize>,
    /// When the cell is in a notebook a `notebook:` cell runs: its path (from the
    /// notebook's folder); `cell` counts that notebook's cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The line and column (1-based, columns in characters) of a byte offset in `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut offset = offset;
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// The diagnostic as the API gives it.
pub fn diagnostic_out(d: &Diagnostic, notebook: &Notebook) -> DiagnosticOut {
    use crate::diagnostics::CellSources;
    let cell = d.cell.and_then(|i| notebook.located(d.notebook.as_deref(), i)).and_then(|i| notebook.cells.get(i));
    let range = match (d.span, cell) {
        (Some(span), Some(c)) => {
            let (start_line, start_column) = (span.line, span.column);
            let (end_line, end_column) = position(&c.source, span.end.max(span.start));
            Some(Range { start_line, start_column, end_line, end_column })
        }
        _ => None,
    };
    DiagnosticOut {
        severity: match d.severity {
            crate::Severity::Error => "error".into(),
            crate::Severity::Warning => "warning".into(),
        },
        code: d.code.to_string(),
        message: d.message.clone(),
        cell: d.cell.map(|c| c + 1),
        notebook: d.notebook.clone(),
        cell_id: cell.and_then(|c| c.id.clone()),
        range,
        tag: d.tag.clone(),
        hint: d.hint.clone(),
    }
}

/// A cell and the part it plays.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellOut {
    /// 1-based.
    pub cell: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_id: Option<String>,
    /// `code`, `markdown` or `raw`.
    pub kind: String,
    /// `step` (its code runs in `step`), `prelude` (runs at the start of every step),
    /// `parameters`, `metrics`, `skipped` (code that is not part of the pipeline),
    /// `notebook` (a `notebook:` cell: it runs another notebook as a sub-pipeline), or
    /// `text` (markdown and raw cells).
    pub role: String,
    /// The step it belongs to, for `step` cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The start of its source (at most [`EXCERPT_LINES`] lines, long lines shortened),
    /// for a page or editor to show which cell this is.
    pub excerpt: String,
}

/// How many lines of a cell's source [`CellOut::excerpt`] keeps.
pub const EXCERPT_LINES: usize = 4;
/// How many characters of a line [`CellOut::excerpt`] keeps.
const EXCERPT_WIDTH: usize = 120;

/// The first lines of a cell's source, long lines cut with `…`, and `…` on a last line
/// when lines were left out.
fn excerpt(source: &str) -> String {
    let mut lines: Vec<String> = source
        .lines()
        .take(EXCERPT_LINES)
        .map(|l| {
            if l.chars().count() > EXCERPT_WIDTH {
                let mut cut: String = l.chars().take(EXCERPT_WIDTH - 1).collect();
                cut.push('…');
                cut
            } else {
                l.to_string()
            }
        })
        .collect();
    if source.lines().count() > EXCERPT_LINES {
        lines.push("…".to_string());
    }
    lines.join("\n")
}

/// An edge of the DAG: `to` runs after `from`, taking these variables from it (none for
/// an ordering edge, `prev:`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EdgeOut {
    pub from: String,
    pub to: String,
    pub variables: Vec<String>,
}

/// What `analyze` finds.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analysis {
    /// The plan, as `nbkf plan --format json` gives it.
    pub plan: PlanSummary,
    /// Every cell and its part.
    pub cells: Vec<CellOut>,
    /// The DAG, one edge per pair of steps, with the variables it carries.
    pub edges: Vec<EdgeOut>,
    /// Every problem, errors first by cell.
    pub diagnostics: Vec<DiagnosticOut>,
    /// Whether a pipeline can be made (no errors).
    pub ok: bool,
    /// The notebook's settings after the command line's: name, image, experiment.
    pub settings: SettingsOut,
    /// Whether the answer came from the cache (the same notebook and options as before).
    pub cached: bool,
}

/// The pipeline settings in effect.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SettingsOut {
    pub pipeline_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    pub base_image: String,
}

/// The analysis of a conversion.
pub fn analysis(notebook: &Notebook, plan: &Plan, diagnostics: &[Diagnostic]) -> Analysis {
    let summary = crate::plan::summary(plan);
    let mut step_of: BTreeMap<usize, &str> = BTreeMap::new();
    for step in &plan.steps {
        for c in &step.cells {
            step_of.insert(*c, &step.name);
        }
    }
    // The cells of the notebook itself (a composed notebook's expansion holds others too).
    let own = |c: &&crate::notebook::Cell| plan.locate(c.index).0.is_none();
    let calls: Vec<usize> = plan.sub_pipelines.iter().map(|g| g.cell).collect();
    let cells = notebook
        .cells
        .iter()
        .filter(own)
        .map(|c| {
            use crate::notebook::CellKind;
            let kind = match c.kind {
                CellKind::Code => "code",
                CellKind::Markdown => "markdown",
                CellKind::Raw => "raw",
            };
            let (role, step) = if c.kind != CellKind::Code {
                ("text", None)
            } else if calls.contains(&c.index) {
                ("notebook", None)
            } else if let Some(s) = step_of.get(&c.index) {
                ("step", Some(s.to_string()))
            } else if plan.prelude.contains(&c.index) {
                ("prelude", None)
            } else if plan.parameter_cells.contains(&c.index) {
                ("parameters", None)
            } else if plan.metrics_cells.contains(&c.index) {
                ("metrics", None)
            } else {
                ("skipped", None)
            };
            CellOut {
                cell: plan.locate(c.index).1 + 1,
                cell_id: c.id.clone(),
                kind: kind.into(),
                role: role.into(),
                step,
                excerpt: excerpt(&c.source),
            }
        })
        .collect();
    let mut edges: Vec<EdgeOut> = Vec::new();
    for step in &summary.steps {
        for input in &step.inputs {
            match edges.iter_mut().find(|e| e.from == input.from && e.to == step.name) {
                Some(e) => e.variables.push(input.variable.clone()),
                None => edges.push(EdgeOut {
                    from: input.from.clone(),
                    to: step.name.clone(),
                    variables: vec![input.variable.clone()],
                }),
            }
        }
        for after in &step.after {
            if !edges.iter().any(|e| &e.from == after && e.to == step.name) {
                edges.push(EdgeOut { from: after.clone(), to: step.name.clone(), variables: Vec::new() });
            }
        }
    }
    let diagnostics: Vec<DiagnosticOut> = diagnostics.iter().map(|d| diagnostic_out(d, notebook)).collect();
    Analysis {
        settings: SettingsOut {
            pipeline_name: plan.settings.name.clone(),
            description: plan.settings.description.clone(),
            experiment: plan.settings.experiment.clone(),
            base_image: plan.settings.base_image.clone(),
        },
        ok: !diagnostics.iter().any(|d| d.severity == "error"),
        plan: summary,
        cells,
        edges,
        diagnostics,
        cached: false,
    }
}

/// A pipeline made from a notebook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Compiled {
    pub pipeline_name: String,
    /// The KFP IR YAML (with `format: k8s`, the Kubernetes manifests; with `format: dsl`, the
    /// Python DSL script).
    pub yaml: String,
    /// Where it was written, relative to the root, when `output` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
    /// Warnings (a notebook with errors is answered with 422 instead).
    pub diagnostics: Vec<DiagnosticOut>,
}

notebook_request! {
    /// A compile request.
    CompileRequest {
        #[serde(default)]
        options: ConvertFlags,
        /// `ir` (default), `k8s` (Kubernetes-native KFP manifests) or `dsl` (a KFP Python DSL
        /// script, as `nbkf convert --format dsl` writes it).
        #[serde(default)]
        format: Option<String>,
        /// Also write it here (relative to the root; folders must exist).
        #[serde(default)]
        output: Option<String>,
    }
}

notebook_request! {
    /// A request for the drawing of a notebook's pipeline.
    GraphRequest {
        #[serde(default)]
        options: ConvertFlags,
        /// `svg` (default; laid out by nbkf, with a node per step), `dot` (Graphviz) or
        /// `mermaid`.
        #[serde(default)]
        format: Option<String>,
    }
}

/// The drawing of a pipeline, made by the code of `nbkf graph` (the batch report's too).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Drawing {
    /// `svg`, `dot` or `mermaid`.
    pub format: String,
    pub pipeline: String,
    /// The SVG (each step a `<g class="node step" data-step data-task id="step-TASK">`),
    /// DOT or Mermaid text.
    pub drawing: String,
    /// Whether a pipeline can be made (no errors); a notebook with errors is drawn as far
    /// as it is planned.
    pub ok: bool,
}

notebook_request! {
    /// A tag request.
    TagRequest {
        /// `auto` (default), `headings`, `cells` or `none`.
        #[serde(default)]
        split: Option<String>,
        /// Write the tagged notebook back to `path` (else it is only returned).
        #[serde(default)]
        write: bool,
    }
}

/// The tags of one cell after tagging.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CellTags {
    /// 1-based.
    pub cell: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_id: Option<String>,
    pub tags: Vec<String>,
}

/// A tagged notebook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tagged {
    /// The notebook with the tags (everything else as it was).
    #[schema(value_type = Object)]
    pub notebook: Value,
    /// The cells whose tags change, with all their new tags.
    pub changes: Vec<CellTags>,
    /// Where it was written, when `write` was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub written: Option<String>,
}

/// A notebook under the root.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotebookEntry {
    /// Relative to the root, `/`-separated.
    pub path: String,
    pub bytes: u64,
}

/// What the server is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub version: String,
    /// The root notebooks are read from.
    pub root: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines() {
        let text = "a = 1\nµ = 'é' + b\n";
        assert_eq!(position(text, 0), (1, 1));
        assert_eq!(position(text, 6), (2, 1));
        let b = text.find('b').unwrap();
        assert_eq!(position(text, b), (2, 11));
        assert_eq!(position(text, text.len()), (3, 1));
        // Inside a multi-byte character: the character's start.
        assert_eq!(position(text, 7), (2, 1));
    }

    #[test]
    fn excerpts_keep_the_first_lines_shortened() {
        assert_eq!(excerpt("a = 1\nb = 2"), "a = 1\nb = 2");
        assert_eq!(excerpt("1\n2\n3\n4\n5\n6"), "1\n2\n3\n4\n…");
        let long = "é".repeat(200);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_WIDTH);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(""), "");
    }
}
