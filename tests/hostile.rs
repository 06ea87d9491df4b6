//! Hostile and huge inputs: broken or mistyped JSON, odd encodings, and notebooks far larger
//! than usual. Each must give a clear error (what and where) or a correct result, within the
//! time and memory limits below, and never a panic or a stack overflow.
//!
//! The big inputs are generated into a temporary directory; nothing large is committed.
//! Limits are asserted against the debug build these tests run (measured on 2 cores,
//! with roughly 2-5x headroom for a loaded machine); release numbers are in the README.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{nbkf, repo};
use serde_json::{json, Value};

/// Runs `nbkf convert FILE -o DIR/out.yaml` and returns (output, yaml path, wall time).
fn convert(file: &Path) -> (Output, PathBuf, Duration) {
    let yaml = file.with_extension("yaml");
    let started = Instant::now();
    let out = nbkf().arg("convert").arg(file).arg("-o").arg(&yaml).output().expect("cannot run nbkf");
    (out, yaml, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `bytes` as `name` in `dir` and converts it, expecting exit code `code` and every
/// one of `needles` in standard error. Returns standard error.
fn expect(dir: &Path, name: &str, bytes: &[u8], code: i32, needles: &[&str]) -> String {
    let file = dir.join(name);
    std::fs::write(&file, bytes).unwrap();
    let (out, yaml, _) = convert(&file);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{name}: wrong exit code\n{err}");
    assert!(!err.contains("panicked"), "{name} panicked:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "{name}: `{needle}` missing from:\n{err}");
    }
    if code != 0 {
        assert!(!yaml.exists(), "{name}: a pipeline was written despite the error");
    }
    err
}

fn notebook(cells: Vec<Value>) -> Value {
    json!({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}},
        "cells": cells,
    })
}

fn code(source: &str, tags: &[&str]) -> Value {
    json!({"cell_type": "code", "metadata": {"tags": tags}, "source": source, "execution_count": null, "outputs": []})
}

/// A one-line notebook whose first cell is `cell` (JSON text), so columns are easy to check.
fn with_cell(cell: &str) -> String {
    format!(r#"{{"nbformat": 4, "nbformat_minor": 5, "metadata": {{}}, "cells": [{cell}]}}"#)
}

// ---------------------------------------------------------------- broken or mistyped JSON

#[test]
fn truncated_json_names_the_place_and_says_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(repo().join("fixtures/steps_and_continuation.ipynb")).unwrap();
    let half = &full[..full.len() / 2];
    let line = half.iter().filter(|&&b| b == b'\n').count() + 1;
    expect(
        dir.path(),
        "half.ipynb",
        half,
        2,
        &[
            "error: ",
            "half.ipynb is not valid notebook JSON",
            "EOF while parsing",
            "truncated",
            &format!("(line {line}, column "),
        ],
    );
}

#[test]
fn trailing_comma_has_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = "{\n \"nbformat\": 4,\n \"nbformat_minor\": 5,\n \"metadata\": {},\n \"cells\": [],\n}\n";
    expect(
        dir.path(),
        "comma.ipynb",
        text.as_bytes(),
        2,
        &["not valid notebook JSON", "trailing comma", "(line 6, column 1)"],
    );
}

#[test]
fn empty_and_blank_files() {
    let dir = tempfile::tempdir().unwrap();
    expect(dir.path(), "empty.ipynb", b"", 2, &["empty.ipynb: the file is empty"]);
    expect(dir.path(), "bom_only.ipynb", b"\xEF\xBB\xBF", 2, &["the file is empty"]);
    expect(
        dir.path(),
        "blank.ipynb",
        b"\n\n  \n",
        2,
        &["not valid notebook JSON", "EOF while parsing a value", "(line 4, column 0)"],
    );
}

