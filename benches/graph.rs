//! How long drawing a long pipeline takes: a generated 100-step notebook
//! (`tests/common/generated.rs`: each step reads from up to three of the eight before it,
//! some read a parameter), laid out and written as SVG, and the other formats.
//!
//! Run with `cargo bench --bench graph`.

#[path = "../tests/common/generated.rs"]
mod generated;

use nbkf::graph::{self, Graph};

fn main() {
    let summary = generated::summary(100);
    let graph = Graph::from_summary(&summary);
    let layout = graph::graph_layout(&graph);
    println!(
        "100 steps: {} nodes, {} edges, drawing {:.0} x {:.0} px, SVG {} bytes",
        graph.nodes.len(),
        graph.edges.len(),
        layout.width,
        layout.height,
        graph::svg(&graph).len()
    );
    divan::main();
}

/// The plan summary of the 100-step notebook (made once).
fn summary() -> &'static nbkf::plan::PlanSummary {
    static SUMMARY: std::sync::OnceLock<nbkf::plan::PlanSummary> = std::sync::OnceLock::new();
    SUMMARY.get_or_init(|| generated::summary(100))
}

/// From the plan summary to SVG text: the graph, its layout, the text.
#[divan::bench(sample_count = 30)]
fn svg_100_steps() -> usize {
    graph::draw(divan::black_box(summary()), graph::Format::Svg).len()
}

/// The layout alone.
#[divan::bench(sample_count = 30)]
fn layout_100_steps(bencher: divan::Bencher) {
    let graph = Graph::from_summary(summary());
    bencher.bench(|| graph::graph_layout(divan::black_box(&graph)).width);
}

/// DOT and Mermaid (no layout).
#[divan::bench(args = [graph::Format::Dot, graph::Format::Mermaid], sample_count = 30)]
fn text_formats_100_steps(format: graph::Format) -> usize {
    graph::draw(divan::black_box(summary()), format).len()
}
