//! What is drawn: the steps of a plan as nodes, the pipeline parameters as one node above
//! the steps that read them, and one edge per producer→consumer pair carrying the names of
//! every variable it passes.

use std::collections::BTreeMap;

use crate::plan::{cell_ranges, PlanSummary};

/// The pipeline as a graph to draw: nodes in the plan's order (the parameters node, when
/// there is one, first), edges in the order of their consumers.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The pipeline name.
    pub pipeline: String,
    /// The notebook's file name.
    pub notebook: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// The sub-pipelines (notebooks that `notebook:` cells run), each drawn as a frame
    /// around its steps.
    pub groups: Vec<Group>,
}

/// An item of [`Graph::nested`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// A node (index into [`Graph::nodes`]).
    Node(usize),
    /// The start of a sub-pipeline (index into [`Graph::groups`]).
    Enter(usize),
    /// Its end.
    Leave(usize),
}

/// A sub-pipeline: a frame around the steps of a notebook a `notebook:` cell runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// The names from the outermost sub-pipeline down (`outer/square`).
    pub name: String,
    /// The notebook's path.
    pub notebook: String,
    /// The sub-pipeline it is in (index into [`Graph::groups`]).
    pub parent: Option<usize>,
    /// The step nodes directly in it.
    pub nodes: Vec<usize>,
}

impl Group {
    /// The frame's element id: `sub-pipeline-` and its name, `/` made `--` (names are
    /// lower-case letters, digits and `_`).
    pub fn id(&self) -> String {
        format!("sub-pipeline-{}", self.name.replace('/', "--"))
    }

    /// The frame's label: the last name and the notebook's file name.
    pub fn label(&self) -> String {
        let last = self.name.rsplit('/').next().unwrap_or(&self.name);
        let file = self.notebook.rsplit('/').next().unwrap_or(&self.notebook);
        format!("{last} ({file})")
    }
}

/// A box in the drawing (a few per pipeline: their size does not matter).
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Node {
    /// One step of the pipeline.
    Step(StepNode),
    /// All pipeline parameters in one box, with an edge to each step that reads some.
    Parameters(Vec<ParameterLine>),
}

/// What a step's box shows, and its tooltip.
#[derive(Debug, Clone, PartialEq)]
pub struct StepNode {
    /// The step name (`load_data`): any text the notebook's tags hold.
    pub name: String,
    /// The KFP task name (`load-data`): DNS-1123 safe, unique in the pipeline.
    pub task: String,
    /// Notebook cells, counted from 1.
    pub cells: Vec<usize>,
    /// Variables read from other steps (`name (from step)`), for the tooltip.
    pub reads: Vec<String>,
    /// Variables saved for later steps.
    pub passes_on: Vec<String>,
    /// Pipeline parameters read.
    pub parameters: Vec<String>,
    pub packages: Vec<String>,
    pub metrics: Vec<String>,
    /// The exit step: it runs after all the others, also when one failed.
    pub finally: bool,
    /// A `for:` step: the list it runs once per item of, and its parallelism.
    pub for_each: Option<(String, Option<u32>)>,
    /// The sub-notebook its cells are in (`None`: the converted notebook).
    pub notebook: Option<String>,
    /// The sub-pipeline it is in (`outer/square`).
    pub sub_pipeline: Option<String>,
}

/// One pipeline parameter: `EPOCHS: int = 4`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterLine {
    pub name: String,
    /// The notebook's type (`int`, `list (JSON)`, ...).
    pub kind: String,
    /// The default as JSON text.
    pub default: String,
}

/// An arrow from the node at index `from` to the node at index `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    /// The variables (or, from the parameters node, the parameters) it carries, in the
    /// consumer's order; empty for an ordering edge.
    pub variables: Vec<String>,
}

/// Why an edge is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// The consumer reads variables the producer passes on.
    Data,
    /// The consumer reads pipeline parameters.
    Parameters,
    /// Order only (`prev:` or a dependency that carries no variable): drawn dashed.
    Order,
    /// To the exit step, from each step nothing runs after: it runs when they are done,
    /// whether or not they succeeded. Drawn dashed, labelled `finally`.
    Finally,
}

impl EdgeKind {
    /// The class name the SVG gives the edge (`edge data`, `edge parameters`, `edge order`).
    pub fn class(self) -> &'static str {
        match self {
            EdgeKind::Data => "data",
            EdgeKind::Parameters => "parameters",
            EdgeKind::Order => "order",
            EdgeKind::Finally => "finally",
        }
    }
}

/// The element id of the parameters node (step ids are `step-<task>`, so it is never one).
pub const PARAMETERS_ID: &str = "pipeline-parameters";

impl Node {
    /// The node's element id: `step-<task>`, or [`PARAMETERS_ID`]. Safe as an XML id, a DOT
    /// id and (with `-` made `_`) a Mermaid id.
    pub fn id(&self) -> String {
        match self {
            Node::Step(step) => format!("step-{}", step.task),
            Node::Parameters(_) => PARAMETERS_ID.to_string(),
        }
    }

