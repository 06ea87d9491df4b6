//! Line constructs: `%magic args`, `x = %magic`, `!cmd`, `obj?`, and what each becomes in
//! the masked text and the step program.

use super::shell::{record_install, shell_call, shell_reads};
use super::*;
use crate::python::pip;

/// Line magics that do nothing outside an interactive session.
pub(super) const NOOP_MAGICS: &[&str] = &[
    // Pagers and terminal control: they only show things to a person.
    "less",
    "more",
    "man",
    "clear",
    "pycat",
    "matplotlib",
    "config",
    "load_ext",
    "reload_ext",
    "autoreload",
    "aimport",
    "precision",
    "pylab",
    "watermark",
    "who",
    "whos",
    "who_ls",
    "lsmagic",
    "magic",
    "history",
    "pinfo",
    "pinfo2",
    "pdoc",
    "psource",
    "pfile",
    "quickref",
    "xmode",
    "colors",
    "notebook",
    "page",
    "pprint",
];

/// Names IPython resolves as magics without `%` (automagic); such lines are syntax
/// errors in plain Python.
pub(super) const AUTOMAGICS: &[&str] = &[
    "pip",
    "conda",
    "mamba",
    "cd",
    "ls",
    "matplotlib",
    "load_ext",
    "reload_ext",
    "time",
    "timeit",
    "env",
    "pwd",
    "mkdir",
    "cat",
    "run",
    "who",
    "whos",
    "reset",
    "pylab",
    "autoreload",
    "rm",
    "cp",
    "mv",
    "alias",
    "history",
    "config",
    "store",
    "load",
    "save",
    "precision",
    "xmode",
    "sx",
    "system",
    "clear",
    "less",
    "more",
    "man",
    "rmdir",
    "set_env",
    "pinfo",
    "psource",
    "pdoc",
    "prun",
    "aimport",
    "bookmark",
];

/// Finds the assignment form `target = %magic` / `target = !cmd` in a logical line
/// (`rest` starts after indentation): returns the target text and the byte offset in
/// `rest` of the `%`/`!`.
pub(super) fn assignment_form(rest: &str) -> Option<(&str, usize)> {
    let bytes = rest.as_bytes();
    let mut depth = 0i32;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' | b'"' | b'#' => return None,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'=' if depth == 0 => {
                let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                if b"=!<>+-*/%&|^@:".contains(&prev) || bytes.get(i + 1) == Some(&b'=') {
                    return None;
                }
                let target = rest[..i].trim();
                if target.is_empty() || !target.chars().next().is_some_and(|c| is_name_start(c) || c == '(' || c == '[')
                {
                    return None;
                }
                let after = &rest[i + 1..];
                let off = i + 1 + (after.len() - after.trim_start().len());
                let tail = &rest[off..];
                let ok = (tail.starts_with('%') && tail[1..].chars().next().is_some_and(is_name_start))
                    || (tail.starts_with('!') && !tail.starts_with("!="));
                return ok.then_some((target, off));
            }
            _ => {}
        }
    }
    None
}

/// Whether `s` is a (dotted) object name as accepted by IPython's help syntax.
pub(super) fn is_help_target(s: &str) -> bool {
    let s = s.strip_prefix('%').unwrap_or(s);
    let s = s.strip_prefix('%').unwrap_or(s);
    !s.is_empty()
        && s.chars().next().is_some_and(|c| is_name_start(c) || c == '*')
        && s.chars().all(|c| is_name_char(c) || c == '.' || c == '*')
}

