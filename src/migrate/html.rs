//! The HTML report of a batch: one self-contained page (its style sheet and small script
//! inline, nothing fetched), written as the batch goes.
//!
//! [`HtmlReport::add`] writes a notebook's rows at once and keeps nothing of it, so the
//! memory used does not grow with the batch. The totals and the most common diagnostics are
//! only known at [`HtmlReport::finish`]: they are written at the end of the document and
//! shown first by the page's flex column (CSS `order`).
//!
//! The notebooks table has one `<tbody class="rec">` per notebook, carrying what the script
//! sorts and filters on (`data-source`, `data-outcome`, `data-steps`, `data-warnings`,
//! `data-errors`, `data-check`, `data-time`); its first row (`tr.row`, focusable) opens
//! the second (`tr.detail`: message, diagnostics, outputs, parameters, packages, check and
//! the pipeline's drawing). The totals are `[data-total=NAME]` elements.
//!
//! Every string of a record is HTML-escaped; the SVG drawing (nbkf's own, [`crate::graph`])
//! is inserted as it is, with its element ids prefixed so that many drawings can share
//! the page.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde_json::Value;

const CSS: &str = include_str!("report/report.css");
const JS: &str = include_str!("report/report.js");

/// The outcomes of a notebook, in the order they are listed, with their labels.
const OUTCOMES: [(&str, &str); 7] = [
    ("converted", "converted"),
    ("converted_with_warnings", "with warnings"),
    ("refused", "refused"),
    ("unreadable", "unreadable"),
    ("invalid", "invalid"),
    ("failed", "failed"),
    ("timed_out", "timed out"),
];

/// The outcomes counted as "other failures" in the totals.
const OTHER_FAILURES: [&str; 4] = ["unreadable", "invalid", "failed", "timed_out"];

/// What the report shows for a missing or null value.
const MISSING: &str = "—";

/// The columns of the notebooks table: sort key, heading, whether numeric.
const COLUMNS: [(&str, &str, bool); 7] = [
    ("source", "Notebook", false),
    ("outcome", "Outcome", false),
    ("steps", "Steps", true),
    ("warnings", "Warnings", true),
    ("errors", "Errors", true),
    ("check", "Check", false),
    ("time", "Time (ms)", true),
];

/// The HTML report of a batch, streamed to `out`: [`new`](Self::new) writes the head of
/// the page, [`add`](Self::add) a notebook, [`finish`](Self::finish) the totals and the end.
pub struct HtmlReport<W: Write> {
    out: W,
    /// Notebooks added so far: numbers the detail rows and the drawings' id prefixes.
    rows: usize,
    /// The style sheet of the first drawing; later drawings with the same one drop theirs.
    svg_style: Option<String>,
}

impl<W: Write> HtmlReport<W> {
    /// Starts the page titled `title` (with the time it was made) on `out`.
    pub fn new(mut out: W, title: &str) -> io::Result<Self> {
        let when = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        let mut head = String::with_capacity(CSS.len() + 4096);
        let title = esc(title);
        let _ = write!(
            head,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"nbkf {version}\">\n<title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n\
             <body>\n<main class=\"page\">\n<header class=\"head\"><h1>{title}</h1>\
             <p class=\"when\">Generated <time datetime=\"{when}\">{when}</time> by nbkf {version}</p></header>\n\
             <section class=\"notebooks\" aria-labelledby=\"nb-h\">\n<h2 id=\"nb-h\">Notebooks</h2>\n\
             <div class=\"controls\"><input type=\"search\" id=\"filter\" placeholder=\"Filter by path or message\" \
             aria-label=\"Filter notebooks by path or message\" autocomplete=\"off\">\
             <div class=\"chips\" role=\"group\" aria-label=\"Outcomes shown\">",
            version = env!("CARGO_PKG_VERSION"),
        );
        for (outcome, label) in OUTCOMES {
            let _ = write!(
                head,
                "<label class=\"chip o-{outcome}\"><input type=\"checkbox\" value=\"{outcome}\" checked>\
                 <span>{label}</span> <span class=\"n\" data-chip-count=\"{outcome}\">0</span></label>"
            );
        }
        head.push_str(
            "</div><span class=\"shown\" id=\"shown\" aria-live=\"polite\"></span></div>\n\
             <div class=\"table-wrap\"><table id=\"notebooks\">\n<thead><tr>",
        );
        for (key, heading, numeric) in COLUMNS {
            let _ = write!(
                head,
                "<th data-sort=\"{key}\" data-type=\"{}\" aria-sort=\"none\" class=\"{}\"><button type=\"button\">{heading}</button></th>",
                if numeric { "num" } else { "text" },
                if numeric { "c-num" } else { "" }
            );
        }
        head.push_str("</tr></thead>\n");
        out.write_all(head.as_bytes())?;
        Ok(HtmlReport { out, rows: 0, svg_style: None })
    }

