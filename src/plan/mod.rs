//! The plan: the single intermediate form between analysis and every output.
//!
//! A [`Plan`] says which cells run in which step, what each step needs from the others
//! (each input resolved to the step that last bound or mutated it before the reader, in
//! notebook order), what it passes on, which pipeline parameters it reads, the metrics it
//! logs, and the DAG. Emitters, runners and servers consume it; none re-analyses Python.

mod build;
mod builtins;
mod hidden_state;
mod split;
mod summary;

pub use build::{build, Surroundings};
pub use split::{inferred_tags, with_tags, SplitMode};
pub use summary::{kale_tags, ranges as cell_ranges, summary, summary_text, PlanSummary};

// The naming helper moved to `crate::names`; re-exported so `plan::unique_name` still works.
pub use crate::names::unique_name;

use std::collections::BTreeMap;

use crate::config::PipelineSettings;
use crate::diagnostics::Diagnostic;
use crate::python::{CellMagic, Literal};

/// A routed variable: a module-level name, or a piece of hidden interpreter state the
/// notebook relies on (the global random generators), named `@random` / `@numpy.random`.
pub type Variable = String;

/// The whole conversion plan of a notebook.
#[derive(Debug, Clone)]
pub struct Plan {
    pub settings: PipelineSettings,
    /// The notebook's file name (for headers and messages).
    pub notebook_file: String,
    /// Pipeline parameters, in the order the notebook defines them.
    pub parameters: Vec<PipelineParameter>,
    /// The code each cell runs, by notebook cell index (`None` for markdown, raw, `skip`
    /// and special cells).
    pub cells: Vec<Option<CellCode>>,
    /// `imports` and `functions` cells: they run at the start of every step.
    pub prelude: Vec<usize>,
    /// Cells that define pipeline parameters.
    pub parameter_cells: Vec<usize>,
    /// `pipeline-metrics` cells.
    pub metrics_cells: Vec<usize>,
    /// The steps, in an order where every step comes after the steps it depends on.
    pub steps: Vec<StepPlan>,
    /// The local modules steps carry, by name: their files (path under the folder put on
    /// `sys.path`, source).
    pub local_modules: BTreeMap<String, Vec<(String, String)>>,
    /// All diagnostics (warnings only, when the plan is usable).
    pub diagnostics: Vec<Diagnostic>,
    /// The sub-pipelines of a composed notebook (one per `notebook:` cell, nested ones
    /// included), in the order their cells start.
    pub sub_pipelines: Vec<SubPipeline>,
    /// For a composed notebook, where each cell comes from: the sub-pipeline whose
    /// notebook it is a cell of (`None`: the converted notebook) and its index there.
    /// Empty otherwise (the cells are the notebook's own).
    pub origins: Vec<(Option<usize>, usize)>,
}

/// The steps of a notebook a `notebook:` cell runs: a sub-DAG of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubPipeline {
    /// The name in the `notebook:<name>` tag.
    pub name: String,
    /// The notebook's path from the converted notebook's folder.
    pub path: String,
    /// The sub-pipeline it is in (index into [`Plan::sub_pipelines`]), if any.
    pub parent: Option<usize>,
    /// The task that runs it (and `comp-<task>`): DNS-1123, unique.
    pub task: String,
    /// The `notebook:` cell that runs it.
    pub cell: usize,
}

/// The program of one cell, as a step runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CellCode {
    pub index: usize,
    pub id: Option<String>,
    /// Plain Python (IPython syntax translated), same line numbers as the notebook.
    pub program: String,
    /// The cell as written (what a step runs when cells run in IPython).
    pub source: String,
    pub cell_magic: Option<CellMagic>,
}

/// A pipeline parameter from a `pipeline-parameters` (or `parameters`) cell.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineParameter {
    pub name: String,
    pub default: Literal,
    pub kind: ParameterKind,
    /// The cell that defines it.
    pub cell: usize,
}

/// The KFP type of a pipeline parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParameterKind {
    Int,
    Float,
    Str,
    Bool,
    List,
    Struct,
}

