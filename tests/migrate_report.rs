//! The HTML report of a batch (`nbkf::migrate::html`) in a real browser: a report written
//! by the library for real conversions (fixtures and corpus notebooks, with their steps,
//! edges, diagnostics and drawings) and a few made-up failures, opened from disk in headless
//! system Chromium driven by Playwright (`tests/support/migrate_report_test.py`): the totals
//! shown are the totals given and match the rows, sorting, filtering, a row's details with
//! its diagnostics and drawing, the keyboard, no console errors, and a 1,200-row report
//! that stays quick. Screenshots are kept in `<target>/migrate-report-screenshots/`.
//!
//! Without Chromium the test fails when `CI` or `NBKF_REQUIRE_CHROMIUM` is set; elsewhere it
//! says so and returns.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use nbkf::graph::{self, Format};
use nbkf::migrate::html::HtmlReport;
use nbkf::{convert_file, ConvertOptions, Severity};
use serde_json::{json, Value};

use common::{chromium, python, repo, screenshots, shared};

/// Rows of the large report.
const LARGE_ROWS: usize = 1200;

/// The record of one notebook converted with the library, and its drawing when it converted.
fn record(path: &Path, source: &str, input: &str) -> (Value, Option<String>) {
    let started = Instant::now();
    let conversion = match convert_file(path, &ConvertOptions::default()) {
        Ok(c) => c,
        Err(e) => {
            let record = json!({"source": source, "input": input, "outcome": "unreadable", "message": e.to_string(),
                                "timings_ms": {"total": started.elapsed().as_secs_f64() * 1000.0}});
            return (record, None);
        }
    };
    let convert_ms = started.elapsed().as_secs_f64() * 1000.0;
    let summary = nbkf::plan::summary(&conversion.plan);
    let errors = conversion.has_errors();
    let warnings = conversion.diagnostics.iter().any(|d| d.severity == Severity::Warning);
    let outcome = match (errors, warnings) {
        (true, _) => "refused",
        (false, true) => "converted_with_warnings",
        (false, false) => "converted",
    };
    let mut edges: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for step in &summary.steps {
        for input in &step.inputs {
            edges.entry((input.from.clone(), step.name.clone())).or_default().push(input.variable.clone());
        }
    }
    let mut packages: Vec<String> = summary.steps.iter().flat_map(|s| s.packages.clone()).collect();
    packages.sort();
    packages.dedup();
    let diagnostics: Vec<Value> = conversion
        .diagnostics
        .iter()
        .map(|d| {
            json!({"severity": if d.severity == Severity::Error { "error" } else { "warning" }, "code": d.code,
                   "message": d.message, "cell": d.cell.map(|c| c + 1), "cell_id": null,
                   "line": d.span.as_ref().map(|s| s.line), "column": d.span.as_ref().map(|s| s.column),
                   "hint": d.hint})
        })
        .collect();
    let message = errors.then(|| {
        let first = conversion.diagnostics.iter().find(|d| d.severity == Severity::Error).unwrap();
        format!("{}: {}", first.code, first.message)
    });
    let stem = source.trim_end_matches(".ipynb");
    let record = json!({
        "source": source, "input": input, "outcome": outcome, "message": message,
        "pipeline_name": (!errors).then(|| summary.pipeline.clone()),
        "steps": summary.steps.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "edges": edges.into_iter().map(|((from, to), variables)| json!({"from": from, "to": to, "variables": variables})).collect::<Vec<_>>(),
        "parameters": summary.parameters.iter().map(|p| json!({"name": p.name, "type": p.kind, "default": p.default.to_string()})).collect::<Vec<_>>(),
        "packages": packages,
        "outputs": if errors { vec![] } else { vec![format!("{stem}.pipeline.yaml")] },
        "diagnostics": diagnostics,
        "content_sha256": "0".repeat(64), "settings_sha256": "1".repeat(64), "resumed": false,
        "timings_ms": {"read": 0.1, "convert": convert_ms, "write": 0.2, "total": convert_ms + 0.3},
        "check": null,
    });
    (record, (!errors).then(|| graph::draw(&summary, Format::Svg)))
}

/// Records that no conversion gives here: a hostile path, an invalid and an unreadable
/// notebook, a time-out, and one with nothing but a source and an outcome.
fn made_up() -> Vec<Value> {
    vec![
        json!({"source": "corpus/evil/<script>alert('x')</script>.ipynb", "input": "corpus", "outcome": "refused",
               "message": "undefined-name: <script>document.title='pwned'</script> is not defined",
               "steps": [], "diagnostics": [{"severity": "error", "code": "undefined-name",
               "message": "name '<img src=x onerror=alert(1)>' is not defined", "cell": 2, "line": 1, "column": 1,
               "hint": "define it <b>first</b>"}], "timings_ms": {"total": 1.25}}),
        json!({"source": "corpus/broken/invalid.ipynb", "input": "corpus", "outcome": "invalid",
               "message": "not a notebook: missing field `cells`", "timings_ms": {"read": 0.5, "total": 0.75}}),
        json!({"source": "corpus/broken/unreadable.ipynb", "input": "corpus", "outcome": "unreadable",
               "message": "permission denied", "diagnostics": null, "timings_ms": {"total": 0.5}}),
        json!({"source": "corpus/slow/huge.ipynb", "input": "corpus", "outcome": "timed_out",
               "message": "conversion took longer than 30s", "timings_ms": {"total": 30000.0}}),
        json!({"source": "corpus/bare.ipynb", "outcome": "failed"}),
    ]
}

