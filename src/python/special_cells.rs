//! Kale's special cells: `pipeline-parameters` (also papermill's `parameters`) and
//! `pipeline-metrics`.
//!
//! A parameters cell may only hold `NAME = <literal>` (optionally annotated)
//! assignments, because its values become typed KFP pipeline parameters and are
//! evaluated at convert time, without Python. Literals are decoded exactly as Python
//! would (numbers in every base, all string escapes, implicit concatenation).

use tree_sitter::{Node, Parser};

use super::magics::LineIndex;
use super::{Problem, ProblemSeverity, Span};

/// A literal value of a pipeline parameter.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    List(Vec<Literal>),
    Dict(Vec<(String, Literal)>),
    /// `None`: only allowed inside lists and dicts.
    None,
}

impl Literal {
    /// The literal as a JSON value (KFP parameter defaults are protobuf `Value`s).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            Literal::Int(i) => Value::from(*i),
            Literal::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Literal::Str(s) => Value::String(s.clone()),
            Literal::Bool(b) => Value::Bool(*b),
            Literal::None => Value::Null,
            Literal::List(items) => Value::Array(items.iter().map(Literal::to_json).collect()),
            Literal::Dict(items) => Value::Object(items.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }
}

/// One `NAME = <literal>` of a parameters cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ParameterAssignment {
    pub name: String,
    pub value: Literal,
    /// The whole statement.
    pub span: Span,
}

/// One variable listed in a metrics cell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricLine {
    pub name: String,
    pub span: Span,
}

const ALLOWED: &str = "a pipeline parameter must be a literal: a number, a string, True/False, or a list/dict of them";

fn error(span: Span, message: String, hint: Option<&str>) -> Problem {
    Problem { severity: ProblemSeverity::Error, span, message, hint: hint.map(str::to_string) }
}

fn parse(source: &str) -> Option<tree_sitter::Tree> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).ok()?;
    parser.parse(source, None)
}

fn named_children(n: Node) -> Vec<Node> {
    let mut cursor = n.walk();
    n.named_children(&mut cursor).collect()
}