#[test]
fn top_level_array_is_not_a_notebook() {
    let dir = tempfile::tempdir().unwrap();
    expect(
        dir.path(),
        "array.ipynb",
        b"[]",
        2,
        &["invalid type: JSON list, expected a notebook", "(line 1, column 1)"],
    );
    // serde would otherwise accept a struct written as an array.
    expect(dir.path(), "tuple.ipynb", br#"[4, 5, {}, []]"#, 2, &["expected a notebook (a JSON object"]);
    expect(
        dir.path(),
        "string.ipynb",
        br#""notebook""#,
        2,
        &["invalid type: string \"notebook\", expected a notebook"],
    );
}

#[test]
fn cells_must_be_a_list_of_objects() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": {}}"#;
    expect(
        dir.path(),
        "cells_obj.ipynb",
        text.as_bytes(),
        2,
        &["invalid type: JSON object, expected a JSON list", "(line 1, column 63)"],
    );
    let text = with_cell(r#"["code", null, "x = 1", {}]"#);
    expect(
        dir.path(),
        "cell_array.ipynb",
        text.as_bytes(),
        2,
        &["expected a cell (a JSON object", "(line 1, column 64)"],
    );
    let text = r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}"#;
    expect(dir.path(), "no_cells.ipynb", text.as_bytes(), 2, &["no `cells` list"]);
}

#[test]
fn cell_without_cell_type() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_cell(r#"{"source": "x = 1", "metadata": {}}"#);
    expect(dir.path(), "no_type.ipynb", text.as_bytes(), 2, &["a cell has no `cell_type`", "(line 1, column 98)"]);
    let text = with_cell(r#"{"cell_type": 5, "source": "x = 1"}"#);
    expect(
        dir.path(),
        "type_int.ipynb",
        text.as_bytes(),
        2,
        &["invalid type: integer `5`, expected a string", "(line 1, column 79)"],
    );
}

#[test]
fn source_of_the_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_cell(r#"{"cell_type": "code", "source": 42, "metadata": {}}"#);
    expect(
        dir.path(),
        "src_num.ipynb",
        text.as_bytes(),
        2,
        &[
            "invalid type: integer `42`, expected a cell `source` (a string or a list of strings)",
            "(line 1, column 98)",
        ],
    );
    let text = with_cell(r#"{"cell_type": "code", "source": ["x = 1\n", 2], "metadata": {}}"#);
    expect(
        dir.path(),
        "src_line_num.ipynb",
        text.as_bytes(),
        2,
        &["invalid type: integer `2`, expected a string", "(line 1, column 109)"],
    );
}

#[test]
fn tags_as_an_object_is_a_cell_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = with_cell(r#"{"cell_type": "code", "source": "x = 1", "metadata": {"tags": {"step:a": true}}}"#);
    expect(
        dir.path(),
        "tags_obj.ipynb",
        text.as_bytes(),
        1,
        &[
            "`metadata.tags` must be a list of strings; found {\"step:a\":true}",
            "tags_obj.ipynb, cell 1",
            "error: ",
            "no pipeline was written",
        ],
    );
}

#[test]
fn metadata_as_a_string() {
    let dir = tempfile::tempdir().unwrap();
    // A cell's metadata: its tags would be lost, so it is an error naming the cell.
    let text = with_cell(r#"{"cell_type": "code", "source": "x = 1", "metadata": "step:a"}"#);
    expect(
        dir.path(),
        "cell_meta.ipynb",
        text.as_bytes(),
        1,
        &["the cell's `metadata` must be a JSON object; found \"step:a\"", "cell_meta.ipynb, cell 1"],
    );
    // The notebook's metadata: a JSON error with its place.
    let text = r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": "python", "cells": []}"#;
    expect(
        dir.path(),
        "nb_meta.ipynb",
        text.as_bytes(),
        2,
        &["invalid type: string \"python\", expected a JSON object", "(line 1, column 57)"],
    );
}

#[test]
fn nbformat_as_a_string() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"nbformat": "4", "nbformat_minor": 5, "metadata": {}, "cells": []}"#;
    expect(
        dir.path(),
        "nbf_str.ipynb",
        text.as_bytes(),
        2,
        &["invalid type: string \"4\", expected an integer", "(line 1, column 16)"],
    );
    let text = r#"{"nbformat_minor": 5, "metadata": {}, "cells": []}"#;
    expect(dir.path(), "no_nbf.ipynb", text.as_bytes(), 2, &["no `nbformat` field"]);
}

#[test]
fn nbformat_3_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": []}]}"#;
    expect(
        dir.path(),
        "old.ipynb",
        text.as_bytes(),
        2,
        &["nbformat 3 is not supported", "jupyter nbconvert --to notebook --nbformat 4"],
    );
}