    /// One notebook's record (a JSON object, shape below) and, when it converted, its pipeline drawn as SVG.
    ///
    /// The record is an element of `report.json`'s `records`: `source`, `input`, `outcome`,
    /// `message`, `pipeline_name`, `steps`, `edges`, `parameters`, `packages`, `outputs`,
    /// `diagnostics`, `content_sha256`, `settings_sha256`, `resumed`, `timings_ms` and
    /// `check`; any of them may be missing or null (shown as "—"). Written to the output
    /// at once.
    pub fn add(&mut self, record: &Value, svg: Option<&str>) -> io::Result<()> {
        self.rows += 1;
        let n = self.rows;
        let mut html = String::with_capacity(2048 + svg.map_or(0, str::len));
        let source = record.get("source").and_then(Value::as_str);
        let outcome = outcome_class(record.get("outcome").and_then(Value::as_str));
        let steps = record.get("steps").and_then(Value::as_array).map(Vec::len);
        let diagnostics = record.get("diagnostics").and_then(Value::as_array);
        let count = |severity: &str| {
            diagnostics
                .map(|d| d.iter().filter(|d| d.get("severity").and_then(Value::as_str) == Some(severity)).count())
        };
        let (warnings, errors) = (count("warning"), count("error"));
        let check = record.get("check").filter(|c| c.is_object());
        let check_outcome = check.and_then(|c| c.get("outcome")).and_then(Value::as_str);
        let time = record.get("timings_ms").and_then(|t| t.get("total")).and_then(Value::as_f64);
        let message = record.get("message").and_then(Value::as_str).filter(|m| !m.is_empty());
        let opt = |v: Option<usize>| v.map_or(String::new(), |v| v.to_string());

        let _ = writeln!(
            html,
            "<tbody class=\"rec\" data-source=\"{}\" data-outcome=\"{}\" data-steps=\"{}\" data-warnings=\"{}\" \
             data-errors=\"{}\" data-check=\"{}\" data-time=\"{}\">",
            esc(source.unwrap_or("")),
            esc(outcome),
            opt(steps),
            opt(warnings),
            opt(errors),
            esc(check_outcome.unwrap_or("")),
            time.map_or(String::new(), |t| t.to_string()),
        );
        let _ = write!(
            html,
            "<tr class=\"row\" tabindex=\"0\" aria-expanded=\"false\" aria-controls=\"d{n}\" data-source=\"{}\" \
             data-outcome=\"{}\"><td class=\"path\"><span class=\"caret\" aria-hidden=\"true\"></span>\
             <span class=\"src\">{}</span>",
            esc(source.unwrap_or("")),
            esc(outcome),
            esc(source.unwrap_or(MISSING)),
        );
        if let Some(message) = message {
            let _ = write!(html, "<span class=\"sub\">{}</span>", esc(first_line(message)));
        }
        let _ = writeln!(
            html,
            "</td><td>{}</td><td class=\"c-num\">{}</td><td class=\"c-num{}\">{}</td><td class=\"c-num{}\">{}</td>\
             <td>{}</td><td class=\"c-num\">{}</td></tr>",
            outcome_badge(outcome),
            steps.map_or(MISSING.to_string(), |s| s.to_string()),
            if warnings.unwrap_or(0) > 0 { " has-warnings" } else { "" },
            warnings.map_or(MISSING.to_string(), |s| s.to_string()),
            if errors.unwrap_or(0) > 0 { " has-errors" } else { "" },
            errors.map_or(MISSING.to_string(), |s| s.to_string()),
            check_outcome.map_or(MISSING.to_string(), |c| badge("k", c, &c.replace('_', " "))),
            time.map_or(MISSING.to_string(), |t| format!("{t:.1}")),
        );
        let _ = write!(
            html,
            "<tr class=\"detail\" id=\"d{n}\" hidden><td colspan=\"{}\"><div class=\"detail-body\">",
            COLUMNS.len()
        );
        if let Some(message) = message {
            let _ = write!(html, "<p class=\"msg q\">{}</p>", esc(message));
        }
        self.facts(&mut html, record);
        diagnostics_table(&mut html, diagnostics);
        match svg {
            Some(svg) => {
                let _ = write!(html, "<div class=\"graph\" data-graph=\"{n}\">{}</div>", self.embed(svg, n));
            }
            None => {
                if let Some(steps) = record.get("steps").and_then(Value::as_array).filter(|s| !s.is_empty()) {
                    let _ = write!(html, "<p class=\"steps\"><b>Steps</b> {}</p>", list(steps, " → "));
                }
            }
        }
        html.push_str("</div></td></tr>\n</tbody>\n");
        self.out.write_all(html.as_bytes())
    }

