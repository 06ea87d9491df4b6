//! IPython syntax: detection, same-length masking for analysis, and translation to
//! plain Python for execution in a step.
//!
//! Detection follows IPython's `TransformerManager` rules: an escape (`%`, `!`, `!!`,
//! `?`, `??`) is only recognised as the first token of a *logical* line, never inside a
//! string or a comment; `x = %magic` / `x = !cmd` are the assignment forms; `obj?` is
//! help; `%%name` is only a cell magic on the first non-empty line; backslash
//! continuation lines belong to the construct. Logical line starts are found with a
//! small line-oriented tokenizer (strings incl. triple quotes, comments, brackets,
//! backslash continuations). Magic lines are not tokenized: they may contain unbalanced
//! quotes (`!echo it's`).
//!
//! Two outputs are produced from the cell:
//! * the *masked* text, where every construct is replaced by Python of the same byte
//!   length (so tree-sitter byte offsets are offsets in the cell), e.g.
//!   `%matplotlib inline` → `pass              `, `x = !ls` → `x = ...`;
//! * the *program*, where every construct becomes one call into the step runtime
//!   (`_nbkf_ipython`), with the same number of lines as the cell.

use std::collections::{HashMap, HashSet};

use super::pip::{self, PipCommands};
use super::{CellMagic, Effect, Magic, MagicHandling, MagicKind, Problem, ProblemSeverity, Span};

/// Maps byte offsets of a cell to 1-based line/column [`Span`]s.
pub(super) struct LineIndex<'a> {
    src: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(src.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { src, line_starts }
    }

    /// Byte offset of the start of 0-based line `line`.
    pub(super) fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).copied().unwrap_or(self.src.len())
    }

    /// The span of bytes `start..end` (clamped to the source).
    pub(super) fn span(&self, start: usize, end: usize) -> Span {
        let start = start.min(self.src.len());
        let end = end.clamp(start, self.src.len());
        let line = self.line_starts.partition_point(|&s| s <= start);
        let line_start = self.line_starts[line.saturating_sub(1)];
        // Count characters, not bytes, without requiring `start` to be a char boundary.
        let column = 1 + self.src.as_bytes()[line_start..start].iter().filter(|b| (**b & 0xC0) != 0x80).count();
        Span { start, end, line: line.max(1), column }
    }
}

/// A soft read found in a shell command (`$name`, `{expr}`): name and byte range.
pub(super) type ShellRead = (String, usize, usize);

/// The result of preprocessing a cell's IPython syntax.
#[derive(Default)]
pub(super) struct Preprocessed {
    /// The cell with every construct replaced by same-length Python.
    pub masked: String,
    /// The cell as plain Python for the step (see [`super::CellFacts::program`]).
    pub program: String,
    pub magics: Vec<Magic>,
    pub problems: Vec<Problem>,
    pub pip_packages: Vec<String>,
    /// Options of the install lines to pass on (see [`super::CellFacts::pip_options`]).
    pub pip_options: Vec<String>,
    /// `-r FILE` of the install lines, with where.
    pub requirement_files: Vec<(String, Span)>,
    /// Process settings IPython syntax changes (`%env X=1`: `os.environ`; `%cd`:
    /// `os.chdir`), with the byte range of the construct.
    pub settings: Vec<(String, usize, usize)>,
    pub cell_magic: Option<CellMagic>,
    /// Soft reads of shell commands, keyed by the byte offset of the placeholder that
    /// replaced the construct in the masked text (`pass`, `0` or `...`).
    pub shell_reads: HashMap<usize, Vec<ShellRead>>,
    /// Byte offsets of `if 1:` placeholders standing for `%time stmt`: the statement
    /// runs unconditionally.
    pub time_wrappers: HashSet<usize>,
    /// Names bound by the cell magic (`%%capture var`), with the byte range of the name.
    pub cell_magic_binds: Vec<ShellRead>,
    /// File effects of the cell magic (`%%writefile path`).
    pub cell_magic_effects: Vec<Effect>,
    /// Logical lines (0-based line number, trimmed text) that start with an IPython
    /// automagic name (`pip install x`): reported if that line fails to parse.
    pub automagic_candidates: Vec<(usize, String)>,
}

/// One physical line: byte range of its content (without the line terminator) and of
/// the whole line (with it).
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    content_end: usize,
    end: usize,
}