#[test]
fn non_python_kernel_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nb = json!({"nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}},
        "cells": [code("x <- 1", &["step:a"])]});
    expect(dir.path(), "r.ipynb", nb.to_string().as_bytes(), 2, &["kernel language is `R`", "Python notebooks only"]);
}

#[test]
fn deeply_nested_json_in_outputs_is_skipped_without_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let text = with_cell(&format!(
        r#"{{"cell_type": "code", "source": "x = 1", "metadata": {{}}, "outputs": [{}{}]}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    ));
    expect(dir.path(), "deep_out.ipynb", text.as_bytes(), 0, &[]);
    // Where nesting is read (metadata), serde_json's recursion limit gives a clean error.
    let text = with_cell(&format!(
        r#"{{"cell_type": "code", "source": "x = 1", "metadata": {{"a": {}{}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    ));
    expect(dir.path(), "deep_meta.ipynb", text.as_bytes(), 2, &["recursion limit exceeded", "(line 1, column "]);
}

// ---------------------------------------------------------------- encodings and line endings

#[test]
fn invalid_utf8_in_a_source_string_is_an_error_with_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = with_cell(r#"{"cell_type": "code", "source": "x = @@ 1", "metadata": {}}"#).into_bytes();
    let at = bytes.windows(2).position(|w| w == b"@@").unwrap();
    bytes[at] = 0xFF;
    bytes[at + 1] = 0xFE;
    expect(dir.path(), "latin.ipynb", &bytes, 2, &["not valid UTF-8", "(line 1, column "]);
}

#[test]
fn invalid_utf8_in_a_skipped_output_does_not_matter() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = with_cell(
        r#"{"cell_type": "code", "source": "x = 1", "metadata": {"tags": ["step:a"]}, "outputs": [{"output_type": "stream", "name": "stdout", "text": "@@"}]}"#,
    )
    .into_bytes();
    let at = bytes.windows(2).position(|w| w == b"@@").unwrap();
    bytes[at] = 0xFF;
    bytes[at + 1] = 0xFE;
    expect(dir.path(), "bad_output.ipynb", &bytes, 0, &["converted"]);
}

/// A two-step notebook passing `données` from step a to step b.
fn unicode_notebook() -> Value {
    notebook(vec![
        code("données = [1, 2]\nrésumé = 'été ☀'\ndonnées.append(3)\n", &["step:a"]),
        code("total = sum(données)\nprint(total, résumé)\n", &["step:b"]),
    ])
}

fn check_unicode_yaml(yaml: &Path) {
    let text = std::fs::read_to_string(yaml).unwrap();
    assert!(!text.contains('\r'), "the YAML holds a carriage return");
    assert!(text.contains("données = [1, 2]"), "step a's code is missing:\n{text}");
    assert!(text.contains("total = sum(données)"), "step b's code is missing:\n{text}");
    // `données` travels from step a to step b.
    assert!(text.matches("données").count() >= 4, "`données` is not passed between the steps:\n{text}");
}

#[test]
fn unicode_identifiers_are_passed_between_steps() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unicode.ipynb");
    std::fs::write(&file, serde_json::to_string_pretty(&unicode_notebook()).unwrap()).unwrap();
    let (out, yaml, _) = convert(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 steps"), "{}", stderr(&out));
    check_unicode_yaml(&yaml);
}

#[test]
fn bom_and_crlf_everywhere_convert_without_carriage_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut nb = unicode_notebook();
    // Sources as lists of CRLF lines, and the JSON file itself with CRLF line ends.
    for cell in nb["cells"].as_array_mut().unwrap() {
        let source = cell["source"].as_str().unwrap().to_string();
        cell["source"] = json!(source.split_inclusive('\n').map(|l| l.replace('\n', "\r\n")).collect::<Vec<_>>());
    }
    let text = serde_json::to_string_pretty(&nb).unwrap().replace('\n', "\r\n");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    let file = dir.path().join("windows.ipynb");
    std::fs::write(&file, &bytes).unwrap();
    let (out, yaml, _) = convert(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    check_unicode_yaml(&yaml);
    // A lone CR (old Mac line ends) is a line end too.
    let nb = notebook(vec![code("a = 1\rb = a + 1\r", &["step:a"]), code("print(b)\r", &["step:b"])]);
    let file = dir.path().join("cr.ipynb");
    std::fs::write(&file, nb.to_string()).unwrap();
    let (out, yaml, _) = convert(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(!text.contains('\r'));
    assert!(text.contains("b = a + 1"), "{text}");
}

// ---------------------------------------------------------------- huge inputs

/// Max RSS in KiB of `nbkf convert FILE`, measured with GNU time, or None without it.
fn max_rss_kib(file: &Path) -> Option<u64> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("/usr/bin/time is missing: memory not measured");
        return None;
    }
    let out = Command::new(time)
        .args(["-f", "MAXRSS=%M"])
        .arg(env!("CARGO_BIN_EXE_nbkf"))
        .args(["convert", "-q"])
        .arg(file)
        .arg("-o")
        .arg(file.with_extension("rss.yaml"))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    err.lines().find_map(|l| l.strip_prefix("MAXRSS=")).map(|v| v.trim().parse().unwrap())
}

/// Limits asserted on the debug build (see the module comment).
const IMAGES_MAX_SECS: u64 = 30; // measured 3.5 s
/// Peak memory above the baseline (the same command on a two-cell notebook): the debug binary
/// alone maps ~28 MiB, and that baseline varies between machines, so only the growth is bound.
const IMAGES_MAX_RSS_GROWTH_MIB: u64 = 16; // measured < 1 MiB for a 50 MB file
const BIG_CELL_MAX_SECS: u64 = 30; // measured ~4 s for 100,000 lines (1.8 MB)
const MANY_CELLS_MAX_SECS: u64 = 15; // measured 0.8 s for 10,000 cells
const NESTED_MAX_SECS: u64 = 15; // measured < 1 s
const ALIASES_MAX_SECS: u64 = 15; // measured 0.1 s; before the fix, 200 changes took > 20 s

#[test]
fn fifty_megabytes_of_image_outputs_stream_through() {
    let dir = tempfile::tempdir().unwrap();
    // 6 cells, each with an ~8.4 MB base64 PNG output: pseudo-random bytes, so nothing
    // compresses or dedups.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut cells = Vec::new();
    for i in 0..6 {
        let b64: String = (0..8_400_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(state % 64) as usize] as char
            })
            .collect();
        let source = if i == 0 { "x0 = 0\n".to_string() } else { format!("x{i} = x{} + 1\n", i - 1) };
        let mut cell = code(&source, &[&format!("step:s{i}")]);
        cell["outputs"] = json!([{"output_type": "display_data", "metadata": {},
            "data": {"image/png": b64, "text/plain": ["<Figure size 640x480 with 1 Axes>"]}}]);
        cells.push(cell);
    }
    let file = dir.path().join("images.ipynb");
    std::fs::write(&file, serde_json::to_vec_pretty(&notebook(cells)).unwrap()).unwrap();
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(size > 50_000_000, "{size}");

    let (out, yaml, took) = convert(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("6 steps"), "{}", stderr(&out));
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("x5 = x4 + 1"));
    assert!(!text.contains("AAAA") || text.len() < 1_000_000, "outputs leaked into the pipeline");
    assert!(text.len() < 1_000_000, "the pipeline is {} bytes", text.len());
    assert!(took < Duration::from_secs(IMAGES_MAX_SECS), "took {took:?}");
    eprintln!("50 MB of images: {took:?}");
    let small = dir.path().join("small.ipynb");
    let nb = notebook(vec![code("x0 = 0\n", &["step:s0"]), code("x1 = x0 + 1\n", &["step:s1"])]);
    std::fs::write(&small, serde_json::to_vec_pretty(&nb).unwrap()).unwrap();
    if let (Some(kib), Some(base)) = (max_rss_kib(&file), max_rss_kib(&small)) {
        let growth = kib.saturating_sub(base);
        eprintln!("50 MB of images: max RSS {kib} KiB, {growth} KiB above a two-cell notebook's");
        assert!(
            growth < IMAGES_MAX_RSS_GROWTH_MIB * 1024,
            "max RSS {kib} KiB for a {size}-byte file, {growth} KiB above the baseline {base} KiB"
        );
    }
}

