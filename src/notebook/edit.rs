//! Editing cell tags in a notebook's JSON text without reformatting the file.
//!
//! `nbkf tag` writes tags back into the user's notebook. Re-serializing the whole notebook
//! would reformat it (indentation, key order, escapes, number formats) and make the diff
//! unreadable, so this module edits the text in place: a small position-aware JSON scanner
//! finds the byte spans of the `cells` array, of each cell and of its `metadata` value, and
//! only the metadata objects whose tags change are rewritten. They are written the way
//! nbformat's writer (`json.dump(nb, f, indent=1, ensure_ascii=False, sort_keys=True)`)
//! would write them at their depth, using the file's own indentation unit and line endings.
//! Keys and scalar values that are kept are copied byte for byte, escapes included.

use std::collections::BTreeMap;

/// Why a notebook's text could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The text is not JSON.
    #[error("not valid JSON: {message} (line {line}, column {column})")]
    Syntax { message: String, line: usize, column: usize },
    /// The top-level value is not an object.
    #[error("the notebook is not a JSON object")]
    NotAnObject,
    /// The top-level object has no `cells` array.
    #[error("the notebook has no `cells` list")]
    NoCells,
    /// A requested cell index is not in the notebook.
    #[error("cell {index} does not exist: the notebook has {count} cells")]
    CellOutOfRange { index: usize, count: usize },
    /// A cell is not a JSON object.
    #[error("cell {index} is not a JSON object")]
    CellNotObject { index: usize },
    /// A cell's `metadata` is present but not an object.
    #[error("the `metadata` of cell {index} is not a JSON object")]
    MetadataNotObject { index: usize },
}

/// Replaces the tags of the given cells (0-based indices among ALL cells of `cells`) in the
/// notebook text `raw`.
///
/// `new_tags[i] = (cell_index, tags)`: the cell's `metadata.tags` becomes exactly `tags`; an
/// empty list removes the `tags` key (when the key was absent, nothing changes). When a cell
/// index appears more than once, the last entry wins. Everything outside the changed
/// metadata objects is kept byte for byte (BOM, line endings, trailing newline included).
pub fn set_cell_tags(raw: &str, new_tags: &[(usize, Vec<String>)]) -> Result<String, EditError> {
    let start = if raw.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let root = Parser::new(raw, start).parse_document()?;
    let Kind::Object(top) = &root.kind else { return Err(EditError::NotAnObject) };
    let cells = top
        .iter()
        .rev()
        .find(|m| key_is(raw, m, "cells"))
        .and_then(|m| match &m.value.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        })
        .ok_or(EditError::NoCells)?;
    let style = Style::detect(raw, &root);

    let requests: BTreeMap<usize, &[String]> = new_tags.iter().map(|(i, t)| (*i, t.as_slice())).collect();
    let mut edits: Vec<(usize, usize, String)> = Vec::new();
    for (&index, &tags) in &requests {
        let cell = cells.get(index).ok_or(EditError::CellOutOfRange { index, count: cells.len() })?;
        if let Some(edit) = edit_cell(raw, &style, index, cell, tags)? {
            edits.push(edit);
        }
    }

    let mut out = String::with_capacity(raw.len() + 64 * edits.len());
    let mut pos = 0;
    for (from, to, text) in edits {
        out.push_str(&raw[pos..from]);
        out.push_str(&text);
        pos = to;
    }
    out.push_str(&raw[pos..]);
    Ok(out)
}

