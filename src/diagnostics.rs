//! Diagnostics that point into the notebook: cell, line, column, tag, and a hint.
//!
//! Every stage collects its diagnostics instead of stopping at the first, so a user sees
//! all problems of a notebook at once.
//!
//! The module is a leaf: it knows cells only through [`CellSources`], so that every stage,
//! the notebook reader included, can report into it.

use std::fmt::Write as _;

/// A position in a cell's source: byte range plus 1-based line and column (in chars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Span {
    /// Byte offset of the first byte, in the cell source.
    pub start: usize,
    /// Byte offset one past the last byte.
    pub end: usize,
    /// 1-based line number within the cell.
    pub line: usize,
    /// 1-based column (counted in characters) within the line.
    pub column: usize,
}

/// The cells diagnostics point into, as [`render`] shows them: each cell's source and id,
/// by 0-based cell index. The notebook provides them.
pub trait CellSources {
    /// The source of the cell at `cell`, if there is such a cell.
    fn cell_source(&self, cell: usize) -> Option<&str>;
    /// The nbformat 4.5 id of the cell at `cell`, if it has one.
    fn cell_id(&self, cell: usize) -> Option<&str>;
    /// The index, among these cells, of cell `cell` of `notebook` (a sub-notebook's path,
    /// `None` for the notebook itself), as a [`Diagnostic`] locates it.
    fn located(&self, notebook: Option<&str>, cell: usize) -> Option<usize> {
        notebook.is_none().then_some(cell)
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Conversion produces no pipeline.
    Error,
    /// The pipeline is produced; the user should know.
    Warning,
}

/// A problem found in a notebook, with where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A short stable identifier, e.g. `undefined-name`, `unknown-tag`.
    pub code: &'static str,
    pub message: String,
    /// 0-based index of the cell in the notebook, when the problem is in a cell.
    pub cell: Option<usize>,
    /// The other notebook the cell is in, when it is a cell of a notebook that a
    /// `notebook:` cell runs: its path from the converted notebook's folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notebook: Option<String>,
    /// The position in the cell's source, when known.
    pub span: Option<Span>,
    /// The tag the problem is about, when it is about a tag.
    pub tag: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error with a code and message and no location yet.
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            cell: None,
            notebook: None,
            span: None,
            tag: None,
            hint: None,
        }
    }

    /// A warning with a code and message and no location yet.
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self { severity: Severity::Warning, ..Self::error(code, message) }
    }

    /// Points the diagnostic at a cell.
    pub fn in_cell(mut self, cell: usize) -> Self {
        self.cell = Some(cell);
        self
    }

    /// Points the diagnostic at a position in its cell.
    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    /// Names the tag the diagnostic is about.
    pub fn with_tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Adds a hint saying what to do.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Whether this diagnostic stops conversion.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `cell 7 (id 3f2a…), line 3` — the location in words, as users read it
    /// (cells and lines counted from 1, as Jupyter shows them). `cell_id` is the id of the
    /// diagnostic's cell, when known.
    pub fn location(&self, cell_id: Option<&str>) -> Option<String> {
        let cell = self.cell?;
        let mut s = format!("cell {}", cell + 1);
        if let Some(id) = cell_id {
            let _ = write!(s, " (id {id})");
        }
        if let Some(span) = self.span {
            let _ = write!(s, ", line {}", span.line);
        }
        Some(s)
    }
}

/// Sorts diagnostics by cell, then line, errors first on the same spot; removes duplicates.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| {
        (&a.notebook, a.cell.unwrap_or(usize::MAX), a.span.map(|s| (s.line, s.column)), a.severity).cmp(&(
            &b.notebook,
            b.cell.unwrap_or(usize::MAX),
            b.span.map(|s| (s.line, s.column)),
            b.severity,
        ))
    });
    diagnostics.dedup();
}

/// Renders diagnostics like a compiler (with miette): the message, the notebook location,
/// the cell's source lines around the span with a marker, and the hint. `cells` gives the
/// cells' sources and ids (the notebook), when there are cells to show.
pub fn render<C: CellSources + ?Sized>(
    diagnostics: &[Diagnostic],
    cells: Option<&C>,
    file: &str,
    color: bool,
) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource, Report};

    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for d in diagnostics {
        let at = d.cell.and_then(|c| cells.and_then(|cells| cells.located(d.notebook.as_deref(), c)));
        let id = at.and_then(|c| cells.and_then(|cells| cells.cell_id(c)));
        let file = d.notebook.as_deref().unwrap_or(file);
        let location = d.location(id).map(|l| format!("{file}, {l}")).unwrap_or_else(|| file.to_string());
        let tag = d.tag.as_ref().map(|t| format!(" (tag `{t}`)")).unwrap_or_default();
        let mut diag = MietteDiagnostic::new(format!("{}{tag}\n  at {location}", d.message))
            .with_code(d.code)
            .with_severity(match d.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
            });
        if let Some(hint) = &d.hint {
            diag = diag.with_help(hint.clone());
        }
        let source = at.and_then(|c| cells.and_then(|cells| cells.cell_source(c)));
        let report = match (d.span, source) {
            (Some(span), Some(source)) if span.end <= source.len() && span.start <= span.end => {
                let len = source[span.start..span.end].lines().next().map_or(0, str::len).max(1);
                let len = len.min(source.len().saturating_sub(span.start)).max(usize::from(span.start < source.len()));
                diag = diag.with_label(LabeledSpan::at(span.start..span.start + len, "here"));
                let name = format!("{file} [cell {}]", d.cell.unwrap_or(0) + 1);
                Report::new(diag).with_source_code(NamedSource::new(name, source.to_string()))
            }
            _ => Report::new(diag),
        };
        let _ = handler.render_report(&mut out, report.as_ref());
    }
    out
}
