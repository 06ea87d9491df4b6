//! The graph as a standalone SVG: laid out by [`super::layout`], with its own small style
//! sheet and no fonts, scripts or links, so the same text works as a `.svg` file, inline in
//! the pipeline page, and in the batch report.
//!
//! Each step is `<g class="node step" data-step="NAME" data-task="TASK" id="step-TASK">`:
//! a page finds it by id or name, and shows the step's state by adding one of the classes
//! `state-pending`, `state-running`, `state-succeeded`, `state-failed`, `state-cached`
//! (and `selected` for the step shown in detail). Edges are
//! `<g class="edge data|parameters|order" data-source="ID" data-target="ID">`, naming the
//! element ids of their ends.

use std::fmt::Write as _;

use super::layout::{layout, Layout, LayoutEdge, Point, Rect, Size};
use super::model::{Graph, Node};
use super::text::{printable, Font};

const TITLE_FONT: Font = Font { size: 13.0, bold: true };
const DETAIL_FONT: Font = Font { size: 11.0, bold: false };
const LABEL_FONT: Font = Font { size: 11.0, bold: false };
/// Padding inside a node box, left and right.
const NODE_PADDING: f64 = 12.0;
const NODE_MIN_WIDTH: f64 = 96.0;
const NODE_MAX_WIDTH: f64 = 280.0;
const TITLE_LINE: f64 = 17.0;
const DETAIL_LINE: f64 = 15.0;
const NODE_TOP: f64 = 8.0;
const NODE_BOTTOM: f64 = 7.0;
const LABEL_MAX_WIDTH: f64 = 170.0;
const LABEL_HEIGHT: f64 = 14.0;