/// The totals of records, as `nbkf migrate` counts them.
fn totals(records: &[Value]) -> Value {
    let mut t: BTreeMap<&str, u64> = [
        "notebooks",
        "converted",
        "converted_with_warnings",
        "refused",
        "unreadable",
        "invalid",
        "failed",
        "timed_out",
        "resumed",
        "check_passed",
        "check_failed",
    ]
    .into_iter()
    .map(|k| (k, 0))
    .collect();
    for r in records {
        *t.get_mut("notebooks").unwrap() += 1;
        let outcome = r["outcome"].as_str().unwrap();
        if outcome == "converted_with_warnings" {
            *t.get_mut("converted").unwrap() += 1;
        }
        *t.get_mut(outcome).unwrap() += 1;
        match r["check"]["outcome"].as_str() {
            Some("passed") => *t.get_mut("check_passed").unwrap() += 1,
            Some(_) => *t.get_mut("check_failed").unwrap() += 1,
            None => {}
        }
    }
    json!(t)
}

/// The most common diagnostics of records, most common first.
fn common_diagnostics(records: &[Value]) -> Value {
    let mut by_code: BTreeMap<(String, String), (u64, u64, String)> = BTreeMap::new();
    for r in records {
        let mut seen = Vec::new();
        for d in r["diagnostics"].as_array().into_iter().flatten() {
            let key = (d["code"].as_str().unwrap().to_string(), d["severity"].as_str().unwrap().to_string());
            let entry = by_code.entry(key.clone()).or_insert((0, 0, d["message"].as_str().unwrap().to_string()));
            entry.0 += 1;
            if !seen.contains(&key) {
                entry.1 += 1;
                seen.push(key);
            }
        }
    }
    let mut rows: Vec<_> = by_code.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
    rows.into_iter()
        .map(|((code, severity), (count, notebooks, example))| {
            json!({"code": code, "severity": severity, "count": count, "notebooks": notebooks, "example": example})
        })
        .collect()
}

/// Writes a report of `rows` to `path`.
fn write_report(path: &Path, title: &str, rows: &[(Value, Option<String>)]) -> Value {
    let records: Vec<Value> = rows.iter().map(|(r, _)| r.clone()).collect();
    let totals = totals(&records);
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut report = HtmlReport::new(file, title).unwrap();
    for (record, svg) in rows {
        report.add(record, svg.as_deref()).unwrap();
    }
    report.finish(&totals, &common_diagnostics(&records)).unwrap();
    json!({"totals": totals, "records": records})
}

#[test]
fn the_report_shows_totals_sorts_filters_and_opens_rows() {
    let Some(chromium) = chromium() else { return };
    let python = python();

    let mut rows = Vec::new();
    let mut notebooks: Vec<(PathBuf, String, &str)> = Vec::new();
    for (dir, input, take) in
        [(repo().join("fixtures"), "fixtures", usize::MAX), (shared().join("corpus"), "corpus", 12)]
    {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
            .collect();
        files.sort();
        for f in files.into_iter().take(take) {
            let source = format!("{input}/{}", f.file_name().unwrap().to_string_lossy());
            notebooks.push((f, source, input));
        }
    }
    for (path, source, input) in &notebooks {
        rows.push(record(path, source, input));
    }
    // A check outcome on a few converted notebooks.
    let checks = [
        json!({"outcome": "passed", "message": null, "seconds": 4.2}),
        json!({"outcome": "differs", "message": "metric accuracy: 0.91 ≠ 0.9", "seconds": 6.0}),
        json!({"outcome": "failed", "message": "step train exited with 1", "seconds": 2.5}),
    ];
    for (row, check) in rows.iter_mut().filter(|(_, svg)| svg.is_some()).zip(checks) {
        row.0["check"] = check;
    }
    rows.extend(made_up().into_iter().map(|r| (r, None)));
    let outcomes: Vec<&str> = rows.iter().map(|(r, _)| r["outcome"].as_str().unwrap()).collect();
    for expected in ["converted", "converted_with_warnings", "refused"] {
        assert!(outcomes.contains(&expected), "no {expected} notebook among {outcomes:?}");
    }

    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.html");
    let expected = write_report(&report, "Migration of fixtures & corpus <test>", &rows);
    let html = std::fs::read_to_string(&report).unwrap();
    assert_eq!(html.matches("<script").count(), 1, "a record's string got in unescaped");

    // The large report: the same records again and again.
    let large: Vec<_> = (0..LARGE_ROWS)
        .map(|i| {
            let (mut r, svg) = rows[i % rows.len()].clone();
            r["source"] = json!(format!("batch{:02}/{}", i / rows.len(), r["source"].as_str().unwrap()));
            (r, svg)
        })
        .collect();
    let large_report = dir.path().join("large.html");
    write_report(&large_report, "Large batch", &large);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len() / 1024;
    println!(
        "report.html: {} KiB for {} rows; large.html: {} KiB for {LARGE_ROWS}",
        size(&report),
        rows.len(),
        size(&large_report)
    );
    let expected_path = dir.path().join("expected.json");
    std::fs::write(&expected_path, expected.to_string()).unwrap();

    let shots = screenshots("migrate-report-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new(&python)
        .arg(repo().join("tests/support/migrate_report_test.py"))
        .arg(&report)
        .arg(&expected_path)
        .arg(&shots)
        .arg("--chromium")
        .arg(&chromium)
        .arg("--large")
        .arg(&large_report)
        .args(["--large-rows", &LARGE_ROWS.to_string()])
        .output()
        .expect("cannot run tests/support/migrate_report_test.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    println!("screenshots: {}", shots.display());
    assert!(out.status.success(), "the report test failed:\n{stdout}\n{stderr}\nscreenshots: {}", shots.display());
    assert!(stdout.contains("report: ok"), "{stdout}");
    for shot in ["overview.png", "sorted.png", "filtered.png", "expanded.png", "large.png"] {
        assert!(shots.join(shot).is_file(), "no screenshot {shot} in {}", shots.display());
    }
}
