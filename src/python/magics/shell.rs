//! Shell commands (`!cmd`, `x = !cmd`): the reads their `$name`/`{expr}` make, the
//! install commands among them, and the runtime call that runs the rest.

use super::*;
use crate::python::pip::{self, PipCommands};

/// Handles a shell command: collects `$name`/`{expr}` reads and pip installs.
/// Returns the runtime call (`None` when the command installs packages) and the reads
/// with byte ranges in the cell.
pub(super) fn shell_call(
    cmd: &str,
    method: &str,
    cmd_at: usize,
    src: &str,
    out: &mut Preprocessed,
) -> (Option<String>, Vec<ShellRead>) {
    // `cmd` is the joined text; offsets are only exact for single-line commands.
    let single_line = src.get(cmd_at..).is_some_and(|s| s.starts_with(cmd));
    let reads = shell_reads(cmd)
        .into_iter()
        .map(|(n, s, e)| if single_line { (n, cmd_at + s, cmd_at + e) } else { (n, cmd_at, cmd_at) })
        .collect();
    if let Some(p) = pip::parse_shell(cmd) {
        let span = LineIndex::new(src).span(cmd_at, cmd_at + cmd.len());
        let rest = record_install(p, span, out);
        let call = rest.map(|r| format!("_nbkf_ipython.{method}({}, globals(), locals())", py_literal(&r)));
        return (call, reads);
    }
    (Some(format!("_nbkf_ipython.{method}({}, globals(), locals())", py_literal(cmd))), reads)
}

/// Records what an install command asks for; returns the rest of the command, which
/// still runs in the step.
pub(super) fn record_install(p: PipCommands, span: Span, out: &mut Preprocessed) -> Option<String> {
    for r in p.requirements {
        if !out.pip_packages.contains(&r) {
            out.pip_packages.push(r);
        }
    }
    let mut k = 0;
    while k < p.options.len() {
        // An option and its value stay together; an option already given is not repeated.
        let with_value = p.options.get(k + 1).is_some_and(|v| !v.starts_with('-'));
        let chunk = &p.options[k..k + if with_value { 2 } else { 1 }];
        if !out.pip_options.windows(chunk.len()).any(|w| w == chunk) {
            out.pip_options.extend(chunk.iter().cloned());
        }
        k += chunk.len();
    }
    for f in p.requirement_files {
        out.requirement_files.push((f, span));
    }
    for (message, hint) in p.warnings {
        out.problems.push(Problem { severity: ProblemSeverity::Warning, span, message, hint: Some(hint) });
    }
    p.rest
}

/// Splits a command into words, removing quotes (no expansion).
pub(super) fn shell_words(cmd: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in cmd.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// Soft reads of a shell command as IPython expands it: `$name` / `$name.attr` (not
/// inside single quotes), `${name}` and `{expr}`; `$$` and `{{` are literal.
/// Returns names with byte ranges relative to `cmd`.
pub(super) fn shell_reads(cmd: &str) -> Vec<ShellRead> {
    let b = cmd.as_bytes();
    let mut reads = Vec::new();
    let mut i = 0;
    let mut single = false;
    while i < b.len() {
        match b[i] {
            b'\'' => single = !single,
            b'$' if b.get(i + 1) == Some(&b'$') => {
                i += 2;
                continue;
            }
            b'$' if !single => {
                let start = i + 1;
                let end = start + cmd[start..].find(|c: char| !is_name_char(c)).unwrap_or(cmd.len() - start);
                if end > start && cmd[start..].chars().next().is_some_and(is_name_start) {
                    reads.push((cmd[start..end].to_string(), start, end));
                    i = end;
                    // `$name.attr.attr`: attribute names are not reads.
                    while i < b.len() && (b[i] == b'.' || cmd[i..].chars().next().is_some_and(is_name_char)) {
                        i += 1;
                    }
                    continue;
                }
            }
            b'{' if b.get(i + 1) == Some(&b'{') => {
                i += 2;
                continue;
            }
            b'{' => {
                if let Some(close) = cmd[i + 1..].find('}') {
                    let expr_at = i + 1;
                    for (n, s, e) in expression_names(&cmd[expr_at..expr_at + close]) {
                        reads.push((n, expr_at + s, expr_at + e));
                    }
                    i = expr_at + close + 1;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    reads
}

/// Names read by a small Python expression: identifiers that are not keywords, not
/// attribute names after a dot, and not inside string literals.
pub(super) fn expression_names(expr: &str) -> Vec<ShellRead> {
    const KEYWORDS: &[&str] =
        &["and", "or", "not", "in", "is", "if", "else", "for", "lambda", "None", "True", "False", "await"];
    let mut names = Vec::new();
    let mut chars = expr.char_indices().peekable();
    let mut after_dot = false;
    while let Some((i, c)) = chars.next() {
        if c == '\'' || c == '"' {
            for (_, d) in chars.by_ref() {
                if d == c {
                    break;
                }
            }
            after_dot = false;
        } else if is_name_start(c) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_name_char(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            let name = &expr[i..end];
            if !after_dot && !KEYWORDS.contains(&name) {
                names.push((name.to_string(), i, end));
            }
            after_dot = false;
        } else if c == '.' {
            after_dot = true;
        } else if c.is_ascii_digit() {
            // Skip the number (`1.5` must not make the next name an attribute).
            while chars.peek().is_some_and(|&(_, d)| d.is_ascii_alphanumeric() || d == '.' || d == '_') {
                chars.next();
            }
            after_dot = false;
        } else if !c.is_whitespace() {
            after_dot = false;
        }
    }
    names
}