/// Parses a `pipeline-parameters` cell. The last assignment of a name wins (with a
/// warning); everything that is not a literal assignment is an error.
pub fn parse_parameters_cell(source: &str) -> (Vec<ParameterAssignment>, Vec<Problem>) {
    let index = LineIndex::new(source);
    let mut params: Vec<ParameterAssignment> = Vec::new();
    let mut problems = Vec::new();
    let Some(tree) = parse(source) else {
        problems.push(error(index.span(0, 0), "the cell could not be parsed".into(), None));
        return (params, problems);
    };
    let root = tree.root_node();
    if root.has_error() {
        problems.push(error(index.span(0, source.len()), "invalid Python syntax in the parameters cell".into(), None));
    }
    for stmt in named_children(root) {
        if stmt.kind() == "comment" {
            continue;
        }
        let span = index.span(stmt.start_byte(), stmt.end_byte());
        let assignment = (stmt.kind() == "expression_statement")
            .then(|| named_children(stmt))
            .filter(|c| c.len() == 1 && c[0].kind() == "assignment")
            .map(|c| c[0]);
        let target = assignment.and_then(|a| a.child_by_field_name("left")).filter(|l| l.kind() == "identifier");
        let value = assignment.and_then(|a| a.child_by_field_name("right"));
        let (Some(target), Some(value)) = (target, value) else {
            problems.push(error(
                span,
                format!("`{}` is not allowed in a parameters cell", first_line(&source[stmt.byte_range()])),
                Some("a parameters cell holds only `NAME = <literal>` assignments, one per line"),
            ));
            continue;
        };
        let name = source[target.byte_range()].to_string();
        let literal = match literal(value, source) {
            Ok(l) => l,
            Err(msg) => {
                problems.push(error(span, format!("parameter `{name}`: {msg}"), Some(ALLOWED)));
                continue;
            }
        };
        if literal == Literal::None {
            problems.push(error(
                span,
                format!("parameter `{name}`: `None` cannot be a pipeline parameter: KFP parameters are typed; use a value of the intended type"),
                None,
            ));
            continue;
        }
        if let Some(pos) = params.iter().position(|p| p.name == name) {
            problems.push(Problem {
                severity: ProblemSeverity::Warning,
                span,
                message: format!("parameter `{name}` is assigned more than once; the last value wins"),
                hint: None,
            });
            params.remove(pos);
        }
        params.push(ParameterAssignment { name, value: literal, span });
    }
    (params, problems)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Converts a literal expression; `Err` says what is not allowed.
fn literal(n: Node, src: &str) -> Result<Literal, String> {
    let text = &src[n.byte_range()];
    match n.kind() {
        "integer" => parse_int(text, false).map(Literal::Int),
        "float" => parse_float(text).map(Literal::Float),
        "unary_operator" => {
            let op = n.child_by_field_name("operator").map(|o| &src[o.byte_range()]).unwrap_or("");
            let arg = n.child_by_field_name("argument").ok_or("incomplete expression")?;
            let negative = op == "-";
            if op != "-" && op != "+" {
                return Err(format!("`{text}` is an expression"));
            }
            match arg.kind() {
                "integer" => parse_int(&src[arg.byte_range()], negative).map(Literal::Int),
                "float" => parse_float(&src[arg.byte_range()]).map(|f| Literal::Float(if negative { -f } else { f })),
                "unary_operator" => match literal(arg, src)? {
                    Literal::Int(i) if negative => {
                        i.checked_neg().map(Literal::Int).ok_or_else(|| "integer out of range".into())
                    }
                    Literal::Float(f) if negative => Ok(Literal::Float(-f)),
                    l @ (Literal::Int(_) | Literal::Float(_)) => Ok(l),
                    _ => Err(format!("`{text}` is an expression")),
                },
                _ => Err(format!("`{text}` is an expression")),
            }
        }
        "string" => string_literal(n, src).map(Literal::Str),
        "concatenated_string" => {
            let mut s = String::new();
            for part in named_children(n) {
                s.push_str(&string_literal(part, src)?);
            }
            Ok(Literal::Str(s))
        }
        "true" => Ok(Literal::Bool(true)),
        "false" => Ok(Literal::Bool(false)),
        "none" => Ok(Literal::None),
        "list" | "tuple" => {
            let items = named_children(n).into_iter().filter(|c| c.kind() != "comment");
            items.map(|c| literal(c, src)).collect::<Result<Vec<_>, _>>().map(Literal::List)
        }
        "parenthesized_expression" => {
            let inner: Vec<Node> = named_children(n).into_iter().filter(|c| c.kind() != "comment").collect();
            match inner.as_slice() {
                [one] => literal(*one, src),
                _ => Err(format!("`{text}` is an expression")),
            }
        }
        "dictionary" => {
            let mut entries = Vec::new();
            for pair in named_children(n) {
                match pair.kind() {
                    "comment" => continue,
                    "pair" => {
                        let key = pair.child_by_field_name("key").ok_or("incomplete dict")?;
                        let value = pair.child_by_field_name("value").ok_or("incomplete dict")?;
                        let Literal::Str(k) = literal(key, src)? else {
                            return Err("dict keys must be strings".into());
                        };
                        entries.push((k, literal(value, src)?));
                    }
                    _ => return Err("`**` in a dict is not a literal".into()),
                }
            }
            Ok(Literal::Dict(entries))
        }
        "identifier" => Err(format!("`{text}` is a name, not a literal")),
        "call" => Err(format!("`{}` is a call, not a literal", first_line(text))),
        _ => Err(format!("`{}` is an expression, not a literal", first_line(text))),
    }
}

/// An int literal in any base (`1_000`, `0x1F`, `0o17`, `0b101`), negated if asked.
fn parse_int(text: &str, negative: bool) -> Result<i64, String> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    let lower = t.to_ascii_lowercase();
    if lower.ends_with('j') {
        return Err(format!("`{text}` is a complex number"));
    }
    if lower.ends_with('l') {
        return Err(format!("`{text}` is not an int literal of Python 3"));
    }
    let (digits, radix) = match lower.get(..2) {
        Some("0x") => (&lower[2..], 16),
        Some("0o") => (&lower[2..], 8),
        Some("0b") => (&lower[2..], 2),
        _ => (lower.as_str(), 10),
    };
    let value = i128::from_str_radix(digits, radix).map_err(|_| format!("`{text}` is not a valid int literal"))?;
    let value = if negative { -value } else { value };
    i64::try_from(value).map_err(|_| format!("`{text}` does not fit in a 64-bit integer"))
}

fn parse_float(text: &str) -> Result<f64, String> {
    let t: String = text.chars().filter(|c| *c != '_').collect();
    if t.ends_with(['j', 'J']) {
        return Err(format!("`{text}` is a complex number"));
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| format!("`{text}` is not a valid float literal"))
}

