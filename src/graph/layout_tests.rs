use super::*;

/// A graph of `n` nodes of varied widths where node `i` reads from one to three earlier
/// nodes (a fixed pseudo-random choice), some edges labelled.
pub(crate) fn generated(n: usize) -> (Vec<Size>, Vec<LayoutEdge>) {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: usize| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % bound
    };
    let nodes: Vec<Size> = (0..n).map(|i| Size { width: 96.0 + (i % 5) as f64 * 30.0, height: 40.0 }).collect();
    let mut edges = Vec::new();
    for to in 1..n {
        let mut from: Vec<usize> = (0..1 + next(3)).map(|_| to - 1 - next(to.min(8))).collect();
        from.sort_unstable();
        from.dedup();
        for f in from {
            let label = (next(3) > 0).then(|| Size { width: 30.0 + next(100) as f64, height: 14.0 });
            edges.push(LayoutEdge { from: f, to, label });
        }
    }
    (nodes, edges)
}

fn edge(from: usize, to: usize) -> LayoutEdge {
    LayoutEdge { from, to, label: None }
}

fn boxes(n: usize) -> Vec<Size> {
    vec![Size { width: 100.0, height: 40.0 }; n]
}

#[test]
fn producers_are_above_their_consumers() {
    let (nodes, edges) = generated(60);
    let laid = layout(&nodes, &edges);
    for e in &edges {
        assert!(laid.layers[e.from] < laid.layers[e.to], "{e:?}");
        assert!(laid.nodes[e.from].bottom() < laid.nodes[e.to].y, "{e:?}");
    }
}

#[test]
fn no_two_boxes_overlap_and_labels_stay_clear() {
    let (nodes, edges) = generated(100);
    let laid = layout(&nodes, &edges);
    let labels: Vec<Rect> = laid.edges.iter().filter_map(|r| r.label).collect();
    assert!(labels.len() > 50);
    let all: Vec<&Rect> = laid.nodes.iter().chain(&labels).collect();
    for (i, a) in all.iter().enumerate() {
        assert!(a.x >= 0.0 && a.y >= 0.0 && a.right() <= laid.width && a.bottom() <= laid.height);
        for b in &all[i + 1..] {
            assert!(!a.overlaps(b), "{a:?} overlaps {b:?}");
        }
    }
}

#[test]
fn edges_start_and_end_on_their_nodes() {
    let (nodes, edges) = generated(40);
    let laid = layout(&nodes, &edges);
    for (e, route) in edges.iter().zip(&laid.edges) {
        let (from, to) = (laid.nodes[e.from], laid.nodes[e.to]);
        let (first, last) = (route.points[0], *route.points.last().unwrap());
        assert_eq!(first.y, from.bottom());
        assert!(first.x > from.x && first.x < from.right(), "{first:?} {from:?}");
        assert_eq!(last.y, to.y);
        assert!(last.x > to.x && last.x < to.right(), "{last:?} {to:?}");
        assert_eq!(route.points.len() % 2, 0);
        // Between the ends the route only goes down.
        assert!(route.points.windows(2).all(|p| p[0].y <= p[1].y), "{route:?}");
        assert_eq!(route.label.is_some(), e.label.is_some());
    }
}

#[test]
fn layout_is_deterministic() {
    let (nodes, edges) = generated(50);
    assert_eq!(layout(&nodes, &edges), layout(&nodes, &edges));
}

#[test]
fn a_long_edge_runs_straight_beside_the_chain() {
    // a → b → c → d and a → d: the long edge's points through b's and c's ranks share one x.
    let laid = layout(&boxes(4), &[edge(0, 1), edge(1, 2), edge(2, 3), edge(0, 3)]);
    let inner = &laid.edges[3].points[1..laid.edges[3].points.len() - 1];
    assert!(inner.len() >= 4);
    assert!(inner.iter().all(|p| (p.x - inner[0].x).abs() < 0.5), "{inner:?}");
    // The chain is straight too.
    let centers: Vec<f64> = laid.nodes.iter().map(Rect::center_x).collect();
    assert!(centers.iter().all(|c| (c - centers[0]).abs() < 1.0), "{centers:?}");
}

#[test]
fn a_source_sits_just_above_its_first_consumer() {
    // 0 → 1 → 2 → 3, and 4 feeds only 3: 4 goes on layer 2, not 0.
    let laid = layout(&boxes(5), &[edge(0, 1), edge(1, 2), edge(2, 3), edge(4, 3)]);
    assert_eq!(laid.layers, [0, 1, 2, 3, 2]);
}

#[test]
fn crossings_that_can_be_avoided_are() {
    // Two producers, each feeding its own consumers, listed crosswise.
    let edges = [edge(0, 5), edge(0, 3), edge(1, 2), edge(1, 4), edge(2, 6), edge(5, 6)];
    let layers = assign_layers(7, &edges);
    let mut ranked = Ranked::new(&boxes(7), &edges, &layers);
    ranked.order();
    assert_eq!(ranked.crossings(), 0);
}

#[test]
fn cycles_and_self_loops_do_not_break_it() {
    let laid = layout(&boxes(3), &[edge(0, 1), edge(1, 2), edge(2, 0), edge(1, 1)]);
    assert!(laid.edges[3].points.is_empty());
    let back = &laid.edges[2].points;
    // The edge closing the cycle is laid out reversed: from its producer (the bottom node)
    // up into its consumer's bottom side.
    assert_eq!(back[0].y, laid.nodes[2].y);
    assert_eq!(back.last().unwrap().y, laid.nodes[0].bottom());
    let empty = layout(&[], &[]);
    assert!(empty.nodes.is_empty() && empty.width > 0.0);
}

#[test]
fn pooling_fits_ordered_values() {
    assert_eq!(pool_adjacent_violators(&[(1.0, 1.0), (3.0, 1.0), (2.0, 1.0), (5.0, 1.0)]), [1.0, 2.5, 2.5, 5.0]);
    assert_eq!(pool_adjacent_violators(&[(4.0, 3.0), (0.0, 1.0)]), [3.0, 3.0]);
}
