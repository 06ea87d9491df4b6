//! Composed notebooks: a code cell tagged `notebook:<name>` (Kale's composable notebooks)
//! runs another notebook, whose path (relative to the calling notebook) is in the cell's
//! metadata as `notebook_path`. The other notebook becomes a sub-pipeline.
//!
//! The meaning nbkf gives such a cell (and that `nbkf check` verifies) is **expansion**:
//! the calling notebook computes what it would compute with the other notebook's cells in
//! place of the `notebook:` cell, its pipeline parameters bound papermill-style: a parameter
//! the caller already has a value for (a pipeline parameter, or any variable of that name
//! bound before the cell) takes the caller's value; the others keep their defaults and
//! become pipeline parameters of the whole pipeline. Values the sub-notebook's steps bind
//! and later cells read flow back as any step's outputs do.
//!
//! [`expand`] splices the cells (to any depth), renames the sub-notebook's steps
//! `<name>_<step>` so that they stay apart from the caller's, comments out the parameter
//! assignments the caller binds (keeping line numbers), and records where every cell comes
//! from ([`Composition`]), so that diagnostics point at the notebook the user wrote.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Cell, CellKind, Notebook};
use crate::diagnostics::Diagnostic;
use crate::python::{self, Effect, Literal};
use crate::tags::{self, Role};

/// Where the cells of a composed notebook come from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Composition {
    /// The sub-notebooks, in the order their cells start.
    pub subs: Vec<SubNotebook>,
    /// For each cell of the expanded notebook: the sub-notebook it is a cell of (`None`:
    /// the converted notebook) and its index there.
    pub origins: Vec<(Option<usize>, usize)>,
    /// For each cell of the expanded notebook: its tags as its file has them (expansion
    /// renames steps, adds `step:main` to untagged notebooks, makes `notebook:` cells
    /// `skip`).
    pub written_tags: Vec<Vec<String>>,
}

/// One `notebook:` cell's notebook, as spliced into the converted one.
#[derive(Debug, Clone, PartialEq)]
pub struct SubNotebook {
    /// The name in the `notebook:<name>` tag.
    pub name: String,
    /// Its path from the converted notebook's folder (the `notebook_path` of the cell
    /// that calls it, joined to the caller's folder).
    pub path: String,
    /// The sub-notebook that calls it (`None`: the converted notebook).
    pub parent: Option<usize>,
    /// The `notebook:` cell that calls it (index in the expanded notebook).
    pub cell: usize,
    /// The prefix of its steps' names (`prep_`, `prep_clean_` when nested).
    pub prefix: String,
    /// The file, as read (canonical path).
    pub file: PathBuf,
}

impl Composition {
    /// The expanded index of cell `cell` of `notebook` (a sub-notebook's path, or `None`
    /// for the converted notebook).
    pub fn expanded_index(&self, notebook: Option<&str>, cell: usize) -> Option<usize> {
        let sub = match notebook {
            Some(path) => Some(self.subs.iter().position(|s| s.path == path)?),
            None => None,
        };
        self.origins.iter().position(|o| *o == (sub, cell))
    }

    /// The sub-notebook an expanded cell belongs to.
    pub fn sub_of(&self, cell: usize) -> Option<usize> {
        self.origins.get(cell).and_then(|o| o.0)
    }

    /// Points a diagnostic given in expanded cell indices at the notebook and cell the user
    /// wrote.
    pub fn relocate(&self, mut d: Diagnostic) -> Diagnostic {
        if d.notebook.is_none() {
            if let Some(&(sub, cell)) = d.cell.and_then(|c| self.origins.get(c)) {
                d.cell = Some(cell);
                d.notebook = sub.map(|s| self.subs[s].path.clone());
            }
        }
        d
    }
}

/// The cell metadata key that holds the other notebook's path (Kale's).
pub const PATH_KEY: &str = "notebook_path";

/// The name in a cell's `notebook:<name>` tag (possibly empty), if it has one.
pub fn notebook_tag(cell: &Cell) -> Option<&str> {
    if cell.kind != CellKind::Code {
        return None;
    }
    cell.tags.iter().find_map(|t| t.strip_prefix("notebook:"))
}

