//! `nbkf migrate`: many notebooks converted in one batch, for platform teams moving a
//! folder of legacy notebooks (Kale `block:` tags, untagged, half-tagged, broken ones).
//!
//! [`discover`] walks the inputs (as `git` would see them: hidden folders, checkpoints and
//! ignored files left out) and yields notebooks one at a time; a pool of `jobs` threads
//! converts them ([`job`]), each in a guarded worker so that a panic or a notebook that
//! never finishes is recorded and the batch goes on; [`report`] streams one record per
//! notebook into `report.json` and `report.html` as they finish; [`resume`] lets a second
//! run skip what an earlier one already did. Memory is bounded by the parallelism: no list
//! of all notebooks or all records is ever held.

mod check;
pub mod discover;
pub mod html;
pub mod job;
pub mod record;
pub mod report;
pub mod resume;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use rayon::iter::{ParallelBridge, ParallelIterator};
use sha2::{Digest, Sha256};

use crate::ConvertOptions;

pub use job::Guarded;
pub use record::{Outcome, Record, Totals};

/// The `$schema` of `report.json` (the file is `schemas/migrate-report-v1.json`).
pub const REPORT_SCHEMA: &str = "https://nbkf.dev/schemas/migrate-report-v1.json";

/// What each converted notebook's pipeline is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineFormat {
    /// KFP IR YAML (`<stem>.pipeline.yaml`).
    Ir,
    /// Kubernetes-native KFP manifests, Pipeline and PipelineVersion (`<stem>.k8s.yaml`).
    K8s,
}

impl PipelineFormat {
    /// The name used on the command line and in the report's settings.
    pub fn name(self) -> &'static str {
        match self {
            PipelineFormat::Ir => "ir",
            PipelineFormat::K8s => "k8s",
        }
    }

    /// The suffix of the pipeline file: `<stem>.<suffix>`.
    pub fn suffix(self) -> &'static str {
        match self {
            PipelineFormat::Ir => "pipeline.yaml",
            PipelineFormat::K8s => "k8s.yaml",
        }
    }
}

/// How `--check` runs `nbkf check` on each converted notebook.
#[derive(Debug, Clone)]
pub struct CheckSettings {
    /// At most this many checks at once.
    pub jobs: usize,
    /// A check still running after this long is stopped (`timed_out`).
    pub timeout: Duration,
    /// The Python interpreter the steps and the reference run use.
    pub python: PathBuf,
}

/// Everything a migration needs.
#[derive(Debug, Clone)]
pub struct MigrateOptions {
    /// Folders (walked) and notebook files (taken as they are).
    pub inputs: Vec<PathBuf>,
    /// Where the mirrored tree and the reports go.
    pub out: PathBuf,
    /// Notebooks converted at once.
    pub jobs: usize,
    /// The conversion, as `nbkf convert` would do it.
    pub convert: ConvertOptions,
    pub format: PipelineFormat,
    /// Also write each notebook with the tags of its plan (`nbkf tag`) as `<stem>.ipynb`.
    pub tag: bool,
    /// Also write each pipeline drawn as SVG (`<stem>.svg`).
    pub graph: bool,
    /// A conversion still running after this long is given up (`timed_out`).
    pub timeout: Duration,
    /// Skip notebooks that an earlier run in `out` already did with the same settings.
    pub resume: bool,
    /// Run `nbkf check` on each converted notebook.
    pub check: Option<CheckSettings>,
}

impl MigrateOptions {
    /// The report's `settings` object: what decides the outputs, as people read it.
    pub fn settings_json(&self) -> serde_json::Value {
        serde_json::json!({
            "jobs": self.jobs,
            "split": format!("{:?}", self.convert.split).to_ascii_lowercase(),
            "format": self.format.name(),
            "tag": self.tag,
            "graph": self.graph,
            "check": self.check.is_some(),
            "timeout_seconds": self.timeout.as_secs_f64(),
            "image": self.convert.overrides.base_image,
            "packages": format!("{:?}", self.convert.preamble).to_ascii_lowercase(),
            "module_paths": self.convert.module_paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        })
    }

    /// SHA-256 of the nbkf version and every setting that changes what is written for a
    /// notebook or its record (conversion options, format, `--tag`, `--graph`, `--check`
    /// and its Python). `--jobs` and the time limits are left out: they change how fast,
    /// not what.
    pub fn settings_sha256(&self) -> String {
        let text = format!(
            "nbkf {}\n{:?}\nformat={}\ntag={}\ngraph={}\ncheck={:?}\n",
            env!("CARGO_PKG_VERSION"),
            self.convert,
            self.format.name(),
            self.tag,
            self.graph,
            self.check.as_ref().map(|c| &c.python),
        );
        hex_sha256(text.as_bytes())
    }
}

