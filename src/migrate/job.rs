//! One notebook's migration: read, hash, convert (guarded: a panic or a conversion that
//! never ends is recorded, not fatal), write the outputs (all or none), check.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::discover::{Found, Input, NotebookEntry};
use super::record::{DiagnosticRecord, Outcome, Record};
use super::resume::{Carried, Previous};
use super::{MigrateOptions, PipelineFormat};
use crate::notebook::Notebook;
use crate::Conversion;

/// What a guarded piece of work came to.
#[derive(Debug)]
pub enum Guarded<T> {
    Done(T),
    /// It panicked: the panic's message.
    Panicked(String),
    /// Still running after the time limit; its thread is left to finish on its own.
    TimedOut,
}

/// Runs `work` on a thread of its own and waits at most `limit` for it. A panic inside is
/// caught and returned as [`Guarded::Panicked`]; work still running after `limit` is left
/// running (its thread leaks until it ends) and [`Guarded::TimedOut`] returned, so that
/// one notebook cannot stop a batch.
pub fn guarded<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> Guarded<T> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name(GUARDED_THREAD.into()).spawn(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(work));
        let _ = tx.send(result);
    });
    if let Err(e) = spawned {
        return Guarded::Panicked(format!("cannot start a thread: {e}"));
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(value)) => Guarded::Done(value),
        Ok(Err(payload)) => Guarded::Panicked(panic_message(payload.as_ref())),
        Err(mpsc::RecvTimeoutError::Timeout) => Guarded::TimedOut,
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Guarded::Panicked("the worker thread ended without a result".into())
        }
    }
}

/// The name of the threads [`guarded`] starts (their panics are not printed: they are
/// recorded).
const GUARDED_THREAD: &str = "nbkf-migrate-notebook";

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// While alive, panics on [`guarded`] threads print nothing (the report records them);
/// other threads' panics print as before.
pub struct QuietPanics;

impl QuietPanics {
    /// Installs the hook.
    pub fn install() -> QuietPanics {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(GUARDED_THREAD) {
                previous(info);
            }
        }));
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        // Back to the default hook (the CLI installs none of its own).
        let _ = std::panic::take_hook();
    }
}

/// A counting semaphore: at most `n` checks at once.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

impl Permits {
    fn acquire(&self) -> PermitGuard<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        PermitGuard(self)
    }
}

struct PermitGuard<'a>(&'a Permits);

impl Drop for PermitGuard<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// What every job shares.
pub struct Context {
    pub(super) options: Arc<MigrateOptions>,
    pub(super) inputs: Vec<Input>,
    /// The output folder (canonical).
    pub(super) out: PathBuf,
    pub(super) settings_sha256: String,
    previous: Option<Previous>,
    checks: Permits,
}

impl Context {
    /// The shared state of a migration writing into `out`.
    pub fn new(options: &MigrateOptions, inputs: Vec<Input>, out: &Path, previous: Option<Previous>) -> Self {
        let check_jobs = options.check.as_ref().map_or(1, |c| c.jobs.max(1));
        Context {
            settings_sha256: options.settings_sha256(),
            options: Arc::new(options.clone()),
            inputs,
            out: out.to_path_buf(),
            previous,
            checks: Permits { free: Mutex::new(check_jobs), freed: Condvar::new() },
        }
    }

    /// The earlier report, with `--resume`.
    pub fn previous(&self) -> Option<&Previous> {
        self.previous.as_ref()
    }
}

/// A notebook done: its new record (and drawing, for the HTML report), or the earlier
/// record carried over by `--resume`.
pub enum Finished {
    New { record: Box<Record>, svg: Option<String> },
    Carried(Carried),
}

impl Finished {
    /// Outcome, source and whether it was carried over, for the progress display.
    pub fn describe(&self) -> (Outcome, String, bool) {
        match self {
            Finished::New { record, .. } => (record.outcome, record.source.clone(), false),
            Finished::Carried(c) => (c.outcome, c.source.clone(), true),
        }
    }
}

/// Migrates what the walk found; a panic outside the guarded conversion (a bug in
/// describing or writing the result) is caught too, and recorded as `failed`.
pub fn run(found: &Found, context: &Context) -> Finished {
    std::panic::catch_unwind(AssertUnwindSafe(|| run_unguarded(found, context))).unwrap_or_else(|payload| {
        let (input, relative, path) = match found {
            Found::Problem { input, relative, .. } => (*input, relative, relative),
            Found::Notebook(entry) => (entry.input, &entry.relative, &entry.path),
        };
        let mut record = Record::bare(
            relative.display().to_string(),
            context.inputs[input].shown.clone(),
            Outcome::Failed,
            context.settings_sha256.clone(),
        );
        record.message = Some(format!(
            "nbkf bug: {} (while migrating {}); please report it with this notebook",
            panic_message(payload.as_ref()),
            path.display()
        ));
        Finished::New { record: Box::new(record), svg: None }
    })
}