fn split_lines(src: &str) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut start = 0;
    for piece in src.split_inclusive('\n') {
        let end = start + piece.len();
        let mut content_end = end;
        if piece.ends_with('\n') {
            content_end -= 1;
        }
        if content_end > start && src.as_bytes()[content_end - 1] == b'\r' {
            content_end -= 1;
        }
        lines.push(Line { start, content_end, end });
        start = end;
    }
    lines
}

/// Tokenizer state carried from one physical line to the next.
#[derive(Default)]
struct LexState {
    /// Inside a string: (quote byte, triple-quoted).
    string: Option<(u8, bool)>,
    /// Open brackets.
    depth: usize,
    /// The previous line ended with a backslash outside strings and comments.
    continued: bool,
}

impl LexState {
    fn at_logical_start(&self) -> bool {
        self.string.is_none() && self.depth == 0 && !self.continued
    }

    /// Advances the state over one physical line (content without terminator).
    fn scan_line(&mut self, line: &[u8]) {
        self.continued = false;
        let n = line.len();
        let mut i = 0;
        let mut escaped_eol = false;
        while i < n {
            let c = line[i];
            if let Some((quote, triple)) = self.string {
                if c == b'\\' {
                    if i + 1 >= n {
                        escaped_eol = true;
                    }
                    i += 2;
                    continue;
                }
                if c == quote {
                    if !triple {
                        self.string = None;
                        i += 1;
                        continue;
                    }
                    if line[i..].starts_with(&[quote, quote, quote]) {
                        self.string = None;
                        i += 3;
                        continue;
                    }
                }
                i += 1;
                continue;
            }
            match c {
                b'#' => break,
                b'\'' | b'"' => {
                    let triple = line[i..].starts_with(&[c, c, c]);
                    self.string = Some((c, triple));
                    i += if triple { 3 } else { 1 };
                    continue;
                }
                b'(' | b'[' | b'{' => self.depth += 1,
                b')' | b']' | b'}' => self.depth = self.depth.saturating_sub(1),
                b'\\' if i + 1 == n => self.continued = true,
                _ => {}
            }
            i += 1;
        }
        // A single-quoted string cannot span lines without a backslash: recover.
        if let Some((_, false)) = self.string {
            if !escaped_eol {
                self.string = None;
            }
        }
    }
}

