//! Python analysis of one code cell: IPython syntax, scopes, and the module-level
//! effects (reads, bindings, mutations, deletions) the planner needs.
//!
//! The analysis is per cell and knows nothing about other cells: whether a read name
//! is a module, a function defined three cells earlier or a pipeline parameter is
//! decided by the planner, which walks the cells in notebook order.

mod analyze;
mod loops;
mod magics;
pub mod pip;
mod resources;
mod special_cells;

pub use analyze::analyze_cell;
pub use loops::{loop_cell, LoopCell};
pub use special_cells::{parse_metrics_cell, parse_parameters_cell, Literal, MetricLine, ParameterAssignment};

// A position in a cell is a diagnostics span: `diagnostics` is the leaf every stage reports into.
pub use crate::diagnostics::Span;

/// Everything the planner needs to know about one code cell.
#[derive(Debug, Clone, Default)]
pub struct CellFacts {
    /// Module-level effects in evaluation order.
    pub effects: Vec<Effect>,
    /// Top-level `def` and `class` statements of the cell, in source order.
    /// `BindKind::Definition(i)` refers to `definitions[i]`.
    pub definitions: Vec<Definition>,
    /// IPython syntax found in the cell (line magics, shell escapes, help, cell magic).
    pub magics: Vec<Magic>,
    /// Modules imported anywhere in the cell (module level or inside functions), each
    /// once, in order: as written (`numpy`, `sklearn.model_selection`, `.local` for
    /// relative imports), where first imported, and whether every import of it is
    /// optional.
    pub imports: Vec<ImportedModule>,
    /// Requirements named by `%pip install` / `!pip install` / `%conda install` lines,
    /// as pip takes them (`pandas==2.1`, `scikit-learn`, `git+https://...`).
    pub pip_packages: Vec<String>,
    /// Options of those install lines that change what is installed (`--index-url URL`,
    /// `--pre`, ...), to pass on to the step's install command.
    pub pip_options: Vec<String>,
    /// Requirement files named with `-r FILE` on those lines, with where.
    pub requirement_files: Vec<(String, Span)>,
    /// Problems found: syntax errors, Python 2 syntax, unsupported magics, ...
    pub problems: Vec<Problem>,
    /// The cell as plain Python to execute in a step: every IPython construct replaced
    /// by a call into the step runtime (`_nbkf_ipython`), with the same number of lines
    /// so that line numbers in tracebacks are the notebook's. For a cell with a cell
    /// magic this is the translated *body* prefixed with one empty line (so line 2 of
    /// the cell stays line 2).
    pub program: String,
    /// The cell magic (`%%name args` on the first line), if any.
    pub cell_magic: Option<CellMagic>,
}

/// A module a cell imports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportedModule {
    /// As written: `numpy`, `sklearn.model_selection`, `.local`.
    pub module: String,
    /// The first import statement that names it.
    pub span: Span,
    /// Every import of it is in a `try` whose handlers catch `ImportError` (or
    /// `ModuleNotFoundError`): the code works without it, so it is not installed.
    pub optional: bool,
}