/// Splices the notebooks that `notebook:` cells call into `notebook` (whose folder is
/// `dir` and file name `file`); with `confine`, only notebooks inside that folder.
/// Returns the expanded notebook (unchanged when it has no `notebook:` cell) and the
/// problems found, located in the notebooks the user wrote.
pub fn expand(
    notebook: Notebook,
    dir: Option<&Path>,
    file: &str,
    confine: Option<&Path>,
) -> (Notebook, Vec<Diagnostic>) {
    if !notebook.cells.iter().any(|c| notebook_tag(c).is_some()) {
        return (notebook, Vec::new());
    }
    let mut e = Expander { confine: confine.map(Path::to_path_buf), ..Expander::default() };
    let root = dir.map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d.to_path_buf() });
    let chain = Chain {
        files: root.as_ref().and_then(|d| d.join(file).canonicalize().ok()).into_iter().collect(),
        names: vec![file.to_string()],
    };
    e.splice(&notebook.cells, root.as_deref(), None, &chain);
    let cells = e.cells.into_iter().enumerate().map(|(index, c)| Cell { index, ..c }).collect();
    let composition = Composition { subs: e.subs, origins: e.origins, written_tags: e.written_tags };
    (Notebook { cells, composition: Some(Box::new(composition)), ..notebook }, e.diags)
}

/// The notebooks being expanded, outermost first: canonical paths (to find cycles) and
/// their paths as shown to the user (to name a cycle).
struct Chain {
    files: Vec<PathBuf>,
    names: Vec<String>,
}

#[derive(Default)]
struct Expander {
    cells: Vec<Cell>,
    origins: Vec<(Option<usize>, usize)>,
    written_tags: Vec<Vec<String>>,
    subs: Vec<SubNotebook>,
    /// Module-level names bound so far (what a sub-notebook's parameters bind to).
    bound: BTreeSet<String>,
    /// Of those, the pipeline parameters that still hold their literal: name → type.
    parameters: BTreeMap<String, &'static str>,
    diags: Vec<Diagnostic>,
    /// The folder the notebooks must be in, if any.
    confine: Option<PathBuf>,
}

impl Expander {
    /// A diagnostic at cell `cell` of sub-notebook `me` (or of the converted notebook).
    fn at(&self, d: Diagnostic, me: Option<usize>, cell: usize) -> Diagnostic {
        let mut d = d.in_cell(cell);
        d.notebook = me.map(|s| self.subs[s].path.clone());
        d
    }

    /// Appends `cells` (of sub-notebook `me`, or of the converted notebook) to the
    /// expansion, splicing in the notebooks their `notebook:` cells call.
    fn splice(&mut self, cells: &[Cell], dir: Option<&Path>, me: Option<usize>, chain: &Chain) {
        let prefix = me.map(|s| self.subs[s].prefix.clone()).unwrap_or_default();
        let has_steps = cells.iter().any(|c| c.kind == CellKind::Code && matches!(role(c), Role::Step(_)));
        // A notebook without step tags of its own: each run of its code cells (before, between
        // and after its `notebook:` cells) is a step, `main`, `main_2`, ... (as nbkf names the
        // step of an untagged notebook), prefixed for a sub-notebook.
        let mut needs_step = !has_steps;
        let mut runs = 0;
        for cell in cells {
            let mut c = cell.clone();
            if let Some(name) = notebook_tag(cell) {
                // The cell itself runs nothing; the other notebook's cells follow it.
                c.tags = vec!["skip".into()];
                let at = self.cells.len();
                self.origins.push((me, cell.index));
                self.written_tags.push(cell.tags.clone());
                self.cells.push(c);
                if let Err(d) = self.call(cell, name, dir, me, &prefix, chain, at) {
                    let d = self.at(d.with_tag(format!("notebook:{name}")), me, cell.index);
                    self.diags.push(d);
                }
                needs_step = !has_steps;
                continue;
            }
            if c.kind == CellKind::Code && needs_step && is_plain_code(&c) {
                runs += 1;
                let suffix = if runs == 1 { String::new() } else { format!("_{runs}") };
                c.tags.push(format!("step:main{suffix}"));
                needs_step = false;
            }
            if me.is_some() && c.kind == CellKind::Code {
                if let Some(tag) = c.tags.iter().find(|t| *t == "finally") {
                    let d = Diagnostic::error(
                        "sub-notebook-exit-step",
                        "a sub-notebook's step cannot be the exit step: the exit step runs after all the pipeline's steps",
                    )
                    .with_tag(tag.clone())
                    .with_hint("tag the exit step in the notebook you convert, as its last step");
                    self.diags.push(self.at(d, me, cell.index));
                    c.tags.retain(|t| t != "finally");
                }
                c.tags = c.tags.iter().map(|t| rename(t, &prefix)).collect();
                if is_parameters(&c) {
                    self.bind_parameters(&mut c, me);
                }
            }
            self.note_bindings(&c);
            self.origins.push((me, cell.index));
            self.written_tags.push(cell.tags.clone());
            self.cells.push(c);
        }
    }

