//! Local modules: Python files and packages that sit beside the notebook (or in a folder
//! given with `--module-path`) and that the notebook imports (`import fig_code`). They are
//! not on PyPI: their sources travel with the steps that import them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Folders deeper than this inside a local package are not read.
const MAX_DEPTH: usize = 16;

/// One file of a local module, as the step writes it under its module folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleFile {
    /// The path relative to the folder on `sys.path` (`fig_code/__init__.py`,
    /// `helpers.py`), with `/` separators.
    pub path: String,
    pub source: String,
}

/// A module found beside the notebook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModule {
    /// The top-level module name (`fig_code`).
    pub name: String,
    /// The file or folder it was found at.
    pub origin: PathBuf,
    /// Its Python files, sorted by path.
    pub files: Vec<ModuleFile>,
    /// The modules these files import (absolute imports, top-level names), with whether the
    /// import is optional (inside `try: ... except ImportError`).
    pub imports: Vec<(String, bool)>,
}

impl LocalModule {
    /// The size of its sources in bytes.
    pub fn size(&self) -> usize {
        self.files.iter().map(|f| f.source.len()).sum()
    }
}

/// Why a local module could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModuleError {
    pub path: PathBuf,
    pub message: String,
}

/// Finds local modules in an ordered list of folders (the notebook's folder first), and
/// remembers what it found.
#[derive(Debug, Default)]
pub struct ModuleFinder {
    folders: Vec<PathBuf>,
    found: RefCell<HashMap<String, Option<Found>>>,
}

/// A module found beside the notebook, or why it could not be read.
pub type Found = Rc<Result<LocalModule, LocalModuleError>>;

impl ModuleFinder {
    /// A finder that looks in these folders, in order (as `sys.path` would).
    pub fn new(folders: Vec<PathBuf>) -> Self {
        ModuleFinder { folders, found: RefCell::new(HashMap::new()) }
    }

    /// A finder that finds nothing (a notebook that is not a file).
    pub fn none() -> Self {
        ModuleFinder::default()
    }

    /// The folders it looks in.
    pub fn folders(&self) -> &[PathBuf] {
        &self.folders
    }

    /// The local module with this top-level name, if there is one.
    pub fn find(&self, name: &str) -> Option<Found> {
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        if let Some(hit) = self.found.borrow().get(name) {
            return hit.clone();
        }
        let hit =
            self.folders.iter().find_map(|dir| locate(dir, name)).map(|origin| Rc::new(read_module(name, &origin)));
        self.found.borrow_mut().insert(name.to_string(), hit.clone());
        hit
    }
}

/// `dir/name.py`, or a package folder `dir/name/` (with `__init__.py`, or a namespace
/// package holding Python files).
fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    let file = dir.join(format!("{name}.py"));
    let folder = dir.join(name);
    if folder.is_dir() && (folder.join("__init__.py").is_file() || has_python_files(&folder)) {
        return Some(folder);
    }
    file.is_file().then_some(file)
}

fn has_python_files(folder: &Path) -> bool {
    std::fs::read_dir(folder)
        .map(|entries| entries.flatten().any(|e| e.path().extension().is_some_and(|x| x == "py")))
        .unwrap_or(false)
}

fn read_module(name: &str, origin: &Path) -> Result<LocalModule, LocalModuleError> {
    let mut files = Vec::new();
    if origin.is_dir() {
        collect_files(origin, name, 0, &mut files)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
    } else {
        files.push(ModuleFile { path: format!("{name}.py"), source: read_text(origin)? });
    }
    let mut imports: Vec<(String, bool)> = Vec::new();
    for f in &files {
        let facts = crate::python::analyze_cell(&f.source);
        for import in &facts.imports {
            let top = super::top_level(&import.module).to_string();
            if import.module.starts_with('.') || top == name {
                continue;
            }
            match imports.iter_mut().find(|(m, _)| *m == top) {
                Some(existing) => existing.1 &= import.optional,
                None => imports.push((top, import.optional)),
            }
        }
    }
    Ok(LocalModule { name: name.to_string(), origin: origin.to_path_buf(), files, imports })
}

fn collect_files(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<ModuleFile>) -> Result<(), LocalModuleError> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| LocalModuleError { path: dir.to_path_buf(), message: e.to_string() })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') || file_name == "__pycache__" {
            continue;
        }
        let relative = format!("{prefix}/{file_name}");
        if path.is_dir() {
            collect_files(&path, &relative, depth + 1, out)?;
        } else if path.extension().is_some_and(|x| x == "py") {
            out.push(ModuleFile { path: relative, source: read_text(&path)? });
        }
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String, LocalModuleError> {
    let bytes =
        std::fs::read(path).map_err(|e| LocalModuleError { path: path.to_path_buf(), message: e.to_string() })?;
    String::from_utf8(bytes)
        .map_err(|_| LocalModuleError { path: path.to_path_buf(), message: "the file is not UTF-8 text".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_files_and_packages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("helpers.py"), "import numpy as np\nfrom . import x\n").unwrap();
        std::fs::create_dir_all(dir.path().join("fig_code/sub/__pycache__")).unwrap();
        std::fs::write(dir.path().join("fig_code/__init__.py"), "from .figures import plot\n").unwrap();
        std::fs::write(dir.path().join("fig_code/figures.py"), "import matplotlib.pyplot as plt\nimport helpers\n")
            .unwrap();
        std::fs::write(
            dir.path().join("fig_code/sub/deep.py"),
            "try:\n    import seaborn\nexcept ImportError:\n    pass\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("fig_code/sub/__pycache__/deep.cpython-311.pyc"), "junk").unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/train.csv"), "a,b\n").unwrap();

        let finder = ModuleFinder::new(vec![dir.path().to_path_buf()]);
        let helpers = finder.find("helpers").unwrap();
        let helpers = helpers.as_ref().as_ref().unwrap();
        assert_eq!(helpers.files.len(), 1);
        assert_eq!(helpers.imports, [("numpy".to_string(), false)]);

        let fig = finder.find("fig_code").unwrap();
        let fig = fig.as_ref().as_ref().unwrap();
        let paths: Vec<&str> = fig.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["fig_code/__init__.py", "fig_code/figures.py", "fig_code/sub/deep.py"]);
        assert_eq!(
            fig.imports,
            [("matplotlib".to_string(), false), ("helpers".to_string(), false), ("seaborn".to_string(), true)]
        );
        assert!(finder.find("data").is_none(), "a folder without Python files is not a module");
        assert!(finder.find("numpy").is_none());
        assert!(ModuleFinder::none().find("helpers").is_none());
    }

    #[test]
    fn unreadable_modules_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("latin.py"), b"x = '\xe9'\n").unwrap();
        let finder = ModuleFinder::new(vec![dir.path().to_path_buf()]);
        let err = finder.find("latin").unwrap();
        assert!(err.as_ref().as_ref().unwrap_err().message.contains("UTF-8"));
    }
}