/// One module-level effect of a cell, or of a function body when it is called.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Effect {
    /// The value of a module-level name is read.
    Read {
        name: String,
        span: Span,
        /// A soft read never causes an "undefined name" error: it happens at call time
        /// (function bodies, lambdas), in code guarded by `except NameError`, or in a
        /// `$name` of a shell command.
        soft: bool,
        /// The read is at module level inside a branch, loop, `try` or `match` case that
        /// may not run: a name never defined is a warning there, not an error (Jupyter
        /// runs such code).
        conditional: bool,
    },
    /// A module-level name is (re)bound.
    Bind {
        name: String,
        span: Span,
        kind: BindKind,
        /// The binding happens on only some paths (inside `if`, `try`, `for`, `while`,
        /// `match`, or a function body run at call time).
        conditional: bool,
        /// A conditional binding inside a module-level statement that binds the name on
        /// every path through it (`if`/`else` both assign it, a `try` whose handlers assign
        /// it too): after the statement the name is bound, to one of its values.
        exhaustive: bool,
    },
    /// The object a module-level name refers to is changed in place:
    /// `x[k] = v`, `x.a = v`, `del x[k]`, `x += v` (also a Read and a Bind),
    /// `setattr(x, ...)`, a call with `out=x`, or passed to a known in-place function
    /// (`random.shuffle(x)`). `path` holds the attribute names between the name and the
    /// change (`os.environ["K"] = v` is `{name: "os", path: ["environ"]}`,
    /// `pd.options.display.precision = 3` is `["options", "display", "precision"]`).
    Mutate { name: String, span: Span, path: Vec<String> },
    /// A method is called on (an attribute path of) a module-level name:
    /// `x.append(1)` is `{receiver: "x", path: ["append"]}`,
    /// `np.random.seed(0)` is `{receiver: "np", path: ["random", "seed"]}`.
    /// The planner decides whether it mutates (modules are not values; `df.head()` is
    /// read-only; `inplace=True` always mutates).
    MethodCall {
        receiver: String,
        path: Vec<String>,
        span: Span,
        /// The call passes `inplace=True`.
        inplace: bool,
        /// Positional arguments.
        args: Vec<Arg>,
        /// Keyword arguments: (keyword, argument).
        kwargs: Vec<(String, Arg)>,
    },
    /// A module-level name is called as a function: `f(a, b=c)`, or something that is
    /// not a name is (`callee` empty: `make()(a)`, `fs[0](a)`). Arguments that are plain
    /// names are listed: a call may change what it is given.
    Call {
        callee: String,
        span: Span,
        /// Positional arguments.
        args: Vec<Arg>,
        /// Keyword arguments: (keyword, argument).
        kwargs: Vec<(String, Arg)>,
    },
    /// `del x` at module level (or `del x` of a `global x` in a function).
    Delete { name: String, span: Span },
    /// `from module import *`: any name may now be bound by this import.
    StarImport { module: String, span: Span },
    /// The value just bound to `name` (this effect follows its `Bind`) refers to, or
    /// contains, the objects bound to `of`: `b = a`, `b = [a, c]`, `b = {"k": a}`,
    /// `for b in [a, c]`, `for b in xs` (`of` = `["xs"]`). Changing one changes the others.
    Alias { name: String, of: Vec<String>, span: Span },
    /// What is statically known about the value just bound to `name` (follows its `Bind`).
    Value { name: String, span: Span, hint: ValueHint },
    /// `globals()`, `locals()`, `vars()`, `exec(...)`, `eval(...)`, `__import__(...)`
    /// at module level or in a function: names may be read or bound in ways the analysis
    /// cannot see. `call` is the function called.
    DynamicNamespace { call: String, span: Span },
    /// A file is written at a path given as a string literal: `open("p", "w")`,
    /// `df.to_csv("p")`, `np.save("p", a)`, `plt.savefig("p")`, `%%writefile p`, ...
    FileWrite { path: String, span: Span },
    /// A file is read at a path given as a string literal: `open("p")`,
    /// `pd.read_csv("p")`, `np.load("p")`, ...
    FileRead { path: String, span: Span },
    /// A file API is called with a path that is not a literal (a variable, an f-string):
    /// which file it is cannot be known at convert time.
    FileUnknown { call: String, write: bool, span: Span },
    /// IPython changes process state: `%env NAME=value` / `%set_env` (`setting` is
    /// `os.environ`), `%cd dir` (`os.chdir`).
    SetState { setting: String, span: Span },
}

/// An argument of a call, as far as the analysis can name it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Arg {
    /// A module-level name: `f(x)`.
    Name(String),
    /// A parameter of the top-level function whose body makes the call, by position:
    /// in `def f(a, b): g(b)`, `g`'s argument is `Param(1)`.
    Param(usize),
    /// A display holding module-level names: `f([a, b])`, `g({"k": a})`. A call that may
    /// change its argument may change these objects.
    Names(Vec<String>),
    /// Anything else: a literal, an expression, a local name, a splat.
    Other,
}

impl Arg {
    /// The module-level name, if the argument is one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Arg::Name(n) => Some(n),
            _ => None,
        }
    }

    /// The module-level names the argument is or holds.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Arg::Name(n) => vec![n],
            Arg::Names(ns) => ns.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// What is known about a value from the expression that made it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum ValueHint {
    /// It cannot leave its process (pickle and its friends refuse it): an open file
    /// (`open(...)`), a generator (a generator expression, or a call of a notebook function
    /// that contains `yield`), a lock, a thread, a socket, a database connection.
    /// `what` says which, for messages: "an open file (`open(...)`)".
    Unserializable { what: String },
    /// A lambda: plain pickle cannot carry it; cloudpickle or dill can.
    Lambda,
}

