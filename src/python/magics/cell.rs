//! Cell magics (`%%name args` on the first line): which run their body as Python, which
//! run it otherwise, and which do nothing in a step.

use super::shell::shell_words;
use super::*;

/// Cell magics whose body is Python.
pub(super) const PYTHON_CELL_MAGICS: &[&str] = &["time", "timeit", "capture", "prun", "python", "python3", "debug"];

/// Cell magics translated by the runtime with an opaque body.
pub(super) const OPAQUE_CELL_MAGICS: &[&str] = &["writefile", "bash", "sh", "script", "file"];

/// Cell magics that only display something.
pub(super) const NOOP_CELL_MAGICS: &[&str] = &["html", "HTML", "javascript", "js", "latex", "markdown", "svg"];

/// Handles `%%name args` on line `k`. Returns whether the body is Python.
pub(super) fn cell_magic(
    src: &str,
    lines: &[Line],
    k: usize,
    index: &LineIndex,
    masked: &mut [u8],
    out: &mut Preprocessed,
) -> bool {
    let l = lines[k];
    let first = &src[l.start..l.content_end];
    let (name, args) = split_name(&first[2..]);
    let (name, args) = (name.to_string(), args.to_string());
    let body = lines.get(k + 1).map_or("", |b| &src[b.start..]).to_string();
    let span = index.span(l.start, src.len());
    // `%%name` → `#%name`: a comment of the same length.
    masked[l.start] = b'#';

    let base = name.as_str();
    let (handling, python_body) = if PYTHON_CELL_MAGICS.contains(&base) {
        (MagicHandling::Translated, true)
    } else if OPAQUE_CELL_MAGICS.contains(&base) {
        (MagicHandling::Translated, false)
    } else if NOOP_CELL_MAGICS.contains(&base) {
        (MagicHandling::NoOp, false)
    } else {
        out.problems.push(Problem {
            severity: ProblemSeverity::Error,
            span: index.span(l.start, l.content_end),
            message: format!("%%{name} is not supported in a pipeline step"),
            hint: Some("remove it or move it to a cell tagged `skip`".into()),
        });
        (MagicHandling::Unsupported, false)
    };
    if base == "timeit" {
        out.problems.push(Problem {
            severity: ProblemSeverity::Warning,
            span: index.span(l.start, l.content_end),
            message: "%%timeit runs the cell once in a pipeline step instead of many times".into(),
            hint: None,
        });
    }
    if base == "capture" {
        // `%%capture [--no-stdout] [--no-stderr] [--no-display] [var]`
        let args_at = l.start + first.len() - first[2 + name.len()..].trim_start().len();
        let mut off = 0;
        for w in args.split_whitespace() {
            let pos = args[off..].find(w).map_or(off, |p| off + p);
            off = pos + w.len();
            if !w.starts_with('-') && w.chars().next().is_some_and(is_name_start) && w.chars().all(is_name_char) {
                out.cell_magic_binds.push((w.to_string(), args_at + pos, args_at + pos + w.len()));
            }
        }
    }
    if base == "writefile" {
        out.cell_magic_effects = writefile_effects(&args, index.span(l.start, l.content_end));
    }
    out.magics.push(Magic { span, kind: MagicKind::Cell, name: name.clone(), args: args.clone(), handling });
    out.cell_magic = Some(CellMagic { name, args, body, python_body });
    python_body
}

/// `%%writefile [-a] path`: a write of `path` (and a read first with `-a`, which
/// appends). A path with `$var`/`{expr}` (expanded by IPython) is unknown.
pub(super) fn writefile_effects(args: &str, span: Span) -> Vec<Effect> {
    let words = shell_words(args);
    let append = words.iter().any(|w| w == "-a" || w == "--append");
    let Some(path) = words.iter().find(|w| !w.starts_with('-')) else {
        return Vec::new();
    };
    let unknown = path.contains('$') || path.contains('{');
    let mut effects = Vec::new();
    for write in [false, true] {
        if !write && !append {
            continue;
        }
        effects.push(match (unknown, write) {
            (true, _) => Effect::FileUnknown { call: "%%writefile".into(), write, span },
            (false, true) => Effect::FileWrite { path: path.clone(), span },
            (false, false) => Effect::FileRead { path: path.clone(), span },
        });
    }
    effects
}
