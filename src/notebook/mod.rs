//! The notebook model: cells (with ids, tags, source) and notebook metadata, read from
//! nbformat 4.x JSON as found in the wild.

pub mod compose;
pub mod edit;
mod schema;

use std::io::BufRead;
use std::path::Path;

use serde_json::{Map, Value};

use crate::diagnostics::{CellSources, Diagnostic};

/// What kind of cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    Code,
    Markdown,
    Raw,
}

/// One cell of a notebook.
#[derive(Debug, Clone)]
pub struct Cell {
    /// 0-based position in the notebook (all cells counted, as Jupyter shows them).
    pub index: usize,
    /// The nbformat 4.5 cell id, when the file has one.
    pub id: Option<String>,
    pub kind: CellKind,
    pub source: String,
    /// Cell tags (`metadata.tags`) that are strings; others are reported.
    pub tags: Vec<String>,
    /// The cell's metadata object (empty when missing or not an object).
    pub metadata: Map<String, Value>,
}

/// A parsed notebook.
#[derive(Debug, Clone)]
pub struct Notebook {
    pub nbformat: u64,
    pub nbformat_minor: u64,
    pub cells: Vec<Cell>,
    /// The notebook-level metadata object.
    pub metadata: Map<String, Value>,
    /// For a notebook whose `notebook:` cells were expanded: where each cell comes from.
    pub composition: Option<Box<compose::Composition>>,
}

/// Why a file is not a notebook nbkf can read.
#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not valid notebook JSON: {message} (line {line}, column {column})")]
    Json { path: String, message: String, line: usize, column: usize },
    #[error("{path}: {message}")]
    Unsupported { path: String, message: String },
}

impl Notebook {
    /// Reads and parses a notebook file. Problems that do not prevent reading (a tag that
    /// is not a string, ...) are returned as diagnostics.
    ///
    /// The file is parsed as a stream: outputs (images, ...) are skipped as they are read,
    /// so memory grows with the cells' sources, not with the file.
    pub fn from_path(path: &Path) -> Result<(Notebook, Vec<Diagnostic>), NotebookError> {
        let name = path.display().to_string();
        let io = |source| NotebookError::Io { path: name.clone(), source };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
        // A UTF-8 byte order mark is legal in the wild (Windows editors) but not in JSON.
        let start = reader.fill_buf().map_err(io)?;
        if start.starts_with(BOM) {
            reader.consume(BOM.len());
        }
        if reader.fill_buf().map_err(io)?.is_empty() {
            return Err(NotebookError::Unsupported { path: name, message: EMPTY.into() });
        }
        let raw = serde_json::from_reader(reader).map_err(|e| match e.io_error_kind() {
            Some(kind) => NotebookError::Io { path: name.clone(), source: std::io::Error::new(kind, e.to_string()) },
            None => json_error(&e, &name),
        });
        Self::from_raw(raw?, &name)
    }

    /// Parses notebook JSON. `name` is used in error messages.
    pub fn from_slice(bytes: &[u8], name: &str) -> Result<(Notebook, Vec<Diagnostic>), NotebookError> {
        let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
        if bytes.is_empty() {
            return Err(NotebookError::Unsupported { path: name.to_string(), message: EMPTY.into() });
        }
        let raw = serde_json::from_slice(bytes).map_err(|e| json_error(&e, name))?;
        Self::from_raw(raw, name)
    }

    fn from_raw(raw: schema::RawNotebook, name: &str) -> Result<(Notebook, Vec<Diagnostic>), NotebookError> {
        let raw = raw.0;
        let unsupported = |message: String| NotebookError::Unsupported { path: name.to_string(), message };
        let nbformat =
            raw.nbformat.ok_or_else(|| unsupported("no `nbformat` field: this is not a Jupyter notebook".into()))?;
        if nbformat != 4 || raw.worksheets.is_some() {
            return Err(unsupported(format!(
                "nbformat {nbformat} is not supported; nbkf reads nbformat 4 (Jupyter 4.0 and later). \
                 Convert it with `jupyter nbconvert --to notebook --nbformat 4 {name}`"
            )));
        }
        let metadata = raw.metadata.unwrap_or_default();
        check_language(&metadata).map_err(unsupported)?;
        let mut diagnostics = Vec::new();
        let cells = raw
            .cells
            .ok_or_else(|| unsupported("no `cells` list".into()))?
            .into_iter()
            .enumerate()
            .map(|(index, raw)| cell_from_raw(index, raw.0, &mut diagnostics))
            .collect();
        let nbformat_minor = raw.nbformat_minor.unwrap_or(0);
        Ok((Notebook { nbformat, nbformat_minor, cells, metadata, composition: None }, diagnostics))
    }

    /// Cell `index` of the notebook's own file (for a composed notebook, whose cells hold
    /// the sub-notebooks' too, the expanded cell it became).
    pub fn own_cell(&self, index: usize) -> Option<&Cell> {
        use crate::diagnostics::CellSources;
        self.located(None, index).and_then(|i| self.cells.get(i))
    }

    /// The tags cell `index` has in its file (for a composed notebook, before expansion
    /// changed them).
    pub fn written_tags(&self, index: usize) -> &[String] {
        match &self.composition {
            Some(c) => c.written_tags.get(index).map_or(&[], Vec::as_slice),
            None => self.cells.get(index).map_or(&[], |c| c.tags.as_slice()),
        }
    }