/// SHA-256 as lower-case hex.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Why a migration could not run at all (a problem with one notebook never stops it).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{0}: no such file or folder")]
    MissingInput(String),
    #[error("no notebooks (*.ipynb) found under {0} (hidden folders, .ipynb_checkpoints and what .gitignore files ignore are skipped)")]
    NoNotebooks(String),
    #[error("--out {0} is a file; give a folder (it is created when missing)")]
    OutNotFolder(String),
    #[error("--out {0} is an input folder itself: give the output a folder of its own (it may be inside an input; it is never walked)")]
    OutIsInput(String),
    #[error("cannot resume: {0}")]
    Resume(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

/// What the caller is told as the batch goes (the CLI draws a progress bar or prints lines).
pub trait MigrateObserver: Sync {
    /// The number of notebooks found, when counted before starting (for a progress bar).
    fn total(&self, notebooks: u64);
    /// One notebook (or unreadable folder) is done.
    fn finished(&self, outcome: Outcome, source: &str, resumed: bool);
}

/// An observer that shows nothing.
pub struct Silent;

impl MigrateObserver for Silent {
    fn total(&self, _: u64) {}
    fn finished(&self, _: Outcome, _: &str, _: bool) {}
}

/// What a finished migration tells its caller.
#[derive(Debug)]
pub struct MigrateSummary {
    pub totals: Totals,
    pub report_json: PathBuf,
    pub report_html: PathBuf,
}

impl MigrateSummary {
    /// Every notebook converted (warnings are fine) and every check passed.
    pub fn all_good(&self) -> bool {
        let t = &self.totals;
        t.converted == t.notebooks && t.check_failed == 0
    }
}

/// Whether the observer should be given a total first (counting walks the tree twice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Count the notebooks before starting (for a progress bar with an ETA).
    Count,
    /// Start at once.
    Skip,
}

/// Migrates every notebook under the inputs into `options.out`; writes `report.json` and
/// `report.html` there.
pub fn migrate(
    options: &MigrateOptions,
    observer: &dyn MigrateObserver,
    counting: Counting,
) -> Result<MigrateSummary, MigrateError> {
    let started = SystemTime::now();
    let inputs = discover::inputs(&options.inputs)?;
    if options.out.exists() && !options.out.is_dir() {
        return Err(MigrateError::OutNotFolder(options.out.display().to_string()));
    }
    std::fs::create_dir_all(&options.out).map_err(|e| MigrateError::Io {
        context: format!("cannot create the output folder {}", options.out.display()),
        source: e,
    })?;
    let out = std::fs::canonicalize(&options.out).unwrap_or_else(|_| options.out.clone());
    for input in inputs.iter().filter(|i| !i.is_file) {
        if std::fs::canonicalize(&input.path).is_ok_and(|p| p == out) {
            return Err(MigrateError::OutIsInput(input.shown.clone()));
        }
    }
    let report_path = out.join("report.json");
    let previous =
        if options.resume { resume::Previous::load(&report_path).map_err(MigrateError::Resume)? } else { None };
    let context = job::Context::new(options, inputs, &out, previous);

    let walk = discover::Walk::new(&context.inputs, &out);
    let notebooks = walk.notebooks().filter(|f| matches!(f, discover::Found::Notebook(_))).take(1).count();
    if notebooks == 0 {
        let shown: Vec<String> = context.inputs.iter().map(|i| i.shown.clone()).collect();
        return Err(MigrateError::NoNotebooks(shown.join(", ")));
    }
    if counting == Counting::Count {
        observer.total(walk.notebooks().count() as u64);
    }

    let header = report::Header {
        started,
        inputs: context.inputs.iter().map(|i| i.shown.clone()).collect(),
        out: options.out.display().to_string(),
        settings: options.settings_json(),
    };
    let mut writer = report::ReportWriter::create(&out, &header).map_err(|e| MigrateError::Io {
        context: format!("cannot write the report in {}", out.display()),
        source: e,
    })?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.max(1))
        .thread_name(|i| format!("nbkf-migrate-{i}"))
        .build()
        .map_err(|e| MigrateError::Io {
            context: "cannot start the worker threads".into(),
            source: std::io::Error::other(e),
        })?;
    let _quiet_panics = job::QuietPanics::install();

    // Workers hand finished notebooks to this thread, which writes the reports: a small
    // bounded queue, so a slow disk slows the workers instead of filling memory.
    let (tx, rx) = mpsc::sync_channel::<job::Finished>(options.jobs.max(1) * 2);
    let write_result = std::thread::scope(|scope| {
        let context = &context;
        let walk = &walk;
        let pool = &pool;
        scope.spawn(move || {
            pool.install(|| {
                walk.notebooks().par_bridge().for_each_with(tx, |tx, found| {
                    let _ = tx.send(job::run(&found, context));
                });
            });
        });
        let mut result = Ok(());
        for finished in rx {
            let (outcome, source, resumed) = finished.describe();
            if result.is_ok() {
                result = writer.add(finished, context.previous());
            }
            observer.finished(outcome, &source, resumed);
        }
        result
    });
    write_result.map_err(|e| MigrateError::Io {
        context: format!("cannot write the report in {}", out.display()),
        source: e,
    })?;
    let totals = writer.finish(SystemTime::now()).map_err(|e| MigrateError::Io {
        context: format!("cannot write the report in {}", out.display()),
        source: e,
    })?;
    // The folder of `--check`'s runs, when no run was kept there.
    let _ = std::fs::remove_dir(out.join(".nbkf-check").join("runs"));
    let _ = std::fs::remove_dir(out.join(".nbkf-check"));
    Ok(MigrateSummary { totals, report_json: report_path, report_html: out.join("report.html") })
}

/// The place of a notebook's outputs under `out`: its relative path with `.ipynb` taken
/// off, e.g. `sub/dir/nb`.
pub fn output_stem(mirror: &Path, relative: &Path) -> PathBuf {
    let stem = relative.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
    let dir = relative.parent().unwrap_or(Path::new(""));
    mirror.join(dir).join(stem)
}
