//! Text as the drawings need it: an estimate of how wide a string is drawn (SVG has no
//! way to ask, and nbkf ships no font), shortening to a width with `…`, and the characters
//! no output format may carry.

use unicode_width::UnicodeWidthChar;

/// A font the drawing uses: its size in pixels and whether it is bold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
}

impl Font {
    /// The estimated width of `text` in pixels, in a common sans-serif face (Arial,
    /// Helvetica, Roboto, Segoe UI all come close). Rather too wide than too narrow: text
    /// that is estimated short would spill out of its box.
    pub fn width(self, text: &str) -> f64 {
        let ems: f64 = text.chars().map(em_width).sum();
        ems * self.size * if self.bold { 1.08 } else { 1.0 }
    }

    /// `text` as drawn within `max` pixels: whole, or cut and ended with `…`.
    pub fn truncate(self, text: &str, max: f64) -> String {
        if self.width(text) <= max {
            return text.to_string();
        }
        let room = max - self.width("…");
        let mut out = String::new();
        let mut used = 0.0;
        for c in text.chars() {
            let w = self.width(c.encode_utf8(&mut [0; 4]));
            if used + w > room {
                break;
            }
            used += w;
            out.push(c);
        }
        // A cut right after a space or a comma reads as an unfinished list: drop them.
        let kept = out.trim_end_matches([' ', ',']).len();
        out.truncate(kept);
        out.push('…');
        out
    }
}

/// The advance of one character in ems, after the widths of Arial (rounded up a little).
fn em_width(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' | 'I' => 0.28,
        'f' | 't' | 'r' | ' ' | '(' | ')' | '[' | ']' | '{' | '}' | '-' | '/' | '\\' | '`' | '"' => 0.36,
        'm' | 'w' | 'M' | 'W' | '@' | '%' => 0.9,
        'A'..='Z' | '&' => 0.7,
        '0'..='9' => 0.56,
        c if c.is_ascii() => 0.58,
        // Wide (CJK, most emoji) takes a full em; combining marks take none.
        c => match c.width() {
            Some(0) => 0.0,
            Some(2) => 1.0,
            _ => 0.62,
        },
    }
}

/// `text` without the characters that no drawing may hold: XML 1.0 forbids most control
/// characters even as references, and DOT and Mermaid would take a line break as the end
/// of a statement. Each becomes `�`; tabs and line breaks become spaces.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Words joined by `, ` into lines of at most about `width` characters (a word longer
/// than that gets a line of its own), for the text formats whose renderers size labels
/// themselves.
pub fn wrap_list(words: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for (i, word) in words.iter().enumerate() {
        let piece = if i + 1 < words.len() { format!("{word},") } else { word.clone() };
        if !line.is_empty() && line.chars().count() + 1 + piece.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&piece);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: Font = Font { size: 10.0, bold: false };

    #[test]
    fn wide_characters_count_double_and_combining_marks_nothing() {
        assert!(FONT.width("数据") > FONT.width("ab"));
        assert_eq!(FONT.width("e\u{301}"), FONT.width("e"));
        assert!(Font { size: 10.0, bold: true }.width("abc") > FONT.width("abc"));
    }

    #[test]
    fn truncation_keeps_within_the_width_and_marks_the_cut() {
        let text = "alpha, beta, gamma, delta, epsilon";
        assert_eq!(FONT.truncate(text, 1000.0), text);
        let short = FONT.truncate(text, 60.0);
        assert!(short.ends_with('…') && FONT.width(&short) <= 60.0, "{short}");
        assert!(!short.contains(",…") && !short.contains(" …"), "{short}");
        assert_eq!(FONT.truncate("数据数据数据", 25.0), "数…");
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(printable("a\u{0}b\nc\u{7}\u{FFFF}"), "a\u{FFFD}b c\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn lists_wrap_between_words() {
        let words: Vec<String> = ["alpha", "beta", "gamma", "a_very_long_variable_name"].map(String::from).into();
        assert_eq!(wrap_list(&words, 12), ["alpha, beta,", "gamma,", "a_very_long_variable_name"]);
        assert!(wrap_list(&[], 10).is_empty());
    }
}
