//! The library's face: notebook in, pipeline out.

use std::path::{Path, PathBuf};

use crate::config::{self, Overrides};
use crate::diagnostics::{self, Diagnostic};
use crate::emit;
use crate::notebook::{Notebook, NotebookError};
use crate::packages::ModuleFinder;
use crate::plan::{self, Plan, SplitMode, Surroundings};

pub use crate::emit::PreambleMode;

/// What a conversion should do beyond the notebook's own settings.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Command-line values that win over the notebook's metadata.
    pub overrides: Overrides,
    pub preamble: PreambleMode,
    /// How a notebook without step tags is split into steps.
    pub split: SplitMode,
    /// More folders to find local modules in (after the notebook's own), like `PYTHONPATH`.
    pub module_paths: Vec<PathBuf>,
    /// The folder the notebooks that `notebook:` cells run must be in (`nbkf serve` keeps
    /// them under its root); anywhere when `None`.
    pub notebook_root: Option<PathBuf>,
}

/// The result of converting a notebook.
#[derive(Debug)]
pub struct Conversion {
    pub notebook: Notebook,
    /// The plan; present even with errors (it shows what could be understood).
    pub plan: Plan,
    /// The KFP IR YAML, when there are no errors (never made by [`plan_only`]).
    pub yaml: Option<String>,
    /// Everything found, errors and warnings, sorted by cell.
    pub diagnostics: Vec<Diagnostic>,
    /// The tags nbkf inferred for a notebook without step tags (cell index, all its
    /// tags), when it split it automatically.
    pub inferred_tags: Option<Vec<(usize, Vec<String>)>>,
}

impl Conversion {
    /// Whether any diagnostic is an error (no pipeline was produced).
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Why a conversion could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Notebook(#[from] NotebookError),
    #[error("cannot write the pipeline YAML: {0}")]
    Yaml(String),
}

/// What the plan may look at beside the notebook: its folder (local modules, requirement
/// files) and the module folders given with `--module-path`.
fn surroundings(dir: Option<&Path>, options: &ConvertOptions) -> Surroundings {
    let mut folders: Vec<PathBuf> =
        dir.map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d.to_path_buf() }).into_iter().collect();
    folders.extend(options.module_paths.iter().cloned());
    Surroundings {
        dir: dir.map(Path::to_path_buf),
        modules: ModuleFinder::new(folders),
        carry_modules: options.preamble == PreambleMode::Pip,
    }
}

/// Reads a notebook file and converts it.
pub fn convert_file(path: &Path, options: &ConvertOptions) -> Result<Conversion, ConvertError> {
    let (notebook, parse_diagnostics) = Notebook::from_path(path)?;
    let file = path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    convert(notebook, parse_diagnostics, &file, Some(&dir), options)
}

/// Converts a parsed notebook. `file` names it in messages and as the default pipeline
/// name; `dir` (the notebook's folder) tells local modules from packages.
pub fn convert(
    notebook: Notebook,
    diagnostics: Vec<Diagnostic>,
    file: &str,
    dir: Option<&Path>,
    options: &ConvertOptions,
) -> Result<Conversion, ConvertError> {
    let mut conversion = plan_only(notebook, diagnostics, file, dir, options);
    if !conversion.has_errors() {
        let yaml =
            emit::kfp_ir_yaml(&conversion.plan, options.preamble).map_err(|e| ConvertError::Yaml(e.to_string()))?;
        conversion.yaml = Some(yaml);
    }
    Ok(conversion)
}

/// Everything [`convert`] finds (the plan and every diagnostic) without writing the
/// pipeline YAML: for an editor's analysis, which shows the plan and never uploads it.
pub fn plan_only(
    notebook: Notebook,
    mut diagnostics: Vec<Diagnostic>,
    file: &str,
    dir: Option<&Path>,
    options: &ConvertOptions,
) -> Conversion {
    let (notebook, composed) = crate::notebook::compose::expand(notebook, dir, file, options.notebook_root.as_deref());
    diagnostics.extend(composed);
    let stem = file.strip_suffix(".ipynb").unwrap_or(file);
    let (settings, settings_diagnostics) = config::resolve(&notebook.metadata, stem, &options.overrides);
    diagnostics.extend(settings_diagnostics);
    let surroundings = surroundings(dir, options);
    let inferred_tags = plan::inferred_tags(&notebook, options.split);
    let mut plan = match &inferred_tags {
        Some(tags) => plan::build(&plan::with_tags(&notebook, tags), settings, file, &surroundings),
        None => plan::build(&notebook, settings, file, &surroundings),
    };
    match &notebook.composition {
        // The plan counts the cells of the expanded notebook; users, those they wrote.
        Some(c) => diagnostics.extend(plan.diagnostics.drain(..).map(|d| c.relocate(d))),
        None => diagnostics.append(&mut plan.diagnostics),
    }
    diagnostics::sort(&mut diagnostics);
    Conversion { notebook, plan, yaml: None, diagnostics, inferred_tags }
}