/// The text edit (byte range of `raw` and its replacement) for one cell, if anything changes.
fn edit_cell(
    raw: &str,
    style: &Style,
    index: usize,
    cell: &Node,
    tags: &[String],
) -> Result<Option<(usize, usize, String)>, EditError> {
    let Kind::Object(members) = &cell.kind else { return Err(EditError::CellNotObject { index }) };
    let Some(meta) = members.iter().rev().find(|m| key_is(raw, m, "metadata")) else {
        if tags.is_empty() {
            return Ok(None);
        }
        // No metadata at all: add `"metadata": {"tags": [...]}` to the cell.
        let cell_multiline = raw[cell.start..cell.end].contains('\n');
        let member_indent = members.first().map(|m| line_indent(raw, m.key_start)).unwrap_or("");
        let expanded = cell_multiline && !members.is_empty();
        let value = render_tags_object(tags, member_indent, style, expanded);
        let member = format!("\"metadata\"{}{}", style.colon, value);
        let at = if keys_sorted(raw, members) {
            members.iter().position(|m| key_greater(raw, m, "metadata")).unwrap_or(members.len())
        } else {
            members.len()
        };
        return Ok(Some(insert_member(raw, style, cell, members, at, member)));
    };
    let Kind::Object(meta_members) = &meta.value.kind else { return Err(EditError::MetadataNotObject { index }) };
    let node = &meta.value;
    let existing: Vec<usize> =
        meta_members.iter().enumerate().filter(|(_, m)| key_is(raw, m, "tags")).map(|(i, _)| i).collect();
    if tags.is_empty() && existing.is_empty() {
        return Ok(None);
    }
    let key_indent = line_indent(raw, meta.key_start);
    let multiline = raw[node.start..node.end].contains('\n');

    if meta_members.is_empty() {
        // `{}`: write a new object holding only the tags.
        let text = render_tags_object(tags, key_indent, style, !style.compact);
        return Ok(Some((node.start, node.end, text)));
    }

    if !multiline && !style.compact {
        // A one-line object in an indented file: write it out expanded, as nbformat would.
        let mut items: Vec<(String, Item)> = Vec::new();
        let mut placed = false;
        for m in meta_members {
            if key_is(raw, m, "tags") {
                if !tags.is_empty() && !placed {
                    items.push(("\"tags\"".to_string(), Item::Tags(tags)));
                    placed = true;
                }
            } else {
                items.push((raw[m.key_start..m.key_end].to_string(), Item::Node(&m.value)));
            }
        }
        if !tags.is_empty() && !placed {
            let at = sorted_insert_position(raw, meta_members);
            // `at` counts original members; none of them is `tags` here.
            items.insert(at, ("\"tags\"".to_string(), Item::Tags(tags)));
        }
        let mut text = String::new();
        render_object_expanded(raw, &items, key_indent, style, &mut text);
        return Ok(Some((node.start, node.end, text)));
    }

    // Multi-line object (or a compact file): rewrite the object from its members, keeping
    // the original bytes of every other member and the original whitespace.
    let member_indent = line_indent(raw, meta_members[0].key_start);
    let expanded = !style.compact;
    let tags_text =
        |indent: &str| format!("\"tags\"{}{}", style.colon, render_tags_array(tags, indent, style, expanded));
    let mut texts: Vec<String> = Vec::new();
    let mut placed = false;
    for m in meta_members {
        if key_is(raw, m, "tags") {
            if !tags.is_empty() && !placed {
                // Keep the key's own spelling and the space around the colon.
                let indent = line_indent(raw, m.key_start);
                texts.push(format!(
                    "{}{}",
                    &raw[m.key_start..m.value.start],
                    render_tags_array(tags, indent, style, expanded)
                ));
                placed = true;
            }
        } else {
            texts.push(raw[m.key_start..m.value.end].to_string());
        }
    }
    if !tags.is_empty() && !placed {
        let at = sorted_insert_position(raw, meta_members);
        texts.insert(at, tags_text(member_indent));
    }
    if texts.is_empty() {
        return Ok(Some((node.start, node.end, "{}".to_string())));
    }
    let first = &meta_members[0];
    let last = &meta_members[meta_members.len() - 1];
    let open_ws = &raw[node.start + 1..first.key_start];
    let close_ws = &raw[last.value.end..node.end - 1];
    let separator = if meta_members.len() >= 2 {
        raw[first.value.end..meta_members[1].key_start].to_string()
    } else if multiline {
        format!(",{open_ws}")
    } else {
        format!(",{}", style.item_space)
    };
    let mut text = String::from("{");
    text.push_str(open_ws);
    text.push_str(&texts.join(&separator));
    text.push_str(close_ws);
    text.push('}');
    Ok(Some((node.start, node.end, text)))
}

/// Inserts `member` (a `"key": value` text) as the `at`-th member of `object`, reusing the
/// whitespace between the object's members. Returns the text edit.
fn insert_member(
    raw: &str,
    style: &Style,
    object: &Node,
    members: &[Member],
    at: usize,
    member: String,
) -> (usize, usize, String) {
    if members.is_empty() {
        return (object.start, object.end, format!("{{{member}}}"));
    }
    let multiline = raw[object.start..object.end].contains('\n');
    let ws_before = |i: usize| whitespace_before(raw, members[i].key_start);
    let separator_ws = if members.len() >= 2 {
        ws_before(1)
    } else if multiline {
        ws_before(0)
    } else {
        style.item_space
    };
    if at < members.len() {
        let ws = if at == 0 { separator_ws } else { ws_before(at) };
        let pos = members[at].key_start;
        (pos, pos, format!("{member},{ws}"))
    } else {
        let pos = members[members.len() - 1].value.end;
        (pos, pos, format!(",{separator_ws}{member}"))
    }
}

/// Where `tags` goes among `members`: its sorted position when the keys are sorted, else the end.
fn sorted_insert_position(raw: &str, members: &[Member]) -> usize {
    if keys_sorted(raw, members) {
        members.iter().position(|m| key_greater(raw, m, "tags")).unwrap_or(members.len())
    } else {
        members.len()
    }
}

// ---------------------------------------------------------------------------------------
// Output style

/// How the file is written, as far as new text needs to know.
struct Style {
    /// `"\n"` or `"\r\n"`.
    newline: &'static str,
    /// One level of indentation (`" "` for Jupyter).
    unit: String,
    /// The file is written without newlines.
    compact: bool,
    /// Between a key and its value: `": "` or `":"`.
    colon: &'static str,
    /// After a comma in one-line containers: `" "` or `""`.
    item_space: &'static str,
}

impl Style {
    fn detect(raw: &str, root: &Node) -> Style {
        let newline = match raw.find('\n') {
            Some(i) if i > 0 && raw.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        };
        let compact = !raw[root.start..root.end].contains('\n');
        let mut unit = " ".to_string();
        let mut colon = ": ";
        let mut item_space = " ";
        if let Kind::Object(members) = &root.kind {
            if let Some(first) = members.first() {
                let open = &raw[root.start + 1..first.key_start];
                if let Some(nl) = open.rfind('\n') {
                    let indent = &open[nl + 1..];
                    if !indent.is_empty() {
                        unit = indent.to_string();
                    }
                }
                let between = &raw[first.key_end..first.value.start];
                colon = if between.ends_with(':') { ":" } else { ": " };
            }
            if compact && members.len() >= 2 {
                let gap = &raw[members[0].value.end..members[1].key_start];
                item_space = if gap.ends_with(',') { "" } else { " " };
            }
        }
        Style { newline, unit, compact, colon, item_space }
    }
}

