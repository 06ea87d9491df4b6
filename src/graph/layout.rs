//! A layered (Sugiyama-style) layout, top to bottom, of boxes joined by labelled arrows.
//!
//! 1. *Layers*: longest path from the sources (so every producer is above its consumers),
//!    then each source moved down to just above its highest consumer. Edges that would
//!    close a cycle (a plan has none) are laid out reversed.
//! 2. *Ranks*: layer `l` is rank `2l`; the odd rank between two layers holds the edge
//!    labels, so a label is a box the layout keeps clear like any other. An edge crossing
//!    more than one rank gets a *dummy* item on each rank in between; its label sits on the
//!    dummy just above its consumer, right of the line.
//! 3. *Order*: barycenter sweeps down and up, each followed by swaps of neighbours that
//!    remove crossings; the order with the fewest crossings wins.
//! 4. *Coordinates*: each rank in turn is placed as close as possible (least squares) to
//!    the mean position of its items' neighbours (for a node, those along its shortest
//!    edges), keeping the order and the gaps (solved
//!    exactly by pooling adjacent violators); dummies weigh more, so long edges run
//!    straight. A few passes down, up, then both ways; last, each long edge is put on one
//!    vertical line where its neighbours leave room.
//! 5. *Routes*: from a port on the producer's bottom side (ports spread in the order of
//!    their consumers), vertically through every rank it crosses, to a port on the
//!    consumer's top side.
//!
//! Everything is deterministic: ties break by index, and the same input gives the same
//! floating-point operations.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

/// A point in pixels (y grows downwards).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// A box: its top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

impl Rect {
    /// The x of the middle.
    pub fn center_x(&self) -> f64 {
        self.x + self.width / 2.0
    }

    /// The y of the bottom side.
    pub fn bottom(&self) -> f64 {
        self.y + self.height
    }

    /// The x of the right side.
    pub fn right(&self) -> f64 {
        self.x + self.width
    }

    /// Whether the two boxes share any area.
    pub fn overlaps(&self, other: &Rect) -> bool {
        self.x < other.right() && other.x < self.right() && self.y < other.bottom() && other.y < self.bottom()
    }
}

/// An edge to lay out: node indices and the size of its label, if it has one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayoutEdge {
    pub from: usize,
    pub to: usize,
    pub label: Option<Size>,
}

/// Where an edge runs: `points` alternate between curves and straight runs: from
/// `points[0]` (on the producer's side) a curve to `points[1]`, a straight line to
/// `points[2]`, a curve to `points[3]`, ..., a curve to the last point (on the consumer's
/// side). Empty for an edge from a node to itself, which is not drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRoute {
    pub points: Vec<Point>,
    /// Where the label goes (right of the line, on the rank above the consumer).
    pub label: Option<Rect>,
}

/// The result: the drawing's size, a box per node, a route per edge (same order as given).
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub nodes: Vec<Rect>,
    pub edges: Vec<EdgeRoute>,
    /// The layer of each node (0 at the top).
    pub layers: Vec<usize>,
}

/// Blank space around the drawing.
const MARGIN: f64 = 16.0;
/// Horizontal space between two boxes on a rank.
const NODE_GAP: f64 = 28.0;
/// Horizontal space next to an edge passing through a rank.
const EDGE_GAP: f64 = 12.0;
/// Vertical space between ranks.
const RANK_GAP: f64 = 16.0;
/// Space between an edge's line and its label.
const LABEL_PAD: f64 = 5.0;
/// Barycenter sweeps (alternately down and up).
const SWEEPS: usize = 12;
/// Rounds of coordinate passes (each one down and one up).
const PLACEMENT_ROUNDS: usize = 8;

/// Lays out `nodes` (their sizes) joined by `edges`, top to bottom.
pub fn layout(nodes: &[Size], edges: &[LayoutEdge]) -> Layout {
    let layers = assign_layers(nodes.len(), edges);
    let mut ranked = Ranked::new(nodes, edges, &layers);
    ranked.order();
    let x = ranked.place();
    ranked.finish(nodes, edges, &x, layers)
}