/// Detects and describes a construct at the logical line starting at `at` (line
/// `first`, continued until `last`). Returns `None` for ordinary Python.
pub(super) fn line_construct(
    src: &str,
    lines: &[Line],
    first: usize,
    last: usize,
    at: usize,
    index: &LineIndex,
    out: &mut Preprocessed,
) -> Option<Rewrite> {
    let l = lines[first];
    let rest = &src[at..l.content_end];
    let extent_end = lines[last].content_end;
    let span = index.span(at, extent_end);
    let line_text = joined(src, lines, first, last, at);

    if let Some(r) = rest.strip_prefix("%%") {
        let (name, _) = split_name(r);
        out.problems.push(Problem {
            severity: ProblemSeverity::Error,
            span,
            message: format!("cell magic %%{name} must be on the first line of the cell"),
            hint: Some("move it to the first line of its own cell".into()),
        });
        out.magics.push(Magic {
            span,
            kind: MagicKind::Line,
            name: format!("%{name}"),
            args: String::new(),
            handling: MagicHandling::Unsupported,
        });
        return Some(simple_rewrite(at, rest.len(), format!("_nbkf_ipython.unsupported({})", py_literal(&line_text))));
    }
    if rest.starts_with('!') {
        let bang = if rest.starts_with("!!") { 2 } else { 1 };
        let cmd = line_text[bang..].to_string();
        let (call, reads) = shell_call(&cmd, "system", at + bang, src, out);
        let handling = if call.is_none() { MagicHandling::Packages } else { MagicHandling::Translated };
        out.magics.push(Magic { span, kind: MagicKind::Shell, name: "!".into(), args: cmd, handling });
        if !reads.is_empty() {
            out.shell_reads.insert(at, reads);
        }
        return Some(simple_rewrite(at, rest.len(), call.unwrap_or_else(|| "pass".into())));
    }
    if rest.starts_with('?') {
        let target = line_text.trim_start_matches('?').trim();
        out.magics.push(Magic {
            span,
            kind: MagicKind::Help,
            name: "?".into(),
            args: target.into(),
            handling: MagicHandling::NoOp,
        });
        return Some(simple_rewrite(at, rest.len(), "pass".into()));
    }
    if first == last {
        let trimmed = rest.trim_end();
        let base = trimmed.trim_end_matches('?');
        if trimmed.len() != base.len() && trimmed.len() - base.len() <= 2 && is_help_target(base) {
            out.magics.push(Magic {
                span,
                kind: MagicKind::Help,
                name: "?".into(),
                args: base.into(),
                handling: MagicHandling::NoOp,
            });
            return Some(simple_rewrite(at, rest.len(), "pass".into()));
        }
    }
    if let Some(r) = rest.strip_prefix('%') {
        if !r.chars().next().is_some_and(is_name_start) {
            return None;
        }
        let (name, _) = split_name(r);
        let args = split_name(&line_text[1..]).1.to_string();
        let args_at = at + 1 + name.len() + (r.len() - name.len() - r[name.len()..].trim_start().len());
        return Some(line_magic(src, name, args, args_at, at, rest.len(), span, None, out));
    }
    if let Some((target, off)) = assignment_form(rest) {
        let target = target.to_string();
        let tail_at = at + off;
        let tail = &src[tail_at..l.content_end];
        let tail_text = joined(src, lines, first, last, tail_at);
        if tail.starts_with('!') {
            let bang = if tail.starts_with("!!") { 2 } else { 1 };
            let cmd = tail_text[bang..].to_string();
            let (call, reads) = shell_call(&cmd, "getoutput", tail_at + bang, src, out);
            let handling = if call.is_none() { MagicHandling::Packages } else { MagicHandling::Translated };
            out.magics.push(Magic {
                span,
                kind: MagicKind::ShellAssign { target: target.clone() },
                name: "!".into(),
                args: cmd,
                handling,
            });
            if !reads.is_empty() {
                out.shell_reads.insert(tail_at, reads);
            }
            let value = call.unwrap_or_else(|| "None".into());
            return Some(Rewrite {
                at: tail_at,
                masked_first: ellipsis(tail.len()),
                keep_rest: false,
                program: format!("{} {value}", &rest[..off].trim_end()),
            });
        }
        let r = &tail[1..];
        let (name, _) = split_name(r);
        let args = split_name(&tail_text[1..]).1.to_string();
        let args_at = tail_at + 1 + name.len() + (r.len() - name.len() - r[name.len()..].trim_start().len());
        let mut rw = line_magic(src, name, args, args_at, tail_at, tail.len(), span, Some(target), out);
        rw.program = format!("{} {}", &rest[..off].trim_end(), rw.program);
        return Some(rw);
    }
    None
}

/// `...` padded to `len` bytes (or `0` when shorter than 3).
pub(super) fn ellipsis(len: usize) -> String {
    let word = if len >= 3 { "..." } else { "0" };
    format!("{word}{}", " ".repeat(len.saturating_sub(word.len())))
}