    /// Splices the notebook a `notebook:<name>` cell calls (the cell is at `at`); the
    /// error is the one problem that stops it (at most one per `notebook:` cell, so its
    /// size does not matter).
    #[allow(clippy::too_many_arguments, clippy::result_large_err)]
    fn call(
        &mut self,
        cell: &Cell,
        name: &str,
        dir: Option<&Path>,
        me: Option<usize>,
        prefix: &str,
        chain: &Chain,
        at: usize,
    ) -> Result<(), Diagnostic> {
        if !valid_name(name) {
            return Err(Diagnostic::error(
                "invalid-tag",
                format!(
                    "`notebook:{name}` needs a name of lowercase letters, digits and `_`, not starting with a digit"
                ),
            )
            .with_hint("name the sub-pipeline, e.g. `notebook:prepare`"));
        }
        if self.subs.iter().any(|s| s.parent == me && s.name == name) {
            return Err(Diagnostic::error(
                "duplicate-notebook-name",
                format!(
                    "another cell of this notebook is tagged `notebook:{name}`: each sub-pipeline needs its own name"
                ),
            )
            .with_hint(format!("rename this one, e.g. `notebook:{name}_2`")));
        }
        let Some(path) = cell.metadata.get(PATH_KEY).and_then(Value::as_str).filter(|p| !p.trim().is_empty()) else {
            return Err(Diagnostic::error(
                "missing-notebook-path",
                "this `notebook:` cell does not say which notebook it runs: its metadata has no `notebook_path`",
            )
            .with_hint("add `\"notebook_path\": \"other.ipynb\"` (relative to this notebook) to the cell's metadata, as Kale's panel does"));
        };
        if let Some(line) = cell.source.lines().position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')) {
            return Err(Diagnostic::error(
                "notebook-cell-code",
                format!(
                    "a `notebook:` cell runs another notebook, so it may hold only comments; line {} is code",
                    line + 1
                ),
            )
            .with_hint("move the code to a cell of its own"));
        }
        let Some(dir) = dir else {
            return Err(Diagnostic::error(
                "notebook-path-unresolved",
                format!(
                    "cannot find `{path}`: the notebook was not read from a file, so it has no folder to find it in"
                ),
            )
            .with_hint("convert the notebook from its file"));
        };
        let full = dir.join(path);
        let shown = match me {
            Some(s) => shown_path(Path::new(&self.subs[s].path).parent(), path),
            None => shown_path(None, path),
        };
        let canonical = full.canonicalize().map_err(|e| {
            Diagnostic::error("notebook-not-found", format!("cannot read `{path}` ({}): {e}", full.display()))
                .with_hint("`notebook_path` is relative to the notebook that has the `notebook:` cell")
        })?;
        if let Some(root) = self.confine.as_ref().filter(|r| !canonical.starts_with(r)) {
            return Err(Diagnostic::error(
                "notebook-outside-root",
                format!("`{path}` is outside the folder nbkf serves ({})", root.display()),
            )
            .with_hint("keep the notebooks a notebook runs inside that folder, or convert it with `nbkf convert`"));
        }
        if let Some(k) = chain.files.iter().position(|f| *f == canonical) {
            let mut names: Vec<&str> = chain.names[k..].iter().map(String::as_str).collect();
            names.push(&shown);
            return Err(Diagnostic::error(
                "notebook-cycle",
                format!("notebooks call each other in a cycle: {}", names.join(" → ")),
            )
            .with_hint("a notebook cannot run itself, directly or through other notebooks"));
        }
        let (sub, read) = Notebook::from_path(&canonical).map_err(|e| {
            Diagnostic::error("notebook-unreadable", format!("the notebook `{path}` cannot be used: {e}"))
        })?;
        let index = self.subs.len();
        self.subs.push(SubNotebook {
            name: name.to_string(),
            path: shown.clone(),
            parent: me,
            cell: at,
            prefix: format!("{prefix}{name}_"),
            file: canonical.clone(),
        });
        for mut d in read {
            d.notebook = Some(shown.clone());
            self.diags.push(d);
        }
        if let Some(keys) = ignored_settings(&sub) {
            let d = Diagnostic::warning(
                "sub-notebook-settings",
                format!("the pipeline settings of `{shown}` ({keys}) do not apply: the settings of the notebook you convert apply to every step"),
            )
            .with_hint("set them in the converted notebook, or per step with tags in the sub-notebook");
            self.diags.push(self.at(d, me, cell.index));
        }
        let mut files = chain.files.clone();
        files.push(canonical.clone());
        let mut names = chain.names.clone();
        names.push(shown);
        let sub_dir = canonical.parent().map(Path::to_path_buf);
        self.splice(&sub.cells, sub_dir.as_deref(), Some(index), &Chain { files, names });
        Ok(())
    }

    /// Comments out the assignments of a sub-notebook's parameters cell that the caller
    /// binds (their lines stay, so line numbers do not move); checks that a parameter bound
    /// from a caller's pipeline parameter has its type.
    fn bind_parameters(&mut self, c: &mut Cell, me: Option<usize>) {
        let (assignments, _) = python::parse_parameters_cell(&c.source);
        let mut lines: Vec<String> = c.source.split('\n').map(str::to_string).collect();
        for a in &assignments {
            if !self.bound.contains(&a.name) {
                continue;
            }
            let theirs = literal_type(&a.value);
            if let Some(&ours) = self.parameters.get(&a.name) {
                if ours != theirs && !(ours == "int" && theirs == "float") {
                    let Some(s) = me else { continue };
                    let (caller, cell) = self.origins[self.subs[s].cell];
                    let d = Diagnostic::error(
                        "parameter-mismatch",
                        format!(
                            "`{}` takes the parameter `{}` as a {theirs} (`{}`), but this notebook's `{}` is a {ours} pipeline parameter",
                            self.subs[s].path,
                            a.name,
                            &c.source[a.span.start..a.span.end],
                            a.name
                        ),
                    )
                    .with_hint("give both the same type, or rename one of them");
                    self.diags.push(self.at(d, caller, cell));
                }
            }
            let first = a.span.line.saturating_sub(1);
            let count = c.source[a.span.start..a.span.end].lines().count().max(1);
            for line in lines.iter_mut().skip(first).take(count) {
                *line = format!("# {line}");
            }
            if let Some(line) = lines.get_mut(first) {
                line.push_str("  # nbkf: bound by the calling notebook");
            }
        }
        c.source = lines.join("\n");
    }

    /// Records the module-level names a cell of the expansion binds.
    fn note_bindings(&mut self, c: &Cell) {
        if c.kind != CellKind::Code || role(c) == Role::Skip {
            return;
        }
        if is_parameters(c) {
            let (assignments, problems) = python::parse_parameters_cell(&c.source);
            if problems.is_empty() {
                for a in assignments {
                    self.parameters.insert(a.name.clone(), literal_type(&a.value));
                    self.bound.insert(a.name);
                }
                return;
            }
        }
        for effect in python::analyze_cell(&c.source).effects {
            if let Effect::Bind { name, .. } = effect {
                self.parameters.remove(&name);
                self.bound.insert(name);
            }
        }
    }
}