/// A value to write: an existing one (copied from the file) or the new tags.
enum Item<'a> {
    Node(&'a Node),
    Tags(&'a [String]),
}

/// `{"tags": [...]}` for a `metadata` key whose line is indented by `indent`.
fn render_tags_object(tags: &[String], indent: &str, style: &Style, expanded: bool) -> String {
    let mut out = String::new();
    if expanded {
        render_object_expanded("", &[("\"tags\"".to_string(), Item::Tags(tags))], indent, style, &mut out);
    } else {
        out.push_str("{\"tags\"");
        out.push_str(style.colon);
        out.push_str(&render_tags_array(tags, indent, style, false));
        out.push('}');
    }
    out
}

/// The tags as a JSON array; `indent` is the indentation of the line holding `"tags"`.
fn render_tags_array(tags: &[String], indent: &str, style: &Style, expanded: bool) -> String {
    let items: Vec<String> = tags.iter().map(|t| json_string(t)).collect();
    if items.is_empty() {
        return "[]".to_string();
    }
    if !expanded {
        return format!("[{}]", items.join(&format!(",{}", style.item_space)));
    }
    let inner = format!("{}{indent}{}", style.newline, style.unit);
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&inner);
        out.push_str(item);
    }
    out.push_str(style.newline);
    out.push_str(indent);
    out.push(']');
    out
}

/// An object written the way Python's `json.dump(indent=...)` does, its opening brace on a
/// line indented by `indent`.
fn render_object_expanded(raw: &str, items: &[(String, Item)], indent: &str, style: &Style, out: &mut String) {
    if items.is_empty() {
        out.push_str("{}");
        return;
    }
    let inner = format!("{indent}{}", style.unit);
    out.push('{');
    for (i, (key, item)) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(style.newline);
        out.push_str(&inner);
        out.push_str(key);
        out.push_str(style.colon);
        match item {
            Item::Node(node) => render_node_expanded(raw, node, &inner, style, out),
            Item::Tags(tags) => out.push_str(&render_tags_array(tags, &inner, style, true)),
        }
    }
    out.push_str(style.newline);
    out.push_str(indent);
    out.push('}');
}

/// An existing value re-laid out in `json.dump(indent=...)` style; scalars and keys are
/// copied byte for byte.
fn render_node_expanded(raw: &str, node: &Node, indent: &str, style: &Style, out: &mut String) {
    match &node.kind {
        Kind::Scalar => out.push_str(&raw[node.start..node.end]),
        Kind::Array(items) if items.is_empty() => out.push_str("[]"),
        Kind::Array(items) => {
            let inner = format!("{indent}{}", style.unit);
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(style.newline);
                out.push_str(&inner);
                render_node_expanded(raw, item, &inner, style, out);
            }
            out.push_str(style.newline);
            out.push_str(indent);
            out.push(']');
        }
        Kind::Object(members) => {
            let items: Vec<(String, Item)> =
                members.iter().map(|m| (raw[m.key_start..m.key_end].to_string(), Item::Node(&m.value))).collect();
            render_object_expanded(raw, &items, indent, style, out);
        }
    }
}

/// A string as JSON (serde_json's escaping: like Python's with `ensure_ascii=False`).
fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

// ---------------------------------------------------------------------------------------
// Text helpers

/// The leading spaces and tabs of the line holding byte `pos`.
fn line_indent(raw: &str, pos: usize) -> &str {
    let line_start = raw[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &raw[line_start..];
    let len = line.bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
    &line[..len]
}

/// The JSON whitespace right before byte `pos` (back to the previous non-whitespace byte).
fn whitespace_before(raw: &str, pos: usize) -> &str {
    let bytes = raw.as_bytes();
    let mut start = pos;
    while start > 0 && matches!(bytes[start - 1], b' ' | b'\t' | b'\n' | b'\r') {
        start -= 1;
    }
    &raw[start..pos]
}

/// The decoded key of a member.
fn key_text<'a>(raw: &'a str, member: &Member) -> std::borrow::Cow<'a, str> {
    let inner = &raw[member.key_start + 1..member.key_end - 1];
    if inner.contains('\\') {
        // The scanner validated the string, so this cannot fail except for lone surrogates.
        serde_json::from_str::<String>(&raw[member.key_start..member.key_end])
            .map(std::borrow::Cow::Owned)
            .unwrap_or(std::borrow::Cow::Borrowed(inner))
    } else {
        std::borrow::Cow::Borrowed(inner)
    }
}

fn key_is(raw: &str, member: &Member, name: &str) -> bool {
    key_text(raw, member) == name
}

fn key_greater(raw: &str, member: &Member, name: &str) -> bool {
    *key_text(raw, member) > *name
}

