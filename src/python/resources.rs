//! Static knowledge about values and files, used by the analyzer to emit
//! [`Effect::Alias`](super::Effect::Alias), [`Effect::Value`](super::Effect::Value),
//! [`Effect::DynamicNamespace`](super::Effect::DynamicNamespace) and the file effects:
//! which calls make unpicklable objects, which calls read or write files, and how a
//! path argument given as a literal is decoded.
//!
//! Everything here is syntactic (one cell, no types): `pd.read_csv` is recognised by its
//! text, whatever `pd` is bound to.

use tree_sitter::Node;

/// The text of `n` in `text`.
fn text_of<'t>(text: &'t str, n: Node) -> &'t str {
    text.get(n.byte_range()).unwrap_or("")
}

fn named_children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

/// `a`, `a.b.c` (identifiers only): the dotted text, whitespace removed.
pub(super) fn dotted_name(n: Node, text: &str) -> Option<String> {
    match n.kind() {
        "identifier" => Some(text_of(text, n).to_string()),
        "attribute" => {
            let object = dotted_name(n.child_by_field_name("object")?, text)?;
            let attr = n.child_by_field_name("attribute")?;
            Some(format!("{object}.{}", text_of(text, attr)))
        }
        _ => None,
    }
}

/// Splits `a.b.c` into (`a.b`, `c`); `c` into (``, `c`).
pub(super) fn split_callee(dotted: &str) -> (&str, &str) {
    match dotted.rsplit_once('.') {
        Some((prefix, last)) => (prefix, last),
        None => ("", dotted),
    }
}

/// The callee of a call as written, whitespace runs collapsed (`df.to_csv`,
/// `Path("a").read_text`).
pub(super) fn callee_text(func: Node, text: &str) -> String {
    dotted_name(func, text).unwrap_or_else(|| text_of(text, func).split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Whether the argument list of a call has any argument.
pub(super) fn has_arguments(args: Option<Node>) -> bool {
    args.is_some_and(|a| a.kind() == "generator_expression" || named_children(a).iter().any(|c| c.kind() != "comment"))
}

/// The argument at `position` (0-based, positional arguments only) or passed by one of
/// `keywords`. A `*args`/`**kwargs` that may hold it is returned instead (its value is
/// unknown). `None` when the call does not pass it.
pub(super) fn call_argument<'t>(args: Node<'t>, position: usize, keywords: &[&str], text: &str) -> Option<Node<'t>> {
    if args.kind() != "argument_list" {
        return None;
    }
    let mut index = 0;
    let mut splat = None;
    for a in named_children(args) {
        match a.kind() {
            "comment" => {}
            "keyword_argument" => {
                let key = a.child_by_field_name("name").map(|k| text_of(text, k));
                if key.is_some_and(|k| keywords.contains(&k)) {
                    return a.child_by_field_name("value");
                }
            }
            "dictionary_splat" => splat = splat.or(Some(a)),
            "list_splat" => {
                // `f(*xs)`: every later position is unknown.
                if index <= position {
                    return Some(a);
                }
            }
            _ => {
                if index == position {
                    return Some(a);
                }
                index += 1;
            }
        }
    }
    splat
}

/// What a path argument is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PathArg {
    /// A literal local path.
    Known(String),
    /// Something whose value cannot be known statically.
    Unknown,
    /// Not a local file path: `None`, a file descriptor, `io.StringIO()`, `sys.stdout`,
    /// a URL (`s3://...`), an `open(...)` call (whose own effect is recorded).
    NotAFile,
}

/// Classifies a path argument.
pub(super) fn path_argument(n: Node, text: &str) -> PathArg {
    match n.kind() {
        "string" | "concatenated_string" => match string_literal(n, text) {
            Some(s) if is_url(&s) => PathArg::NotAFile,
            Some(s) => PathArg::Known(s),
            None => PathArg::Unknown,
        },
        "none" | "integer" | "true" | "false" | "float" => PathArg::NotAFile,
        "parenthesized_expression" => match n.named_child(0) {
            Some(c) if n.named_child_count() == 1 => path_argument(c, text),
            _ => PathArg::Unknown,
        },
        "attribute" => match dotted_name(n, text).as_deref() {
            Some("sys.stdout" | "sys.stderr" | "sys.stdin") => PathArg::NotAFile,
            _ => PathArg::Unknown,
        },
        "call" => {
            let Some(func) = n.child_by_field_name("function") else {
                return PathArg::Unknown;
            };
            let dotted = dotted_name(func, text).unwrap_or_default();
            let (prefix, last) = split_callee(&dotted);
            if matches!(last, "StringIO" | "BytesIO")
                || is_open_callee(&dotted)
                || (last == "open" && func.kind() == "attribute")
            {
                return PathArg::NotAFile;
            }
            if is_path_constructor(prefix, last) || dotted == "os.path.join" {
                return joined_literal_path(n, text);
            }
            PathArg::Unknown
        }
        _ => PathArg::Unknown,
    }
}

