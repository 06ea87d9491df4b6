//! What each step installs and carries: the PyPI distributions of its imports (not the
//! optional ones), the requirements of the notebook's `pip install` lines (with their
//! options and `-r` files), and the sources of the local modules it imports.

use std::collections::{BTreeMap, BTreeSet};

use super::Surroundings;
use crate::diagnostics::Diagnostic;
use crate::packages::{self, ImportSource};
use crate::python::{CellFacts, ImportedModule, Span};

/// The most source a step carries for local modules, and a whole pipeline: a run
/// becomes one Kubernetes object holding every step (about 1.5 MiB at most).
pub(super) const MAX_MODULE_BYTES_PER_STEP: usize = 256 * 1024;
pub(super) const MAX_MODULE_BYTES_PER_PIPELINE: usize = 768 * 1024;

/// What one step installs.
#[derive(Debug, Default)]
pub(super) struct StepPackages {
    pub(super) requirements: BTreeSet<String>,
    pub(super) options: Vec<String>,
    pub(super) local_modules: BTreeSet<String>,
}

/// The install lines of the notebook: what each cell's `pip install` asks for.
#[derive(Debug, Default)]
pub(super) struct InstallLines {
    /// (cell, requirements, options), in notebook order.
    lines: Vec<(usize, Vec<String>, Vec<String>)>,
}

impl InstallLines {
    /// Collects the install lines of the cells (reading `-r` files from the notebook's
    /// folder); problems become diagnostics.
    pub(super) fn collect(
        facts: &[Option<CellFacts>],
        surroundings: &Surroundings,
        diags: &mut Vec<Diagnostic>,
    ) -> Self {
        let mut lines = Vec::new();
        for (cell, f) in facts.iter().enumerate() {
            let Some(f) = f else { continue };
            let mut requirements = f.pip_packages.clone();
            let mut options = f.pip_options.clone();
            for (file, span) in &f.requirement_files {
                match surroundings.dir.as_deref().map(|d| packages::requirements::read(d, file)) {
                    Some(Ok(r)) => {
                        for req in r.requirements {
                            if !requirements.contains(&req) {
                                requirements.push(req);
                            }
                        }
                        options.extend(r.options);
                        for (message, hint) in r.warnings {
                            diags.push(
                                Diagnostic::warning("pip-install", format!("{message} (in `{file}`)"))
                                    .in_cell(cell)
                                    .at(*span)
                                    .with_hint(hint),
                            );
                        }
                    }
                    Some(Err(e)) => diags.push(
                        Diagnostic::warning("pip-install", format!("{e}: its packages are not added to the steps"))
                            .in_cell(cell)
                            .at(*span)
                            .with_hint("put the file beside the notebook, or list the packages on the install line"),
                    ),
                    None => diags.push(
                        Diagnostic::warning(
                            "pip-install",
                            format!("`-r {file}` is not read: the notebook is not a file"),
                        )
                        .in_cell(cell)
                        .at(*span),
                    ),
                }
            }
            if !requirements.is_empty() || !options.is_empty() {
                lines.push((cell, requirements, options));
            }
        }
        InstallLines { lines }
    }

    /// The requirements and options a step gets from install lines: those of the lines
    /// in its cells, in the cells every step runs, and before its last cell (a package
    /// installed in a notebook is there for every cell after the install).
    fn for_step(&self, cells: &[usize], prelude: &[usize]) -> (Vec<String>, Vec<String>) {
        let last = cells.iter().max().copied().unwrap_or(0);
        let mut requirements = Vec::new();
        let mut options = Vec::new();
        for (cell, reqs, opts) in &self.lines {
            if *cell <= last || prelude.contains(cell) {
                requirements.extend(reqs.iter().cloned());
                push_options(&mut options, opts);
            }
        }
        (requirements, options)
    }
}

/// Adds options (an option and its value stay together), each once.
fn push_options(into: &mut Vec<String>, options: &[String]) {
    let mut k = 0;
    while k < options.len() {
        let with_value = options.get(k + 1).is_some_and(|v| !v.starts_with('-'));
        let chunk = &options[k..k + if with_value { 2 } else { 1 }];
        if !into.windows(chunk.len()).any(|w| w == chunk) {
            into.extend(chunk.iter().cloned());
        }
        k += chunk.len();
    }
}

