//! The graph in Graphviz's DOT language (`dot -Tsvg dag.dot`): the same nodes, edges and
//! labels as the SVG, with the same colours, laid out by Graphviz.

use std::fmt::Write as _;

use super::model::{EdgeKind, Graph, Nesting, Node};
use super::text::{printable, wrap_list};

/// Edge labels wrap after about this many characters.
const LABEL_WIDTH: usize = 40;

/// The graph as DOT text.
pub fn dot(graph: &Graph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "// pipeline {} from {}, drawn by nbkf", quoted(&graph.pipeline), quoted(&graph.notebook));
    let _ = writeln!(out, "digraph {} {{", quoted(&graph.pipeline));
    let font = "fontname=\"Helvetica,Arial,sans-serif\"";
    let _ = writeln!(out, "  graph [rankdir=TB, nodesep=0.4, ranksep=0.45, {font}];");
    let _ = writeln!(
        out,
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#5f6368\", fontsize=12, {font}];"
    );
    let _ = writeln!(out, "  edge [color=\"#80868b\", fontcolor=\"#3c4043\", fontsize=10, arrowsize=0.7, {font}];");
    for (item, depth) in graph.nested() {
        let indent = "  ".repeat(depth + 1);
        match item {
            Nesting::Node(n) => write_node(&mut out, &graph.nodes[n], &indent),
            // A sub-pipeline is a Graphviz cluster: a frame around its steps.
            Nesting::Enter(g) => {
                let group = &graph.groups[g];
                let _ = writeln!(out, "{indent}subgraph {} {{", quoted(&format!("cluster_{}", group.id())));
                let _ = writeln!(
                    out,
                    "{indent}  label={}; id={}; tooltip={}; style=\"rounded,dashed\"; color=\"#9aa0a6\"; fontcolor=\"#5f6368\"; fontsize=11;",
                    quoted(&group.label()),
                    quoted(&group.id()),
                    quoted(&format!("sub-pipeline {}: the steps of {}", group.name, group.notebook))
                );
            }
            Nesting::Leave(_) => {
                let _ = writeln!(out, "{indent}}}");
            }
        }
    }
    for edge in &graph.edges {
        let (from, to) = (&graph.nodes[edge.from], &graph.nodes[edge.to]);
        let mut attributes = Vec::new();
        if !edge.variables.is_empty() {
            attributes.push(format!("label={}", quoted(&wrap_list(&edge.variables, LABEL_WIDTH).join("\n"))));
            attributes
                .push(format!("tooltip={}", quoted(&format!("{} → {}: {}", from.title(), to.title(), edge.label()))));
        }
        match edge.kind {
            EdgeKind::Data => {}
            EdgeKind::Parameters => attributes.push("color=\"#f0a35e\", fontcolor=\"#b05a00\"".to_string()),
            EdgeKind::Order => attributes.push("style=dashed".to_string()),
            EdgeKind::Finally => attributes.push("style=dashed, color=\"#888888\"".to_string()),
        }
        let _ = write!(out, "  {} -> {}", quoted(&from.id()), quoted(&to.id()));
        if !attributes.is_empty() {
            let _ = write!(out, " [{}]", attributes.join(", "));
        }
        out.push_str(";\n");
    }
    out.push_str("}\n");
    out
}

fn write_node(out: &mut String, node: &Node, indent: &str) {
    let details: Vec<String> = node.details().iter().map(|l| escape(l)).collect();
    let (label, style) = match node {
        Node::Step(_) => (format!("\"{}\\n{}\"", escape(node.title()), details.join("\\n")), ""),
        // The parameters are a list: each line left-justified (`\l` ends such a line).
        Node::Parameters(_) => (
            format!("\"{}\\n{}\\l\"", escape(node.title()), details.join("\\l")),
            ", fillcolor=\"#fef7e0\", color=\"#e37400\"",
        ),
    };
    let _ = writeln!(
        out,
        "{indent}{} [label={label}, id={}, tooltip={}{style}];",
        quoted(&node.id()),
        quoted(&node.id()),
        quoted(&node.tooltip())
    );
}

/// A DOT quoted string; its line breaks become Graphviz's `\n` (centred lines).
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.split('\n').map(escape).collect::<Vec<_>>().join("\\n"))
}

/// Text for the inside of a DOT quoted string that Graphviz shows as written: `"` and `\`
/// escaped (a lone backslash would start one of Graphviz's label escapes, `\n`, `\N`, `\l`,
/// ...), line breaks and control characters replaced.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}