/// `Path(...)`, `pathlib.Path(...)`, `PurePath`, `PosixPath`.
fn is_path_constructor(prefix: &str, last: &str) -> bool {
    matches!(last, "Path" | "PurePath" | "PosixPath") && matches!(prefix, "" | "pathlib")
}

/// If `n` is a call of a path constructor (`Path("a")`), the path it makes.
pub(super) fn path_constructor(n: Node, text: &str) -> Option<PathArg> {
    if n.kind() != "call" {
        return None;
    }
    let dotted = dotted_name(n.child_by_field_name("function")?, text)?;
    let (prefix, last) = split_callee(&dotted);
    is_path_constructor(prefix, last).then(|| joined_literal_path(n, text))
}

/// The path made by `Path("a", "b")` / `os.path.join("a", "b")` when every argument is
/// a literal.
fn joined_literal_path(call: Node, text: &str) -> PathArg {
    let Some(args) = call.child_by_field_name("arguments").filter(|a| a.kind() == "argument_list") else {
        return PathArg::Unknown;
    };
    let mut path = String::new();
    let mut any = false;
    for a in named_children(args) {
        if a.kind() == "comment" {
            continue;
        }
        match path_argument(a, text) {
            PathArg::Known(part) => {
                if part.starts_with('/') || path.is_empty() {
                    path = part;
                } else {
                    if !path.ends_with('/') {
                        path.push('/');
                    }
                    path.push_str(&part);
                }
                any = true;
            }
            _ => return PathArg::Unknown,
        }
    }
    if any {
        PathArg::Known(path)
    } else {
        PathArg::Unknown
    }
}

/// `scheme://...`: a remote location, not a file of the step's filesystem.
fn is_url(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    })
}

/// The value of a plain string literal (`"a"`, `r'a\b'`, `b"x"`, implicit concatenation
/// of such); `None` for f-strings, template strings and undecodable escapes.
pub(super) fn string_literal(n: Node, text: &str) -> Option<String> {
    if n.kind() == "concatenated_string" {
        let mut out = String::new();
        for c in named_children(n) {
            if c.kind() == "comment" {
                continue;
            }
            out.push_str(&string_literal(c, text)?);
        }
        return Some(out);
    }
    if n.kind() != "string" {
        return None;
    }
    let children = named_children(n);
    if children.iter().any(|c| c.kind() == "interpolation") {
        return None;
    }
    let start = children.iter().find(|c| c.kind() == "string_start")?;
    let end = children.iter().rev().find(|c| c.kind() == "string_end")?;
    let opening = text_of(text, *start);
    let prefix: String =
        opening.chars().take_while(|c| *c != '"' && *c != '\'').map(|c| c.to_ascii_lowercase()).collect();
    if prefix.contains('f') || prefix.contains('t') {
        return None;
    }
    let content = text.get(start.end_byte()..end.start_byte())?;
    if prefix.contains('r') {
        Some(content.to_string())
    } else {
        unescape(content, prefix.contains('b'))
    }
}

/// Decodes Python escape sequences; `None` for `\N{...}` or malformed escapes.
fn unescape(s: &str, bytes: bool) -> Option<String> {
    super::special_cells::decode_escapes(s, bytes).ok()
}

/// `open`, `io.open`, `gzip.open`, ...: functions that open a file given its path first.
pub(super) fn is_open_callee(dotted: &str) -> bool {
    matches!(dotted, "open" | "io.open" | "gzip.open" | "bz2.open" | "lzma.open" | "codecs.open")
}

/// Pandas (and polars, dask, ...) readers: `pd.read_csv(path)`.
pub(super) const READERS: &[&str] = &[
    "read_csv",
    "read_parquet",
    "read_json",
    "read_excel",
    "read_pickle",
    "read_feather",
    "read_hdf",
    "read_table",
    "read_fwf",
    "read_orc",
    "read_stata",
    "read_xml",
];

/// Keywords naming the path of a reader.
pub(super) const READER_KEYWORDS: &[&str] = &["filepath_or_buffer", "path_or_buf", "path", "io", "source"];

/// DataFrame (and Series, ...) writers: `df.to_csv(path)`.
pub(super) const WRITERS: &[&str] = &[
    "to_csv",
    "to_parquet",
    "to_json",
    "to_excel",
    "to_pickle",
    "to_feather",
    "to_hdf",
    "to_html",
    "to_orc",
    "to_stata",
    "to_xml",
];

/// Keywords naming the path of a writer.
pub(super) const WRITER_KEYWORDS: &[&str] = &["path_or_buf", "path", "excel_writer", "buf", "fname"];