/// Each node's layer: producers above consumers.
fn assign_layers(n: usize, edges: &[LayoutEdge]) -> Vec<usize> {
    let position = topological_positions(n, edges);
    let forward = |e: &LayoutEdge| {
        if position[e.from] < position[e.to] {
            (e.from, e.to)
        } else {
            (e.to, e.from)
        }
    };
    let mut by_position: Vec<usize> = (0..n).collect();
    by_position.sort_by_key(|&v| position[v]);
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in edges.iter().filter(|e| e.from != e.to) {
        let (a, b) = forward(e);
        preds[b].push(a);
        succs[a].push(b);
    }
    let mut layer = vec![0; n];
    for &v in &by_position {
        layer[v] = preds[v].iter().map(|&p| layer[p] + 1).max().unwrap_or(0);
    }
    // A source feeding only deep nodes would otherwise sit at the top with long edges.
    for v in 0..n {
        if preds[v].is_empty() {
            if let Some(lowest) = succs[v].iter().map(|&s| layer[s]).min() {
                layer[v] = lowest - 1;
            }
        }
    }
    layer
}

/// A topological order (smallest index first among the ready nodes); a node on a cycle is
/// taken, smallest index first, when nothing else is ready.
fn topological_positions(n: usize, edges: &[LayoutEdge]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for e in edges.iter().filter(|e| e.from != e.to) {
        indegree[e.to] += 1;
        succs[e.from].push(e.to);
    }
    let mut ready: BinaryHeap<Reverse<usize>> = (0..n).filter(|&v| indegree[v] == 0).map(Reverse).collect();
    let mut position = vec![usize::MAX; n];
    let mut next = 0;
    while next < n {
        let v = match ready.pop() {
            Some(Reverse(v)) if position[v] == usize::MAX => v,
            Some(_) => continue,
            None => (0..n).find(|&v| position[v] == usize::MAX).expect("a node is left"),
        };
        position[v] = next;
        next += 1;
        for &s in &succs[v] {
            indegree[s] = indegree[s].saturating_sub(1);
            if indegree[s] == 0 && position[s] == usize::MAX {
                ready.push(Reverse(s));
            }
        }
    }
    position
}

/// An item on a rank: a node, or a point where an edge crosses the rank.
#[derive(Debug, Clone, Copy)]
struct Item {
    rank: usize,
    /// Extent left and right of the item's x (for a label dummy, x is the line and the
    /// label lies to its right).
    left: f64,
    right: f64,
    is_node: bool,
    /// For an edge's point: how many layers the edge spans.
    span: usize,
}

/// The layered graph being laid out: items on ranks, and which items each edge passes.
struct Ranked {
    items: Vec<Item>,
    up: Vec<Vec<usize>>,
    down: Vec<Vec<usize>>,
    /// Items of each rank, in order.
    ranks: Vec<Vec<usize>>,
    /// Index of each item within its rank.
    pos: Vec<usize>,
    /// Per edge: the items from producer to consumer (in layout direction), and whether
    /// the edge was reversed to get there.
    chains: Vec<(Vec<usize>, bool)>,
}

impl Ranked {
    fn new(nodes: &[Size], edges: &[LayoutEdge], layers: &[usize]) -> Ranked {
        let rank_count = layers.iter().max().map_or(0, |l| 2 * l + 1);
        let mut items: Vec<Item> = nodes
            .iter()
            .zip(layers)
            .map(|(s, l)| Item { rank: 2 * l, left: s.width / 2.0, right: s.width / 2.0, is_node: true, span: 0 })
            .collect();
        let mut chains = Vec::with_capacity(edges.len());
        for e in edges {
            if e.from == e.to {
                chains.push((Vec::new(), false));
                continue;
            }
            let reversed = layers[e.from] > layers[e.to];
            let (a, b) = if reversed { (e.to, e.from) } else { (e.from, e.to) };
            let (ra, rb) = (2 * layers[a], 2 * layers[b]);
            let mut chain = vec![a];
            for rank in ra + 1..rb {
                let right = match e.label {
                    Some(label) if rank + 1 == rb => LABEL_PAD + label.width,
                    _ => 0.0,
                };
                chain.push(items.len());
                items.push(Item { rank, left: 0.0, right, is_node: false, span: (rb - ra) / 2 });
            }
            chain.push(b);
            chains.push((chain, reversed));
        }
        let mut up = vec![Vec::new(); items.len()];
        let mut down = vec![Vec::new(); items.len()];
        for (chain, _) in &chains {
            for pair in chain.windows(2) {
                down[pair[0]].push(pair[1]);
                up[pair[1]].push(pair[0]);
            }
        }
        let mut ranks = vec![Vec::new(); rank_count];
        for (i, item) in items.iter().enumerate() {
            ranks[item.rank].push(i);
        }
        let mut ranked = Ranked { pos: vec![0; items.len()], items, up, down, ranks, chains };
        ranked.index_positions();
        ranked
    }

