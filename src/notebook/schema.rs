//! serde types mirroring the parts of the nbformat 4 JSON schema nbkf reads.
//!
//! Outputs are never needed: they are skipped during parsing (`IgnoredAny`), so a notebook
//! full of images costs no memory beyond the file's bytes while it is parsed.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The top level of an `.ipynb` file.
#[derive(Debug, Deserialize)]
pub struct RawNotebook {
    pub nbformat: Option<u64>,
    #[serde(default)]
    pub nbformat_minor: Option<u64>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default)]
    pub cells: Option<Vec<RawCell>>,
    /// nbformat 3 kept cells in worksheets; only its presence matters (to refuse it).
    #[serde(default)]
    pub worksheets: Option<IgnoredAny>,
}

/// One cell as stored. Fields not listed (outputs, attachments) are skipped unread.
#[derive(Debug, Deserialize)]
pub struct RawCell {
    pub cell_type: String,
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// A cell's source: one string, or a list of lines (each keeping its `\n`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Source {
    Text(String),
    Lines(Vec<String>),
}

impl Source {
    /// The source as one string.
    pub fn into_string(self) -> String {
        match self {
            Source::Text(s) => s,
            Source::Lines(lines) => lines.concat(),
        }
    }
}