impl ParameterKind {
    /// The `parameterType` enum value in KFP IR. Lists and dicts travel as JSON text
    /// (`STRING`): KFP's own LIST/STRUCT types are protobuf values whose numbers are all
    /// doubles, so `[1, 2]` would reach the step as `[1.0, 2.0]`.
    pub fn ir_type(self) -> &'static str {
        match self {
            ParameterKind::Int => "NUMBER_INTEGER",
            ParameterKind::Float => "NUMBER_DOUBLE",
            ParameterKind::Str | ParameterKind::List | ParameterKind::Struct => "STRING",
            ParameterKind::Bool => "BOOLEAN",
        }
    }

    /// The Python annotation of the component function's parameter.
    pub fn python_type(self) -> &'static str {
        match self {
            ParameterKind::Int => "int",
            ParameterKind::Float => "float",
            ParameterKind::Str | ParameterKind::List | ParameterKind::Struct => "str",
            ParameterKind::Bool => "bool",
        }
    }

    /// Whether the value travels as JSON text (decoded in the step).
    pub fn is_json(self) -> bool {
        matches!(self, ParameterKind::List | ParameterKind::Struct)
    }

    /// The notebook's type, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ParameterKind::List => "list (JSON)",
            ParameterKind::Struct => "dict (JSON)",
            other => other.python_type(),
        }
    }
}

/// One step of the pipeline.
#[derive(Debug, Clone)]
pub struct StepPlan {
    /// The step name as tagged (`load_data`), or `main` for an untagged notebook.
    pub name: String,
    /// The KFP task name: DNS-1123 (`load-data`), unique.
    pub task: String,
    /// The Python function of the component: an identifier (`load_data`), unique.
    pub function: String,
    /// Notebook cell indices, in order.
    pub cells: Vec<usize>,
    /// Pipeline parameters the step (or the prelude it runs) reads.
    pub parameters: Vec<String>,
    /// Code the step runs before its cells because its cells use names that other steps
    /// bind to code: imports, functions, classes.
    pub definitions: Vec<InjectedCode>,
    /// Definitions made in a branch in another step, by the variable they bind: the step
    /// runs the one its input says ran.
    pub choices: Vec<(Variable, Vec<ChoiceCode>)>,
    /// For outputs bound in a branch: where each definition they may hold is, (cell, first
    /// line, last line), so the step can say which one ran.
    pub candidates: Vec<(Variable, Vec<DefinitionKey>)>,
    /// Variables loaded from other steps' outputs.
    pub inputs: Vec<VariableInput>,
    /// Variables a later step reads (or a metric needs), saved at the end of the step.
    pub outputs: Vec<Variable>,
    /// Outputs that share objects (aliases: `b = a`, `data = [train, test]`, numpy
    /// views): each group is saved in one artifact, so that a step loading them gets one
    /// object again. Sorted; a variable is in at most one group; single outputs are in none.
    pub output_groups: Vec<Vec<Variable>>,
    /// For each output, the cell after which its value is final (its last write).
    pub output_cells: BTreeMap<Variable, usize>,
    /// Metrics logged at the end of the step: (metric key, variable).
    pub metrics: Vec<(String, Variable)>,
    /// Steps (indices into [`Plan::steps`]) this one runs after.
    pub after: Vec<usize>,
    /// Python packages (PyPI requirements) the step needs, sorted.
    pub packages: Vec<String>,
    /// Options of the notebook's `pip install` lines to install them with
    /// (`--index-url URL`, ...).
    pub pip_options: Vec<String>,
    /// Local modules (files beside the notebook) whose sources the step carries, by name
    /// (see [`Plan::local_modules`]).
    pub local_modules: Vec<String>,
    pub settings: StepSettings,
    /// For a `for:` step: how it runs once per item.
    pub fan_out: Option<FanOut>,
    /// The sub-pipeline the step is in (index into [`Plan::sub_pipelines`]): the innermost
    /// notebook its cells come from.
    pub sub_pipeline: Option<usize>,
}

/// A step that runs once per item of a list (`for:<list>`): its cell is `name = []` lines
/// and a loop over the list; the pipeline runs the loop's body for each item apart (KFP's
/// `dsl.ParallelFor`), and a later step that reads a list the body appends to gets the
/// items' appends concatenated in item order (`dsl.Collected`), as the notebook has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanOut {
    /// The list the loop goes over.
    pub list: Variable,
    /// Where the list comes from.
    pub source: ListSource,
    /// The lists made empty before the loop that the body appends to.
    pub accumulators: Vec<Variable>,
    /// At most this many items at once.
    pub parallelism: Option<u32>,
}

