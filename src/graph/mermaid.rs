//! The graph as a Mermaid `flowchart TD`, for Markdown that renders Mermaid (GitHub,
//! GitLab, many editors): the same nodes, edges and labels as the SVG.

use std::fmt::Write as _;

use super::model::{EdgeKind, Graph, Nesting, Node};
use super::text::{printable, wrap_list};

/// Edge labels wrap after about this many characters.
const LABEL_WIDTH: usize = 40;

/// The graph as Mermaid text.
pub fn mermaid(graph: &Graph) -> String {
    let mut out = String::new();
    // The pipeline name is DNS-1123 safe, so it can go into a comment as it is.
    let _ = writeln!(out, "%% pipeline {}, drawn by nbkf", printable(&graph.pipeline));
    out.push_str("flowchart TD\n");
    for (item, depth) in graph.nested() {
        let indent = "  ".repeat(depth + 1);
        let _ = match item {
            Nesting::Node(n) => {
                let node = &graph.nodes[n];
                let mut lines = vec![node.title().to_string()];
                lines.extend(node.details());
                writeln!(out, "{indent}{}[\"{}\"]", id(node), label(&lines))
            }
            // A sub-pipeline is a subgraph around its steps.
            Nesting::Enter(g) => {
                let group = &graph.groups[g];
                writeln!(out, "{indent}subgraph {}[\"{}\"]", group.id().replace('-', "_"), label(&[group.label()]))
            }
            Nesting::Leave(_) => writeln!(out, "{indent}end"),
        };
    }
    let mut parameter_links = Vec::new();
    for (i, edge) in graph.edges.iter().enumerate() {
        let (from, to) = (id(&graph.nodes[edge.from]), id(&graph.nodes[edge.to]));
        let text = label(&wrap_list(&edge.variables, LABEL_WIDTH));
        let _ = match edge.kind {
            EdgeKind::Order => writeln!(out, "  {from} -.-> {to}"),
            EdgeKind::Finally => writeln!(out, "  {from} -.->|\"{text}\"| {to}"),
            EdgeKind::Data | EdgeKind::Parameters => writeln!(out, "  {from} -->|\"{text}\"| {to}"),
        };
        if edge.kind == EdgeKind::Parameters {
            parameter_links.push(i.to_string());
        }
    }
    if let Some(Node::Parameters(_)) = graph.nodes.first() {
        out.push_str("  classDef parameters fill:#fef7e0,stroke:#e37400\n");
        let _ = writeln!(out, "  class {} parameters", id(&graph.nodes[0]));
    }
    if !parameter_links.is_empty() {
        let _ = writeln!(out, "  linkStyle {} stroke:#f0a35e", parameter_links.join(","));
    }
    out
}

/// A node's Mermaid id: its element id with `-` made `_` (task names are lower-case
/// letters, digits and `-`, so this stays unique and is never a keyword such as `end`).
fn id(node: &Node) -> String {
    node.id().replace('-', "_")
}

/// Lines as the inside of a quoted Mermaid label: joined with `<br/>`, and every character
/// Mermaid would read as syntax, an entity or HTML written as an entity code (`#quot;`).
fn label(lines: &[String]) -> String {
    lines.iter().map(|l| escape(l)).collect::<Vec<_>>().join("<br/>")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '&' => out.push_str("#amp;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            c => out.push(c),
        }
    }
    out
}