/// The style sheet inside every drawing. Selectors start with `.nbkf-graph`, so the drawing
/// inlined in a page styles nothing else; a page may override any of it.
const STYLE: &str = "\
.nbkf-graph{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}
.nbkf-graph .node rect{fill:#fff;stroke:#5f6368;stroke-width:1.5}
.nbkf-graph .node .title{font-size:13px;font-weight:600;fill:#202124}
.nbkf-graph .node .detail{font-size:11px;fill:#5f6368}
.nbkf-graph .parameters rect{fill:#fef7e0;stroke:#e37400}
.nbkf-graph .step{cursor:pointer}
.nbkf-graph .step.state-pending rect{fill:#f8f9fa;stroke:#9aa0a6;stroke-dasharray:4 3}
.nbkf-graph .step.state-running rect{fill:#e8f0fe;stroke:#1967d2;stroke-width:2.5}
.nbkf-graph .step.state-succeeded rect{fill:#e6f4ea;stroke:#137333}
.nbkf-graph .step.state-failed rect{fill:#fce8e6;stroke:#c5221f;stroke-width:2.5}
.nbkf-graph .step.state-cached rect{fill:#f3e8fd;stroke:#8430ce}
.nbkf-graph .step.selected rect{stroke-width:3}
.nbkf-graph .edge path{fill:none;stroke:#80868b;stroke-width:1.5}
.nbkf-graph .edge.order path,.nbkf-graph .edge.finally path{stroke-dasharray:6 4}
.nbkf-graph .edge.parameters path{stroke:#f0a35e}
.nbkf-graph .edge text{font-size:11px;fill:#3c4043;paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.nbkf-graph .edge.parameters text{fill:#b05a00}
.nbkf-graph .sub-pipeline rect{fill:#f1f3f4;fill-opacity:.55;stroke:#9aa0a6;stroke-width:1;stroke-dasharray:5 3}
.nbkf-graph .sub-pipeline text{font-size:11px;fill:#5f6368}
";

/// Space between a sub-pipeline's frame and what it holds; its label sits in the top one.
const FRAME_PADDING: f64 = 9.0;
const FRAME_LABEL: f64 = 15.0;

/// The frames of the sub-pipelines, innermost first: (group, rect). A frame that would
/// cover a step outside it is not drawn (its steps still say where they are from).
fn frames(graph: &Graph, nodes: &[Rect]) -> Vec<(usize, Rect)> {
    let depth = |mut g: usize| {
        let mut d = 0;
        while let Some(p) = graph.groups[g].parent {
            d += 1;
            g = p;
        }
        d
    };
    let mut order: Vec<usize> = (0..graph.groups.len()).collect();
    order.sort_by_key(|g| std::cmp::Reverse(depth(*g)));
    let mut drawn: Vec<(usize, Rect)> = Vec::new();
    for g in order {
        let members = graph.group_nodes(g);
        let mut boxes: Vec<Rect> = members.iter().map(|n| nodes[*n]).collect();
        boxes.extend(drawn.iter().filter(|(c, _)| graph.groups[*c].parent == Some(g)).map(|(_, r)| *r));
        let Some(first) = boxes.first() else { continue };
        let (mut x0, mut y0, mut x1, mut y1) = (first.x, first.y, first.right(), first.bottom());
        for b in &boxes {
            (x0, y0, x1, y1) = (x0.min(b.x), y0.min(b.y), x1.max(b.right()), y1.max(b.bottom()));
        }
        let frame = Rect {
            x: x0 - FRAME_PADDING,
            y: y0 - FRAME_PADDING - FRAME_LABEL,
            width: x1 - x0 + 2.0 * FRAME_PADDING,
            height: y1 - y0 + 2.0 * FRAME_PADDING + FRAME_LABEL,
        };
        let covers_another = nodes.iter().enumerate().any(|(n, r)| !members.contains(&n) && frame.overlaps(r));
        if !covers_another {
            drawn.push((g, frame));
        }
    }
    drawn
}

/// A node as drawn: its lines, already shortened to fit.
struct NodeText {
    title: String,
    details: Vec<String>,
    size: Size,
}

fn node_text(node: &Node) -> NodeText {
    let room = NODE_MAX_WIDTH - 2.0 * NODE_PADDING;
    let title = TITLE_FONT.truncate(&printable(node.title()), room);
    let details: Vec<String> = node.details().iter().map(|d| DETAIL_FONT.truncate(&printable(d), room)).collect();
    let widest = details.iter().map(|d| DETAIL_FONT.width(d)).fold(TITLE_FONT.width(&title), f64::max);
    let width = (widest + 2.0 * NODE_PADDING).clamp(NODE_MIN_WIDTH, NODE_MAX_WIDTH).ceil();
    let height = NODE_TOP + TITLE_LINE + DETAIL_LINE * details.len() as f64 + NODE_BOTTOM;
    NodeText { title, details, size: Size { width, height } }
}

/// The graph laid out with the sizes its SVG drawing uses (for a page that draws it
/// another way, or places things next to it).
pub fn graph_layout(graph: &Graph) -> Layout {
    let texts: Vec<NodeText> = graph.nodes.iter().map(node_text).collect();
    let labels: Vec<Option<String>> = graph.edges.iter().map(edge_label).collect();
    layout_of(graph, &texts, &labels)
}

fn layout_of(graph: &Graph, texts: &[NodeText], labels: &[Option<String>]) -> Layout {
    let sizes: Vec<Size> = texts.iter().map(|t| t.size).collect();
    let edges: Vec<LayoutEdge> = graph
        .edges
        .iter()
        .zip(labels)
        .map(|(e, label)| LayoutEdge {
            from: e.from,
            to: e.to,
            label: label.as_ref().map(|l| Size { width: LABEL_FONT.width(l).ceil(), height: LABEL_HEIGHT }),
        })
        .collect();
    layout(&sizes, &edges)
}

/// An edge's label as drawn (shortened), or none for an ordering edge.
fn edge_label(edge: &super::Edge) -> Option<String> {
    (!edge.variables.is_empty()).then(|| LABEL_FONT.truncate(&printable(&edge.label()), LABEL_MAX_WIDTH))
}

/// The graph as SVG text.
pub fn svg(graph: &Graph) -> String {
    let texts: Vec<NodeText> = graph.nodes.iter().map(node_text).collect();
    let labels: Vec<Option<String>> = graph.edges.iter().map(edge_label).collect();
    let laid = layout_of(graph, &texts, &labels);
    let framed = frames(graph, &laid.nodes);
    // Frames may reach past the layout's margin: the drawing grows to hold them.
    let left = framed.iter().map(|(_, r)| r.x).fold(0.0, f64::min);
    let top = framed.iter().map(|(_, r)| r.y).fold(0.0, f64::min);
    let right = framed.iter().map(|(_, r)| r.right()).fold(laid.width, f64::max);
    let bottom = framed.iter().map(|(_, r)| r.bottom()).fold(laid.height, f64::max);
    let (dx, dy) = (if left < 0.0 { 2.0 - left } else { 0.0 }, if top < 0.0 { 2.0 - top } else { 0.0 });
    let edge = |far: f64, laid: f64| if far > laid { far + 2.0 } else { far };
    let (w, h) = (num(edge(right, laid.width) + dx), num(edge(bottom, laid.height) + dy));
    let steps = graph.nodes.iter().filter(|n| matches!(n, Node::Step(_))).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"nbkf-graph\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" data-pipeline=\"{}\">",
        xml(&graph.pipeline)
    );
    let _ = writeln!(
        out,
        "<title>pipeline {} from {}: {steps} step{}</title>",
        xml(&graph.pipeline),
        xml(&graph.notebook),
        if steps == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "<style>\n{STYLE}</style>");
    out.push_str("<defs>\n");
    for (id, color) in [("nbkf-arrow", "#80868b"), ("nbkf-arrow-parameters", "#f0a35e")] {
        let _ = writeln!(
            out,
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"{color}\"/></marker>"
        );
    }
    out.push_str("</defs>\n");
    let shifted = dx > 0.0 || dy > 0.0;
    if shifted {
        let _ = writeln!(out, "<g transform=\"translate({},{})\">", num(dx), num(dy));
    }
    if !framed.is_empty() {
        out.push_str("<g class=\"sub-pipelines\">\n");
        // Outer frames first, so that inner ones are drawn over them.
        for (g, r) in framed.iter().rev() {
            let group = &graph.groups[*g];
            let _ = writeln!(
                out,
                "<g class=\"sub-pipeline\" id=\"{}\" data-sub-pipeline=\"{}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/><text x=\"{}\" y=\"{}\">{}</text></g>",
                xml(&group.id()),
                xml(&group.name),
                xml(&format!("sub-pipeline {}: the steps of {}", group.name, group.notebook)),
                num(r.x),
                num(r.y),
                num(r.width),
                num(r.height),
                num(r.x + 8.0),
                num(r.y + 13.0),
                xml(&DETAIL_FONT.truncate(&printable(&group.label()), r.width - 16.0))
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("<g class=\"edges\">\n");
    for ((edge, route), label) in graph.edges.iter().zip(&laid.edges).zip(&labels) {
        if route.points.is_empty() {
            continue;
        }
        let (from, to) = (&graph.nodes[edge.from], &graph.nodes[edge.to]);
        let marker = if edge.kind == super::EdgeKind::Parameters { "nbkf-arrow-parameters" } else { "nbkf-arrow" };
        let tooltip = match edge.kind {
            super::EdgeKind::Order => format!("{} runs after {}", to.title(), from.title()),
            super::EdgeKind::Finally => {
                format!("{} runs after {}, also when it fails", to.title(), from.title())
            }
            _ => format!("{} → {}: {}", from.title(), to.title(), edge.label()),
        };
        let _ = writeln!(
            out,
            "<g class=\"edge {}\" data-source=\"{}\" data-target=\"{}\"><title>{}</title><path d=\"{}\" marker-end=\"url(#{marker})\"/>{}</g>",
            edge.kind.class(),
            from.id(),
            to.id(),
            xml(&tooltip),
            path(&route.points),
            match (label, route.label) {
                (Some(text), Some(at)) =>
                    format!("<text x=\"{}\" y=\"{}\">{}</text>", num(at.x), num(at.y + LABEL_HEIGHT - 3.5), xml(text)),
                _ => String::new(),
            }
        );
    }
    out.push_str("</g>\n<g class=\"nodes\">\n");
    for ((node, text), rect) in graph.nodes.iter().zip(&texts).zip(&laid.nodes) {
        write_node(&mut out, node, text, rect);
    }
    out.push_str("</g>\n");
    if shifted {
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

fn write_node(out: &mut String, node: &Node, text: &NodeText, rect: &Rect) {
    match node {
        Node::Step(step) => {
            let _ = write!(
                out,
                "<g class=\"node step{}\" data-step=\"{}\" data-task=\"{}\" id=\"{}\">",
                if step.finally { " exit" } else { "" },
                xml(&step.name),
                xml(&step.task),
                xml(&node.id())
            );
        }
        Node::Parameters(_) => {
            let _ = write!(out, "<g class=\"node parameters\" id=\"{}\">", node.id());
        }
    }
    let _ = write!(
        out,
        "<title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/>",
        xml(&node.tooltip()),
        num(rect.x),
        num(rect.y),
        num(rect.width),
        num(rect.height)
    );
    let cx = num(rect.center_x());
    let mut baseline = rect.y + NODE_TOP + 13.0;
    let _ = write!(
        out,
        "<text class=\"title\" x=\"{cx}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        num(baseline),
        xml(&text.title)
    );
    baseline += 2.0;
    // A step's lines are centred; the parameters are a list, aligned left.
    let (x, anchor) = match node {
        Node::Step(_) => (cx, "middle"),
        Node::Parameters(_) => (num(rect.x + NODE_PADDING), "start"),
    };
    for detail in &text.details {
        baseline += DETAIL_LINE;
        let _ = write!(
            out,
            "<text class=\"detail\" x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
            num(baseline),
            xml(detail)
        );
    }
    out.push_str("</g>\n");
}

/// The SVG path of a route: curves between ranks, straight runs through them.
fn path(points: &[Point]) -> String {
    let mut d = format!("M{},{}", num(points[0].x), num(points[0].y));
    for (i, pair) in points.windows(2).enumerate() {
        let (a, b) = (pair[0], pair[1]);
        if i % 2 == 0 {
            let mid = num((a.y + b.y) / 2.0);
            let _ = write!(d, "C{},{mid} {},{mid} {},{}", num(a.x), num(b.x), num(b.x), num(b.y));
        } else {
            let _ = write!(d, "L{},{}", num(b.x), num(b.y));
        }
    }
    d
}

/// A coordinate with at most one decimal.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// Text for XML content or a quoted attribute: markup characters as entities, and
/// characters XML cannot hold replaced.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