/// Whether the keys are in ascending order (Python's `sort_keys` order: by code point, which
/// is byte order in UTF-8).
fn keys_sorted(raw: &str, members: &[Member]) -> bool {
    members.windows(2).all(|w| key_text(raw, &w[0]) <= key_text(raw, &w[1]))
}

// ---------------------------------------------------------------------------------------
// The scanner

/// A JSON value and its byte span in the text.
#[derive(Debug)]
struct Node {
    start: usize,
    end: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A string, number or literal.
    Scalar,
    Array(Vec<Node>),
    Object(Vec<Member>),
}

/// One `"key": value` of an object; the key span includes its quotes.
#[derive(Debug)]
struct Member {
    key_start: usize,
    key_end: usize,
    value: Node,
}

/// Deeper nesting is refused rather than risking the stack.
const MAX_DEPTH: usize = 512;

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, start: usize) -> Self {
        Parser { text, bytes: text.as_bytes(), pos: start }
    }

    fn parse_document(mut self) -> Result<Node, EditError> {
        self.skip_ws();
        let node = self.parse_value(0)?;
        self.skip_ws();
        if self.pos < self.bytes.len() {
            return Err(self.error("trailing characters after the JSON value"));
        }
        Ok(node)
    }

    fn error(&self, message: &str) -> EditError {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        EditError::Syntax { message: message.to_string(), line, column }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), EditError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn parse_value(&mut self, depth: usize) -> Result<Node, EditError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let start = self.pos;
        let kind = match self.peek() {
            Some(b'{') => self.parse_object(depth)?,
            Some(b'[') => self.parse_array(depth)?,
            Some(b'"') => {
                self.parse_string()?;
                Kind::Scalar
            }
            Some(b'-' | b'0'..=b'9') => {
                self.parse_number()?;
                Kind::Scalar
            }
            Some(_) => {
                // Python's json also writes NaN and ±Infinity; accept them as found.
                let rest = &self.text[self.pos..];
                let literal = ["true", "false", "null", "NaN", "Infinity"].into_iter().find(|l| rest.starts_with(l));
                match literal {
                    Some(l) => self.pos += l.len(),
                    None => return Err(self.error("expected a JSON value")),
                }
                Kind::Scalar
            }
            None => return Err(self.error("unexpected end of text, expected a value")),
        };
        Ok(Node { start, end: self.pos, kind })
    }

    fn parse_object(&mut self, depth: usize) -> Result<Kind, EditError> {
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Kind::Object(members));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key_start = self.pos;
            self.parse_string()?;
            let key_end = self.pos;
            self.skip_ws();
            self.expect(b':', "expected `:` after an object key")?;
            self.skip_ws();
            let value = self.parse_value(depth + 1)?;
            members.push(Member { key_start, key_end, value });
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Kind::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}` in an object")),
            }
        }
    }

    fn parse_array(&mut self, depth: usize) -> Result<Kind, EditError> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Kind::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.parse_value(depth + 1)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Kind::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]` in an array")),
            }
        }
    }

    fn parse_string(&mut self) -> Result<(), EditError> {
        self.pos += 1; // opening quote
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                        Some(b'u') => {
                            self.pos += 1;
                            let hex = self.bytes.get(self.pos..self.pos + 4);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return Err(self.error("invalid \\u escape"));
                            }
                            self.pos += 4;
                        }
                        _ => return Err(self.error("invalid escape in string")),
                    }
                }
                Some(b) if b < 0x20 => return Err(self.error("control character in string")),
                Some(_) => self.pos += 1,
            }
        }
    }

    fn parse_number(&mut self) -> Result<(), EditError> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if self.text[self.pos..].starts_with("Infinity") {
                self.pos += "Infinity".len();
                return Ok(());
            }
        }
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - from
        };
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return Err(self.error("invalid number: no digits after `.`"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(self.error("invalid number: no digits in exponent"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Writes `v` the way Python's `json.dump(v, indent=..., ensure_ascii=False)` does (keys in
    /// the map's order), with `unit` as the indentation and `nl` as the line ending.
    fn dump(v: &Value, unit: &str, nl: &str) -> String {
        fn write(v: &Value, indent: &str, unit: &str, nl: &str, out: &mut String) {
            let inner = format!("{indent}{unit}");
            match v {
                Value::Array(a) if !a.is_empty() => {
                    out.push('[');
                    for (i, item) in a.iter().enumerate() {
                        out.push_str(if i > 0 { "," } else { "" });
                        out.push_str(nl);
                        out.push_str(&inner);
                        write(item, &inner, unit, nl, out);
                    }
                    out.push_str(&format!("{nl}{indent}]"));
                }
                Value::Object(m) if !m.is_empty() => {
                    out.push('{');
                    for (i, (k, item)) in m.iter().enumerate() {
                        out.push_str(if i > 0 { "," } else { "" });
                        out.push_str(nl);
                        out.push_str(&inner);
                        out.push_str(&serde_json::to_string(k).unwrap());
                        out.push_str(": ");
                        write(item, &inner, unit, nl, out);
                    }
                    out.push_str(&format!("{nl}{indent}}}"));
                }
                _ => out.push_str(&serde_json::to_string(v).unwrap()),
            }
        }
        let mut out = String::new();
        write(v, "", unit, nl, &mut out);
        out
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// A notebook whose cells have the given metadata (`None`: no metadata key).
    fn notebook(metadata: &[Option<Value>]) -> Value {
        let cells: Vec<Value> = metadata
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut cell = serde_json::Map::new();
                cell.insert("cell_type".into(), json!("code"));
                cell.insert("execution_count".into(), json!(null));
                cell.insert("id".into(), json!(format!("c{i}")));
                if let Some(m) = m {
                    cell.insert("metadata".into(), m.clone());
                }
                cell.insert("outputs".into(), json!([]));
                cell.insert("source".into(), json!(["x = \"é\\n\"\n", "print(x)  # ✓ \t"]));
                Value::Object(cell)
            })
            .collect();
        json!({
            "cells": cells,
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
            "nbformat": 4,
            "nbformat_minor": 5
        })
    }

    /// Checks that editing the notebook dumped in `unit`/`nl` style gives the expected
    /// notebook dumped in the same style, byte for byte.
    fn check(before: &[Option<Value>], edits: &[(usize, Vec<String>)], after: &[Option<Value>]) {
        for (unit, nl) in [(" ", "\n"), ("  ", "\n"), ("    ", "\n"), ("\t", "\n"), (" ", "\r\n"), ("  ", "\r\n")] {
            let raw = dump(&notebook(before), unit, nl) + nl;
            let expected = dump(&notebook(after), unit, nl) + nl;
            let got = set_cell_tags(&raw, edits).unwrap();
            assert_eq!(got, expected, "indent {unit:?}, newline {nl:?}");
        }
    }

    #[test]
    fn adds_tags_to_empty_metadata() {
        check(
            &[Some(json!({})), Some(json!({}))],
            &[(1, tags(&["step:x", "b"]))],
            &[Some(json!({})), Some(json!({"tags": ["step:x", "b"]}))],
        );
    }

    #[test]
    fn adds_tags_among_sorted_keys() {
        check(
            &[Some(json!({"collapsed": false, "vscode": {"languageId": "python", "empty": {}, "list": [1, []]}}))],
            &[(0, tags(&["a"]))],
            &[Some(
                json!({"collapsed": false, "tags": ["a"], "vscode": {"languageId": "python", "empty": {}, "list": [1, []]}}),
            )],
        );
        check(&[Some(json!({"a": 1}))], &[(0, tags(&["t"]))], &[Some(json!({"a": 1, "tags": ["t"]}))]);
        check(&[Some(json!({"zz": 1}))], &[(0, tags(&["t"]))], &[Some(json!({"tags": ["t"], "zz": 1}))]);
    }

    #[test]
    fn appends_tags_to_unsorted_keys() {
        check(
            &[Some(json!({"zeta": 1, "alpha": 2}))],
            &[(0, tags(&["t"]))],
            &[Some(json!({"zeta": 1, "alpha": 2, "tags": ["t"]}))],
        );
    }

    #[test]
    fn replaces_existing_tags() {
        check(
            &[Some(json!({"collapsed": true, "tags": ["old", "older"], "z": null})), Some(json!({"tags": []}))],
            &[(0, tags(&["new"])), (1, tags(&["n1", "n2"]))],
            &[Some(json!({"collapsed": true, "tags": ["new"], "z": null})), Some(json!({"tags": ["n1", "n2"]}))],
        );
    }

    #[test]
    fn removes_tags() {
        check(
            &[
                Some(json!({"tags": ["old"]})),
                Some(json!({"a": 1, "tags": ["old"]})),
                Some(json!({"tags": ["old"], "z": 1})),
                Some(json!({"a": 1, "tags": ["old"], "z": 1})),
            ],
            &[(0, vec![]), (1, vec![]), (2, vec![]), (3, vec![])],
            &[Some(json!({})), Some(json!({"a": 1})), Some(json!({"z": 1})), Some(json!({"a": 1, "z": 1}))],
        );
    }

    #[test]
    fn removing_absent_tags_changes_nothing() {
        let raw = dump(&notebook(&[Some(json!({})), None, Some(json!({"a": 1}))]), " ", "\n") + "\n";
        assert_eq!(set_cell_tags(&raw, &[(0, vec![]), (1, vec![]), (2, vec![])]).unwrap(), raw);
        assert_eq!(set_cell_tags(&raw, &[]).unwrap(), raw);
    }

    #[test]
    fn adds_missing_metadata_key() {
        // The cell keys are sorted: `metadata` goes between `id` and `outputs`.
        check(&[None], &[(0, tags(&["t"]))], &[Some(json!({"tags": ["t"]}))]);
        // Unsorted cell keys: appended.
        let raw = "{\n \"cells\": [\n  {\n   \"source\": \"x\",\n   \"cell_type\": \"code\"\n  }\n ]\n}";
        let got = set_cell_tags(raw, &[(0, tags(&["t"]))]).unwrap();
        assert_eq!(
            got,
            "{\n \"cells\": [\n  {\n   \"source\": \"x\",\n   \"cell_type\": \"code\",\n   \"metadata\": {\n    \"tags\": [\n     \"t\"\n    ]\n   }\n  }\n ]\n}"
        );
    }

    #[test]
    fn last_entry_for_a_cell_wins() {
        check(&[Some(json!({}))], &[(0, tags(&["a"])), (0, tags(&["b"]))], &[Some(json!({"tags": ["b"]}))]);
    }

    #[test]
    fn keeps_bom_and_missing_trailing_newline() {
        let raw = format!("\u{feff}{}", dump(&notebook(&[Some(json!({}))]), " ", "\n"));
        let expected = format!("\u{feff}{}", dump(&notebook(&[Some(json!({"tags": ["t"]}))]), " ", "\n"));
        assert_eq!(set_cell_tags(&raw, &[(0, tags(&["t"]))]).unwrap(), expected);
    }

    #[test]
    fn keeps_escapes_and_unicode_elsewhere() {
        let raw = concat!(
            "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {\n",
            "    \"note\": \"caf\\u00e9 \\/ \\ud83d\\ude00 é\"\n   },\n",
            "   \"source\": [\n    \"s = \\\"\\u00e9\\\" + '✓'\\n\",\n    \"t = 1.50E+3\\t\"\n   ]\n  }\n ],\n",
            " \"metadata\": {\"x\": \"\\u2028\"},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n"
        );
        let got = set_cell_tags(raw, &[(0, tags(&["é \"q\" \n"]))]).unwrap();
        let expected = concat!(
            "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {\n",
            "    \"note\": \"caf\\u00e9 \\/ \\ud83d\\ude00 é\",\n",
            "    \"tags\": [\n     \"é \\\"q\\\" \\n\"\n    ]\n   },\n",
            "   \"source\": [\n    \"s = \\\"\\u00e9\\\" + '✓'\\n\",\n    \"t = 1.50E+3\\t\"\n   ]\n  }\n ],\n",
            " \"metadata\": {\"x\": \"\\u2028\"},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n"
        );
        assert_eq!(got, expected);
        assert_eq!(set_cell_tags(&got, &[(0, vec![])]).unwrap(), raw);
        let parsed: Value = serde_json::from_str(&got).unwrap();
        assert_eq!(parsed["cells"][0]["metadata"]["tags"], json!(["é \"q\" \n"]));
    }

    #[test]
    fn one_line_metadata_in_an_indented_file_is_expanded() {
        let raw = "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {\"b\": [1, {\"c\": \"\\u00e9\"}], \"a\": 1.0e5},\n   \"source\": \"\"\n  }\n ]\n}\n";
        let got = set_cell_tags(raw, &[(0, tags(&["t"]))]).unwrap();
        assert_eq!(
            got,
            "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"metadata\": {\n    \"b\": [\n     1,\n     {\n      \"c\": \"\\u00e9\"\n     }\n    ],\n    \"a\": 1.0e5,\n    \"tags\": [\n     \"t\"\n    ]\n   },\n   \"source\": \"\"\n  }\n ]\n}\n"
        );
    }

    #[test]
    fn compact_files_stay_compact() {
        // serde_json::to_string style.
        let nb =
            notebook(&[Some(json!({})), Some(json!({"a": 1, "z": 2})), Some(json!({"tags": ["x"], "z": 2})), None]);
        let raw = serde_json::to_string(&nb).unwrap();
        let got =
            set_cell_tags(&raw, &[(0, tags(&["t"])), (1, tags(&["t", "u"])), (2, vec![]), (3, tags(&["m"]))]).unwrap();
        let expected = notebook(&[
            Some(json!({"tags": ["t"]})),
            Some(json!({"a": 1, "tags": ["t", "u"], "z": 2})),
            Some(json!({"z": 2})),
            Some(json!({"tags": ["m"]})),
        ]);
        assert_eq!(got, serde_json::to_string(&expected).unwrap());

        // Python json.dumps(nb) style: ", " and ": ".
        let raw = r#"{"cells": [{"cell_type": "code", "metadata": {"a": 1}, "source": "x"}, {"cell_type": "code", "source": "y"}], "nbformat": 4}"#;
        let got = set_cell_tags(raw, &[(0, tags(&["t", "u"])), (1, tags(&["v"]))]).unwrap();
        assert_eq!(
            got,
            r#"{"cells": [{"cell_type": "code", "metadata": {"a": 1, "tags": ["t", "u"]}, "source": "x"}, {"cell_type": "code", "metadata": {"tags": ["v"]}, "source": "y"}], "nbformat": 4}"#
        );
        let back = set_cell_tags(&got, &[(0, vec![])]).unwrap();
        assert!(back.starts_with(r#"{"cells": [{"cell_type": "code", "metadata": {"a": 1}, "source": "x"}, "#));
    }

    #[test]
    fn round_trips() {
        for unit in [" ", "  ", "    ", "\t"] {
            for nl in ["\n", "\r\n"] {
                let raw = dump(
                    &notebook(&[
                        Some(json!({})),
                        Some(json!({"a": 1, "tags": ["p", "q"]})),
                        Some(json!({"b": {"c": [2]}})),
                    ]),
                    unit,
                    nl,
                ) + nl;
                let edited = set_cell_tags(&raw, &[(0, tags(&["x"])), (1, tags(&["y"])), (2, tags(&["z"]))]).unwrap();
                if nl == "\r\n" {
                    assert!(!edited.replace("\r\n", "").contains('\n'), "CRLF kept");
                }
                let back = set_cell_tags(&edited, &[(0, vec![]), (1, tags(&["p", "q"])), (2, vec![])]).unwrap();
                assert_eq!(back, raw);
            }
        }
    }

    #[test]
    fn errors() {
        assert!(matches!(set_cell_tags("{\"cells\": [", &[]), Err(EditError::Syntax { .. })));
        assert!(matches!(set_cell_tags("{\"cells\": []} x", &[]), Err(EditError::Syntax { .. })));
        assert!(matches!(set_cell_tags("{\"cells\": [01]}", &[]), Err(EditError::Syntax { .. })));
        assert!(matches!(set_cell_tags("{\"cells\": [\"a\\x\"]}", &[]), Err(EditError::Syntax { .. })));
        assert!(matches!(set_cell_tags("{\"cells\": [\"a\tb\"]}", &[]), Err(EditError::Syntax { .. })));
        assert!(matches!(set_cell_tags("", &[]), Err(EditError::Syntax { .. })));
        match set_cell_tags("{\n \"cells\": [\n  {,\n ]\n}", &[]) {
            Err(EditError::Syntax { line, column, .. }) => assert_eq!((line, column), (3, 4)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(set_cell_tags("[1]", &[]), Err(EditError::NotAnObject)));
        assert!(matches!(set_cell_tags("{\"worksheets\": []}", &[]), Err(EditError::NoCells)));
        assert!(matches!(set_cell_tags("{\"cells\": {}}", &[]), Err(EditError::NoCells)));
        let raw = dump(&notebook(&[Some(json!({}))]), " ", "\n");
        assert!(matches!(
            set_cell_tags(&raw, &[(1, tags(&["t"]))]),
            Err(EditError::CellOutOfRange { index: 1, count: 1 })
        ));
        assert!(matches!(
            set_cell_tags("{\"cells\": [1]}", &[(0, vec![])]),
            Err(EditError::CellNotObject { index: 0 })
        ));
        assert!(matches!(
            set_cell_tags("{\"cells\": [{\"metadata\": []}]}", &[(0, tags(&["t"]))]),
            Err(EditError::MetadataNotObject { index: 0 })
        ));
        // Python's NaN / Infinity are accepted as found.
        let got =
            set_cell_tags("{\"cells\": [{\"metadata\": {}, \"x\": [NaN, -Infinity]}]}", &[(0, tags(&["t"]))]).unwrap();
        assert_eq!(got, "{\"cells\": [{\"metadata\": {\"tags\": [\"t\"]}, \"x\": [NaN, -Infinity]}]}");
    }

    // ---- the shared corpus of real notebooks -------------------------------------------

    fn corpus_dir() -> std::path::PathBuf {
        let shared =
            std::env::var("NBKF_SHARED").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../shared").into());
        std::path::Path::new(&shared).join("corpus")
    }

    /// Line range (0-based, inclusive) of cell `index`'s metadata member in `raw`, or of the
    /// whole cell when it has none.
    fn metadata_lines(raw: &str, index: usize) -> (usize, usize) {
        let start = if raw.starts_with('\u{feff}') { 3 } else { 0 };
        let root = Parser::new(raw, start).parse_document().unwrap();
        let Kind::Object(top) = &root.kind else { panic!() };
        let cells = top.iter().find(|m| key_is(raw, m, "cells")).unwrap();
        let Kind::Array(cells) = &cells.value.kind else { panic!() };
        let cell = &cells[index];
        let Kind::Object(members) = &cell.kind else { panic!() };
        let (from, to) = match members.iter().find(|m| key_is(raw, m, "metadata")) {
            Some(m) => (m.key_start, m.value.end),
            None => (cell.start, cell.end),
        };
        let line = |pos: usize| raw[..pos].matches('\n').count();
        (line(from), line(to))
    }

    /// The original lines (0-based, inclusive range) that differ between `a` and `b`, found
    /// from their common first and last lines; `None` when equal.
    fn changed_lines(a: &str, b: &str) -> Option<(usize, usize)> {
        let a: Vec<&str> = a.split('\n').collect();
        let b: Vec<&str> = b.split('\n').collect();
        let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        if prefix == a.len() && a.len() == b.len() {
            return None;
        }
        let max_suffix = a.len().min(b.len()) - prefix;
        let suffix = a.iter().rev().zip(b.iter().rev()).take(max_suffix).take_while(|(x, y)| x == y).count();
        Some((prefix, (a.len() - suffix).max(prefix + 1) - 1))
    }

    fn tags_of(cell: &Value) -> Option<&Value> {
        cell.get("metadata").and_then(|m| m.get("tags"))
    }

    #[test]
    fn corpus_notebooks_change_only_their_tags() {
        let dir = corpus_dir();
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ipynb"))
            .collect();
        paths.sort();
        assert!(paths.len() >= 40, "expected the shared corpus in {}", dir.display());
        let (mut round_tripped, mut jupyter_style) = (0, 0);
        let mut skipped = Vec::new();
        for path in &paths {
            let name = path.file_name().unwrap().to_string_lossy();
            let raw = std::fs::read_to_string(path).unwrap();
            let original: Value = serde_json::from_str(raw.trim_start_matches('\u{feff}')).unwrap();
            let cells = original["cells"].as_array().unwrap();
            let Some(code) = cells.iter().position(|c| c["cell_type"] == "code") else { continue };
            let tagged = cells
                .iter()
                .enumerate()
                .position(|(i, c)| i != code && tags_of(c).and_then(Value::as_array).is_some_and(|t| !t.is_empty()));
            let mut edits = vec![(code, tags(&["step:x"]))];
            edits.extend(tagged.map(|i| (i, vec![])));

            let edited = set_cell_tags(&raw, &edits).unwrap_or_else(|e| panic!("{name}: {e}"));
            // (1) still JSON, (2) only those tags changed.
            let parsed: Value = serde_json::from_str(edited.trim_start_matches('\u{feff}'))
                .unwrap_or_else(|e| panic!("{name}: edited text is not JSON: {e}"));
            let mut expected = original.clone();
            let meta = &mut expected["cells"][code]["metadata"];
            if meta.is_null() {
                *meta = json!({});
            }
            meta.as_object_mut().unwrap().insert("tags".into(), json!(["step:x"]));
            if let Some(i) = tagged {
                expected["cells"][i]["metadata"].as_object_mut().unwrap().remove("tags");
            }
            assert_eq!(parsed, expected, "{name}");
            assert_eq!(raw.starts_with('\u{feff}'), edited.starts_with('\u{feff}'), "{name}: BOM");
            assert_eq!(raw.ends_with('\n'), edited.ends_with('\n'), "{name}: trailing newline");

            // (3) each edit alone changes only lines of that cell's metadata, and the combined
            // edit is the same as the edits one after the other.
            let mut sequential = raw.clone();
            for (index, new) in &edits {
                let one = set_cell_tags(&raw, &[(*index, new.clone())]).unwrap();
                let (from, to) = changed_lines(&raw, &one).unwrap_or_else(|| panic!("{name}: cell {index} unchanged"));
                let (meta_from, meta_to) = metadata_lines(&raw, *index);
                assert!(
                    meta_from <= from && to <= meta_to,
                    "{name}: cell {index}: lines {from}..={to} changed, outside metadata lines {meta_from}..={meta_to}"
                );
                sequential = set_cell_tags(&sequential, &[(*index, new.clone())]).unwrap();
            }
            assert_eq!(sequential, edited, "{name}: combined vs sequential edits");

            // (4) setting the original tags back restores the file, when the metadata was
            // written in the style we write (`{}` or one key per line) and had no `"tags": []`.
            // (An empty `"tags": []` cannot come back: an empty list removes the key.)
            let empty_tags = edits.iter().any(|(i, _)| tags_of(&cells[*i]).is_some_and(|t| t == &json!([])));
            let restorable = !empty_tags
                && edits.iter().all(|(i, _)| {
                    let (from, to) = metadata_lines(&raw, *i);
                    cells[*i].get("metadata").is_some_and(|m| m == &json!({}) || from < to)
                });
            let back: Vec<(usize, Vec<String>)> = edits
                .iter()
                .map(|(i, _)| {
                    let old = tags_of(&cells[*i])
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect::<Vec<_>>());
                    (*i, old.unwrap_or_default())
                })
                .collect();
            let restored = set_cell_tags(&edited, &back).unwrap();
            let jupyter = raw.starts_with("{\n \"cells\": [\n  {\n   \"");
            if jupyter {
                jupyter_style += 1;
            }
            if restorable {
                assert!(restored == raw, "{name}: restoring the tags does not give the original text back");
                round_tripped += 1;
            } else {
                assert!(!jupyter || empty_tags, "{name}: a Jupyter-written notebook must round-trip");
                assert!(serde_json::from_str::<Value>(restored.trim_start_matches('\u{feff}')).is_ok(), "{name}");
                skipped.push(name.to_string());
            }

            // Every cell at once: tag all of them, then set the old tags back.
            let all: Vec<(usize, Vec<String>)> =
                (0..cells.len()).map(|i| (i, tags(&["step:x", &format!("n{i}")]))).collect();
            let tagged_all = set_cell_tags(&raw, &all).unwrap();
            let parsed: Value = serde_json::from_str(tagged_all.trim_start_matches('\u{feff}')).unwrap();
            for (i, cell) in parsed["cells"].as_array().unwrap().iter().enumerate() {
                assert_eq!(tags_of(cell), Some(&json!(["step:x", format!("n{i}")])), "{name}");
            }
            let olds: Vec<(usize, Vec<String>)> = cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let old = tags_of(c)
                        .and_then(Value::as_array)
                        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect());
                    (i, old.unwrap_or_default())
                })
                .collect();
            let back_all = set_cell_tags(&tagged_all, &olds).unwrap();
            if jupyter && !raw.contains("\"tags\": []") {
                assert!(back_all == raw, "{name}: tagging every cell and back does not restore the text");
            } else {
                let parsed: Value = serde_json::from_str(back_all.trim_start_matches('\u{feff}')).unwrap();
                let mut expected = original.clone();
                for cell in expected["cells"].as_array_mut().unwrap() {
                    if let Some(m) = cell.get_mut("metadata").and_then(Value::as_object_mut) {
                        if m.get("tags") == Some(&json!([])) {
                            m.remove("tags");
                        }
                    }
                }
                assert_eq!(parsed, expected, "{name}: tagging every cell and back");
            }
        }
        eprintln!(
            "{} notebooks, {jupyter_style} Jupyter style, {round_tripped} round-tripped byte for byte; not: {skipped:?}",
            paths.len()
        );
        assert!(jupyter_style >= 40 && round_tripped >= 30);
    }
}