/// Where the list of a `for:` step comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSource {
    /// A pipeline parameter (a list).
    Parameter,
    /// An earlier step (an index into [`Plan::steps`]).
    Step(usize),
}

/// A variable a step loads, and the step that produces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableInput {
    pub variable: Variable,
    /// Index into [`Plan::steps`].
    pub producer: usize,
    /// The producer's output group holding it (index into its
    /// [`StepPlan::output_groups`]), if it is saved with others.
    pub group: Option<usize>,
}

/// Code copied into a step because the step uses a name another step binds to code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedCode {
    /// The name it binds.
    pub name: String,
    /// The statement (`import numpy as np`, a whole `def` with its decorators).
    pub source: String,
    /// The cell it comes from.
    pub cell: usize,
    /// The line of the cell it starts at (tracebacks name the notebook's lines).
    pub line: usize,
    /// Runs after the inputs are loaded, because it reads one of them at definition time
    /// (a default value, a decorator, a base class).
    pub after_inputs: bool,
}

/// Where a definition is: (cell, first line, last line).
pub type DefinitionKey = (usize, usize, usize);

/// One of the definitions a name bound in a branch may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceCode {
    /// Where the statement is.
    pub key: DefinitionKey,
    pub source: String,
}

/// Per-step container and Kubernetes settings, after defaults and tags.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepSettings {
    pub image: String,
    pub cpu_limit: Option<String>,
    pub memory_limit: Option<String>,
    /// Extended resource (e.g. `nvidia.com/gpu`) and count.
    pub accelerator: Option<(String, u32)>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// (secret, key, environment variable).
    pub secrets: Vec<(String, String, String)>,
    pub cache: bool,
    pub report: bool,
    /// `finally`: the exit step, run after all the others even when one failed.
    pub finally: bool,
    /// `for:<list>`: the list the step's loop goes over (see [`StepPlan::fan_out`]).
    pub for_each: Option<String>,
    /// `parallelism:<n>`: at most n items of a `for:` step at once.
    pub parallelism: Option<u32>,
}

impl Plan {
    /// The exit step (tagged `finally`), if the notebook has one: always the last step.
    pub fn exit_step(&self) -> Option<usize> {
        self.steps.iter().position(|s| s.settings.finally)
    }

    /// Where cell `cell` (an index of the plan's cells) is in the notebooks the user wrote:
    /// the sub-notebook's path (`None`: the converted notebook) and the index there.
    pub fn locate(&self, cell: usize) -> (Option<&str>, usize) {
        match self.origins.get(cell) {
            Some(&(sub, index)) => (sub.map(|s| self.sub_pipelines[s].path.as_str()), index),
            None => (None, cell),
        }
    }

    /// Cell `cell` in words, counted from 1: `cell 4`, or `cell 2 of prep.ipynb`.
    pub fn describe_cell(&self, cell: usize) -> String {
        match self.locate(cell) {
            (Some(path), index) => format!("cell {} of {path}", index + 1),
            (None, index) => format!("cell {}", index + 1),
        }
    }

    /// The sub-pipelines from the outermost down to `sub` (`sub` last); empty for `None`
    /// (the pipeline itself).
    pub fn sub_pipeline_path(&self, sub: Option<usize>) -> Vec<usize> {
        let mut path = Vec::new();
        let mut at = sub;
        while let Some(s) = at {
            path.push(s);
            at = self.sub_pipelines[s].parent;
        }
        path.reverse();
        path
    }

    /// Whether sub-pipeline `sub` is `ancestor` or inside it.
    pub fn sub_pipeline_within(&self, sub: usize, ancestor: usize) -> bool {
        self.sub_pipeline_path(Some(sub)).contains(&ancestor)
    }

    /// The sub-pipelines, outermost first, that step `step` is in.
    pub fn sub_pipeline_chain(&self, step: usize) -> Vec<usize> {
        self.sub_pipeline_path(self.steps[step].sub_pipeline)
    }

    /// Whether any step or the pipeline uses Kubernetes platform features (the second
    /// YAML document).
    pub fn uses_platform_features(&self) -> bool {
        !self.settings.volumes.is_empty()
            || self.steps.iter().any(|s| {
                !s.settings.labels.is_empty() || !s.settings.annotations.is_empty() || !s.settings.secrets.is_empty()
            })
    }
}