/// Decodes one string literal (not f-strings or bytes).
fn string_literal(n: Node, src: &str) -> Result<String, String> {
    if n.kind() != "string" {
        return Err("only string literals can be concatenated".into());
    }
    let children = named_children(n);
    let start = children.first().filter(|c| c.kind() == "string_start").ok_or("incomplete string")?;
    let end = children.last().filter(|c| c.kind() == "string_end").ok_or("incomplete string")?;
    let opening = &src[start.byte_range()];
    let prefix: String =
        opening.chars().take_while(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
    if prefix.contains('f') || prefix.contains('t') {
        return Err("f-strings are evaluated at run time, not literals".into());
    }
    if prefix.contains('b') {
        return Err("bytes cannot be pipeline parameters".into());
    }
    // Python reads CRLF in source as LF, also inside triple-quoted strings.
    let body = src.get(start.end_byte()..end.start_byte()).unwrap_or("").replace("\r\n", "\n");
    if prefix.contains('r') {
        return Ok(body);
    }
    decode_escapes(&body, false)
}

/// Decodes Python's string escape sequences (of a bytes literal when `bytes`: no `\u`,
/// `\U`, `\N`). Unknown escapes (`\d`) stay as written.
pub(super) fn decode_escapes(s: &str, bytes: bool) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '\n' => {}
            '\r' => {
                // A backslash before a CRLF line end continues the line too.
                chars.next_if_eq(&'\n');
            }
            'u' | 'U' | 'N' if bytes => {
                out.push('\\');
                out.push(e);
            }
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut value = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(value).ok_or("invalid octal escape")?);
            }
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..len).filter_map(|_| chars.next_if(|d| d.is_ascii_hexdigit())).collect();
                if hex.len() != len {
                    return Err(format!("truncated \\{e} escape"));
                }
                let value = u32::from_str_radix(&hex, 16).map_err(|_| format!("invalid \\{e} escape"))?;
                out.push(char::from_u32(value).ok_or_else(|| format!("\\{e}{hex} is not a valid character"))?);
            }
            'N' => return Err("\\N{...} escapes are not supported".into()),
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Parses a `pipeline-metrics` cell: one `print(NAME)` or bare `NAME` per statement.
pub fn parse_metrics_cell(source: &str) -> (Vec<MetricLine>, Vec<Problem>) {
    let index = LineIndex::new(source);
    let mut metrics = Vec::new();
    let mut problems = Vec::new();
    let Some(tree) = parse(source) else {
        problems.push(error(index.span(0, 0), "the cell could not be parsed".into(), None));
        return (metrics, problems);
    };
    for stmt in named_children(tree.root_node()) {
        if stmt.kind() == "comment" {
            continue;
        }
        let span = index.span(stmt.start_byte(), stmt.end_byte());
        match metric_name(stmt, source) {
            Some(name) => metrics.push(MetricLine { name, span }),
            None => problems.push(error(
                span,
                format!("`{}` is not allowed in a metrics cell", first_line(&source[stmt.byte_range()])),
                Some("a metrics cell lists variables, one per line: `print(accuracy)`"),
            )),
        }
    }
    (metrics, problems)
}

