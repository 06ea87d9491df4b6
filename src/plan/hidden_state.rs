//! Rules about what calls do to state the notebook keeps without naming it: the global
//! random generators, and which method calls leave their object unchanged.

/// The hidden variable for Python's `random` module generator.
pub const PY_RANDOM: &str = "@random";
/// The hidden variable for numpy's legacy global generator (`np.random.*`).
pub const NUMPY_RANDOM: &str = "@numpy.random";

/// What a call does to a global random generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RandomEffect {
    /// `seed(...)`: sets the state, whatever it was.
    Seed(&'static str),
    /// Any draw: reads and advances the state.
    Advance(&'static str),
}

/// Functions of `random` / `numpy.random` that do not touch the global generator.
const STATELESS: &[&str] = &[
    "Random",
    "SystemRandom",
    "default_rng",
    "Generator",
    "RandomState",
    "SeedSequence",
    "PCG64",
    "PCG64DXSM",
    "MT19937",
    "Philox",
    "SFC64",
    "BitGenerator",
];

/// The effect of calling `function` of `module` (a module path such as `random`,
/// `numpy.random`), if it is a global random generator.
pub fn random_effect(module: &str, function: &str) -> Option<RandomEffect> {
    let var = match module {
        "random" => PY_RANDOM,
        "numpy.random" => NUMPY_RANDOM,
        _ => return None,
    };
    if STATELESS.contains(&function) || function.starts_with('_') {
        return None;
    }
    Some(if function == "seed" { RandomEffect::Seed(var) } else { RandomEffect::Advance(var) })
}

/// Method names that return a new value and leave their object unchanged, for the
/// objects notebooks pass around most (pandas, numpy, scikit-learn, str, dict, list).
/// Any other method call on a variable counts as a possible mutation (conservative),
/// as does any call with `inplace=True`.
const READ_ONLY_METHODS: &[&str] = &[
    "all",
    "any",
    "apply",
    "argmax",
    "argmin",
    "astype",
    "copy",
    "corr",
    "count",
    "cov",
    "describe",
    "diff",
    "drop",
    "drop_duplicates",
    "dropna",
    "dtypes",
    "duplicated",
    "endswith",
    "equals",
    "fillna",
    "filter",
    "find",
    "format",
    "get",
    "get_params",
    "groupby",
    "head",
    "idxmax",
    "idxmin",
    "index",
    "info",
    "isin",
    "isna",
    "isnull",
    "items",
    "join",
    "keys",
    "lower",
    "map",
    "max",
    "mean",
    "median",
    "melt",
    "memory_usage",
    "merge",
    "min",
    "mode",
    "notna",
    "notnull",
    "nunique",
    "pivot",
    "pivot_table",
    "plot",
    "predict",
    "predict_log_proba",
    "predict_proba",
    "prod",
    "quantile",
    "query",
    "rank",
    "rename",
    "replace",
    "reset_index",
    "reshape",
    "round",
    "sample",
    "score",
    "select_dtypes",
    "set_index",
    "shift",
    "sort_index",
    "sort_values",
    "split",
    "startswith",
    "std",
    "strip",
    "sum",
    "tail",
    "to_csv",
    "to_dict",
    "to_excel",
    "to_json",
    "to_list",
    "to_numpy",
    "to_parquet",
    "to_pickle",
    "to_string",
    "tolist",
    "transform",
    "transpose",
    "unique",
    "upper",
    "value_counts",
    "values",
    "var",
    "where",
];

/// Whether calling `method` (the last element of a method call's attribute path) leaves
/// the object unchanged. Only the direct method of the variable counts:
/// `df.head()` is read-only, `df.values.sort()` is not.
pub fn is_read_only_method(path: &[String], inplace: bool) -> bool {
    if inplace {
        return false;
    }
    match path {
        [method] => READ_ONLY_METHODS.binary_search(&method.as_str()).is_ok(),
        // Accessor chains that return new objects: `df.str.lower()`, `df.plot.bar()`.
        [accessor, _] => matches!(accessor.as_str(), "str" | "dt" | "plot" | "cat" | "sparse"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_list_is_sorted() {
        assert!(READ_ONLY_METHODS.windows(2).all(|w| w[0] < w[1]), "keep READ_ONLY_METHODS sorted");
    }

    #[test]
    fn random_rules() {
        assert_eq!(random_effect("random", "seed"), Some(RandomEffect::Seed(PY_RANDOM)));
        assert_eq!(random_effect("random", "randint"), Some(RandomEffect::Advance(PY_RANDOM)));
        assert_eq!(random_effect("numpy.random", "rand"), Some(RandomEffect::Advance(NUMPY_RANDOM)));
        assert_eq!(random_effect("numpy.random", "default_rng"), None);
        assert_eq!(random_effect("os", "urandom"), None);
    }

    #[test]
    fn read_only_methods() {
        let p = |s: &str| s.split('.').map(String::from).collect::<Vec<_>>();
        assert!(is_read_only_method(&p("head"), false));
        assert!(!is_read_only_method(&p("dropna"), true));
        assert!(!is_read_only_method(&p("append"), false));
        assert!(is_read_only_method(&p("str.lower"), false));
        assert!(!is_read_only_method(&p("values.sort"), false));
    }
}
