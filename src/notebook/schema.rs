//! serde types mirroring the parts of the nbformat 4 JSON schema nbkf reads.
//!
//! Outputs are never needed: they are skipped during parsing (`IgnoredAny`), and the file
//! is read as a stream, so a notebook full of images costs no memory for its outputs.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// The top level of an `.ipynb` file.
#[derive(Debug, Deserialize)]
pub struct RawNotebookFields {
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

/// The top level, accepted only as a JSON object (serde's derive would also take an array).
pub type RawNotebook = ObjectOnly<RawNotebookFields, NotebookWhat>;

/// One cell as stored. Fields not listed (outputs, attachments) are skipped unread.
#[derive(Debug, Deserialize)]
pub struct RawCellFields {
    pub cell_type: String,
    #[serde(default)]
    pub id: Option<Value>,
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub metadata: Option<Value>,
}

/// A cell, accepted only as a JSON object.
pub type RawCell = ObjectOnly<RawCellFields, CellWhat>;

/// What an [`ObjectOnly`] expects, for error messages.
pub trait Expecting {
    const WHAT: &'static str;
}

#[derive(Debug)]
pub struct NotebookWhat;
impl Expecting for NotebookWhat {
    const WHAT: &'static str = "a notebook (a JSON object with `nbformat` and `cells`)";
}

#[derive(Debug)]
pub struct CellWhat;
impl Expecting for CellWhat {
    const WHAT: &'static str = "a cell (a JSON object with `cell_type` and `source`)";
}

/// `T` deserialized from a JSON object only.
#[derive(Debug)]
pub struct ObjectOnly<T, W>(pub T, PhantomData<W>);

impl<'de, T: Deserialize<'de>, W: Expecting> Deserialize<'de> for ObjectOnly<T, W> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T, W>(PhantomData<(T, W)>);
        impl<'de, T: Deserialize<'de>, W: Expecting> Visitor<'de> for V<T, W> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(W::WHAT)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(V::<T, W>(PhantomData)).map(|t| ObjectOnly(t, PhantomData))
    }
}

/// A cell's source: one string, or a list of lines (each keeping its `\n`).
#[derive(Debug)]
pub enum Source {
    Text(String),
    Lines(Vec<String>),
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Source;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a cell `source` (a string or a list of strings)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Source, E> {
                Ok(Source::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Source, E> {
                Ok(Source::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Source, A::Error> {
                let mut lines = Vec::new();
                while let Some(line) = seq.next_element::<String>()? {
                    lines.push(line);
                }
                Ok(Source::Lines(lines))
            }
        }
        deserializer.deserialize_any(V)
    }
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
