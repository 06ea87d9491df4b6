//! What counts as an in-place change: the functions that change their first argument,
//! the methods that return a view of their object, and recording a change of a name.

use tree_sitter::Node;

use super::scope::Resolved;
use super::Analyzer;
use crate::python::Effect;

/// numpy/pandas methods whose result shares data with the object they are called on.
const VIEW_METHODS: &[&str] = &["reshape", "view", "ravel", "transpose", "swapaxes", "squeeze", "T", "as_strided"];

/// Functions that change their first argument in place, called as plain names
/// (`from heapq import heappush`) or as `module.name`.
const INPLACE_FUNCTIONS: &[&str] = &[
    "next",
    "shuffle",
    "heappush",
    "heappop",
    "heapify",
    "heapreplace",
    "heappushpop",
    "insort",
    "insort_left",
    "insort_right",
];

/// Whether calling the plain name `callee` changes its first argument in place:
/// `shuffle(xs)`, `heappush(h, x)`, `insort(xs, x)`, `next(it)`.
pub(super) fn function_changes_first_argument(callee: &str) -> bool {
    INPLACE_FUNCTIONS.contains(&callee)
}

/// Whether calling `method` on (an attribute path of) `receiver` changes its first
/// argument in place: `random.shuffle(xs)`, `rng.shuffle(xs)`, `heapq.heappush(h, x)`,
/// `bisect.insort(xs, x)`.
pub(super) fn method_changes_first_argument(receiver: &str, method: &str) -> bool {
    method == "shuffle"
        || (receiver == "heapq" && INPLACE_FUNCTIONS.contains(&method))
        || (receiver == "bisect" && method.starts_with("insort"))
}

/// Whether `object.method(...)` returns a view sharing data with `object` ([`VIEW_METHODS`]).
pub(super) fn returns_view(method: &str) -> bool {
    VIEW_METHODS.contains(&method)
}

impl Analyzer<'_> {
    /// Records an in-place change of the object the identifier `n` refers to, through the
    /// attribute names `path` (`x.a.b = v`: `["a", "b"]`).
    pub(super) fn mutate(&mut self, n: Node, path: Vec<String>) {
        let name = self.text_of(n);
        match self.resolve(name) {
            Resolved::Module => self.emit(Effect::Mutate { name: name.to_string(), span: self.span(n), path }),
            Resolved::Local(i) => self.note_param_mutation(i, name),
        }
    }
}
