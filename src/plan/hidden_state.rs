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

/// What changing a process setting means for the steps after the one that changes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// Carried exactly as this hidden variable (`@state:pandas.options`,
    /// `@attr:math.tau`): the steps after the change load it.
    Carried(String),
    /// Not carried: what it is, for a warning naming the steps concerned.
    NotCarried(&'static str),
}

/// Settings nbkf carries, by the dotted name of the function that changes them (or a
/// prefix of it, ending with `.`), and the state that holds them.
const CARRIED_SETTINGS: &[(&str, &str)] = &[
    ("matplotlib.pyplot.rc", "matplotlib.rcParams"),
    ("matplotlib.pyplot.rcParams", "matplotlib.rcParams"),
    ("matplotlib.pyplot.rcParams.", "matplotlib.rcParams"),
    ("matplotlib.pyplot.rcdefaults", "matplotlib.rcParams"),
    ("matplotlib.pyplot.style.use", "matplotlib.rcParams"),
    ("matplotlib.pyplot.xkcd", "matplotlib.rcParams"),
    ("matplotlib.rc", "matplotlib.rcParams"),
    ("matplotlib.rcParams", "matplotlib.rcParams"),
    ("matplotlib.rcParams.", "matplotlib.rcParams"),
    ("matplotlib.rcdefaults", "matplotlib.rcParams"),
    ("matplotlib.style.use", "matplotlib.rcParams"),
    ("numpy.set_printoptions", "numpy.printoptions"),
    ("numpy.seterr", "numpy.errstate"),
    ("os.environ", "os.environ"),
    ("os.environ.", "os.environ"),
    ("pandas.options.", "pandas.options"),
    ("pandas.reset_option", "pandas.options"),
    ("pandas.set_eng_float_format", "pandas.options"),
    ("pandas.set_option", "pandas.options"),
    ("seaborn.reset_defaults", "matplotlib.rcParams"),
    ("seaborn.reset_orig", "matplotlib.rcParams"),
    ("seaborn.set", "matplotlib.rcParams"),
    ("seaborn.set_color_codes", "matplotlib.rcParams"),
    ("seaborn.set_context", "matplotlib.rcParams"),
    ("seaborn.set_palette", "matplotlib.rcParams"),
    ("seaborn.set_style", "matplotlib.rcParams"),
    ("seaborn.set_theme", "matplotlib.rcParams"),
    ("sklearn.set_config", "sklearn.config"),
    ("sys.path", "sys.path"),
    ("sys.path.", "sys.path"),
    ("sys.setrecursionlimit", "sys.recursionlimit"),
    ("torch.set_default_dtype", "torch.default_dtype"),
    ("torch.set_default_tensor_type", "torch.default_dtype"),
    ("warnings.filterwarnings", "warnings.filters"),
    ("warnings.resetwarnings", "warnings.filters"),
    ("warnings.simplefilter", "warnings.filters"),
];

/// Settings nbkf cannot carry: the calls that change them, and what they change.
const OTHER_SETTINGS: &[(&str, &str)] = &[
    ("locale.setlocale", "the locale"),
    ("logging.basicConfig", "the logging configuration"),
    ("numpy.set_string_function", "numpy's array printing function"),
    ("os.chdir", "the working directory"),
    ("os.putenv", "the environment of child processes"),
    ("os.umask", "the file creation mask"),
    ("os.unsetenv", "the environment of child processes"),
    ("socket.setdefaulttimeout", "the default socket timeout"),
    ("tensorflow.config.", "TensorFlow's device configuration"),
    ("tensorflow.keras.utils.set_random_seed", "TensorFlow's random generators"),
    ("tensorflow.random.set_seed", "TensorFlow's random generator"),
    ("torch.cuda.manual_seed", "torch's CUDA random generator"),
    ("torch.cuda.manual_seed_all", "torch's CUDA random generators"),
    ("torch.manual_seed", "torch's random generator"),
    ("torch.set_num_threads", "torch's thread count"),
    ("torch.use_deterministic_algorithms", "torch's algorithm choice"),
    ("tqdm.pandas", "pandas' `progress_apply` (registered by tqdm)"),
];

/// The longest entry of `table` naming `full` (exactly, or as a prefix ending with `.`).
fn lookup<'a>(table: &'a [(&'a str, &'a str)], full: &str) -> Option<&'a str> {
    table
        .iter()
        .filter(|(k, _)| if k.ends_with('.') { full.starts_with(k) } else { full == *k })
        .max_by_key(|(k, _)| k.len())
        .map(|(_, v)| *v)
}

/// What a call of `full` (or, with `assignment`, an assignment to or through the module
/// attribute `full`) does to the process settings, if anything.
pub fn setting(full: &str, assignment: bool) -> Option<Setting> {
    // Reading a setting changes nothing: `os.environ.get("K")`, `sys.path.index(p)`.
    const READS: &[&str] = &["copy", "count", "find_all", "get", "index", "items", "keys", "values"];
    if !assignment && READS.contains(&full.rsplit('.').next().unwrap_or("")) {
        return None;
    }
    if let Some(state) = lookup(CARRIED_SETTINGS, full) {
        return Some(Setting::Carried(format!("@state:{state}")));
    }
    if let Some(what) = lookup(OTHER_SETTINGS, full) {
        return Some(Setting::NotCarried(what));
    }
    // `math.tau = 6`, `mod.cache["k"] = v`: a module attribute, carried as a value.
    (assignment && full.contains('.')).then(|| Setting::Carried(format!("@attr:{full}")))
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
    "capitalize",
    "casefold",
    "center",
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
    "expandtabs",
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
    "isalnum",
    "isalpha",
    "isdigit",
    "isin",
    "islower",
    "isna",
    "isnull",
    "isnumeric",
    "isspace",
    "istitle",
    "isupper",
    "items",
    "join",
    "keys",
    "ljust",
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
    "partition",
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
    "rjust",
    "round",
    "rpartition",
    "sample",
    "score",
    "select_dtypes",
    "set_index",
    "shift",
    "sort_index",
    "sort_values",
    "split",
    "splitlines",
    "startswith",
    "std",
    "strip",
    "sum",
    "swapcase",
    "tail",
    "title",
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
    "zfill",
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
    fn settings() {
        let carried = |s: &str| Some(Setting::Carried(s.to_string()));
        assert_eq!(setting("pandas.set_option", false), carried("@state:pandas.options"));
        assert_eq!(setting("pandas.options.display.precision", true), carried("@state:pandas.options"));
        assert_eq!(setting("matplotlib.pyplot.rcParams", true), carried("@state:matplotlib.rcParams"));
        assert_eq!(setting("matplotlib.pyplot.rcParams.update", false), carried("@state:matplotlib.rcParams"));
        assert_eq!(setting("seaborn.set_theme", false), carried("@state:matplotlib.rcParams"));
        assert_eq!(setting("os.environ", true), carried("@state:os.environ"));
        assert_eq!(setting("os.environ.setdefault", false), carried("@state:os.environ"));
        assert_eq!(setting("sys.path.append", false), carried("@state:sys.path"));
        assert_eq!(setting("math.tau", true), carried("@attr:math.tau"));
        assert_eq!(setting("torch.manual_seed", false), Some(Setting::NotCarried("torch's random generator")));
        assert_eq!(setting("numpy.mean", false), None);
        assert_eq!(setting("os.environ.get", false), None);
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
