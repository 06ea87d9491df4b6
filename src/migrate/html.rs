//! STUB of `report.html` (the HTML report is written on another branch, `mhtml`, with this
//! same interface; this minimal version only lets `migrate` compile and is replaced when
//! the branches are merged).

use std::io::Write;

/// Writes `report.html` as records arrive.
pub struct HtmlReport<W: Write> {
    out: W,
}

impl<W: Write> HtmlReport<W> {
    /// Starts the document.
    pub fn new(mut out: W, title: &str) -> std::io::Result<Self> {
        write!(out, "<!doctype html><meta charset=utf-8><title>{}</title><ul>", escape(title))?;
        Ok(HtmlReport { out })
    }

    /// One notebook's record and, when it converted, its pipeline drawn as SVG.
    pub fn add(&mut self, record: &serde_json::Value, svg: Option<&str>) -> std::io::Result<()> {
        let text = |k: &str| record.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        write!(self.out, "<li>{}: {}</li>", escape(&text("source")), escape(&text("outcome")))?;
        if let Some(svg) = svg {
            self.out.write_all(svg.as_bytes())?;
        }
        Ok(())
    }

    /// The totals and common diagnostics, then closes the document.
    pub fn finish(mut self, totals: &serde_json::Value, common: &serde_json::Value) -> std::io::Result<W> {
        write!(self.out, "</ul><pre>{}\n{}</pre>", escape(&totals.to_string()), escape(&common.to_string()))?;
        Ok(self.out)
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