/// `NAME` or `print(NAME)` → the name.
fn metric_name(stmt: Node, src: &str) -> Option<String> {
    if stmt.kind() != "expression_statement" {
        return None;
    }
    let children = named_children(stmt);
    let [expr] = children.as_slice() else {
        return None;
    };
    let ident = match expr.kind() {
        "identifier" => *expr,
        "call" => {
            let func = expr.child_by_field_name("function")?;
            if &src[func.byte_range()] != "print" {
                return None;
            }
            let args = named_children(expr.child_by_field_name("arguments")?);
            match args.as_slice() {
                [a] if a.kind() == "identifier" => *a,
                _ => return None,
            }
        }
        _ => return None,
    };
    Some(src[ident.byte_range()].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(src: &str) -> Literal {
        let (params, problems) = parse_parameters_cell(src);
        assert!(problems.is_empty(), "{src}: {problems:?}");
        assert_eq!(params.len(), 1, "{src}");
        params[0].value.clone()
    }

    fn fails(src: &str) -> String {
        let (params, problems) = parse_parameters_cell(src);
        assert!(params.is_empty(), "{src}");
        assert_eq!(problems[0].severity, ProblemSeverity::Error, "{src}");
        problems[0].message.clone()
    }

    #[test]
    fn numbers() {
        assert_eq!(value("n = 1_000\n"), Literal::Int(1000));
        assert_eq!(value("n = 0x1F"), Literal::Int(31));
        assert_eq!(value("n = 0o17"), Literal::Int(15));
        assert_eq!(value("n = 0b101"), Literal::Int(5));
        assert_eq!(value("n = -1"), Literal::Int(-1));
        assert_eq!(value("n = - 3"), Literal::Int(-3));
        assert_eq!(value("n = +4"), Literal::Int(4));
        assert_eq!(value("n = -9223372036854775808"), Literal::Int(i64::MIN));
        assert_eq!(value("x = -0.5"), Literal::Float(-0.5));
        assert_eq!(value("x = 1e-3"), Literal::Float(0.001));
        assert_eq!(value("x = 1_0.5E2"), Literal::Float(1050.0));
        assert!(fails("n = 9223372036854775808").contains("64-bit"));
        assert!(fails("x = inf").contains("name"));
        assert!(fails("x = 1j").contains("complex"));
    }

    #[test]
    fn strings() {
        assert_eq!(value(r#"s = "a\"b'c""#), Literal::Str("a\"b'c".into()));
        assert_eq!(
            value(r"s = 'a\\b\n\t\0\101\x41\u00e9\U0001F600\a\b\f\v\r'"),
            Literal::Str("a\\b\n\t\0AAé😀\x07\x08\x0c\x0b\r".into())
        );
        assert_eq!(value(r"s = '\d\w'"), Literal::Str("\\d\\w".into()));
        assert_eq!(value(r"s = r'\d\n'"), Literal::Str("\\d\\n".into()));
        assert_eq!(value(r"s = R'\d'"), Literal::Str("\\d".into()));
        assert_eq!(value("s = u'ü'"), Literal::Str("ü".into()));
        assert_eq!(value("s = \"\"\"line1\nline2 'q' \"\"\""), Literal::Str("line1\nline2 'q' ".into()));
        assert_eq!(value("s = '''a\r\nb'''"), Literal::Str("a\nb".into()));
        assert_eq!(value("s = 'a' \"b\" r'\\c'"), Literal::Str("ab\\c".into()));
        assert_eq!(value("s = ('a'\n     'b')"), Literal::Str("ab".into()));
        assert_eq!(value("s = 'a\\\nb'"), Literal::Str("ab".into()));
        assert!(fails(r"s = '\N{BULLET}'").contains("\\N{...} escapes are not supported"));
        assert!(fails("s = f'{x}'").contains("f-strings"));
        assert!(fails("s = b'x'").contains("bytes"));
    }

    #[test]
    fn containers_bools_none() {
        assert_eq!(value("b = True"), Literal::Bool(true));
        assert_eq!(value("b = False"), Literal::Bool(false));
        assert_eq!(
            value("l = [1, 'a', None, (2.5, -1)]"),
            Literal::List(vec![
                Literal::Int(1),
                Literal::Str("a".into()),
                Literal::None,
                Literal::List(vec![Literal::Float(2.5), Literal::Int(-1)])
            ])
        );
        assert_eq!(
            value("d = {'k': [1], \"j\": {'x': None}}"),
            Literal::Dict(vec![
                ("k".into(), Literal::List(vec![Literal::Int(1)])),
                ("j".into(), Literal::Dict(vec![("x".into(), Literal::None)]))
            ])
        );
        assert!(fails("x = None").contains("`None` cannot be a pipeline parameter"));
        assert!(fails("d = {1: 2}").contains("strings"));
    }

    #[test]
    fn statements() {
        let (params, problems) = parse_parameters_cell("# params\n\na = 1  # comment\nb: int = 2\na = 3\n");
        assert_eq!(params.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(params[1].value, Literal::Int(3));
        assert_eq!(params[1].span.line, 5);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].severity, ProblemSeverity::Warning);
        assert!(fails("x = y").contains("`y` is a name"));
        assert!(fails("x = f(1)").contains("call"));
        assert!(fails("x = 1 + 2").contains("expression"));
        assert!(fails("import os").contains("not allowed"));
        assert!(fails("a = b = 1").contains("parameter `a`"));
        let (params, problems) = parse_parameters_cell("");
        assert!(params.is_empty() && problems.is_empty());
    }

    #[test]
    fn metrics() {
        let (m, p) = parse_metrics_cell("# metrics\nprint(accuracy)\nloss\n");
        assert!(p.is_empty());
        assert_eq!(m.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["accuracy", "loss"]);
        assert_eq!(m[1].span.line, 3);
        for bad in ["print(a, b)", "x = 1", "print(a.b)", "f(a)", "a + b"] {
            let (m, p) = parse_metrics_cell(bad);
            assert!(m.is_empty(), "{bad}");
            assert_eq!(p[0].hint.as_deref(), Some("a metrics cell lists variables, one per line: `print(accuracy)`"));
        }
    }
}