/// Why the value made by calling `dotted` cannot be pickled, or `None`.
/// `imported_from` gives the module a plain name was imported from in this cell (to
/// tell `multiprocessing.Pool` from `catboost.Pool`). The second value is true for
/// locks, whose `with` target is not the lock (`with Lock() as l` binds `True`).
pub(super) fn unserializable_call(dotted: &str, has_args: bool, imported_from: Option<&str>) -> Option<(String, bool)> {
    let (prefix, last) = split_callee(dotted);
    let shown = format!("`{dotted}({})`", if has_args { "..." } else { "" });
    let module = if prefix.is_empty() { imported_from.unwrap_or("") } else { prefix };
    let what = if is_open_callee(dotted)
        || (matches!(last, "TemporaryFile" | "NamedTemporaryFile" | "SpooledTemporaryFile")
            && matches!(prefix, "" | "tempfile"))
    {
        "an open file"
    } else if matches!(last, "Lock" | "RLock") {
        return Some((format!("a lock ({shown})"), true));
    } else if last == "Thread" {
        "a thread"
    } else if matches!(last, "Pool" | "ThreadPool")
        && matches!(module, "multiprocessing" | "mp" | "multiprocessing.pool" | "multiprocessing.dummy")
    {
        "a process pool"
    } else if matches!(last, "ThreadPoolExecutor" | "ProcessPoolExecutor") {
        "an executor"
    } else if dotted == "socket.socket" || dotted == "socket.create_connection" {
        "a socket"
    } else if last == "connect"
        && matches!(
            prefix,
            "sqlite3"
                | "psycopg2"
                | "psycopg"
                | "pymysql"
                | "MySQLdb"
                | "mysql.connector"
                | "pyodbc"
                | "cx_Oracle"
                | "oracledb"
                | "duckdb"
        )
    {
        "a database connection"
    } else if matches!(last, "create_engine" | "create_async_engine") {
        "a database engine"
    } else if last == "urlopen" {
        "an open URL"
    } else {
        return None;
    };
    Some((format!("{what} ({shown})"), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_expr(src: &str) -> (tree_sitter::Tree, String) {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("grammar");
        (parser.parse(src, None).expect("tree"), src.to_string())
    }

    fn literal(src: &str) -> Option<String> {
        let (tree, text) = parse_expr(src);
        let stmt = tree.root_node().named_child(0).expect("stmt");
        let expr = stmt.named_child(0).expect("expr");
        string_literal(expr, &text)
    }

    fn path(src: &str) -> PathArg {
        let (tree, text) = parse_expr(src);
        let stmt = tree.root_node().named_child(0).expect("stmt");
        let expr = stmt.named_child(0).expect("expr");
        path_argument(expr, &text)
    }

    #[test]
    fn string_literals() {
        assert_eq!(literal("'a.csv'\n").as_deref(), Some("a.csv"));
        assert_eq!(literal("\"a\\tb\\\\c\\x41\\u00e9\"\n").as_deref(), Some("a\tb\\cAé"));
        assert_eq!(literal("r'a\\b'\n").as_deref(), Some("a\\b"));
        assert_eq!(literal("b'data.bin'\n").as_deref(), Some("data.bin"));
        assert_eq!(literal("'''x.txt'''\n").as_deref(), Some("x.txt"));
        assert_eq!(literal("'a' 'b.csv'\n").as_deref(), Some("ab.csv"));
        assert_eq!(literal("f'{d}/a.csv'\n"), None);
        assert_eq!(literal("f'a.csv'\n"), None);
        assert_eq!(literal("'\\N{BULLET}'\n"), None);
        assert_eq!(literal("x\n"), None);
    }

    #[test]
    fn path_arguments() {
        assert_eq!(path("'out/a.csv'\n"), PathArg::Known("out/a.csv".into()));
        assert_eq!(path("Path('out', 'a.csv')\n"), PathArg::Known("out/a.csv".into()));
        assert_eq!(path("os.path.join('d', 'f')\n"), PathArg::Known("d/f".into()));
        assert_eq!(path("os.path.join(d, 'f')\n"), PathArg::Unknown);
        assert_eq!(path("'s3://bucket/a.csv'\n"), PathArg::NotAFile);
        assert_eq!(path("None\n"), PathArg::NotAFile);
        assert_eq!(path("io.StringIO(s)\n"), PathArg::NotAFile);
        assert_eq!(path("sys.stdout\n"), PathArg::NotAFile);
        assert_eq!(path("d + '/a.csv'\n"), PathArg::Unknown);
        assert_eq!(path("p\n"), PathArg::Unknown);
    }

    #[test]
    fn unserializable_calls() {
        let u = |d: &str, a: bool, m: Option<&str>| unserializable_call(d, a, m).map(|x| x.0);
        assert_eq!(u("open", true, None).as_deref(), Some("an open file (`open(...)`)"));
        assert_eq!(u("threading.Lock", false, None).as_deref(), Some("a lock (`threading.Lock()`)"));
        assert_eq!(u("sqlite3.connect", true, None).as_deref(), Some("a database connection (`sqlite3.connect(...)`)"));
        assert!(u("connect", true, None).is_none());
        assert!(u("Pool", true, Some("catboost")).is_none());
        assert!(u("Pool", true, Some("multiprocessing")).is_some());
        assert!(u("mp.Pool", true, None).is_some());
        assert!(u("requests.Session", false, None).is_none());
        assert!(u("pd.read_csv", true, None).is_none());
    }
}