fn run_unguarded(found: &Found, context: &Context) -> Finished {
    match found {
        Found::Problem { input, relative, message } => {
            let mut record = Record::bare(
                relative.display().to_string(),
                context.inputs[*input].shown.clone(),
                Outcome::Unreadable,
                context.settings_sha256.clone(),
            );
            record.message = Some(message.clone());
            Finished::New { record: Box::new(record), svg: None }
        }
        Found::Notebook(entry) => migrate_notebook(entry, context, convert),
    }
}

/// The files made for one converted notebook, before they are written.
struct Made {
    conversion: Conversion,
    /// Paths relative to `--out`, and contents.
    files: Vec<(PathBuf, String)>,
    svg: String,
}

/// What the guarded conversion returns.
enum Converted {
    Made(Box<Made>),
    /// The notebook was read but has errors (or its pipeline could not be made).
    Refused(Box<Conversion>, Option<String>),
    Invalid(String),
}

fn millis(since: Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1e6).round() / 1e3
}

/// How a notebook's bytes become files: [`convert`], or a stand-in in tests.
type Converter = fn(&[u8], &str, Option<&Path>, &MigrateOptions, &Path) -> Converted;

fn migrate_notebook(entry: &NotebookEntry, context: &Context, convert: Converter) -> Finished {
    let started = Instant::now();
    let input = &context.inputs[entry.input];
    let source = entry.relative.display().to_string();
    let mut record =
        Record::bare(source.clone(), input.shown.clone(), Outcome::Unreadable, context.settings_sha256.clone());
    let bytes = match std::fs::read(&entry.path) {
        Ok(b) => b,
        Err(e) => {
            record.message = Some(format!("cannot read {}: {e}", entry.path.display()));
            record.timings_ms.total = millis(started);
            record.timings_ms.read = record.timings_ms.total;
            return Finished::New { record: Box::new(record), svg: None };
        }
    };
    let content = super::hex_sha256(&bytes);
    record.timings_ms.read = millis(started);
    let stem = super::output_stem(&input.mirror, &entry.relative);
    if let Some(previous) = context.previous() {
        if let Some(carried) = previous.carry(&input.shown, &source, &content, &context.settings_sha256, &context.out) {
            return Finished::Carried(carried);
        }
    }
    record.content_sha256 = Some(content);

    let converting = Instant::now();
    let options = Arc::clone(&context.options);
    let dir = entry.path.parent().map(Path::to_path_buf);
    let file = entry.path.file_name().map_or_else(|| source.clone(), |f| f.to_string_lossy().into_owned());
    let work_stem = stem.clone();
    let result = guarded(context.options.timeout, move || convert(&bytes, &file, dir.as_deref(), &options, &work_stem));
    record.timings_ms.convert = millis(converting);
    let svg = match result {
        Guarded::TimedOut => {
            record.outcome = Outcome::TimedOut;
            record.message = Some(format!(
                "still converting after {} s (--timeout); nothing was written",
                context.options.timeout.as_secs_f64()
            ));
            None
        }
        Guarded::Panicked(message) => {
            record.outcome = Outcome::Failed;
            record.message = Some(format!(
                "nbkf bug: {message} (while converting {}); please report it with this notebook",
                entry.path.display()
            ));
            None
        }
        Guarded::Done(Converted::Invalid(message)) => {
            record.outcome = Outcome::Invalid;
            record.message = Some(message);
            None
        }
        Guarded::Done(Converted::Refused(conversion, why)) => {
            record.outcome = Outcome::Refused;
            record.describe_plan(&conversion.plan);
            record.diagnostics =
                conversion.diagnostics.iter().map(|d| DiagnosticRecord::new(d, Some(&conversion.notebook))).collect();
            record.message = Some(why.unwrap_or_else(|| refusal(&record.diagnostics)));
            None
        }
        Guarded::Done(Converted::Made(made)) => {
            let writing = Instant::now();
            let written = write_all(&context.out, &made.files, &entry.path);
            record.timings_ms.write = millis(writing);
            record.describe_plan(&made.conversion.plan);
            record.diagnostics = made
                .conversion
                .diagnostics
                .iter()
                .map(|d| DiagnosticRecord::new(d, Some(&made.conversion.notebook)))
                .collect();
            match written {
                Ok(()) => {
                    record.outcome = if made.conversion.diagnostics.is_empty() {
                        Outcome::Converted
                    } else {
                        Outcome::ConvertedWithWarnings
                    };
                    record.outputs = made.files.iter().map(|(p, _)| slash_path(p)).collect();
                    if let Some(settings) = &context.options.check {
                        let _permit = context.checks.acquire();
                        let notebook_dir = entry.path.parent().unwrap_or(Path::new("."));
                        record.check =
                            Some(super::check::check(&made.conversion, notebook_dir, &context.out, settings));
                    }
                    Some(made.svg)
                }
                Err(message) => {
                    record.outcome = Outcome::Failed;
                    record.message = Some(message);
                    None
                }
            }
        }
    };
    if !record.outcome.converted() {
        remove_stale(context, &stem, &entry.path);
    }
    record.timings_ms.total = millis(started);
    Finished::New { record: Box::new(record), svg }
}

