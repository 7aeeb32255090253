//! Server text made safe to print: control characters shown as visible escapes, long messages cut.
//!
//! A terminal acts on control characters (ESC starts sequences that set the window title, clear
//! the screen or write the clipboard; CR and BS overwrite what is shown), so none that came from a
//! server reaches stdout or stderr as is. Each control character (C0 U+0000..=U+001F, DEL U+007F,
//! C1 U+0080..=U+009F) is written as Rust's `\u{..}` escape in lowercase hex: ESC is `\u{1b}`,
//! BEL `\u{7}`, U+009B `\u{9b}`. Every other character, `é`, `日本` or an emoji, is kept. A
//! backslash is kept too, so the escapes are for reading, not for decoding: the JSON formats are
//! the exact ones.

use std::borrow::Cow;
use std::fmt::Write as _;

/// The most characters of one server message (an error, a detail's field or message) printed;
/// the rest is cut, and a marker says how much.
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// Whether a terminal may act on `c`: a C0 control, DEL or a C1 control.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// `text` with every control character written as a visible `\u{..}` escape.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    escape_controls_except(text, &[])
}

/// `text` with every control character but those in `keep` written as a visible `\u{..}` escape
/// (CSV keeps line feeds and tabs: they are data there, and quoted).
pub fn escape_controls_except<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    let escaped = |c: char| is_control(c) && !keep.contains(&c);
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if escaped(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` cut to its first `max_chars` characters, followed by a marker saying how many were
/// cut; `text` itself when it is not longer.
pub fn cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    let Some((end, _)) = text.char_indices().nth(max_chars) else {
        return Cow::Borrowed(text);
    };
    let rest = text[end..].chars().count();
    Cow::Owned(format!("{}… [{rest} more character(s) cut]", &text[..end]))
}

/// JSON text as serde_json wrote it, with DEL and the C1 controls also written as `\u00xx`
/// escapes (serde_json escapes U+0000..=U+001F in strings, and nothing else): the same JSON value,
/// and nothing a terminal acts on. Outside its strings JSON text is ASCII (C0 only as whitespace),
/// so every DEL or C1 character is inside a string, where the escape stands for the character.
pub fn escape_json_controls(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| matches!(c, '\u{7f}'..='\u{9f}');
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if escaped(c) {
            // Writing to a String cannot fail.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether color may be used on a stream: only on a terminal, and never when `NO_COLOR` is set
/// to anything but the empty string (<https://no-color.org>). Only `-v`'s log lines have color.
pub fn color_allowed(is_terminal: bool) -> bool {
    color_allowed_with(is_terminal, std::env::var_os("NO_COLOR").as_deref())
}

/// [`color_allowed`] with the value of `NO_COLOR` given.
fn color_allowed_with(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// A server message as printed: cut to [`MAX_MESSAGE_CHARS`], then its control characters
/// escaped.
pub fn server_message(text: &str) -> String {
    escape_controls(&cut(text, MAX_MESSAGE_CHARS)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_control_class_is_escaped_visibly() {
        assert_eq!(
            escape_controls("\u{0}a\u{1b}]0;pwned\u{7}"),
            "\\u{0}a\\u{1b}]0;pwned\\u{7}"
        );
        assert_eq!(
            escape_controls("\u{1f}\u{7f}\u{80}\u{9b}\u{9f}"),
            "\\u{1f}\\u{7f}\\u{80}\\u{9b}\\u{9f}"
        );
        assert_eq!(
            escape_controls("a\tb\nc\rd\u{8}"),
            "a\\u{9}b\\u{a}c\\u{d}d\\u{8}"
        );
        for code in (0..=0x1f).chain(0x7f..=0x9f) {
            let c = char::from_u32(code).unwrap();
            let escaped = escape_controls(&c.to_string()).into_owned();
            assert!(!escaped.chars().any(is_control), "{code:#x}: {escaped:?}");
            assert_eq!(escaped, format!("\\u{{{code:x}}}"));
        }
    }

    #[test]
    fn color_only_on_a_terminal_and_never_with_no_color_set() {
        use std::ffi::OsStr;
        assert!(color_allowed_with(true, None));
        assert!(color_allowed_with(true, Some(OsStr::new(""))));
        assert!(!color_allowed_with(true, Some(OsStr::new("1"))));
        assert!(!color_allowed_with(false, None));
    }

    #[test]
    fn ordinary_text_and_unicode_are_kept_as_is() {
        for text in [
            "plain",
            "café é",
            "日本語",
            "🦀 ok 👍🏽",
            "\u{a0}nbsp \u{a0}",
            "back\\slash",
            "",
        ] {
            assert!(
                matches!(escape_controls(text), Cow::Borrowed(t) if t == text),
                "{text}"
            );
        }
        // The first character past the C1 block, and the last before it.
        assert!(!is_control('\u{a0}') && !is_control('~'));
    }

    #[test]
    fn kept_controls_pass_and_the_others_do_not() {
        assert_eq!(
            escape_controls_except("a\nb\tc\rd\u{1b}", &['\n', '\t']),
            "a\nb\tc\\u{d}d\\u{1b}"
        );
    }

    #[test]
    fn json_keeps_its_value_with_del_and_c1_escaped_too() {
        let value = serde_json::json!({"k\u{9b}": "\u{1b}]0;pwned\u{7}\u{7f}\u{85}é日本🦀"});
        let json = serde_json::to_string_pretty(&value).unwrap();
        let safe = escape_json_controls(&json);
        assert!(!safe.chars().any(|c| is_control(c) && c != '\n'), "{safe}");
        assert!(
            safe.contains("\\u009b") && safe.contains("\\u007f\\u0085é日本🦀"),
            "{safe}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&safe).unwrap(),
            value
        );
        assert!(matches!(
            escape_json_controls("{\"a\":\"é\"}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_long_message_is_cut_with_a_marker_saying_how_much() {
        let long = "é".repeat(MAX_MESSAGE_CHARS + 234);
        let printed = server_message(&long);
        assert!(printed.starts_with(&"é".repeat(MAX_MESSAGE_CHARS)));
        assert!(
            printed.ends_with("… [234 more character(s) cut]"),
            "{printed}"
        );
        assert_eq!(cut("short", 5), "short");
        assert_eq!(cut("shorter", 5), "short… [2 more character(s) cut]");
        assert_eq!(cut("日本語", 2), "日本… [1 more character(s) cut]");
    }

    #[test]
    fn a_message_is_cut_before_it_is_escaped_so_no_escape_is_split() {
        let text = format!("{}\u{1b}[2J", "x".repeat(MAX_MESSAGE_CHARS - 1));
        let printed = server_message(&text);
        assert!(
            printed.contains("x\\u{1b}… [3 more character(s) cut]"),
            "{printed}"
        );
        assert!(!printed.chars().any(is_control));
    }
}
