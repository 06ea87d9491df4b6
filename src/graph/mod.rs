//! One drawing of a plan, shared by `nbkf graph`, the pipeline page and the batch report:
//! steps as boxes (name, cells, packages, metrics), the pipeline parameters as one box above
//! the steps that read them, and an arrow per producer→consumer pair labelled with every
//! variable it carries (dashed when it only orders).
//!
//! [`Graph::from_summary`] builds the [`Graph`] from a [`PlanSummary`] (what
//! `nbkf plan --format json` prints); [`svg()`], [`dot()`] and [`mermaid()`] write it.
//! The SVG is laid out here ([`layout`]); DOT and Mermaid leave that to their renderers.

mod dot;
pub mod layout;
mod mermaid;
mod model;
mod svg;
mod text;

use std::path::Path;

pub use dot::dot;
pub use mermaid::mermaid;
pub use model::{Edge, EdgeKind, Graph, Group, Node, ParameterLine, StepNode, PARAMETERS_ID};
pub use svg::{graph_layout, svg, xml};

use crate::plan::PlanSummary;

/// A drawing format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SVG laid out by nbkf (standalone, or inline in a page).
    Svg,
    /// Graphviz DOT.
    Dot,
    /// A Mermaid flowchart.
    Mermaid,
}

impl Format {
    /// The format a file name asks for by its extension: `.svg`, `.dot` or `.gv`,
    /// `.mmd` or `.mermaid` (any case).
    pub fn from_path(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "svg" => Some(Format::Svg),
            "dot" | "gv" => Some(Format::Dot),
            "mmd" | "mermaid" => Some(Format::Mermaid),
            _ => None,
        }
    }

    /// The usual file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Dot => "dot",
            Format::Mermaid => "mmd",
        }
    }

    /// The graph in this format.
    pub fn draw(self, graph: &Graph) -> String {
        match self {
            Format::Svg => svg(graph),
            Format::Dot => dot(graph),
            Format::Mermaid => mermaid(graph),
        }
    }
}

/// The plan drawn in `format`.
pub fn draw(summary: &PlanSummary, format: Format) -> String {
    format.draw(&Graph::from_summary(summary))
}

#[cfg(test)]
mod tests;
