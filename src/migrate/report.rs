//! `report.json` and `report.html`, written as the notebooks finish: each record goes to
//! both files at once and is then dropped; only the totals and the common diagnostics
//! (one entry per distinct code) are kept. Both files are written to temporary files
//! beside their targets and renamed over them at the end, so a reader never sees half a
//! report (and an earlier report stays whole until then; `--resume` reads from it).
//!
//! Layout of `report.json` (the schema does not need it, `--resume` does): the header on
//! the first line up to `"records":[`, then one record per line, in the order the
//! notebooks finished, then the closing fields on the last line.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{json, Value};
use tempfile::NamedTempFile;

use super::html::HtmlReport;
use super::job::Finished;
use super::record::{CommonDiagnostics, Totals};
use super::resume::Previous;
use super::REPORT_SCHEMA;

/// What the report's first line says.
pub struct Header {
    pub started: SystemTime,
    pub inputs: Vec<String>,
    pub out: String,
    pub settings: Value,
}

/// Writes both reports as records arrive.
pub struct ReportWriter {
    json: BufWriter<NamedTempFile>,
    html: HtmlReport<BufWriter<NamedTempFile>>,
    dir: PathBuf,
    records: u64,
    totals: Totals,
    common: CommonDiagnostics,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

fn temp_in(dir: &Path) -> std::io::Result<NamedTempFile> {
    tempfile::Builder::new().prefix(".nbkf-report-").suffix(".tmp").tempfile_in(dir)
}

impl ReportWriter {
    /// Starts both reports in `dir` (temporary files until [`ReportWriter::finish`]).
    pub fn create(dir: &Path, header: &Header) -> std::io::Result<Self> {
        let mut json = BufWriter::new(temp_in(dir)?);
        let head = json!({
            "schema": REPORT_SCHEMA,
            "nbkf_version": env!("CARGO_PKG_VERSION"),
            "started": rfc3339(header.started),
            "inputs": header.inputs,
            "out": header.out,
            "settings": header.settings,
        });
        let head = serde_json::to_string(&head)?;
        // `{...}` without its closing brace, then the records' list.
        write!(json, "{},\"records\":[", &head[..head.len() - 1])?;
        let title = format!("nbkf migrate: {}", header.inputs.join(", "));
        let html = HtmlReport::new(BufWriter::new(temp_in(dir)?), &title)?;
        Ok(ReportWriter {
            json,
            html,
            dir: dir.to_path_buf(),
            records: 0,
            totals: Totals::default(),
            common: CommonDiagnostics::default(),
        })
    }

    /// Adds one notebook's record (a carried-over one is read from the earlier report).
    pub fn add(&mut self, finished: Finished, previous: Option<&Previous>) -> std::io::Result<()> {
        let (record, svg) = match finished {
            Finished::New { record, svg } => (serde_json::to_value(&*record)?, svg),
            Finished::Carried(carried) => {
                let previous = previous.ok_or_else(|| std::io::Error::other("no earlier report to resume from"))?;
                let record = previous.read(&carried)?;
                let dir = &self.dir;
                // The drawing, when the earlier run wrote one (`--graph`).
                let svg = record
                    .get("outputs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .find(|o| o.ends_with(".svg"))
                    .and_then(|o| std::fs::read_to_string(dir.join(o)).ok());
                (record, svg)
            }
        };
        self.json.write_all(if self.records == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut self.json, &record)?;
        self.html.add(&record, svg.as_deref())?;
        self.records += 1;
        self.totals.count(&record);
        self.common.count(&record);
        Ok(())
    }

    /// Closes both reports and puts them in place; returns the totals.
    pub fn finish(mut self, finished: SystemTime) -> std::io::Result<Totals> {
        let totals = serde_json::to_value(&self.totals)?;
        let common = self.common.to_json();
        let tail = json!({"finished": rfc3339(finished), "totals": totals, "common_diagnostics": common});
        let tail = serde_json::to_string(&tail)?;
        // `],` then the tail's fields without its opening brace.
        write!(self.json, "\n],{}\n", &tail[1..])?;
        let json = self.json.into_inner().map_err(|e| e.into_error())?;
        let html = self.html.finish(&totals, &common)?.into_inner().map_err(|e| e.into_error())?;
        for (file, name) in [(json, "report.json"), (html, "report.html")] {
            file.as_file().sync_all()?;
            file.persist(self.dir.join(name)).map_err(|e| e.error)?;
        }
        Ok(self.totals)
    }
}