/// Works out one step's packages. `imports` are the modules its code imports (its cells,
/// the prelude, the code copied into it), with the cell each is imported in.
#[allow(clippy::too_many_arguments)]
pub(super) fn step_packages(
    step_name: &str,
    cells: &[usize],
    prelude: &[usize],
    imports: &[(usize, ImportedModule)],
    install: &InstallLines,
    surroundings: &Surroundings,
    reported: &mut BTreeSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> StepPackages {
    let (requirements, options) = install.for_step(cells, prelude);
    let installed: BTreeSet<String> = requirements.iter().filter_map(|r| packages::requirement_name(r)).collect();
    let mut out = StepPackages { requirements: requirements.into_iter().collect(), options, ..Default::default() };
    // A package the notebook installs that no import explains may provide an import nbkf
    // does not know: then nbkf does not guess that import's package.
    let mut explained = BTreeSet::new();
    let mut unknown: Vec<(usize, ImportedModule, String)> = Vec::new();
    let mut queue: Vec<(usize, ImportedModule)> = imports.to_vec();
    let mut seen_local = BTreeSet::new();
    while let Some((cell, import)) = queue.pop() {
        let top = packages::top_level(&import.module).to_string();
        if import.module.starts_with('.') {
            continue;
        }
        if let Some(found) = surroundings.modules.find(&top) {
            match found.as_ref() {
                Ok(module) => {
                    if seen_local.insert(top.clone()) {
                        out.local_modules.insert(top.clone());
                        // What the module imports, the step needs too.
                        for (m, optional) in &module.imports {
                            queue.push((
                                cell,
                                ImportedModule {
                                    module: m.clone(),
                                    span: import.span,
                                    optional: *optional || import.optional,
                                },
                            ));
                        }
                    }
                }
                Err(e) => {
                    if reported.insert(format!("unreadable:{top}")) {
                        diags.push(
                            Diagnostic::error(
                                "local-module",
                                format!("module `{top}` is beside the notebook but cannot be read ({}: {})", e.path.display(), e.message),
                            )
                            .in_cell(cell)
                            .at(import.span)
                            .with_hint("make the file readable UTF-8 text, or build the module into the step image and use `--packages image`"),
                        );
                    }
                }
            }
            continue;
        }
        if import.optional {
            continue;
        }
        match packages::resolve_import(&import.module) {
            ImportSource::Nothing => {}
            ImportSource::Distribution { name, known: true } => {
                explained.insert(normalized(&name));
                if !installed.contains(&normalized(&name)) {
                    out.requirements.insert(name);
                }
            }
            ImportSource::Distribution { name, known: false } => {
                if installed.contains(&normalized(&name)) {
                    explained.insert(normalized(&name));
                } else {
                    unknown.push((cell, import.clone(), name));
                }
            }
            ImportSource::HostedOnly { environment } => {
                if reported.insert(format!("hosted:{top}")) {
                    diags.push(
                        Diagnostic::warning(
                            "unknown-import",
                            format!("`{}` exists only in {environment}: the step cannot import it", import.module),
                        )
                        .in_cell(cell)
                        .at(import.span)
                        .with_hint("move the code that needs it to a cell tagged `skip`, or guard the import with `try: ... except ImportError:`"),
                    );
                }
            }
        }
    }
    let unexplained = installed.iter().any(|i| !explained.contains(i));
    for (cell, import, name) in unknown {
        if unexplained {
            // `!pip install fancy-lib` and `import fancy`: the install line provides it.
            continue;
        }
        out.requirements.insert(name.clone());
        let top = packages::top_level(&import.module);
        if reported.insert(format!("unknown:{top}")) {
            diags.push(
                Diagnostic::warning(
                    "unknown-import",
                    format!(
                        "`import {}`: no `{top}.py` or `{top}/` beside the notebook, and not a package nbkf knows; step `{step_name}` will `pip install {name}`",
                        import.module
                    ),
                )
                .in_cell(cell)
                .at(import.span)
                .with_hint(format!(
                    "if `{name}` is not the package's name on PyPI, add `!pip install <name>` to the notebook; if `{top}` is your own module, put it beside the notebook or pass its folder with `--module-path`"
                )),
            );
        }
    }
    out
}

/// Packages a library needs only for some of its features, which a notebook's kernel had
/// installed without the notebook importing them: pandas draws with matplotlib (and scipy
/// for density plots), reads and writes Excel with openpyxl, Parquet with pyarrow, ...
/// (library distribution, methods or functions that need it, what it needs).
const OPTIONAL_FEATURES: &[(&str, &[&str], &str)] = &[
    ("pandas", &["plot", "hist", "boxplot", "scatter_matrix"], "matplotlib"),
    ("pandas", &["kde", "density"], "scipy"),
    ("pandas", &["read_excel", "to_excel", "ExcelWriter"], "openpyxl"),
    ("pandas", &["read_parquet", "to_parquet"], "pyarrow"),
    ("pandas", &["to_markdown"], "tabulate"),
    ("pandas", &["read_html", "read_xml", "to_xml"], "lxml"),
    ("pandas", &["style"], "jinja2"),
];

/// What the step's code uses of those features: the names in its method and function
/// calls (`df.plot(kind="box")` gives `plot`; `kind="density"` gives `density`).
pub(super) fn features_used<'a>(facts: impl Iterator<Item = (&'a CellFacts, &'a str)>) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for (f, source) in facts {
        for e in &f.effects {
            match e {
                crate::python::Effect::MethodCall { path, .. } => used.extend(path.iter().cloned()),
                crate::python::Effect::Call { callee, .. } => {
                    used.insert(callee.clone());
                }
                _ => {}
            }
        }
        // `kind="kde"` is a literal argument the effects do not keep.
        for kind in ["kde", "density"] {
            if source.contains(&format!("kind='{kind}'")) || source.contains(&format!("kind=\"{kind}\"")) {
                used.insert(kind.to_string());
            }
        }
    }
    used
}

