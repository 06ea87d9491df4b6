//! `--resume`: what an earlier `report.json` in the output folder says was done.
//!
//! Only what decides whether a notebook can be skipped is kept in memory (for each
//! notebook: its hashes, outcome, outputs and where its record is in the file); a record
//! carried over is read again from the earlier file when the new report is written. This
//! relies on the layout the report writer uses (one record per line, see
//! [`super::report`]); a report rewritten in another layout (pretty-printed by hand)
//! resumes nothing, and the run says so.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::record::Outcome;
use super::REPORT_SCHEMA;

/// What is kept of one earlier record.
#[derive(Debug)]
struct Prior {
    content_sha256: String,
    settings_sha256: String,
    outcome: Outcome,
    outputs: Vec<String>,
    offset: u64,
    len: usize,
}

/// The fields of an earlier record that resuming looks at.
#[derive(Deserialize)]
struct PriorFields {
    source: String,
    input: String,
    outcome: Outcome,
    content_sha256: Option<String>,
    settings_sha256: String,
    #[serde(default)]
    outputs: Vec<String>,
}

/// The earlier report.
#[derive(Debug)]
pub struct Previous {
    file: File,
    /// By (input as given, source).
    records: HashMap<(String, String), Prior>,
}

/// An earlier record to carry over, and where it is in the earlier report.
#[derive(Debug, Clone)]
pub struct Carried {
    pub outcome: Outcome,
    pub source: String,
    offset: u64,
    len: usize,
}

impl Previous {
    /// Reads the earlier report at `path`; `Ok(None)` when there is none.
    pub fn load(path: &Path) -> Result<Option<Previous>, String> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut reader = BufReader::new(file.try_clone().map_err(|e| format!("cannot read {}: {e}", path.display()))?);
        let mut records = HashMap::new();
        let mut offset = 0u64;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            let n = reader.read_line(&mut line).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if n == 0 {
                break;
            }
            if first && !line.contains(REPORT_SCHEMA) {
                return Err(format!(
                    "{} is not a report of `nbkf migrate` (no `{REPORT_SCHEMA}`); move it away or leave out --resume",
                    path.display()
                ));
            }
            first = false;
            let text = line.trim_end_matches(['\n', '\r']).trim_end_matches(',');
            if text.starts_with("{\"source\"") {
                if let Ok(fields) = serde_json::from_str::<PriorFields>(text) {
                    if let Some(content_sha256) = fields.content_sha256 {
                        records.insert(
                            (fields.input, fields.source),
                            Prior {
                                content_sha256,
                                settings_sha256: fields.settings_sha256,
                                outcome: fields.outcome,
                                outputs: fields.outputs,
                                offset,
                                len: text.len(),
                            },
                        );
                    }
                }
            }
            offset += n as u64;
        }
        Ok(Some(Previous { file, records }))
    }

    /// How many earlier records could be carried over.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no earlier record can be carried over.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The earlier record of this notebook, when it can stand for a new one: same content,
    /// same settings, an outcome that would come out the same (not a time-out or an nbkf
    /// failure, which are tried again), and every output still there.
    pub fn carry(&self, input: &str, source: &str, content: &str, settings: &str, out: &Path) -> Option<Carried> {
        let prior = self.records.get(&(input.to_string(), source.to_string()))?;
        let repeatable = matches!(
            prior.outcome,
            Outcome::Converted | Outcome::ConvertedWithWarnings | Outcome::Refused | Outcome::Invalid
        );
        let same = prior.content_sha256 == content && prior.settings_sha256 == settings;
        let outputs_there = prior.outputs.iter().all(|o| out.join(o).is_file());
        (repeatable && same && outputs_there).then(|| Carried {
            outcome: prior.outcome,
            source: source.to_string(),
            offset: prior.offset,
            len: prior.len,
        })
    }

    /// The carried record read again from the earlier report, marked `"resumed": true`.
    pub fn read(&self, carried: &Carried) -> std::io::Result<Value> {
        let mut bytes = vec![0u8; carried.len];
        read_exact_at(&self.file, &mut bytes, carried.offset)?;
        let mut value: Value = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("resumed".into(), Value::Bool(true));
        }
        Ok(value)
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_report_is_refused_and_a_missing_one_is_no_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        assert!(Previous::load(&path).unwrap().is_none());
        std::fs::write(&path, "{\"something\": \"else\"}\n").unwrap();
        let error = Previous::load(&path).unwrap_err();
        assert!(error.contains("is not a report of `nbkf migrate`"), "{error}");
    }

    #[test]
    fn records_are_found_by_line_and_read_again_marked_resumed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let hash = "a".repeat(64);
        let record = |source: &str, outcome: &str| {
            format!(
                "{{\"source\":\"{source}\",\"input\":\"in\",\"outcome\":\"{outcome}\",\"content_sha256\":\"{hash}\",\"settings_sha256\":\"{hash}\",\"outputs\":[],\"resumed\":false}}"
            )
        };
        let text = format!(
            "{{\"schema\":\"{REPORT_SCHEMA}\",\"records\":[\n{},\n{}\n],\"totals\":{{}}}}\n",
            record("a.ipynb", "refused"),
            record("b.ipynb", "timed_out")
        );
        std::fs::write(&path, text).unwrap();
        let previous = Previous::load(&path).unwrap().unwrap();
        assert_eq!(previous.len(), 2);
        let carried = previous.carry("in", "a.ipynb", &hash, &hash, dir.path()).expect("a refusal is carried over");
        let value = previous.read(&carried).unwrap();
        assert_eq!(value["source"], "a.ipynb");
        assert_eq!(value["resumed"], true);
        assert!(previous.carry("in", "b.ipynb", &hash, &hash, dir.path()).is_none(), "a time-out is tried again");
        assert!(previous.carry("in", "a.ipynb", &"b".repeat(64), &hash, dir.path()).is_none(), "changed content");
        assert!(previous.carry("other", "a.ipynb", &hash, &hash, dir.path()).is_none(), "another input");
    }
}
