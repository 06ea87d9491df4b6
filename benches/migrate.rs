//! `nbkf migrate` on 1,000 notebooks: the 48 of ../shared/corpus, copied with a changed
//! comment line each so that every file is different, in folders of 100. Runs the built
//! binary and prints notebooks per second and its peak memory (the child's maximum
//! resident set, from wait4). Goal: at least 500 notebooks/s and under 200 MB.
//!
//! `cargo bench --bench migrate` (set NBKF_BENCH_NOTEBOOKS for another count).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn shared() -> PathBuf {
    std::env::var_os("NBKF_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("shared"))
}

/// Writes `count` notebooks under `dir`; returns how many bytes they hold.
fn generate(dir: &Path, count: usize) -> u64 {
    let mut corpus: Vec<PathBuf> = std::fs::read_dir(shared().join("corpus"))
        .expect("../shared/corpus (or NBKF_SHARED)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
        .collect();
    corpus.sort();
    let notebooks: Vec<(String, serde_json::Value)> = corpus
        .iter()
        .map(|p| {
            let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        })
        .collect();
    let mut bytes = 0;
    for i in 0..count {
        let (stem, notebook) = &notebooks[i % notebooks.len()];
        let mut notebook = notebook.clone();
        if let Some(cell) =
            notebook["cells"].as_array_mut().and_then(|cells| cells.iter_mut().find(|c| c["cell_type"] == "code"))
        {
            let source = match &cell["source"] {
                serde_json::Value::Array(lines) => lines.iter().filter_map(|l| l.as_str()).collect::<String>(),
                other => other.as_str().unwrap_or_default().to_string(),
            };
            cell["source"] = serde_json::Value::String(format!("# variant {i}\n{source}"));
        }
        let path = dir.join(format!("batch-{:02}", i / 100)).join(format!("{stem}-{i}.ipynb"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = serde_json::to_vec(&notebook).unwrap();
        bytes += text.len() as u64;
        std::fs::write(path, text).unwrap();
    }
    bytes
}

/// Runs the command; returns (seconds, peak RSS in MB, exit code).
fn measure(command: &mut Command) -> (f64, f64, Option<i32>) {
    let started = Instant::now();
    // Waited for with wait4 below (for its resource usage), not with `Child::wait`.
    #[allow(clippy::zombie_processes)]
    let child = command.spawn().expect("nbkf");
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, whose pid we hold; `status` and `usage` are valid
    // for writes. The `Child` is not waited for again.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // ru_maxrss is in kilobytes on Linux.
    (seconds, usage.ru_maxrss as f64 / 1024.0, code)
}

fn main() {
    // `cargo test --benches` runs benches with `--bench` absent: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let count: usize = std::env::var("NBKF_BENCH_NOTEBOOKS").ok().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notebooks");
    let bytes = generate(&input, count);
    println!("nbkf migrate: {count} notebooks ({:.1} MB) in {}", bytes as f64 / 1e6, input.display());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runs: Vec<(&str, Vec<String>)> = vec![
        ("default (--jobs = cores)", vec![]),
        // Right after the default run: everything is carried over.
        ("--resume (nothing changed)", vec!["--resume".into()]),
        ("--jobs 1", vec!["--jobs".into(), "1".into()]),
        ("--graph --tag", vec!["--graph".into(), "--tag".into()]),
    ];
    for (name, extra) in runs {
        let out = dir.path().join("out");
        if !extra.iter().any(|a| a == "--resume") {
            let _ = std::fs::remove_dir_all(&out);
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_nbkf"));
        command.arg("migrate").arg(&input).arg("--out").arg(&out).arg("-q").args(&extra);
        let (seconds, peak_mb, code) = measure(&mut command);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).expect("report.json")).unwrap();
        let totals = &report["totals"];
        println!(
            "  {name:<28} {:>7.0} notebooks/s  {seconds:>6.2} s  peak RSS {peak_mb:>6.1} MB  exit {code:?}  ({} converted, {} refused, {} resumed; {cores} cores)",
            count as f64 / seconds,
            totals["converted"],
            totals["refused"],
            totals["resumed"],
        );
    }
}