/// The packages a step needs for the library features it uses.
pub(super) fn optional_features(requirements: &BTreeSet<String>, used: &BTreeSet<String>) -> Vec<String> {
    let installed: BTreeSet<String> = requirements.iter().map(|r| normalized(r)).collect();
    let mut out = Vec::new();
    for (library, names, needs) in OPTIONAL_FEATURES {
        if installed.contains(*library) && names.iter().any(|n| used.contains(*n)) && !installed.contains(*needs) {
            out.push(needs.to_string());
        }
    }
    out
}

/// A project name as PyPI compares names.
fn normalized(name: &str) -> String {
    packages::requirement_name(name).unwrap_or_else(|| name.to_lowercase())
}

/// Checks the size of the local module sources steps carry; an error when a step or the
/// pipeline would carry too much.
pub(super) fn check_module_sizes(
    modules: &BTreeMap<String, Vec<(String, String)>>,
    per_step: &[(String, BTreeSet<String>)],
    diags: &mut Vec<Diagnostic>,
) {
    let size = |name: &String| modules.get(name).map_or(0, |files| files.iter().map(|(_, s)| s.len()).sum::<usize>());
    let mut total = 0;
    for (step, names) in per_step {
        let bytes: usize = names.iter().map(size).sum();
        total += bytes;
        if bytes > MAX_MODULE_BYTES_PER_STEP {
            let list: Vec<String> = names.iter().map(|n| format!("`{n}` ({} KiB)", size(n).div_ceil(1024))).collect();
            diags.push(
                Diagnostic::error(
                    "local-module",
                    format!(
                        "step `{step}` would carry {} KiB of local module sources ({}), more than the {} KiB a step may carry",
                        bytes.div_ceil(1024),
                        list.join(", "),
                        MAX_MODULE_BYTES_PER_STEP / 1024
                    ),
                )
                .with_hint("build the modules into the step image and convert with `--packages image` (and `--image`)"),
            );
            return;
        }
    }
    if total > MAX_MODULE_BYTES_PER_PIPELINE {
        diags.push(
            Diagnostic::error(
                "local-module",
                format!(
                    "the steps would carry {} KiB of local module sources in all, more than the {} KiB a pipeline may carry (a run must fit in one Kubernetes object)",
                    total.div_ceil(1024),
                    MAX_MODULE_BYTES_PER_PIPELINE / 1024
                ),
            )
            .with_hint("build the modules into the step image and convert with `--packages image` (and `--image`)"),
        );
    }
}

/// `ImportedModule`s of some cells, with their cell.
pub(super) fn imports_of<'a>(
    cells: impl Iterator<Item = &'a usize>,
    facts: &'a [Option<CellFacts>],
) -> Vec<(usize, ImportedModule)> {
    let mut out = Vec::new();
    for &c in cells {
        if let Some(f) = &facts[c] {
            out.extend(f.imports.iter().map(|i| (c, i.clone())));
        }
    }
    out
}

/// An import of `module` made by code copied into a step (a span is not known there).
pub(super) fn copied_import(cell: usize, module: &str) -> (usize, ImportedModule) {
    (cell, ImportedModule { module: module.to_string(), span: Span::default(), optional: false })
}