    /// The first line of the box: the step name, or `pipeline parameters`.
    pub fn title(&self) -> &str {
        match self {
            Node::Step(step) => &step.name,
            Node::Parameters(_) => "pipeline parameters",
        }
    }

    /// The smaller lines under the title: a step's cells (and packages count) and its
    /// metrics; one line per parameter.
    pub fn details(&self) -> Vec<String> {
        match self {
            Node::Step(step) => {
                let mut first =
                    format!("{} {}", if step.cells.len() == 1 { "cell" } else { "cells" }, cell_ranges(&step.cells));
                if let Some(notebook) = &step.notebook {
                    first.push_str(&format!(" of {}", notebook.rsplit('/').next().unwrap_or(notebook)));
                }
                if !step.packages.is_empty() {
                    let n = step.packages.len();
                    first.push_str(&format!(" · {n} package{}", if n == 1 { "" } else { "s" }));
                }
                let mut lines = vec![first];
                if step.finally {
                    lines.push("exit step: runs last, always".to_string());
                }
                if let Some((list, limit)) = &step.for_each {
                    let limit = limit.map(|n| format!(", ≤ {n} at once")).unwrap_or_default();
                    lines.push(format!("for each item of {list}{limit}"));
                }
                if !step.metrics.is_empty() {
                    lines.push(format!("metrics: {}", step.metrics.join(", ")));
                }
                lines
            }
            Node::Parameters(parameters) => {
                let mut lines: Vec<String> =
                    parameters.iter().take(PARAMETER_LINES).map(ParameterLine::short).collect();
                if parameters.len() > PARAMETER_LINES {
                    lines.push(format!("… and {} more", parameters.len() - PARAMETER_LINES));
                }
                lines
            }
        }
    }

