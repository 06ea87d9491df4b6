//! What a call does to the objects it is given.
//!
//! The rule (right by default): an object passed to a call may be changed by it, unless
//! the callee is known to leave its arguments alone. Known to leave them alone are
//! Python's builtins (except `next`, and `print(file=...)`), the methods of values
//! (`model.fit(X, y)` changes `model`, not `X`; the receiver is judged apart, see
//! [`is_read_only_method`](crate::plan::hidden_state::is_read_only_method)), and the
//! functions of the libraries notebooks use most ([`PURE_LIBRARIES`]), except the ones
//! listed as changing an argument (`numpy.copyto`, `random.shuffle`, `heapq.heappush`,
//! ufuncs given an output array, torch's `*_` functions, ...). A function of any other
//! library, of a local module, or a callable value (`model(x)`, `f = make(); f(x)`)
//! may change every object it is given. A notebook function changes the arguments its
//! body changes, directly or by passing them on.

use super::walk::DefinitionInfo;
use crate::python::Arg;

/// Every argument that names something.
pub(super) fn all_args(args: &[Arg], kwargs: &[(String, Arg)]) -> Vec<Arg> {
    args.iter().chain(kwargs.iter().map(|(_, a)| a)).filter(|a| !matches!(a, Arg::Other)).cloned().collect()
}

/// The arguments a call of a notebook function changes, given the parameters its body
/// changes (by position; by name when known).
pub(super) fn changed_args(
    _def: &DefinitionInfo,
    params: &[(usize, String)],
    args: &[Arg],
    kwargs: &[(String, Arg)],
) -> Vec<Arg> {
    let mut out = Vec::new();
    for (position, name) in params {
        if let Some(a) = args.get(*position) {
            out.push(a.clone());
        }
        if !name.is_empty() {
            out.extend(kwargs.iter().filter(|(k, _)| k == name).map(|(_, a)| a.clone()));
        }
    }
    out
}

/// What a call of a builtin changes: `next(it)` advances `it`, `print(..., file=f)`
/// writes to `f`, `exec`/`eval` may bind names in their namespaces; the others leave their
/// arguments alone.
pub(super) fn builtin_changed_args(name: &str, args: &[Arg], kwargs: &[(String, Arg)]) -> Vec<Arg> {
    match name {
        "next" => args.first().cloned().into_iter().collect(),
        // `exec(code, namespace)` binds names in the dictionaries it is given.
        "exec" | "eval" => args.iter().skip(1).cloned().chain(kwargs.iter().map(|(_, a)| a.clone())).collect(),
        "print" => kwargs.iter().filter(|(k, _)| k == "file").map(|(_, a)| a.clone()).collect(),
        _ => Vec::new(),
    }
}

/// Methods that change an argument (rather than, or as well as, their object):
/// `rng.shuffle(x)`.
const METHODS_CHANGING_FIRST_ARGUMENT: &[&str] = &["shuffle"];

/// What a method call on a value changes among its arguments.
pub(super) fn method_changed_args(method: &str, args: &[Arg], _kwargs: &[(String, Arg)]) -> Vec<Arg> {
    if METHODS_CHANGING_FIRST_ARGUMENT.contains(&method) {
        return args.first().cloned().into_iter().collect();
    }
    Vec::new()
}

/// Libraries whose functions leave their arguments alone, except the ones in
/// [`CHANGES_FIRST_ARGUMENT`] and the special cases of [`library_changes`].
pub const PURE_LIBRARIES: &[&str] = &[
    "IPython",
    "PIL",
    "altair",
    "base64",
    "bisect",
    "bokeh",
    "catboost",
    "collections",
    "copy",
    "csv",
    "cv2",
    "dataclasses",
    "datetime",
    "decimal",
    "enum",
    "fractions",
    "functools",
    "glob",
    "hashlib",
    "heapq",
    "io",
    "itertools",
    "joblib",
    "json",
    "keras",
    "lightgbm",
    "logging",
    "math",
    "cmath",
    "matplotlib",
    "networkx",
    "nltk",
    "numpy",
    "operator",
    "os",
    "pandas",
    "pathlib",
    "pickle",
    "plotly",
    "polars",
    "pprint",
    "pyarrow",
    "random",
    "re",
    "requests",
    "scipy",
    "seaborn",
    "shutil",
    "sklearn",
    "statistics",
    "statsmodels",
    "string",
    "sympy",
    "sys",
    "tabulate",
    "tensorflow",
    "textwrap",
    "time",
    "torch",
    "torchvision",
    "tqdm",
    "typing",
    "urllib",
    "uuid",
    "warnings",
    "xarray",
    "xgboost",
    "yaml",
];

/// Functions of those libraries that change their first argument in place.
const CHANGES_FIRST_ARGUMENT: &[&str] = &[
    "bisect.insort",
    "bisect.insort_left",
    "bisect.insort_right",
    "heapq.heapify",
    "heapq.heappop",
    "heapq.heappush",
    "heapq.heappushpop",
    "heapq.heapreplace",
    "numpy.copyto",
    "numpy.fill_diagonal",
    "numpy.place",
    "numpy.put",
    "numpy.put_along_axis",
    "numpy.putmask",
    "numpy.random.shuffle",
    "operator.delitem",
    "operator.iadd",
    "operator.iand",
    "operator.iconcat",
    "operator.ifloordiv",
    "operator.ilshift",
    "operator.imatmul",
    "operator.imod",
    "operator.imul",
    "operator.ior",
    "operator.ipow",
    "operator.irshift",
    "operator.isub",
    "operator.itruediv",
    "operator.ixor",
    "operator.setitem",
    "random.shuffle",
];