/// Line magics that do nothing outside an interactive session.
const NOOP_MAGICS: &[&str] = &[
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

/// Cell magics whose body is Python.
const PYTHON_CELL_MAGICS: &[&str] = &["time", "timeit", "capture", "prun", "python", "python3", "debug"];
/// Cell magics translated by the runtime with an opaque body.
const OPAQUE_CELL_MAGICS: &[&str] = &["writefile", "bash", "sh", "script", "file"];
/// Cell magics that only display something.
const NOOP_CELL_MAGICS: &[&str] = &["html", "HTML", "javascript", "js", "latex", "markdown", "svg"];

/// Names IPython resolves as magics without `%` (automagic); such lines are syntax
/// errors in plain Python.
const AUTOMAGICS: &[&str] = &[
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

/// How one logical-line construct is rewritten.
struct Rewrite {
    /// Byte offset where the masked replacement starts (after indentation, or after
    /// `target = ` for the assignment forms).
    at: usize,
    /// Masked text for bytes `at..` of the first line (same length); continuation lines
    /// are blanked unless `keep_rest` is set.
    masked_first: String,
    /// Keep the original text after `masked_first` (the statement of `%time stmt`).
    keep_rest: bool,
    /// The Python for the first line of the program, after indentation.
    program: String,
}

/// Preprocesses a cell: detects and masks IPython syntax and builds the program.
pub(super) fn preprocess(src: &str) -> Preprocessed {
    let mut out = Preprocessed::default();
    let lines = split_lines(src);
    let index = LineIndex::new(src);
    let mut masked = src.as_bytes().to_vec();
    // Program text per line (None: the original line); terminators are kept.
    let mut program_lines: Vec<Option<String>> = vec![None; lines.len()];

    let first_nonblank = lines.iter().position(|l| !src[l.start..l.content_end].trim().is_empty());
    let mut body_start_line = 0;
    if let Some(k) = first_nonblank {
        let l = lines[k];
        if src[l.start..l.content_end].starts_with("%%") {
            let python_body = cell_magic(src, &lines, k, &index, &mut masked, &mut out);
            if !python_body {
                // Opaque body: nothing to analyse, the runtime executes it verbatim.
                for l in &lines[k + 1..] {
                    blank(&mut masked, l.start, l.content_end);
                }
                out.masked = String::from_utf8_lossy(&masked).into_owned();
                out.program = program_for_cell_magic(src, &lines, k, None);
                return out;
            }
            body_start_line = k + 1;
        }
    }

    let mut state = LexState::default();
    let mut k = body_start_line;
    while k < lines.len() {
        let l = lines[k];
        let text = &src[l.start..l.content_end];
        if state.at_logical_start() {
            let indent_len = text.len() - text.trim_start_matches([' ', '\t', '\x0c']).len();
            let rest = &text[indent_len..];
            // The construct extends over backslash-continued lines.
            let mut last = k;
            while last + 1 < lines.len() && src[lines[last].start..lines[last].content_end].ends_with('\\') {
                last += 1;
            }
            if let Some(rw) = line_construct(src, &lines, k, last, l.start + indent_len, &index, &mut out) {
                apply_rewrite(src, &lines, k, last, &rw, &mut masked, &mut program_lines);
                k = last + 1;
                continue;
            }
            note_automagic(rest, k, &mut out);
        }
        state.scan_line(text.as_bytes());
        k += 1;
    }

    out.masked = String::from_utf8_lossy(&masked).into_owned();
    out.program = if out.cell_magic.is_some() {
        program_for_cell_magic(src, &lines, body_start_line.saturating_sub(1), Some(&program_lines))
    } else {
        assemble(src, &lines, &program_lines, 0)
    };
    out
}

/// Replaces bytes `start..end` by spaces (same length).
fn blank(masked: &mut [u8], start: usize, end: usize) {
    for b in &mut masked[start..end] {
        *b = b' ';
    }
}

/// A same-length placeholder statement for `len` bytes.
fn placeholder(len: usize) -> String {
    let word = if len >= 4 { "pass" } else { "0" };
    format!("{word}{}", " ".repeat(len.saturating_sub(word.len())))
}

/// Writes the masked and program replacements of one construct spanning lines
/// `first..=last`.
fn apply_rewrite(
    src: &str,
    lines: &[Line],
    first: usize,
    last: usize,
    rw: &Rewrite,
    masked: &mut [u8],
    program_lines: &mut [Option<String>],
) {
    let l = lines[first];
    let mlen = rw.masked_first.len().min(l.content_end.saturating_sub(rw.at));
    masked[rw.at..rw.at + mlen].copy_from_slice(&rw.masked_first.as_bytes()[..mlen]);
    if !rw.keep_rest {
        blank(masked, rw.at + mlen, l.content_end);
        for cl in &lines[first + 1..=last] {
            blank(masked, cl.start, cl.content_end);
        }
    }
    let text = &src[l.start..l.content_end];
    let indent = &text[..text.len() - text.trim_start_matches([' ', '\t', '\x0c']).len()];
    program_lines[first] = Some(format!("{indent}{}", rw.program));
    for p in &mut program_lines[first + 1..=last] {
        *p = Some(String::new());
    }
}

/// Joins the program lines from line `from` on, keeping each line's terminator.
fn assemble(src: &str, lines: &[Line], program_lines: &[Option<String>], from: usize) -> String {
    let mut s = String::with_capacity(src.len());
    for (l, p) in lines.iter().zip(program_lines).skip(from) {
        match p {
            Some(p) => s.push_str(p),
            None => s.push_str(&src[l.start..l.content_end]),
        }
        s.push_str(&src[l.content_end..l.end]);
    }
    s
}

/// The program of a cell with a cell magic on line `k`: one empty line per line up to
/// the magic line, then the (translated) body.
fn program_for_cell_magic(src: &str, lines: &[Line], k: usize, body: Option<&[Option<String>]>) -> String {
    // One empty line per line up to the magic line (which may be the last, unterminated).
    let mut s = "\n".repeat(lines.get(k).map_or(0, |l| src[..l.end].matches('\n').count()));
    match body {
        Some(p) => s.push_str(&assemble(src, lines, p, k + 1)),
        None => s.push_str(lines.get(k + 1).map_or("", |l| &src[l.start..])),
    }
    s
}

/// Joins backslash-continued lines as IPython does: every line but the last loses its
/// trailing backslash, lines are joined with a space.
fn joined(src: &str, lines: &[Line], first: usize, last: usize, from: usize) -> String {
    let mut parts = Vec::new();
    for (i, l) in lines[first..=last].iter().enumerate() {
        let start = if i == 0 { from } else { l.start };
        let text = &src[start..l.content_end];
        if first + i < last {
            let t = text.trim_end();
            parts.push(t.strip_suffix('\\').unwrap_or(t).to_string());
        } else {
            parts.push(text.trim_end().to_string());
        }
    }
    parts.join(" ")
}

/// A Python string literal for `s` (single-quoted, like `repr`).
pub(super) fn py_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `%name args` text (without `%`) into name and args.
fn split_name(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| c.is_whitespace()).unwrap_or(s.len());
    (&s[..end], s[end..].trim())
}

/// Finds the assignment form `target = %magic` / `target = !cmd` in a logical line
/// (`rest` starts after indentation): returns the target text and the byte offset in
/// `rest` of the `%`/`!`.
fn assignment_form(rest: &str) -> Option<(&str, usize)> {
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
fn is_help_target(s: &str) -> bool {
    let s = s.strip_prefix('%').unwrap_or(s);
    let s = s.strip_prefix('%').unwrap_or(s);
    !s.is_empty()
        && s.chars().next().is_some_and(|c| is_name_start(c) || c == '*')
        && s.chars().all(|c| is_name_char(c) || c == '.' || c == '*')
}

/// Detects and describes a construct at the logical line starting at `at` (line
/// `first`, continued until `last`). Returns `None` for ordinary Python.
fn line_construct(
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
fn ellipsis(len: usize) -> String {
    let word = if len >= 3 { "..." } else { "0" };
    format!("{word}{}", " ".repeat(len.saturating_sub(word.len())))
}

fn simple_rewrite(at: usize, len: usize, program: String) -> Rewrite {
    Rewrite { at, masked_first: placeholder(len), keep_rest: false, program }
}

/// Handles a shell command: collects `$name`/`{expr}` reads and pip installs.
/// Returns the runtime call (`None` when the command installs packages) and the reads
/// with byte ranges in the cell.
fn shell_call(
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
fn record_install(p: PipCommands, span: Span, out: &mut Preprocessed) -> Option<String> {
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
fn shell_words(cmd: &str) -> Vec<String> {
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
fn expression_names(expr: &str) -> Vec<ShellRead> {
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

/// Describes a line magic `%name args` starting at byte `at` (`len` bytes on its first
/// line). `target` is set for the assignment form.
#[allow(clippy::too_many_arguments)]
fn line_magic(
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
fn timeit_statement_offset(args: &str) -> usize {
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
fn note_automagic(rest: &str, line: usize, out: &mut Preprocessed) {
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

/// Handles `%%name args` on line `k`. Returns whether the body is Python.
fn cell_magic(
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
fn writefile_effects(args: &str, span: Span) -> Vec<Effect> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(src: &str) -> Preprocessed {
        let p = preprocess(src);
        assert_eq!(p.masked.len(), src.len(), "masking keeps the length");
        assert_eq!(
            p.program.matches('\n').count(),
            src.matches('\n').count(),
            "program keeps the line count: {:?}",
            p.program
        );
        p
    }

    fn parses(masked: &str) -> bool {
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("grammar");
        !parser.parse(masked, None).expect("tree").root_node().has_error()
    }

    #[test]
    fn line_magic_noop() {
        let p = pre("%matplotlib inline\nx = 1\n");
        assert!(parses(&p.masked), "{}", p.masked);
        assert!(!p.masked.contains("inline"));
        assert_eq!(p.magics[0].name, "matplotlib");
        assert_eq!(p.magics[0].args, "inline");
        assert_eq!(p.magics[0].handling, MagicHandling::NoOp);
        assert_eq!(p.program, "pass\nx = 1\n");
    }

    #[test]
    fn shell_and_assign() {
        let p = pre("!ls -l\nfiles = !ls *.csv\n!!date\n");
        assert!(parses(&p.masked), "{}", p.masked);
        assert!(p.masked.starts_with("pass  \nfiles = ...      \n"), "{:?}", p.masked);
        let lines: Vec<&str> = p.program.lines().collect();
        assert_eq!(lines[0], "_nbkf_ipython.system('ls -l', globals(), locals())");
        assert_eq!(lines[1], "files = _nbkf_ipython.getoutput('ls *.csv', globals(), locals())");
        assert_eq!(lines[2], "_nbkf_ipython.system('date', globals(), locals())");
        assert_eq!(p.magics[1].kind, MagicKind::ShellAssign { target: "files".into() });
    }

    #[test]
    fn short_constructs_get_short_placeholders() {
        let p = pre("!ls\na?\n?b\nx = !l\n");
        assert!(parses(&p.masked), "{:?}", p.masked);
        assert_eq!(p.magics.len(), 4);
    }

    #[test]
    fn indented_shell_keeps_indentation_and_reads_dollar_names() {
        let p = pre("for f in files:\n    !echo $f {f.upper()} '$notme' $$HOME\n");
        assert!(parses(&p.masked), "{}", p.masked);
        assert!(
            p.program
                .contains("\n    _nbkf_ipython.system('echo $f {f.upper()} \\'$notme\\' $$HOME', globals(), locals())"),
            "{}",
            p.program
        );
        let reads: Vec<String> = p.shell_reads.values().flatten().map(|r| r.0.clone()).collect();
        assert_eq!(reads, vec!["f", "f"]);
    }

    #[test]
    fn shell_read_forms() {
        let r: Vec<String> = shell_reads("echo ${a} $b.c {d + e.f} {{g}} $$h").into_iter().map(|r| r.0).collect();
        assert_eq!(r, vec!["a", "b", "d", "e"]);
    }

    #[test]
    fn pip_variants() {
        for line in [
            "%pip install -q pandas==2.1 -U scikit-learn",
            "!pip install -q pandas==2.1 -U scikit-learn",
            "!pip3 install --upgrade pandas==2.1 scikit-learn",
            "!python -m pip install pandas==2.1 scikit-learn",
            "%conda install -c conda-forge pandas==2.1 scikit-learn -y",
        ] {
            let p = pre(&format!("{line}\n"));
            assert_eq!(p.pip_packages, vec!["pandas==2.1", "scikit-learn"], "{line}");
            assert_eq!(p.magics[0].handling, MagicHandling::Packages, "{line}");
            assert_eq!(p.program, "pass\n");
            assert!(parses(&p.masked));
        }
        let p = pre("%pip install -r requirements.txt torch\n");
        assert_eq!(p.pip_packages, vec!["torch"]);
        assert_eq!(p.requirement_files.len(), 1);
        assert_eq!(p.requirement_files[0].0, "requirements.txt");
        // The corpus case: redirections are not packages, and nothing runs in the step.
        let p = pre("!pip3 install PyGithub pandas > /dev/null 2>&1\n");
        assert_eq!(p.pip_packages, vec!["PyGithub", "pandas"]);
        assert!(p.problems.is_empty(), "{:?}", p.problems);
        assert_eq!(p.program, "pass\n");
        // What else the command does still runs.
        let p = pre("!pip install x && echo done\n");
        assert_eq!(p.pip_packages, vec!["x"]);
        assert!(p.program.contains("echo done") && !p.program.contains("pip"), "{}", p.program);
    }

    #[test]
    fn time_and_timeit() {
        let p = pre("%time y = f(x)\nz = %time g(y)\n%timeit -n 10 h(z)\n");
        assert!(parses(&p.masked), "{}", p.masked);
        assert!(p.masked.starts_with("if 1: y = f(x)\nz =       g(y)\n"), "{:?}", p.masked);
        let lines: Vec<&str> = p.program.lines().collect();
        assert_eq!(lines[0], "_nbkf_ipython.time('y = f(x)', globals(), locals())");
        assert_eq!(lines[1], "z = _nbkf_ipython.time('g(y)', globals(), locals())");
        assert_eq!(lines[2], "_nbkf_ipython.timeit('h(z)', globals(), locals())");
        assert_eq!(p.problems.len(), 1);
        assert_eq!(p.problems[0].severity, ProblemSeverity::Warning);
    }

    #[test]
    fn env_cd_run_unsupported() {
        let p = pre("%env A=1\n%set_env B 2\n%cd /tmp\n%run train.py --x 1\n%store df\n");
        assert!(parses(&p.masked), "{}", p.masked);
        let lines: Vec<&str> = p.program.lines().collect();
        assert_eq!(lines[0], "_nbkf_ipython.env('A=1')");
        assert_eq!(lines[1], "_nbkf_ipython.env('B 2')");
        assert_eq!(lines[2], "_nbkf_ipython.cd('/tmp')");
        assert_eq!(lines[3], "_nbkf_ipython.run('train.py --x 1', globals())");
        assert_eq!(lines[4], "_nbkf_ipython.unsupported('%store df')");
        assert_eq!(p.magics[4].handling, MagicHandling::Unsupported);
        assert!(p
            .problems
            .iter()
            .any(|pr| pr.severity == ProblemSeverity::Error
                && pr.message == "%store is not supported in a pipeline step"));
        assert!(p.problems.iter().any(|pr| pr.severity == ProblemSeverity::Warning && pr.message.contains("%run")));
    }

    #[test]
    fn help_forms() {
        let p = pre("df?\ndf.head??\n?len\n");
        assert!(parses(&p.masked), "{}", p.masked);
        assert!(p.magics.iter().all(|m| m.kind == MagicKind::Help && m.handling == MagicHandling::NoOp));
        assert_eq!(p.magics[1].args, "df.head");
        assert_eq!(p.program, "pass\npass\npass\n");
    }

    #[test]
    fn magics_in_strings_and_comments_are_left_alone() {
        let src = "s = \"\"\"\n%matplotlib inline\n!ls\n\"\"\"\n# !ls\nt = '!x'\nu = (1,\n!2)\n";
        let p = pre(src);
        assert!(p.magics.is_empty());
        assert_eq!(p.masked, src);
        assert_eq!(p.program, src);
    }

    #[test]
    fn continuation_lines_are_joined() {
        let p = pre("!echo a \\\n  b\nx = 1\n");
        assert!(parses(&p.masked), "{:?}", p.masked);
        assert_eq!(p.magics[0].args, "echo a    b");
        assert_eq!(p.program, "_nbkf_ipython.system('echo a    b', globals(), locals())\n\nx = 1\n");
    }

    #[test]
    fn unbalanced_quote_in_magic_does_not_leak() {
        let p = pre("!echo it's\n!echo more\n");
        assert_eq!(p.magics.len(), 2);
    }

    #[test]
    fn cell_magics() {
        let p = pre("%%capture out\nx = 1\n!ls\n");
        assert!(parses(&p.masked), "{}", p.masked);
        assert!(p.masked.starts_with("#%capture out\nx = 1\n0  \n"), "{:?}", p.masked);
        assert_eq!(p.program, "\nx = 1\n_nbkf_ipython.system('ls', globals(), locals())\n");
        let cm = p.cell_magic.as_ref().expect("cell magic");
        assert!(cm.python_body);
        assert_eq!(cm.body, "x = 1\n!ls\n");
        assert_eq!(p.cell_magic_binds[0].0, "out");

        let p = pre("%%bash\necho $HOME\nls\n");
        assert!(parses(&p.masked));
        assert!(p.shell_reads.is_empty());
        assert_eq!(p.program, "\necho $HOME\nls\n");
        assert!(!p.cell_magic.as_ref().expect("cm").python_body);
        assert_eq!(p.magics[0].handling, MagicHandling::Translated);

        let p = pre("%%html\n<b>x</b>");
        assert_eq!(p.magics[0].handling, MagicHandling::NoOp);
        let p = pre("%%sql\nselect 1");
        assert_eq!(p.magics[0].handling, MagicHandling::Unsupported);
        assert_eq!(p.problems[0].severity, ProblemSeverity::Error);
        let p = pre("x = 1\n%%time\n");
        assert_eq!(p.problems[0].severity, ProblemSeverity::Error);
    }

    #[test]
    fn automagic_candidates() {
        let p = pre("pip install x\nls = 3\n");
        assert_eq!(p.automagic_candidates, vec![(0, "pip install x".to_string())]);
    }

    #[test]
    fn non_magic_operators() {
        let src = "a = b % c\nx != y\nd = {'k': 1}\n";
        let p = pre(src);
        assert!(p.magics.is_empty());
        assert_eq!(p.masked, src);
    }

    #[test]
    fn line_index_counts_chars() {
        let idx = LineIndex::new("ab\néé x");
        let s = idx.span(8, 9);
        assert_eq!((s.line, s.column), (2, 4));
    }
}