/// A path as shown to the user: `path` joined to the caller's folder, `.` parts removed.
fn shown_path(caller_dir: Option<&Path>, path: &str) -> String {
    let joined = caller_dir.map_or_else(|| PathBuf::from(path), |d| d.join(path));
    let mut parts: Vec<String> = Vec::new();
    for part in joined.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if parts.last().is_some_and(|p| p != "..") => {
                parts.pop();
            }
            other => parts.push(other.as_os_str().to_string_lossy().into_owned()),
        }
    }
    parts.join("/")
}

/// The `kubeflow_notebook` settings of a sub-notebook that would change its steps, which
/// the composed pipeline does not apply.
fn ignored_settings(sub: &Notebook) -> Option<String> {
    let meta = sub.metadata.get("kubeflow_notebook")?.as_object()?;
    let keys: Vec<String> = ["base_image", "steps_defaults", "volumes", "enable_caching"]
        .iter()
        .filter(|k| meta.get(**k).is_some_and(|v| !v.is_null() && v != "" && *v != Value::Array(vec![])))
        .map(|k| format!("`{k}`"))
        .collect();
    (!keys.is_empty()).then(|| keys.join(", "))
}

/// Kale's `notebook:` name grammar: `[_a-z][_a-z0-9]*`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A sub-notebook's tag with the step names in it prefixed.
fn rename(tag: &str, prefix: &str) -> String {
    for key in ["step:", "block:", "prev:"] {
        if let Some(name) = tag.strip_prefix(key).filter(|n| !n.is_empty()) {
            return format!("{key}{prefix}{name}");
        }
    }
    tag.to_string()
}

/// What a code cell is for, as its tags say ([`tags::parse_cell_tags`]; its problems are
/// reported when the plan reads the tags).
fn role(c: &Cell) -> Role {
    tags::parse_cell_tags(c).0.role
}

/// A code cell with no special role (in an untagged notebook, it may start a step).
fn is_plain_code(c: &Cell) -> bool {
    c.kind == CellKind::Code && role(c) == Role::Continue && !c.source.trim().is_empty()
}

fn is_parameters(c: &Cell) -> bool {
    c.kind == CellKind::Code && matches!(role(c), Role::PipelineParameters | Role::PapermillParameters)
}

fn literal_type(l: &Literal) -> &'static str {
    match l {
        Literal::Int(_) => "int",
        Literal::Float(_) => "float",
        Literal::Str(_) => "str",
        Literal::Bool(_) => "bool",
        Literal::List(_) => "list",
        Literal::Dict(_) => "dict",
        Literal::None => "None",
    }
}

#[cfg(test)]
mod tests;