/// Removes what an earlier run wrote for a notebook that did not convert this time, so
/// that the output folder never holds a pipeline the report does not vouch for.
fn remove_stale(context: &Context, stem: &Path, source: &Path) {
    let options = &context.options;
    let mut suffixes = vec![options.format.suffix(), "svg"];
    if options.tag {
        suffixes.push("ipynb");
    }
    for suffix in suffixes {
        let mut name = stem.as_os_str().to_os_string();
        name.push(".");
        name.push(suffix);
        let path = context.out.join(name);
        if !same_file(&path, source) {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The one-line reason of a refusal: how many errors, and the first.
fn refusal(diagnostics: &[DiagnosticRecord]) -> String {
    let errors: Vec<&DiagnosticRecord> = diagnostics.iter().filter(|d| d.severity == "error").collect();
    match errors.first() {
        Some(first) => {
            let of = first.notebook.as_ref().map(|n| format!(" of {n}")).unwrap_or_default();
            let place = first.cell.map(|c| format!(" (cell {c}{of})")).unwrap_or_default();
            let more =
                if errors.len() > 1 { format!(" and {} more error(s)", errors.len() - 1) } else { String::new() };
            format!("{}: {}{place}{more}", first.code, first.message)
        }
        None => "refused".into(),
    }
}

/// `p` with `/` between its parts, as the report writes paths.
fn slash_path(p: &Path) -> String {
    p.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// The conversion and the files it makes, on the guarded thread (nothing is written there:
/// a conversion given up on must not write later).
fn convert(bytes: &[u8], file: &str, dir: Option<&Path>, options: &MigrateOptions, stem: &Path) -> Converted {
    let (notebook, diagnostics) = match Notebook::from_slice(bytes, file) {
        Ok(n) => n,
        Err(e) => return Converted::Invalid(e.to_string()),
    };
    let raw_for_tags = if options.tag { Some(String::from_utf8_lossy(bytes).into_owned()) } else { None };
    let conversion = match crate::convert(notebook, diagnostics, file, dir, &options.convert) {
        Ok(c) => c,
        Err(e) => return Converted::Invalid(e.to_string()),
    };
    let Some(yaml) = conversion.yaml.clone() else { return Converted::Refused(Box::new(conversion), None) };
    let with_suffix = |suffix: &str| {
        let mut name = stem.as_os_str().to_os_string();
        name.push(".");
        name.push(suffix);
        PathBuf::from(name)
    };
    let pipeline = match options.format {
        PipelineFormat::Ir => yaml,
        PipelineFormat::K8s => match k8s_manifests(&yaml) {
            Ok(text) => text,
            Err(message) => return Converted::Refused(Box::new(conversion), Some(message)),
        },
    };
    let mut files = vec![(with_suffix(options.format.suffix()), pipeline)];
    if let Some(raw) = raw_for_tags {
        let changes =
            crate::plan::kale_tags(&conversion.plan, &conversion.notebook, conversion.inferred_tags.as_deref());
        match crate::notebook::edit::set_cell_tags(&raw, &changes) {
            Ok(tagged) => files.push((with_suffix("ipynb"), tagged)),
            Err(e) => return Converted::Refused(Box::new(conversion), Some(format!("cannot write the tags: {e}"))),
        }
    }
    let svg = crate::graph::draw(&crate::plan::summary(&conversion.plan), crate::graph::Format::Svg);
    if options.graph {
        files.push((with_suffix("svg"), svg.clone()));
    }
    Converted::Made(Box::new(Made { conversion, files, svg }))
}

/// The IR as Kubernetes-native KFP manifests (no namespace: whoever applies them chooses).
fn k8s_manifests(yaml: &str) -> Result<String, String> {
    let ir = crate::emit::file::PipelineFile::parse(yaml).map_err(|e| e.to_string())?;
    let manifests = crate::k8s::manifests::Manifests::build(&ir, None).map_err(|e| e.to_string())?;
    manifests.to_yaml().map_err(|e| e.to_string())
}

/// Writes every file atomically (not flushed one by one: see
/// [`crate::output::write_atomically_unsynced`]; never over the notebook `source` itself); when one cannot be written, removes those already
/// written, so that a notebook that failed has nothing in the output.
fn write_all(out: &Path, files: &[(PathBuf, String)], source: &Path) -> Result<(), String> {
    if let Some((relative, _)) = files.iter().find(|(relative, _)| same_file(&out.join(relative), source)) {
        return Err(format!(
            "{} would be written over the notebook itself; choose another --out",
            out.join(relative).display()
        ));
    }
    let mut written: Vec<PathBuf> = Vec::new();
    for (relative, text) in files {
        let path = out.join(relative);
        let result = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| crate::output::write_atomically_unsynced(&path, text.as_bytes()));
        if let Err(e) = result {
            for done in &written {
                let _ = std::fs::remove_file(done);
            }
            return Err(format!("cannot write {}: {e}", path.display()));
        }
        written.push(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_caught_and_named() {
        let _quiet = QuietPanics::install();
        match guarded(Duration::from_secs(5), || -> u32 { panic!("boom in the analysis") }) {
            Guarded::Panicked(message) => assert_eq!(message, "boom in the analysis"),
            other => panic!("expected a caught panic, got {other:?}"),
        }
    }

    #[test]
    fn work_past_the_limit_is_given_up_without_waiting_for_it() {
        let started = Instant::now();
        let result = guarded(Duration::from_millis(100), || std::thread::sleep(Duration::from_secs(3)));
        assert!(matches!(result, Guarded::TimedOut), "{result:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "waited {:?}", started.elapsed());
    }

    #[test]
    fn a_panic_in_the_conversion_is_a_failed_record_and_writes_nothing() {
        let _quiet = QuietPanics::install();
        let dir = tempfile::tempdir().unwrap();
        let notebook = dir.path().join("in").join("nb.ipynb");
        std::fs::create_dir_all(notebook.parent().unwrap()).unwrap();
        std::fs::write(&notebook, "{}").unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let options = MigrateOptions {
            inputs: vec![dir.path().join("in")],
            out: out.clone(),
            jobs: 1,
            convert: crate::ConvertOptions::default(),
            format: PipelineFormat::Ir,
            tag: false,
            graph: false,
            timeout: Duration::from_secs(10),
            resume: false,
            check: None,
        };
        let inputs = super::super::discover::inputs(&options.inputs).unwrap();
        let context = Context::new(&options, inputs, &out, None);
        let entry = NotebookEntry { input: 0, path: notebook.clone(), relative: PathBuf::from("nb.ipynb") };
        let panicking: Converter = |_, _, _, _, _| panic!("index out of bounds in the analysis");
        let Finished::New { record, svg } = migrate_notebook(&entry, &context, panicking) else {
            panic!("nothing to resume from")
        };
        assert_eq!(record.outcome, Outcome::Failed);
        let message = record.message.unwrap();
        assert!(message.starts_with("nbkf bug: index out of bounds in the analysis"), "{message}");
        assert!(message.contains(&notebook.display().to_string()), "{message}");
        assert!(svg.is_none());
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing written");
    }

    #[test]
    fn finished_work_returns_its_value() {
        assert!(matches!(guarded(Duration::from_secs(5), || 7), Guarded::Done(7)));
    }

    #[test]
    fn a_refusal_names_the_first_error_and_counts_the_rest() {
        let d = |severity: &str, code: &str| DiagnosticRecord {
            severity: severity.into(),
            code: code.into(),
            message: "m".into(),
            cell: Some(2),
            notebook: None,
            cell_id: None,
            line: None,
            column: None,
            hint: None,
        };
        let text = refusal(&[d("warning", "w"), d("error", "undefined-name"), d("error", "x")]);
        assert_eq!(text, "undefined-name: m (cell 2) and 1 more error(s)");
        let mut inside = d("error", "undefined-name");
        inside.notebook = Some("sub/prep.ipynb".into());
        assert_eq!(refusal(&[inside]), "undefined-name: m (cell 2 of sub/prep.ipynb)");
    }

    #[test]
    fn report_paths_use_slashes() {
        assert_eq!(slash_path(Path::new("a").join("b").join("c.yaml").as_path()), "a/b/c.yaml");
    }
}