/// How a module-level name got its value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum BindKind {
    /// Assignment, for/with target, walrus, `except as`, match capture, ...
    Value,
    /// An import statement binds the name to a module or to an object from one.
    Import {
        /// The module imported from: `numpy` for `import numpy as np`,
        /// `os.path` for `import os.path` (which binds `os`), `sklearn.metrics` for
        /// `from sklearn.metrics import accuracy_score`.
        module: String,
        /// For `from m import a as b`: `Some("a")`; for `import m`: `None`.
        attribute: Option<String>,
        /// A standalone statement that rebinds exactly this name, e.g.
        /// `import numpy as np`, `from sklearn.metrics import accuracy_score as acc`,
        /// `import os.path` (binds `os`). Relative imports keep their dots.
        statement: String,
    },
    /// A top-level `def` or `class`: index into [`CellFacts::definitions`].
    Definition(usize),
}

/// A top-level function or class definition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Definition {
    pub name: String,
    pub kind: DefinitionKind,
    /// Byte range of the whole statement in the cell source, decorators included.
    pub span: Span,
    /// The statement's source text (decorators included), dedented if needed.
    pub source: String,
    /// The effects of running the body at call time on module-level names, in source
    /// order: soft `Read`s of free names (excluding the function's own locals and
    /// parameters), `Bind`/`Delete` of names declared `global`, `MethodCall`/`Call`/
    /// `Mutate` on free module-level names. For a class: the union over its methods
    /// (the class body itself runs at definition time and is in the cell's effects).
    pub call_effects: Vec<Effect>,
    /// Parameters the body mutates in place (by position, 0-based, and name), so that a
    /// call `f(x)` mutates `x`. For a class: the parameters of `__init__` (without self).
    pub mutated_params: Vec<(usize, String)>,
}

/// What a [`Definition`] defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DefinitionKind {
    Function,
    Class,
}

/// One IPython construct in a cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Magic {
    /// Where the construct starts (line 1-based) and its full extent.
    pub span: Span,
    pub kind: MagicKind,
    /// Magic name without `%` (`matplotlib`, `pip`, `time`), or `!` for a shell escape,
    /// `?` for help.
    pub name: String,
    /// Everything after the name, continuation lines joined.
    pub args: String,
    /// What the step does with it.
    pub handling: MagicHandling,
}

/// The syntactic form of an IPython construct.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum MagicKind {
    /// `%name args`
    Line,
    /// `x = %name args`
    LineAssign { target: String },
    /// `!cmd` (also `!!cmd`)
    Shell,
    /// `x = !cmd`
    ShellAssign { target: String },
    /// `obj?`, `?obj`, `obj??`
    Help,
    /// `%%name args` on the first line of the cell.
    Cell,
}

/// How a step treats an IPython construct.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum MagicHandling {
    /// Translated to equivalent Python (shell commands, `%time stmt`, `%env`, `%cd`,
    /// `%%capture`, `%%writefile`, `%%bash`, ...).
    Translated,
    /// Has no effect outside an interactive session (`%matplotlib`, `%load_ext`,
    /// `%config`, `obj?`, `%%html`, ...): a no-op in the step.
    NoOp,
    /// Installs packages (`%pip install`, `!pip install`, `%conda install`): the packages
    /// go to the step's requirements; a no-op at run time.
    Packages,
    /// Not supported in a step; reported as a problem.
    Unsupported,
}

/// A cell magic on the first line of a cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CellMagic {
    pub name: String,
    pub args: String,
    /// The body (everything after the first line), verbatim.
    pub body: String,
    /// The body is Python (`%%time`, `%%timeit`, `%%capture`, `%%prun`, ...) and was
    /// analysed as such.
    pub python_body: bool,
}

/// A problem in a cell's Python.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    pub severity: ProblemSeverity,
    pub span: Span,
    pub message: String,
    pub hint: Option<String>,
}

/// Whether a [`Problem`] stops conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ProblemSeverity {
    Error,
    Warning,
}