#[test]
fn a_huge_code_cell_converts_in_time() {
    let dir = tempfile::tempdir().unwrap();
    // 100,000 lines (~1.8 MB) keep the debug build near 4 s; the full 10 MB cell is timed by
    // hand on the release build (README).
    let lines = 100_000;
    let mut source = String::with_capacity(lines * 20);
    for i in 0..lines {
        source.push_str(&format!("x_{i} = {i}\n"));
    }
    let nb = notebook(vec![code(&source, &["step:a"]), code("print(x_7 + x_99999)\n", &["step:b"])]);
    let file = dir.path().join("big_cell.ipynb");
    std::fs::write(&file, nb.to_string()).unwrap();
    let (out, yaml, took) = convert(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    eprintln!("{lines}-line cell: {took:?}");
    assert!(took < Duration::from_secs(BIG_CELL_MAX_SECS), "took {took:?}");
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("x_99999 = 99999"));
    assert!(text.contains("print(x_7 + x_99999)"));
}

#[test]
fn ten_thousand_cells_convert_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let cells: Vec<Value> = (0..10_000)
        .map(|i| {
            let source = if i == 0 { "v0 = 0\n".to_string() } else { format!("v{i} = v{} + 1\n", i - 1) };
            if i % 2500 == 0 {
                code(&source, &[&format!("step:s{}", i / 2500)])
            } else if i % 70 == 0 {
                json!({"cell_type": "markdown", "metadata": {}, "source": format!("note {i}")})
            } else {
                code(&source, &[])
            }
        })
        .collect();
    let file = dir.path().join("many.ipynb");
    std::fs::write(&file, serde_json::to_vec_pretty(&notebook(cells)).unwrap()).unwrap();
    let (out, yaml, took) = convert(&file);
    let err = stderr(&out);
    eprintln!("10,000 cells: {took:?}");
    // Markdown cells break the chain (their `v{i}` is never defined): every 70th cell. (With
    // many more errors the debug build is slow: each error's "did you mean" compares the name
    // with every known name; 1,428 errors take 14 s in debug, 0.7 s in release.)
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`v70` is used but never defined"), "{err}");
    assert!(err.contains("has 142 errors"), "{}", &err[err.len().saturating_sub(300)..]);
    assert!(!yaml.exists());
    assert!(took < Duration::from_secs(MANY_CELLS_MAX_SECS), "took {took:?}");

    // The same without the gaps converts.
    let cells: Vec<Value> = (0..10_000)
        .map(|i| {
            let source = if i == 0 { "v0 = 0\n".to_string() } else { format!("v{i} = v{} + 1\n", i - 1) };
            if i % 2500 == 0 {
                code(&source, &[&format!("step:s{}", i / 2500)])
            } else {
                code(&source, &[])
            }
        })
        .collect();
    std::fs::write(&file, serde_json::to_vec_pretty(&notebook(cells)).unwrap()).unwrap();
    let (out, yaml, took) = convert(&file);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 steps"), "{}", stderr(&out));
    eprintln!("10,000 cells: {took:?}");
    assert!(took < Duration::from_secs(MANY_CELLS_MAX_SECS), "took {took:?}");
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("v9999 = v9998 + 1"));
}