    /// The totals and common_diagnostics (shapes below), then closes the document; returns the writer.
    ///
    /// `totals` has the counts `notebooks`, `converted` (those with warnings included),
    /// `converted_with_warnings`, `refused`, `unreadable`, `invalid`, `failed`,
    /// `timed_out`, `resumed`, `check_passed` and `check_failed`; `common` is an array of
    /// `{code, severity, count, notebooks, example}`, most common first.
    pub fn finish(mut self, totals: &Value, common: &Value) -> io::Result<W> {
        let mut html = String::with_capacity(8192 + JS.len());
        html.push_str("</table></div>\n<p class=\"empty\" id=\"empty\" hidden>No notebook matches.</p>\n</section>\n");
        totals_section(&mut html, totals);
        common_section(&mut html, common);
        let _ = write!(html, "<script>\n{JS}</script>\n</main>\n</body>\n</html>\n");
        self.out.write_all(html.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// The facts of a record's detail: pipeline, input, outputs, parameters, packages,
    /// check, timings, hashes.
    fn facts(&self, html: &mut String, record: &Value) {
        html.push_str("<dl class=\"facts\">");
        let mut fact = |name: &str, value: String| {
            let _ = write!(html, "<dt>{name}</dt><dd>{value}</dd>");
        };
        fact("Pipeline", text(record.get("pipeline_name")));
        fact("Input", text(record.get("input")));
        let outputs = record.get("outputs").and_then(Value::as_array);
        fact("Outputs", outputs.filter(|o| !o.is_empty()).map_or(MISSING.into(), |o| list(o, "<br>")));
        let parameters = record.get("parameters").and_then(Value::as_array).filter(|p| !p.is_empty());
        fact(
            "Parameters",
            parameters.map_or(MISSING.into(), |ps| {
                ps.iter()
                    .map(|p| {
                        format!(
                            "<code>{}</code>: {} = <code>{}</code>",
                            text(p.get("name")),
                            text(p.get("type")),
                            text(p.get("default"))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("<br>")
            }),
        );
        let packages = record.get("packages").and_then(Value::as_array).filter(|p| !p.is_empty());
        fact("Packages", packages.map_or(MISSING.into(), |p| list(p, ", ")));
        let check = record.get("check").filter(|c| c.is_object());
        fact(
            "Check",
            check.map_or(MISSING.into(), |c| {
                let outcome = c.get("outcome").and_then(Value::as_str).unwrap_or("unknown");
                let mut s = badge("k", outcome, &outcome.replace('_', " "));
                if let Some(seconds) = c.get("seconds").and_then(Value::as_f64) {
                    let _ = write!(s, " in {seconds:.1} s");
                }
                if let Some(message) = c.get("message").and_then(Value::as_str).filter(|m| !m.is_empty()) {
                    let _ = write!(s, "<span class=\"sub q\">{}</span>", esc(message));
                }
                s
            }),
        );
        let timings = record.get("timings_ms").filter(|t| t.is_object());
        fact(
            "Timings (ms)",
            timings.map_or(MISSING.into(), |t| {
                ["read", "convert", "write", "total"]
                    .iter()
                    .map(|k| {
                        let v = t.get(*k).and_then(Value::as_f64).map_or(MISSING.into(), |v| format!("{v:.1}"));
                        format!("{k} {v}")
                    })
                    .collect::<Vec<_>>()
                    .join(" · ")
            }),
        );
        fact(
            "Resumed",
            match record.get("resumed").and_then(Value::as_bool) {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => MISSING.into(),
            },
        );
        for (name, key) in [("Content SHA-256", "content_sha256"), ("Settings SHA-256", "settings_sha256")] {
            let hash = match record.get(key).and_then(Value::as_str) {
                Some(h) if h.chars().count() > 16 => format!(
                    "<code class=\"hash\" title=\"{}\">{}…</code>",
                    esc(h),
                    esc(&h.chars().take(16).collect::<String>())
                ),
                _ => format!("<code class=\"hash\">{}</code>", text(record.get(key))),
            };
            fact(name, hash);
        }
        html.push_str("</dl>");
    }

    /// The drawing, with its ids (and the references to them) prefixed by `r{n}-`, and its
    /// style sheet dropped when the page already has the same one.
    fn embed(&mut self, svg: &str, n: usize) -> String {
        let svg = svg.trim_start();
        let svg = svg.strip_prefix("<?xml").and_then(|s| s.find("?>").map(|i| &s[i + 2..])).unwrap_or(svg);
        let mut svg = svg.replace(" id=\"", &format!(" id=\"r{n}-")).replace("url(#", &format!("url(#r{n}-"));
        if let (Some(start), Some(end)) = (svg.find("<style"), svg.find("</style>")) {
            if start < end {
                let end = end + "</style>".len();
                match &self.svg_style {
                    Some(style) if *style == svg[start..end] => svg.replace_range(start..end, ""),
                    Some(_) => {}
                    None => self.svg_style = Some(svg[start..end].to_string()),
                }
            }
        }
        svg
    }
}

/// The totals: cards with counts and shares, a stacked bar, the rest in a line.
fn totals_section(html: &mut String, totals: &Value) {
    let get = |k: &str| totals.get(k).and_then(Value::as_u64);
    let notebooks = get("notebooks");
    let converted = get("converted");
    let with_warnings = get("converted_with_warnings");
    let refused = get("refused");
    let others = OTHER_FAILURES.iter().filter_map(|k| get(k)).reduce(|a, b| a + b);
    let pct = |v: Option<u64>| match (v, notebooks) {
        (Some(v), Some(n)) if n > 0 => format!("{:.0}%", v as f64 * 100.0 / n as f64),
        _ => MISSING.into(),
    };
    let num = |v: Option<u64>| v.map_or(MISSING.into(), |v| v.to_string());
    html.push_str(
        "<section class=\"totals\" aria-labelledby=\"t-h\">\n<h2 id=\"t-h\">Totals</h2>\n<div class=\"cards\">",
    );
    let cards = [
        ("notebooks", "Notebooks", notebooks, false),
        ("converted", "Converted", converted, true),
        ("converted_with_warnings", "With warnings", with_warnings, true),
        ("refused", "Refused", refused, true),
        ("check_failed", "Failed check", get("check_failed"), true),
        ("other_failures", "Other failures", others, true),
    ];
    for (key, label, value, share) in cards {
        let _ = write!(
            html,
            "<div class=\"card t-{key}\"><div class=\"label\">{label}</div><div class=\"count\" data-total=\"{key}\">{}</div>\
             <div class=\"pct\" data-pct=\"{key}\">{}</div></div>",
            num(value),
            if share { pct(value) } else { "&nbsp;".into() }
        );
    }
    html.push_str("</div>\n");
    let clean = converted.map(|c| c.saturating_sub(with_warnings.unwrap_or(0)));
    let segments = [
        ("converted", "converted without warnings", clean),
        ("converted_with_warnings", "converted with warnings", with_warnings),
        ("refused", "refused", refused),
        ("other", "other failures", others),
    ];
    let whole: u64 = segments.iter().filter_map(|s| s.2).sum();
    let label = segments.iter().map(|(_, l, v)| format!("{l}: {}", num(*v))).collect::<Vec<_>>().join(", ");
    let _ = write!(html, "<div class=\"bar\" role=\"img\" aria-label=\"{}\">", esc(&label));
    for (key, label, value) in segments {
        if let Some(v) = value.filter(|v| *v > 0) {
            let _ = write!(
                html,
                "<span class=\"seg s-{key}\" data-segment=\"{key}\" style=\"width:{:.3}%\" title=\"{label}: {v} ({})\"></span>",
                v as f64 * 100.0 / whole as f64,
                pct(Some(v))
            );
        }
    }
    html.push_str("</div>\n<p class=\"legend\">");
    for (key, label, value) in segments {
        let _ = write!(html, "<span class=\"key\"><i class=\"s-{key}\"></i>{label} {}</span>", num(value));
    }
    html.push_str("</p>\n<p class=\"legend\">");
    let mut parts: Vec<String> = OTHER_FAILURES
        .iter()
        .map(|k| format!("{} <b data-total=\"{k}\">{}</b>", k.replace('_', " "), num(get(k))))
        .collect();
    parts.push(format!("check passed <b data-total=\"check_passed\">{}</b>", num(get("check_passed"))));
    parts.push(format!("resumed <b data-total=\"resumed\">{}</b>", num(get("resumed"))));
    html.push_str(&parts.join(" · "));
    html.push_str("</p>\n</section>\n");
}

/// The most common diagnostics of the batch.
fn common_section(html: &mut String, common: &Value) {
    html.push_str("<section class=\"common\" aria-labelledby=\"c-h\">\n<h2 id=\"c-h\">Most common diagnostics</h2>\n");
    let rows = common.as_array().filter(|c| !c.is_empty());
    let Some(rows) = rows else {
        html.push_str("<p class=\"none\">No diagnostics in this batch.</p>\n</section>\n");
        return;
    };
    html.push_str(
        "<div class=\"table-wrap\"><table id=\"common\"><thead><tr><th>Code</th><th>Severity</th><th class=\"c-num\">Count</th>\
         <th class=\"c-num\">Notebooks</th><th>Example</th></tr></thead><tbody>\n",
    );
    for row in rows {
        let _ = writeln!(
            html,
            "<tr data-code=\"{}\"><td><button type=\"button\" class=\"code\" title=\"Show the notebooks with this diagnostic\">{}</button></td><td>{}</td><td class=\"c-num\">{}</td><td class=\"c-num\">{}</td><td>{}</td></tr>",
            esc(row.get("code").and_then(Value::as_str).unwrap_or("")),
            text(row.get("code")),
            severity_badge(row.get("severity")),
            text(row.get("count")),
            text(row.get("notebooks")),
            text(row.get("example")),
        );
    }
    html.push_str("</tbody></table></div>\n</section>\n");
}

/// A record's diagnostics as a table (or a line saying there are none).
fn diagnostics_table(html: &mut String, diagnostics: Option<&Vec<Value>>) {
    let Some(diagnostics) = diagnostics.filter(|d| !d.is_empty()) else {
        html.push_str("<p class=\"none\">No diagnostics.</p>");
        return;
    };
    html.push_str(
        "<table class=\"diags q\"><thead><tr><th>Severity</th><th>Cell</th><th>Line</th><th>Code</th><th>Message</th>\
         <th>Hint</th></tr></thead><tbody>",
    );
    for d in diagnostics {
        let mut cell = text(d.get("cell"));
        if let Some(id) = d.get("cell_id").and_then(Value::as_str) {
            let _ = write!(cell, " <span class=\"sub\">{}</span>", esc(id));
        }
        let mut line = text(d.get("line"));
        if let Some(column) = d.get("column").filter(|c| !c.is_null()) {
            let _ = write!(line, ":{}", text(Some(column)));
        }
        let _ = write!(
            html,
            "<tr class=\"diag\" data-severity=\"{}\"><td>{}</td><td>{cell}</td><td>{line}</td><td><code>{}</code></td>\
             <td class=\"dmsg\">{}</td><td>{}</td></tr>",
            esc(d.get("severity").and_then(Value::as_str).unwrap_or("")),
            severity_badge(d.get("severity")),
            text(d.get("code")),
            text(d.get("message")),
            text(d.get("hint")),
        );
    }
    html.push_str("</tbody></table>");
}

/// The outcome as a class name: a known outcome, else `unknown`.
fn outcome_class(outcome: Option<&str>) -> &str {
    match outcome {
        Some(o) if OUTCOMES.iter().any(|(known, _)| *known == o) => o,
        _ => "unknown",
    }
}

fn outcome_badge(outcome: &str) -> String {
    let label = OUTCOMES.iter().find(|(o, _)| *o == outcome).map_or("unknown", |(_, l)| l);
    badge("o", outcome, label)
}

fn severity_badge(severity: Option<&Value>) -> String {
    match severity.and_then(Value::as_str) {
        Some(s) => badge("v", s, s),
        None => MISSING.into(),
    }
}

/// A badge of class `{prefix}-{kind}` (kind reduced to letters, digits, `_` and `-`).
fn badge(prefix: &str, kind: &str, label: &str) -> String {
    let kind: String = kind.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    format!("<span class=\"badge {prefix}-{kind}\">{}</span>", esc(label))
}

/// A JSON value as escaped text: strings as they are, null or missing as "—".
fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => MISSING.into(),
        Some(Value::String(s)) => esc(s),
        Some(Value::Bool(b)) => (if *b { "yes" } else { "no" }).into(),
        Some(other) => esc(&other.to_string()),
    }
}

/// The items of an array, escaped, joined by `sep` (raw HTML).
fn list(items: &[Value], sep: &str) -> String {
    items.iter().map(|v| format!("<code>{}</code>", text(Some(v)))).collect::<Vec<_>>().join(sep)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// `text` escaped for HTML text and attribute values (as in the drawings' SVG).
fn esc(text: &str) -> String {
    crate::graph::xml(text)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use serde_json::json;

    use super::*;

    /// A writer whose bytes the test can read while the report still owns it.
    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.borrow().clone()).unwrap()
        }
    }

    fn report(records: &[(Value, Option<&str>)]) -> String {
        let mut report = HtmlReport::new(Vec::new(), "Batch <1>").unwrap();
        for (record, svg) in records {
            report.add(record, *svg).unwrap();
        }
        let out = report.finish(&json!({"notebooks": records.len(), "converted": 1}), &json!([])).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_of_records_are_escaped() {
        let record = json!({
            "source": "a/<script>alert(1)</script>.ipynb", "outcome": "refused",
            "message": "bad <script>x</script> & \"q\"", "pipeline_name": "<script>",
            "diagnostics": [{"severity": "error", "code": "<script>", "message": "<script>m</script>",
                             "hint": "<img src=x onerror=alert(1)>", "cell": 1, "cell_id": "<b>", "line": 2, "column": 3}],
            "outputs": ["<script>.yaml"], "packages": ["<script>"],
            "parameters": [{"name": "<script>", "type": "str", "default": "</script>"}],
            "check": {"outcome": "failed", "message": "<script>", "seconds": 1.5}
        });
        let html = report(&[(record, None)]);
        let common =
            json!([{"code": "<script>", "severity": "warning", "count": 1, "notebooks": 1, "example": "<script>"}]);
        let mut r = HtmlReport::new(Vec::new(), "<script>").unwrap();
        r.add(&json!({"source": "x", "outcome": "<script>"}), None).unwrap();
        let other = String::from_utf8(r.finish(&json!({}), &common).unwrap()).unwrap();
        for html in [html, other] {
            // The page's own script is the only one.
            assert_eq!(html.matches("<script").count(), 1, "{html}");
            assert!(!html.contains("<img"), "{html}");
            assert!(!html.contains("<b>"), "{html}");
        }
    }

    #[test]
    fn a_row_is_written_when_added() {
        let out = Shared::default();
        let mut report = HtmlReport::new(out.clone(), "t").unwrap();
        assert!(out.text().contains("<table id=\"notebooks\">"));
        assert!(!out.text().contains("first.ipynb"));
        report.add(&json!({"source": "first.ipynb", "outcome": "converted", "steps": ["a", "b"]}), None).unwrap();
        let after = out.text();
        assert!(after.contains("data-source=\"first.ipynb\""), "{after}");
        assert!(after.trim_end().ends_with("</tbody>"), "{after}");
        assert!(!after.contains("data-total"));
        report.add(&json!({"source": "second.ipynb", "outcome": "refused"}), None).unwrap();
        assert!(out.text().contains("second.ipynb"));
        report.finish(&json!({"notebooks": 2, "converted": 1, "refused": 1}), &json!([])).unwrap();
        let done = out.text();
        assert!(done.contains("<div class=\"count\" data-total=\"notebooks\">2</div>"), "{done}");
        assert!(done.contains("<div class=\"pct\" data-pct=\"refused\">50%</div>"), "{done}");
        assert!(done.ends_with("</html>\n"));
    }

    #[test]
    fn missing_fields_are_shown_as_dashes() {
        let html = report(&[
            (json!({}), None),
            (json!({"source": null, "diagnostics": null, "check": null}), None),
            (json!(null), None),
        ]);
        assert_eq!(html.matches("<tbody class=\"rec\"").count(), 3);
        assert!(html.contains("data-outcome=\"unknown\""));
        assert!(html.contains("<td class=\"c-num\">—</td>"));
        assert!(html.contains("<dt>Check</dt><dd>—</dd>"));
        assert!(html.contains("<div class=\"count\" data-total=\"refused\">—</div>"));
        let blank =
            String::from_utf8(HtmlReport::new(Vec::new(), "").unwrap().finish(&json!(null), &json!(null)).unwrap());
        assert!(blank.unwrap().contains("No diagnostics in this batch."));
    }

    #[test]
    fn drawings_get_their_own_ids_and_share_one_style_sheet() {
        let svg = "<svg class=\"nbkf-graph\"><style>\n.a{}</style><defs><marker id=\"m\"/></defs>\
                   <g class=\"node step\" id=\"step-a\"><path marker-end=\"url(#m)\"/></g></svg>";
        let converted = json!({"source": "a", "outcome": "converted"});
        let html = report(&[(converted.clone(), Some(svg)), (converted, Some(svg))]);
        assert!(html.contains("id=\"r1-m\"") && html.contains("url(#r1-m)") && html.contains("id=\"r1-step-a\""));
        assert!(html.contains("id=\"r2-m\"") && html.contains("url(#r2-m)"));
        assert_eq!(html.matches(".a{}").count(), 1);
    }
}