pub(super) fn simple_rewrite(at: usize, len: usize, program: String) -> Rewrite {
    Rewrite { at, masked_first: placeholder(len), keep_rest: false, program }
}

/// Describes a line magic `%name args` starting at byte `at` (`len` bytes on its first
/// line). `target` is set for the assignment form.
#[allow(clippy::too_many_arguments)]
pub(super) fn line_magic(
    src: &str,
    name: &str,
    args: String,
    args_at: usize,
    at: usize,
    len: usize,
    span: Span,
    target: Option<String>,
    out: &mut Preprocessed,
) -> Rewrite {
    let kind = match &target {
        Some(t) => MagicKind::LineAssign { target: t.clone() },
        None => MagicKind::Line,
    };
    let assign = target.is_some();
    // The placeholder for the assignment form is an expression, for a statement a `pass`.
    let mask = |len: usize| {
        if assign {
            ellipsis(len)
        } else {
            placeholder(len)
        }
    };
    let none_or_pass = if assign { "None" } else { "pass" };
    let push = |handling: MagicHandling, out: &mut Preprocessed| {
        out.magics.push(Magic { span, kind: kind.clone(), name: name.to_string(), args: args.clone(), handling });
    };
    let call = |method: &str, extra: &str| format!("_nbkf_ipython.{method}({}{extra})", py_literal(&args));
    let mut rw = Rewrite { at, masked_first: mask(len), keep_rest: false, program: none_or_pass.into() };

    match name {
        "pip" | "pip3" | "conda" | "mamba" => {
            if let Some(p) = pip::parse_shell(&format!("{name} {args}")) {
                if let Some(rest) = record_install(p, span, out) {
                    rw.program = format!("_nbkf_ipython.system({}, globals(), locals())", py_literal(&rest));
                }
                push(MagicHandling::Packages, out);
            } else {
                let tool = if name == "pip3" { "pip" } else { name };
                rw.program =
                    format!("_nbkf_ipython.system({}, globals(), locals())", py_literal(&format!("{tool} {args}")));
                push(MagicHandling::Translated, out);
            }
        }
        "time" | "timeit" => {
            let stmt_off = if name == "timeit" { timeit_statement_offset(&args) } else { 0 };
            let stmt = args[stmt_off..].to_string();
            if stmt.is_empty() {
                push(MagicHandling::NoOp, out);
                return rw;
            }
            if name == "timeit" {
                out.problems.push(Problem {
                    severity: ProblemSeverity::Warning,
                    span,
                    message: "%timeit runs the statement once in a pipeline step instead of many times".into(),
                    hint: None,
                });
            }
            rw.program = format!("_nbkf_ipython.{name}({}, globals(), locals())", py_literal(&stmt));
            push(MagicHandling::Translated, out);
            // Mask only the magic so that the statement is analysed as Python.
            let stmt_at = args_at + stmt_off;
            let prefix = stmt_at.saturating_sub(at);
            let first_line_stmt = &src[stmt_at.min(src.len())..];
            let compound = ["for ", "while ", "if ", "with ", "try:", "def ", "class ", "async "]
                .iter()
                .any(|k| first_line_stmt.starts_with(k));
            if assign {
                rw.masked_first = " ".repeat(prefix);
                rw.keep_rest = true;
            } else if prefix >= 5 && !compound {
                // `if 1: stmt` keeps the statement's column and parses as one line.
                rw.masked_first = format!("if 1:{}", " ".repeat(prefix - 5));
                rw.keep_rest = true;
                out.time_wrappers.insert(at);
            } else {
                out.problems.push(Problem {
                    severity: ProblemSeverity::Warning,
                    span,
                    message: format!(
                        "the statement after %{name} is not analysed: its reads and bindings are not tracked"
                    ),
                    hint: Some(format!("write the statement on its own line, or use %%{name} on the cell")),
                });
            }
        }
        "env" | "set_env" => {
            if args.is_empty() || (name == "env" && !args.contains('=') && !args.contains(char::is_whitespace)) {
                push(MagicHandling::NoOp, out);
            } else {
                rw.program = call("env", "");
                out.settings.push(("os.environ".into(), at, at + len));
                push(MagicHandling::Translated, out);
            }
        }
        "cd" => {
            rw.program = call("cd", "");
            out.settings.push(("os.chdir".into(), at, at + len));
            push(MagicHandling::Translated, out);
        }
        "run" => {
            rw.program = call("run", ", globals()");
            out.problems.push(Problem {
                severity: ProblemSeverity::Warning,
                span,
                message: "%run executes a file: it must exist in the step image or working directory".into(),
                hint: None,
            });
            push(MagicHandling::Translated, out);
        }
        "system" | "sx" => {
            let method = if name == "sx" || assign { "getoutput" } else { "system" };
            rw.program = format!("_nbkf_ipython.{method}({}, globals(), locals())", py_literal(&args));
            push(MagicHandling::Translated, out);
        }
        // IPython's default aliases for shell commands (`%cat file` runs `cat file`).
        "cat" | "ls" | "mkdir" | "rm" | "cp" | "mv" | "rmdir" | "pwd" | "ldir" | "lf" | "lk" | "ll" | "lx" => {
            let method = if assign { "getoutput" } else { "system" };
            let command = match name {
                "ll" => format!("ls -F -l {args}"),
                "lf" | "lk" | "lx" | "ldir" => format!("ls -F {args}"),
                _ => format!("{name} {args}"),
            };
            rw.program = format!("_nbkf_ipython.{method}({}, globals(), locals())", py_literal(command.trim_end()));
            push(MagicHandling::Translated, out);
        }
        n if NOOP_MAGICS.contains(&n) => push(MagicHandling::NoOp, out),
        _ => {
            let line = format!("%{name}{}{args}", if args.is_empty() { "" } else { " " });
            out.problems.push(Problem {
                severity: ProblemSeverity::Error,
                span,
                message: format!("%{name} is not supported in a pipeline step"),
                hint: Some("remove it or move it to a cell tagged `skip`".into()),
            });
            rw.program = format!("_nbkf_ipython.unsupported({})", py_literal(&line));
            push(MagicHandling::Unsupported, out);
        }
    }
    if matches!(
        name,
        "env" | "set_env" | "cd" | "run" | "system" | "sx" | "cat" | "ls" | "mkdir" | "rm" | "cp" | "mv" | "rmdir"
    ) {
        let reads: Vec<ShellRead> =
            shell_reads(&args).into_iter().map(|(n, s, e)| (n, args_at + s, args_at + e)).collect();
        if !reads.is_empty() {
            out.shell_reads.entry(at).or_default().extend(reads);
        }
    }
    rw
}

