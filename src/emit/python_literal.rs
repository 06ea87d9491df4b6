//! Python string literals for generated code. Every user string (cell code, names,
//! parameter values) reaches generated Python only through [`string`], never by pasting.

/// A Python `str` literal with exactly the value of `s`.
///
/// Multi-line text becomes a readable triple-quoted literal (`"""\` + the lines + `"""`).
/// Escaped: backslashes, quotes where they would end the literal, every control character
/// but newline and tab, and `{{` (written `{\x7b`), because KFP backends substitute
/// `{{$...}}` placeholders anywhere in a container's command.
pub fn string(s: &str) -> String {
    let multiline = s.contains('\n');
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(if multiline { "\"\"\"\\\n" } else { "\"" });
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' if !multiline => out.push_str("\\\""),
            // In a triple-quoted literal a quote only needs escaping where it could close it.
            '"' if matches!(chars.peek(), None | Some('"')) => out.push_str("\\\""),
            '\n' if multiline => out.push('\n'),
            '\n' => out.push_str("\\n"),
            '\t' if multiline => out.push('\t'),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '{' if out.ends_with('{') => out.push_str("\\x7b"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            // Unicode line and paragraph separators are fine for Python but confuse editors.
            '\u{2028}' | '\u{2029}' | '\u{85}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push_str(if multiline { "\"\"\"" } else { "\"" });
    out
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn escapes() {
        assert_eq!(string("it's \"x\""), r#""it's \"x\"""#);
        assert_eq!(string("a\\b"), r#""a\\b""#);
        assert_eq!(string("{{$}}"), r#""{\x7b$}}""#);
        assert_eq!(string("{{{{"), r#""{\x7b{\x7b""#);
        assert_eq!(string("nul\0"), r#""nul\x00""#);
        assert_eq!(string("tab\t"), r#""tab\t""#);
        assert_eq!(string("x = 1\ny = \"\"\"\"\n"), "\"\"\"\\\nx = 1\ny = \\\"\\\"\\\"\"\n\"\"\"");
        assert_eq!(string("end\""), "\"end\\\"\"");
    }
}