/// numpy ufuncs taking one input: a second positional argument is the output array.
const UNARY_UFUNCS: &[&str] = &[
    "abs",
    "absolute",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctanh",
    "cbrt",
    "ceil",
    "conj",
    "conjugate",
    "cos",
    "cosh",
    "deg2rad",
    "degrees",
    "exp",
    "exp2",
    "expm1",
    "fabs",
    "floor",
    "invert",
    "isfinite",
    "isinf",
    "isnan",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_not",
    "negative",
    "positive",
    "rad2deg",
    "radians",
    "reciprocal",
    "rint",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "spacing",
    "sqrt",
    "square",
    "tan",
    "tanh",
    "trunc",
];

/// numpy ufuncs taking two inputs: a third positional argument is the output array.
const BINARY_UFUNCS: &[&str] = &[
    "add",
    "arctan2",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "copysign",
    "divide",
    "equal",
    "float_power",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "gcd",
    "greater",
    "greater_equal",
    "heaviside",
    "hypot",
    "lcm",
    "ldexp",
    "left_shift",
    "less",
    "less_equal",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_or",
    "logical_xor",
    "matmul",
    "maximum",
    "minimum",
    "mod",
    "multiply",
    "nextafter",
    "not_equal",
    "power",
    "remainder",
    "right_shift",
    "subtract",
    "true_divide",
];

/// What a call of library function `full` (a dotted name: `numpy.copyto`,
/// `sklearn.model_selection.train_test_split`) changes among its arguments.
pub(super) fn library_changes(full: &str, args: &[Arg], kwargs: &[(String, Arg)]) -> Vec<Arg> {
    let root = full.split('.').next().unwrap_or(full);
    let last = full.rsplit('.').next().unwrap_or(full);
    let first = || args.first().cloned().into_iter().collect::<Vec<_>>();
    if CHANGES_FIRST_ARGUMENT.contains(&full) {
        return first();
    }
    if root == "numpy" {
        // `np.add.at(a, idx, v)` changes `a`; a ufunc's extra positional arguments are its
        // outputs (`np.add(a, b, out)`).
        if last == "at" {
            return first();
        }
        let name = full.strip_prefix("numpy.").unwrap_or("");
        let inputs = if UNARY_UFUNCS.contains(&name) {
            1
        } else if BINARY_UFUNCS.contains(&name) {
            2
        } else {
            match name {
                "clip" => 3,
                "round" | "around" => 2,
                _ => usize::MAX,
            }
        };
        return args.iter().skip(inputs).cloned().collect();
    }
    if root == "torch" && last.ends_with('_') && !last.starts_with('_') {
        // torch's in-place convention: `torch.nn.init.xavier_uniform_(w)`.
        return first();
    }
    if matches!(full, "json.dump" | "pickle.dump") {
        return args.get(1).cloned().into_iter().collect();
    }
    if PURE_LIBRARIES.contains(&root) {
        return Vec::new();
    }
    all_args(args, kwargs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Arg {
        Arg::Name(s.into())
    }

    #[test]
    fn libraries() {
        assert_eq!(library_changes("numpy.copyto", &[n("dst"), n("src")], &[]), [n("dst")]);
        assert_eq!(library_changes("numpy.mean", &[n("a")], &[]), Vec::<Arg>::new());
        assert_eq!(library_changes("numpy.add", &[n("a"), n("b"), n("c")], &[]), [n("c")]);
        assert_eq!(library_changes("numpy.sqrt", &[n("a"), n("c")], &[]), [n("c")]);
        assert_eq!(library_changes("numpy.add.at", &[n("a"), Arg::Other, n("v")], &[]), [n("a")]);
        assert_eq!(library_changes("pandas.concat", &[n("a")], &[]), Vec::<Arg>::new());
        assert_eq!(library_changes("heapq.heappush", &[n("h"), n("x")], &[]), [n("h")]);
        assert_eq!(library_changes("torch.nn.init.xavier_uniform_", &[n("w")], &[]), [n("w")]);
        assert_eq!(library_changes("operator.setitem", &[n("d"), Arg::Other, n("v")], &[]), [n("d")]);
        // A library nbkf does not know, or a local module: anything it is given may change.
        assert_eq!(
            library_changes("helpers.train", &[n("model"), n("X")], &[("y".into(), n("y"))]),
            [n("model"), n("X"), n("y")]
        );
    }

    #[test]
    fn builtins_and_methods() {
        assert_eq!(builtin_changed_args("len", &[n("a")], &[]), Vec::<Arg>::new());
        assert_eq!(builtin_changed_args("next", &[n("it")], &[]), [n("it")]);
        assert_eq!(builtin_changed_args("print", &[n("a")], &[("file".into(), n("f"))]), [n("f")]);
        assert_eq!(method_changed_args("fit", &[n("X"), n("y")], &[]), Vec::<Arg>::new());
        assert_eq!(method_changed_args("shuffle", &[n("x")], &[]), [n("x")]);
    }

    #[test]
    fn tables_are_sorted() {
        assert!(CHANGES_FIRST_ARGUMENT.windows(2).all(|w| w[0] < w[1]));
        assert!(UNARY_UFUNCS.windows(2).all(|w| w[0] < w[1]));
        assert!(BINARY_UFUNCS.windows(2).all(|w| w[0] < w[1]));
    }
}
