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

use super::{CellMagic, Effect, Magic, MagicHandling, MagicKind, Problem, ProblemSeverity, Span};

mod cell;
mod line;
mod shell;

use cell::cell_magic;
use line::{line_construct, note_automagic};

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

#[cfg(test)]
mod tests;