#[test]
fn deeply_nested_code_is_a_clear_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("parens", format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000))),
        ("parens_100k", format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000))),
        ("lists", format!("x = {}1{}\n", "[".repeat(5000), "]".repeat(5000))),
        ("sum", format!("x = {}\n", vec!["1"; 50_000].join(" + "))),
        (
            "ifs",
            (0..1000).map(|i| format!("{}if True:\n", "    ".repeat(i))).collect::<String>()
                + &"    ".repeat(1000)
                + "x = 1\n",
        ),
    ];
    for (name, source) in cases {
        let nb = notebook(vec![code(&source, &["step:a"]), code("print(x)\n", &["step:b"])]);
        let started = Instant::now();
        let err = expect(
            dir.path(),
            &format!("{name}.ipynb"),
            nb.to_string().as_bytes(),
            1,
            &[
                "the cell is nested too deeply to analyse",
                &format!("{name}.ipynb, cell 1"),
                "split deeply nested code into functions",
            ],
        );
        assert!(!err.contains("overflow"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(NESTED_MAX_SECS), "{name} took {:?}", started.elapsed());
    }
    // Moderate nesting is fine.
    let source =
        (0..50).map(|i| format!("{}if True:\n", "    ".repeat(i))).collect::<String>() + &"    ".repeat(50) + "x = 1\n";
    let nb = notebook(vec![code(&source, &["step:a"]), code("print(x)\n", &["step:b"])]);
    expect(dir.path(), "ifs_50.ipynb", nb.to_string().as_bytes(), 0, &["2 steps"]);
}

