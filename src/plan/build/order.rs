//! Ordering the steps: a topological order of the step graph that keeps notebook order
//! where the data allows.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use petgraph::graph::DiGraph;

use super::layout::Layout;
use super::walk::Walk;
use crate::diagnostics::Diagnostic;

/// Orders steps so that every step follows the steps it depends on, keeping notebook
/// order where the data allows; reports cycles.
pub(super) fn order_steps(layout: &Layout, walk: &Walk, diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let n = layout.steps.len();
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<_> = (0..n).map(|i| graph.add_node(i)).collect();
    let mut edges: BTreeSet<(usize, usize)> = BTreeSet::new();
    for (q, acc) in walk.steps.iter().enumerate() {
        for r in acc.inputs.values() {
            edges.insert((r.producer, q));
        }
        for p in layout.steps[q].prev.iter().filter_map(|p| p.resolved) {
            edges.insert((p, q));
        }
    }
    edges.retain(|(a, b)| a != b);
    for (a, b) in &edges {
        graph.add_edge(nodes[*a], nodes[*b], ());
    }
    if let Err(cycle) = petgraph::algo::toposort(&graph, None) {
        let step = &layout.steps[graph[cycle.node_id()]];
        diags.push(
            Diagnostic::error("cycle", format!("step `{}` depends on itself through the data other steps read from it", step.name))
                .in_cell(step.cells.first().copied().unwrap_or(0))
                .with_hint("a step name used again further down the notebook joins those cells to the earlier step; use a new step name"),
        );
        return (0..n).collect();
    }
    // Kahn's algorithm, taking the step that comes first in the notebook among the ready ones.
    let first_cell = |s: usize| layout.steps[s].cells.first().copied().unwrap_or(usize::MAX);
    let mut indegree = vec![0usize; n];
    for (_, b) in &edges {
        indegree[*b] += 1;
    }
    let mut ready: BinaryHeap<Reverse<(usize, usize)>> =
        (0..n).filter(|s| indegree[*s] == 0).map(|s| Reverse((first_cell(s), s))).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((_, s))) = ready.pop() {
        order.push(s);
        for (_, b) in edges.iter().filter(|(a, _)| *a == s) {
            indegree[*b] -= 1;
            if indegree[*b] == 0 {
                ready.push(Reverse((first_cell(*b), *b)));
            }
        }
    }
    order
}