/// Byte offset in `%timeit` args of the statement, after its options
/// (`-n<N> -r<R> -t -c -p<P> -q -o`).
pub(super) fn timeit_statement_offset(args: &str) -> usize {
    let mut off = 0;
    loop {
        let rest = &args[off..];
        let trimmed = rest.trim_start();
        let skip_ws = rest.len() - trimmed.len();
        if !trimmed.starts_with('-') || trimmed.starts_with("-=") {
            return off + skip_ws;
        }
        let word_len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let word = &trimmed[..word_len];
        off += skip_ws + word_len;
        // `-n 10`: the value is the next word.
        if matches!(word, "-n" | "-r" | "-p") {
            let rest = &args[off..];
            let t = rest.trim_start();
            off += (rest.len() - t.len()) + t.find(char::is_whitespace).unwrap_or(t.len());
        }
    }
}

/// Records lines like `pip install x` that IPython runs as automagics.
pub(super) fn note_automagic(rest: &str, line: usize, out: &mut Preprocessed) {
    let word_end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
    let word = &rest[..word_end];
    if word.is_empty() || !AUTOMAGICS.contains(&word) {
        return;
    }
    let after = rest[word_end..].trim_start();
    // `ls = 3`, `time.sleep(1)`: ordinary Python.
    let operator = after.starts_with(|c: char| "=([.,:;)+*/%<>!&|^@".contains(c));
    if after.is_empty() || operator || !rest[word_end..].starts_with(char::is_whitespace) {
        return;
    }
    out.automagic_candidates.push((line, rest.trim_end().to_string()));
}