    /// The code cells, in order.
    pub fn code_cells(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().filter(|c| c.kind == CellKind::Code)
    }
}

/// Diagnostics show the notebook's cells by index.
impl CellSources for Notebook {
    fn cell_source(&self, cell: usize) -> Option<&str> {
        self.cells.get(cell).map(|c| c.source.as_str())
    }

    fn cell_id(&self, cell: usize) -> Option<&str> {
        self.cells.get(cell).and_then(|c| c.id.as_deref())
    }

    fn located(&self, notebook: Option<&str>, cell: usize) -> Option<usize> {
        match &self.composition {
            Some(c) => c.expanded_index(notebook, cell),
            None => notebook.is_none().then_some(cell),
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";
const EMPTY: &str = "the file is empty; a notebook is a JSON object with `nbformat` and `cells`";

fn json_error(e: &serde_json::Error, name: &str) -> NotebookError {
    NotebookError::Json { path: name.to_string(), message: json_message(e), line: e.line(), column: e.column() }
}

/// serde_json's message without its trailing " at line X column Y" (we print those apart),
/// made clearer where serde_json's wording is obscure.
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let mut s = match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    if s == "invalid unicode code point" {
        // serde_json's name for bytes that are not UTF-8 inside a string.
        s = "a string holds bytes that are not valid UTF-8 (notebooks are UTF-8 text)".into();
    }
    s = s
        .replace("expected a map", "expected a JSON object")
        .replace("expected a sequence", "expected a JSON list")
        .replace("invalid type: map", "invalid type: JSON object")
        .replace("invalid type: sequence", "invalid type: JSON list")
        .replace("expected u64", "expected an integer")
        .replace("missing field `cell_type`", "a cell has no `cell_type` (`code`, `markdown` or `raw`)");
    if e.is_eof() {
        s.push_str("; the file ends early (truncated?)");
    }
    s
}

/// Refuses notebooks whose kernel is not Python: their cells would be analysed as Python.
fn check_language(metadata: &Map<String, Value>) -> Result<(), String> {
    let language = metadata
        .get("kernelspec")
        .and_then(|k| k.get("language"))
        .or_else(|| metadata.get("language_info").and_then(|l| l.get("name")))
        .and_then(Value::as_str);
    match language {
        Some(lang) if !lang.eq_ignore_ascii_case("python") && !lang.eq_ignore_ascii_case("python3") => {
            Err(format!("the notebook's kernel language is `{lang}`; nbkf converts Python notebooks only"))
        }
        _ => Ok(()),
    }
}

/// A JSON value for a message, cut to a readable length.
fn short_json(value: &Value) -> String {
    let s = value.to_string();
    match s.char_indices().nth(80) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

fn cell_from_raw(index: usize, raw: schema::RawCellFields, diagnostics: &mut Vec<Diagnostic>) -> Cell {
    let kind = match raw.cell_type.as_str() {
        "code" => CellKind::Code,
        "markdown" => CellKind::Markdown,
        _ => CellKind::Raw,
    };
    let metadata = match raw.metadata {
        Some(Value::Object(map)) => map,
        None | Some(Value::Null) => Map::new(),
        Some(other) => {
            diagnostics.push(
                Diagnostic::error(
                    "invalid-metadata",
                    format!("the cell's `metadata` must be a JSON object; found {}", short_json(&other)),
                )
                .in_cell(index)
                .with_hint("write it as an object, e.g. `\"metadata\": {\"tags\": [\"step:name\"]}`"),
            );
            Map::new()
        }
    };
    let mut tags = Vec::new();
    match metadata.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(values)) => {
            for value in values {
                match value {
                    Value::String(s) => tags.push(s.clone()),
                    other => diagnostics.push(
                        Diagnostic::error("invalid-tag", format!("tags must be strings; found {}", short_json(other)))
                            .in_cell(index)
                            .with_hint("remove the tag or write it as a string"),
                    ),
                }
            }
        }
        Some(other) => diagnostics.push(
            Diagnostic::error(
                "invalid-tag",
                format!("`metadata.tags` must be a list of strings; found {}", short_json(other)),
            )
            .in_cell(index),
        ),
    }
    let id = match raw.id {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let source = raw.source.map(schema::Source::into_string).unwrap_or_default();
    // Windows line endings would make line counting and the generated code differ from
    // what the user sees; Python itself reads both the same way.
    let source = if source.contains('\r') { source.replace("\r\n", "\n").replace('\r', "\n") } else { source };
    Cell { index, id, kind, source, tags, metadata }
}

/// An in-memory notebook for unit tests: (kind, source, tags) per cell.
#[cfg(test)]
pub(crate) fn test_notebook(cells: &[(CellKind, &str, &[&str])]) -> Notebook {
    Notebook {
        nbformat: 4,
        nbformat_minor: 5,
        cells: cells
            .iter()
            .enumerate()
            .map(|(index, (kind, source, tags))| Cell {
                index,
                id: None,
                kind: *kind,
                source: source.to_string(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                metadata: Default::default(),
            })
            .collect(),
        metadata: Default::default(),
        composition: None,
    }
}

#[cfg(test)]
mod tests;