    /// Everything about the node in a few lines, for a tooltip.
    pub fn tooltip(&self) -> String {
        match self {
            Node::Step(step) => {
                let list = |items: &[String]| if items.is_empty() { "-".to_string() } else { items.join(", ") };
                let mut lines = vec![
                    format!("step {} (task {})", step.name, step.task),
                    if step.finally {
                        "exit step: runs after all the other steps, also when one of them failed".to_string()
                    } else {
                        String::new()
                    },
                    step.for_each.as_ref().map_or(String::new(), |(list, _)| {
                        format!("runs once per item of {list}, in parallel; later steps get its lists collected in item order")
                    }),
                    match &step.notebook {
                        Some(notebook) => format!("cells: {} of {notebook}", cell_ranges(&step.cells)),
                        None => format!("cells: {}", cell_ranges(&step.cells)),
                    },
                    step.sub_pipeline.as_ref().map_or(String::new(), |s| format!("in sub-pipeline {s}")),
                    format!("reads: {}", list(&step.reads)),
                    format!("passes on: {}", list(&step.passes_on)),
                ];
                if !step.parameters.is_empty() {
                    lines.push(format!("parameters: {}", list(&step.parameters)));
                }
                if !step.metrics.is_empty() {
                    lines.push(format!("metrics: {}", list(&step.metrics)));
                }
                lines.push(format!("packages: {}", list(&step.packages)));
                lines.retain(|l| !l.is_empty());
                lines.join("\n")
            }
            Node::Parameters(parameters) => std::iter::once("pipeline parameters".to_string())
                .chain(parameters.iter().map(|p| format!("{}: {} = {}", p.name, p.kind, p.default)))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// Parameters listed in the parameters box; the rest are counted (all are in its tooltip).
const PARAMETER_LINES: usize = 12;
/// Characters of a default shown in the box (all are in its tooltip).
const DEFAULT_CHARS: usize = 40;

impl ParameterLine {
    /// `NAME: type = default`, a long default cut with `…`.
    pub fn short(&self) -> String {
        let default = if self.default.chars().count() > DEFAULT_CHARS {
            format!("{}…", self.default.chars().take(DEFAULT_CHARS - 1).collect::<String>())
        } else {
            self.default.clone()
        };
        format!("{}: {} = {default}", self.name, self.kind)
    }
}

impl Edge {
    /// The carried names, comma-separated (empty for an ordering edge).
    pub fn label(&self) -> String {
        self.variables.join(", ")
    }
}

impl Graph {
    /// The graph of a plan: a node per step, the parameters node when the pipeline has
    /// parameters (with an edge to each step that reads some), and for each step one edge from each step it runs after, carrying all
    /// the variables it reads from that step (none: an ordering edge).
    pub fn from_summary(summary: &PlanSummary) -> Graph {
        let mut nodes = Vec::new();
        if !summary.parameters.is_empty() {
            nodes.push(Node::Parameters(
                summary
                    .parameters
                    .iter()
                    .map(|p| ParameterLine {
                        name: p.name.clone(),
                        kind: p.kind.to_string(),
                        default: p.default.to_string(),
                    })
                    .collect(),
            ));
        }
        let first_step = nodes.len();
        let index: BTreeMap<&str, usize> =
            summary.steps.iter().enumerate().map(|(i, s)| (s.name.as_str(), first_step + i)).collect();
        let mut edges = Vec::new();
        for (i, step) in summary.steps.iter().enumerate() {
            let to = first_step + i;
            if first_step == 1 && !step.parameters.is_empty() {
                edges.push(Edge { from: 0, to, kind: EdgeKind::Parameters, variables: step.parameters.clone() });
            }
            // Producers in plan order; `after` holds every producer, but a reader of a step
            // missing from it still gets its edge.
            let mut carried: BTreeMap<usize, Vec<String>> = BTreeMap::new();
            for producer in &step.after {
                if let Some(&from) = index.get(producer.as_str()) {
                    carried.entry(from).or_default();
                }
            }
            for input in &step.inputs {
                if let Some(&from) = index.get(input.from.as_str()) {
                    carried.entry(from).or_default().push(input.variable.clone());
                }
            }
            for (from, variables) in carried {
                let kind = if variables.is_empty() { EdgeKind::Order } else { EdgeKind::Data };
                edges.push(Edge { from, to, kind, variables });
            }
            nodes.push(Node::Step(StepNode {
                name: step.name.clone(),
                task: step.task.clone(),
                cells: step.cells.clone(),
                reads: step.inputs.iter().map(|i| format!("{} (from {})", i.variable, i.from)).collect(),
                passes_on: step.outputs.clone(),
                parameters: step.parameters.clone(),
                packages: step.packages.clone(),
                metrics: step.metrics.clone(),
                finally: step.finally,
                for_each: step.for_each.clone().map(|l| (l, step.parallelism)),
                notebook: step.notebook.clone(),
                sub_pipeline: step.sub_pipeline.clone(),
            }));
        }
        // The exit step runs after the steps nothing else runs after.
        if let Some(exit) = summary.steps.iter().position(|s| s.finally) {
            let to = first_step + exit;
            for (i, step) in summary.steps.iter().enumerate() {
                let last = !summary
                    .steps
                    .iter()
                    .any(|s| s.after.contains(&step.name) || s.inputs.iter().any(|input| input.from == step.name));
                if i != exit && last {
                    edges.push(Edge {
                        from: first_step + i,
                        to,
                        kind: EdgeKind::Finally,
                        variables: vec!["finally".into()],
                    });
                }
            }
        }
        let groups = summary
            .sub_pipelines
            .iter()
            .map(|g| Group {
                name: g.name.clone(),
                notebook: g.notebook.clone(),
                parent: g
                    .name
                    .rsplit_once('/')
                    .and_then(|(parent, _)| summary.sub_pipelines.iter().position(|p| p.name == parent)),
                nodes: (0..summary.steps.len())
                    .filter(|i| summary.steps[*i].sub_pipeline.as_ref() == Some(&g.name))
                    .map(|i| first_step + i)
                    .collect(),
            })
            .collect();
        Graph { pipeline: summary.pipeline.clone(), notebook: summary.notebook.clone(), nodes, edges, groups }
    }

    /// The nodes in the order a nested format writes them, each with its depth: the nodes
    /// outside every sub-pipeline, then each sub-pipeline (`Enter`, its steps, its own
    /// sub-pipelines, `Leave`).
    pub fn nested(&self) -> Vec<(Nesting, usize)> {
        let grouped: Vec<usize> = self.groups.iter().flat_map(|g| g.nodes.iter().copied()).collect();
        let mut out: Vec<(Nesting, usize)> =
            (0..self.nodes.len()).filter(|n| !grouped.contains(n)).map(|n| (Nesting::Node(n), 0)).collect();
        fn group(graph: &Graph, g: usize, depth: usize, out: &mut Vec<(Nesting, usize)>) {
            out.push((Nesting::Enter(g), depth));
            out.extend(graph.groups[g].nodes.iter().map(|n| (Nesting::Node(*n), depth + 1)));
            for (c, child) in graph.groups.iter().enumerate() {
                if child.parent == Some(g) {
                    group(graph, c, depth + 1, out);
                }
            }
            out.push((Nesting::Leave(g), depth));
        }
        for (g, top) in self.groups.iter().enumerate() {
            if top.parent.is_none() {
                group(self, g, 0, &mut out);
            }
        }
        out
    }

    /// The step nodes in group `g`, nested groups' included.
    pub fn group_nodes(&self, g: usize) -> Vec<usize> {
        let mut nodes = self.groups[g].nodes.clone();
        for (c, child) in self.groups.iter().enumerate() {
            if child.parent == Some(g) {
                nodes.extend(self.group_nodes(c));
            }
        }
        nodes.sort_unstable();
        nodes
    }

    /// The step node named `name` (the step name, not the task), and its index.
    pub fn step(&self, name: &str) -> Option<(usize, &StepNode)> {
        self.nodes.iter().enumerate().find_map(|(i, n)| match n {
            Node::Step(step) if step.name == name => Some((i, step)),
            _ => None,
        })
    }
}
