//! Finding the notebooks to migrate: the inputs' folders walked as `git` would see them
//! (hidden folders, `.ipynb_checkpoints` and what `.gitignore` files ignore are skipped,
//! inside a git repository or not), a file given by name taken as it is, and the output
//! folder never walked. Problems on the way (a symbolic link loop, a folder that cannot be
//! read) are yielded for the report, not fatal.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::MigrateError;

/// One input path of the command line.
#[derive(Debug, Clone)]
pub struct Input {
    /// As given, for the report's `inputs` and records' `input`.
    pub shown: String,
    pub path: PathBuf,
    /// Whether the input is one file (taken as it is) rather than a folder.
    pub is_file: bool,
    /// Where its tree is mirrored under `--out`: `""` for a single input, else its own
    /// name (made unique), so that two inputs' notebooks cannot collide.
    pub mirror: PathBuf,
}

/// Checks the inputs and gives each its place under `--out`.
pub fn inputs(paths: &[PathBuf]) -> Result<Vec<Input>, MigrateError> {
    let mut taken = HashSet::new();
    let several = paths.len() > 1;
    let mut inputs = Vec::new();
    for path in paths {
        let shown = path.display().to_string();
        let metadata = std::fs::metadata(path).map_err(|_| MigrateError::MissingInput(shown.clone()))?;
        let is_file = !metadata.is_dir();
        let mirror = if several {
            let base = match std::fs::canonicalize(path).ok().as_deref().and_then(Path::file_name) {
                Some(name) if is_file => Path::new(name).file_stem().unwrap_or(name).to_string_lossy().into_owned(),
                Some(name) => name.to_string_lossy().into_owned(),
                None => "input".to_string(),
            };
            let name = (1..)
                .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
                .find(|n| !taken.contains(n))
                .unwrap_or(base);
            taken.insert(name.clone());
            PathBuf::from(name)
        } else {
            PathBuf::new()
        };
        inputs.push(Input { shown, path: path.clone(), is_file, mirror });
    }
    Ok(inputs)
}

/// A notebook to migrate.
#[derive(Debug, Clone)]
pub struct NotebookEntry {
    /// Index into the inputs.
    pub input: usize,
    pub path: PathBuf,
    /// Its path relative to its input (its file name for an input that is a file).
    pub relative: PathBuf,
}

/// What the walk yields.
#[derive(Debug, Clone)]
pub enum Found {
    Notebook(NotebookEntry),
    /// A folder or link that could not be walked: recorded as `unreadable`.
    Problem {
        input: usize,
        relative: PathBuf,
        message: String,
    },
}

/// The walk over all inputs; [`Walk::notebooks`] may be called more than once (to count
/// first).
pub struct Walk<'a> {
    inputs: &'a [Input],
    /// The output folder's identity, to never walk into it.
    out: Option<(u64, u64)>,
}

#[cfg(unix)]
fn identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn identity(_: &Path) -> Option<(u64, u64)> {
    None
}

impl<'a> Walk<'a> {
    /// A walk over `inputs` that leaves `out` out.
    pub fn new(inputs: &'a [Input], out: &Path) -> Self {
        Walk { inputs, out: identity(out) }
    }

    /// Every notebook and every problem, input by input, each folder in name order.
    pub fn notebooks(&self) -> impl Iterator<Item = Found> + Send + '_ {
        self.inputs.iter().enumerate().flat_map(move |(index, input)| self.walk_input(index, input))
    }

    fn walk_input(&self, index: usize, input: &'a Input) -> Box<dyn Iterator<Item = Found> + Send + 'a> {
        if input.is_file {
            let relative = input.path.file_name().map(PathBuf::from).unwrap_or_else(|| input.path.clone());
            return Box::new(std::iter::once(Found::Notebook(NotebookEntry {
                input: index,
                path: input.path.clone(),
                relative,
            })));
        }
        let out = self.out;
        let root = input.path.clone();
        let walker = WalkBuilder::new(&input.path)
            .hidden(true)
            .git_ignore(true)
            .git_exclude(true)
            .git_global(false)
            .require_git(false)
            .ignore(true)
            .parents(true)
            .follow_links(true)
            .sort_by_file_name(|a, b| a.cmp(b))
            .filter_entry(move |entry| {
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if !is_dir || entry.depth() == 0 {
                    return true;
                }
                if entry.file_name() == ".ipynb_checkpoints" {
                    return false;
                }
                out.is_none() || identity(entry.path()) != out
            })
            .build();
        Box::new(walker.filter_map(move |result| match result {
            Ok(entry) => {
                let is_file = entry.file_type().is_some_and(|t| t.is_file());
                let notebook = entry.path().extension().is_some_and(|e| e == "ipynb");
                (is_file && notebook).then(|| {
                    let relative = entry.path().strip_prefix(&root).unwrap_or(entry.path()).to_path_buf();
                    Found::Notebook(NotebookEntry { input: index, path: entry.path().to_path_buf(), relative })
                })
            }
            Err(error) => {
                let path = error_path(&error).unwrap_or_else(|| root.clone());
                let relative = path.strip_prefix(&root).unwrap_or(&path).to_path_buf();
                Some(Found::Problem { input: index, relative, message: error_message(&error) })
            }
        }))
    }
}

/// The path a walk error is about.
fn error_path(error: &ignore::Error) -> Option<PathBuf> {
    match error {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        ignore::Error::Partial(errors) => errors.iter().find_map(error_path),
        _ => None,
    }
}

/// A walk error in words, without the path (the record names it).
fn error_message(error: &ignore::Error) -> String {
    match error {
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => error_message(err),
        ignore::Error::Loop { ancestor, .. } => {
            format!("a symbolic link loop (it leads back to {}); not followed", ancestor.display())
        }
        ignore::Error::Io(e) => format!("cannot read this folder: {e}"),
        other => other.to_string(),
    }
}