    fn index_positions(&mut self) {
        for rank in &self.ranks {
            for (i, &item) in rank.iter().enumerate() {
                self.pos[item] = i;
            }
        }
    }

    /// Orders each rank to reduce crossings.
    fn order(&mut self) {
        let mut best = self.ranks.clone();
        let mut best_crossings = self.crossings();
        for sweep in 0..SWEEPS {
            if best_crossings == 0 {
                break;
            }
            if sweep % 2 == 0 {
                for r in 1..self.ranks.len() {
                    self.sort_by_barycenter(r, true);
                }
            } else {
                for r in (0..self.ranks.len().saturating_sub(1)).rev() {
                    self.sort_by_barycenter(r, false);
                }
            }
            self.transpose();
            let crossings = self.crossings();
            if crossings < best_crossings {
                best_crossings = crossings;
                best = self.ranks.clone();
            }
        }
        self.ranks = best;
        self.index_positions();
    }

    /// Sorts rank `r` by the mean position of each item's neighbours above (`from_above`)
    /// or below; an item without such neighbours keeps its place.
    fn sort_by_barycenter(&mut self, r: usize, from_above: bool) {
        let mut keyed: Vec<(f64, usize, usize)> = self.ranks[r]
            .iter()
            .map(|&item| {
                let neighbours = if from_above { &self.up[item] } else { &self.down[item] };
                let key = if neighbours.is_empty() {
                    self.pos[item] as f64
                } else {
                    neighbours.iter().map(|&n| self.pos[n] as f64).sum::<f64>() / neighbours.len() as f64
                };
                (key, self.pos[item], item)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.ranks[r] = keyed.into_iter().map(|(_, _, item)| item).collect();
        for (i, &item) in self.ranks[r].iter().enumerate() {
            self.pos[item] = i;
        }
    }

    /// Swaps neighbours on a rank while that removes crossings (a few rounds at most).
    fn transpose(&mut self) {
        for _ in 0..4 {
            let mut improved = false;
            for r in 0..self.ranks.len() {
                for i in 0..self.ranks[r].len().saturating_sub(1) {
                    let (u, v) = (self.ranks[r][i], self.ranks[r][i + 1]);
                    if self.pair_crossings(v, u) < self.pair_crossings(u, v) {
                        self.ranks[r].swap(i, i + 1);
                        self.pos[u] = i + 1;
                        self.pos[v] = i;
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
    }

    /// Crossings among the edges of `u` and `v` when `u` is left of `v`.
    fn pair_crossings(&self, u: usize, v: usize) -> usize {
        let count = |a: &[usize], b: &[usize]| {
            a.iter().map(|&x| b.iter().filter(|&&y| self.pos[x] > self.pos[y]).count()).sum::<usize>()
        };
        count(&self.up[u], &self.up[v]) + count(&self.down[u], &self.down[v])
    }

    /// All crossings between adjacent ranks (counted as inversions, with a Fenwick tree).
    fn crossings(&self) -> usize {
        let mut total = 0;
        for r in 0..self.ranks.len().saturating_sub(1) {
            let mut pairs: Vec<(usize, usize)> = self.ranks[r]
                .iter()
                .flat_map(|&u| self.down[u].iter().map(move |&v| (u, v)))
                .map(|(u, v)| (self.pos[u], self.pos[v]))
                .collect();
            pairs.sort_unstable();
            let size = self.ranks[r + 1].len();
            let mut tree = vec![0usize; size + 1];
            for (seen, &(_, b)) in pairs.iter().enumerate() {
                // Earlier pairs (further left above) ending right of `b` cross this one.
                let mut at_most_b = 0;
                let mut i = b + 1;
                while i > 0 {
                    at_most_b += tree[i];
                    i -= i & i.wrapping_neg();
                }
                total += seen - at_most_b;
                let mut i = b + 1;
                while i <= size {
                    tree[i] += 1;
                    i += i & i.wrapping_neg();
                }
            }
        }
        total
    }

    /// The horizontal space between `a` and `b` placed next to each other (centre to
    /// centre, `a` on the left).
    fn separation(&self, a: usize, b: usize) -> f64 {
        let gap = if self.items[a].is_node && self.items[b].is_node { NODE_GAP } else { EDGE_GAP };
        self.items[a].right + gap + self.items[b].left
    }

    /// The x of every item.
    fn place(&self) -> Vec<f64> {
        let mut x = vec![0.0; self.items.len()];
        for rank in &self.ranks {
            let mut at = 0.0;
            for (i, &item) in rank.iter().enumerate() {
                if i > 0 {
                    at += self.separation(rank[i - 1], item);
                }
                x[item] = at;
            }
        }
        let all: Vec<usize> = (0..self.ranks.len()).collect();
        for _ in 0..PLACEMENT_ROUNDS {
            for &r in all.iter().skip(1) {
                self.place_rank(r, &mut x, true, false);
            }
            for &r in all.iter().rev().skip(1) {
                self.place_rank(r, &mut x, false, true);
            }
        }
        for &r in &all {
            self.place_rank(r, &mut x, true, true);
        }
        // An edge straightened can make room for the ones beside it: a few rounds.
        for _ in 0..3 {
            self.straighten(&mut x);
        }
        x
    }

    /// Puts the points of each long edge on one vertical line where the items beside them
    /// leave room for it (least squares leaves them slightly apart).
    fn straighten(&self, x: &mut [f64]) {
        for (chain, _) in &self.chains {
            let dummies = if chain.len() > 3 { &chain[1..chain.len() - 1] } else { continue };
            let (mut low, mut high) = (f64::NEG_INFINITY, f64::INFINITY);
            for &d in dummies {
                let rank = &self.ranks[self.items[d].rank];
                let p = self.pos[d];
                if p > 0 {
                    low = low.max(x[rank[p - 1]] + self.separation(rank[p - 1], d));
                }
                if p + 1 < rank.len() {
                    high = high.min(x[rank[p + 1]] - self.separation(d, rank[p + 1]));
                }
            }
            if low <= high {
                let mean = dummies.iter().map(|&d| x[d]).sum::<f64>() / dummies.len() as f64;
                let line = mean.clamp(low, high);
                for &d in dummies {
                    x[d] = line;
                }
            }
        }
    }

    /// Places rank `r` as near its items' neighbours (above and/or below) as the order and
    /// gaps allow, in the least-squares sense.
    fn place_rank(&self, r: usize, x: &mut [f64], above: bool, below: bool) {
        let rank = &self.ranks[r];
        if rank.is_empty() {
            return;
        }
        // x_i = y_i + offset_i with y non-decreasing turns the gaps into an order constraint.
        let mut offsets = Vec::with_capacity(rank.len());
        let mut at = 0.0;
        for (i, &item) in rank.iter().enumerate() {
            if i > 0 {
                at += self.separation(rank[i - 1], item);
            }
            offsets.push(at);
        }
        let targets: Vec<(f64, f64)> = rank
            .iter()
            .zip(&offsets)
            .map(|(&item, offset)| {
                let neighbours = self.up[item].iter().filter(|_| above).chain(self.down[item].iter().filter(|_| below));
                // A node follows its shortest edges: a long edge bypassing a chain should
                // bend around it rather than pull the chain askew.
                let shortest = neighbours.clone().map(|&n| self.items[n].span).min().unwrap_or(0);
                let (sum, count) = neighbours
                    .filter(|&&n| self.items[n].span == shortest)
                    .fold((0.0, 0usize), |(s, c), &n| (s + x[n], c + 1));
                if count == 0 {
                    (x[item] - offset, 0.001)
                } else {
                    // The points of an edge between adjacent layers hold their line (it
                    // stays straight); those of longer edges give way to the nodes and
                    // edges they pass (`straighten` aligns them at the end).
                    let item = &self.items[item];
                    let weight = match (item.is_node, item.span) {
                        (true, _) => 1.0,
                        (false, 1) => 4.0,
                        (false, _) => 0.02,
                    } * count as f64;
                    (sum / count as f64 - offset, weight)
                }
            })
            .collect();
        for (i, y) in pool_adjacent_violators(&targets).into_iter().enumerate() {
            x[rank[i]] = y + offsets[i];
        }
    }

    /// Boxes, routes and the drawing's size from the items' x.
    fn finish(&self, nodes: &[Size], edges: &[LayoutEdge], x: &[f64], layers: Vec<usize>) -> Layout {
        let shift = MARGIN - (0..self.items.len()).map(|i| x[i] - self.items[i].left).fold(f64::INFINITY, f64::min);
        let shift = if shift.is_finite() { shift } else { MARGIN };
        let x: Vec<f64> = x.iter().map(|v| v + shift).collect();
        let width = (0..self.items.len()).map(|i| x[i] + self.items[i].right).fold(0.0, f64::max) + MARGIN;
        // Rank heights: the tallest node, or the tallest label on a label rank.
        let mut heights = vec![0.0f64; self.ranks.len()];
        for (v, s) in nodes.iter().enumerate() {
            heights[self.items[v].rank] = heights[self.items[v].rank].max(s.height);
        }
        for (e, (chain, _)) in edges.iter().zip(&self.chains) {
            if let (Some(label), [.., dummy, _]) = (e.label, chain.as_slice()) {
                if !self.items[*dummy].is_node {
                    let r = self.items[*dummy].rank;
                    heights[r] = heights[r].max(label.height);
                }
            }
        }
        let mut tops = Vec::with_capacity(heights.len());
        let mut y = MARGIN;
        for h in &heights {
            tops.push(y);
            y += h + RANK_GAP;
        }
        let height = if heights.is_empty() { 2.0 * MARGIN } else { y - RANK_GAP + MARGIN };
        let boxes: Vec<Rect> = nodes
            .iter()
            .enumerate()
            .map(|(v, s)| {
                let r = self.items[v].rank;
                Rect { x: x[v] - s.width / 2.0, y: tops[r] + (heights[r] - s.height) / 2.0, width: s.width, height: s.height }
            })
            .collect();
        let routes = edges
            .iter()
            .zip(&self.chains)
            .map(|(e, (chain, reversed))| self.route(e, chain, *reversed, &x, &tops, &heights, &boxes))
            .collect();
        Layout { width: width.max(2.0 * MARGIN), height, nodes: boxes, edges: routes, layers }
    }

    #[allow(clippy::too_many_arguments)]
    fn route(
        &self,
        edge: &LayoutEdge,
        chain: &[usize],
        reversed: bool,
        x: &[f64],
        tops: &[f64],
        heights: &[f64],
        boxes: &[Rect],
    ) -> EdgeRoute {
        let (Some(&first), Some(&last)) = (chain.first(), chain.last()) else {
            return EdgeRoute { points: Vec::new(), label: None };
        };
        let mut points = vec![Point { x: self.port(first, chain[1], false, boxes), y: boxes[first].bottom() }];
        for &dummy in &chain[1..chain.len() - 1] {
            let r = self.items[dummy].rank;
            points.push(Point { x: x[dummy], y: tops[r] });
            points.push(Point { x: x[dummy], y: tops[r] + heights[r] });
        }
        points.push(Point { x: self.port(last, chain[chain.len() - 2], true, boxes), y: boxes[last].y });
        let label = match (edge.label, chain) {
            (Some(size), [.., dummy, _]) if !self.items[*dummy].is_node => {
                let r = self.items[*dummy].rank;
                Some(Rect {
                    x: x[*dummy] + LABEL_PAD,
                    y: tops[r] + (heights[r] - size.height) / 2.0,
                    width: size.width,
                    height: size.height,
                })
            }
            _ => None,
        };
        if reversed {
            points.reverse();
        }
        EdgeRoute { points, label }
    }

    /// Where the edge to neighbour `other` leaves (`top` false: the bottom side) or enters
    /// (`top`: the top side) node `v`: ports are spread along the side in the order of the
    /// neighbours, so edges do not cross at the node.
    fn port(&self, v: usize, other: usize, top: bool, boxes: &[Rect]) -> f64 {
        let neighbours = if top { &self.up[v] } else { &self.down[v] };
        let mut sorted: Vec<usize> = neighbours.clone();
        sorted.sort_by_key(|&n| (self.pos[n], n));
        let k = sorted.len();
        let j = sorted.iter().position(|&n| n == other).unwrap_or(0);
        let b = &boxes[v];
        let spacing = if k > 1 { (b.width * 0.6 / (k - 1) as f64).min(14.0) } else { 0.0 };
        b.center_x() + (j as f64 - (k - 1) as f64 / 2.0) * spacing
    }
}

/// Least-squares fit of non-decreasing values to weighted targets `(value, weight)`: merges
/// adjacent blocks while a block's mean is below the one before.
fn pool_adjacent_violators(targets: &[(f64, f64)]) -> Vec<f64> {
    // Each block: (weighted mean, total weight, number of items).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(targets.len());
    for &(value, weight) in targets {
        let mut block = (value, weight, 1);
        while let Some(&(mean, w, n)) = blocks.last() {
            if mean <= block.0 {
                break;
            }
            blocks.pop();
            let total = w + block.1;
            block = ((mean * w + block.0 * block.1) / total, total, n + block.2);
        }
        blocks.push(block);
    }
    blocks.into_iter().flat_map(|(mean, _, n)| std::iter::repeat_n(mean, n)).collect()
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