/// Objects shared by several names and changed thousands of times (item assignments on
/// aliased arrays, as in numerical notebooks): following the aliases at each change stays
/// cheap. Each change used to copy every live alias link, and each later change walked all
/// the copies: a fuzzed chapter of Hands-On ML took 14 s in the debug build, 200 changes in
/// one cell over 20 s.
#[test]
fn many_changes_to_shared_objects_stay_cheap() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = String::from("import numpy as np\na = np.zeros(10)\nb = a\nc = [a, b]\nd = c\n");
    for i in 0..2000 {
        first.push_str(&format!("a[{}] = {i}\nd[1][0] += 1\n", i % 10));
    }
    let mut cells = vec![code(&first, &["step:first"])];
    for s in 0..20 {
        let body: String = (0..100).map(|i| format!("b[{}] += {i}\n", i % 10)).collect();
        cells.push(code(&body, &[&format!("step:s{s}")]));
    }
    cells.push(code("print(a, b, c, d)\n", &["step:last"]));
    let file = dir.path().join("aliases.ipynb");
    std::fs::write(&file, serde_json::to_vec_pretty(&notebook(cells)).unwrap()).unwrap();
    let (out, yaml, took) = convert(&file);
    eprintln!("4,000 + 2,000 changes of shared objects: {took:?}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("22 steps"), "{}", stderr(&out));
    assert!(took < Duration::from_secs(ALIASES_MAX_SECS), "took {took:?}");
    let text = std::fs::read_to_string(&yaml).unwrap();
    assert!(text.contains("print(a, b, c, d)"));
}
