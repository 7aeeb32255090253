//! The text table for people: columns sized by display width (a CJK character or an emoji takes
//! two columns), long cells cut with `…`, the whole table fitted to the terminal's width.
//!
//! The width is `COLUMNS` when set to a number, else the terminal's when stdout is one, else
//! none (a pipe or a file: each cell is still cut at [`MAX_CELL`] columns). No color is used.

use std::io::{self, IsTerminal as _, Write};

use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// The most columns one cell takes.
pub const MAX_CELL: usize = 40;
/// The fewest columns a column is shrunk to when the table is wider than the terminal (a
/// table with many columns may still be wider: the terminal then wraps its lines).
pub const MIN_CELL: usize = 6;
/// Gap between columns.
const GAP: &str = "  ";
/// The widest width taken from `COLUMNS` or the terminal.
const MAX_WIDTH: usize = 10_000;

/// The width to fit tables to: `COLUMNS` when set to a number, else the terminal's when stdout
/// is one, else none.
pub fn target_width() -> Option<usize> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(columns.min(MAX_WIDTH));
    }
    if !io::stdout().is_terminal() {
        return None;
    }
    terminal_size::terminal_size()
        .map(|(terminal_size::Width(w), _)| usize::from(w).min(MAX_WIDTH))
        .filter(|w| *w > 0)
}

/// Writes `headers` and `rows` (cells already made printable: no control characters) as an
/// aligned table no wider than `width` when the columns fit at [`MIN_CELL`] each.
pub fn write<W: Write>(
    out: &mut W,
    headers: &[String],
    rows: &[Vec<String>],
    width: Option<usize>,
) -> io::Result<()> {
    let mut widths: Vec<usize> = headers
        .iter()
        .enumerate()
        .map(|(i, header)| {
            rows.iter()
                .map(|row| row.get(i).map_or(0, |cell| cell.width()))
                .chain([header.width()])
                .max()
                .unwrap_or(0)
                .min(MAX_CELL)
        })
        .collect();
    if let Some(width) = width {
        fit(&mut widths, width);
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let mut line = String::new();
        for (i, (text, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                line.push_str(GAP);
            }
            let text = cut(text, *width);
            let pad = width.saturating_sub(text.width());
            line.push_str(&text);
            line.extend(std::iter::repeat_n(' ', pad));
        }
        line.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&mut headers.iter().map(String::as_str)))?;
    let rules: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    writeln!(out, "{}", line(&mut rules.iter().map(String::as_str)))?;
    for row in rows {
        writeln!(out, "{}", line(&mut row.iter().map(String::as_str)))?;
    }
    Ok(())
}

/// Shrinks the widest columns, one column at a time, until the table fits `width` or every
/// column is down to [`MIN_CELL`] (a column already narrower keeps its width).
fn fit(widths: &mut [usize], width: usize) {
    let gaps = GAP.len() * widths.len().saturating_sub(1);
    let mut total: usize = widths.iter().sum::<usize>() + gaps;
    while total > width {
        let Some((widest, w)) = widths
            .iter()
            .copied()
            .enumerate()
            .max_by_key(|(i, w)| (*w, std::cmp::Reverse(*i)))
        else {
            return;
        };
        if w <= MIN_CELL {
            return;
        }
        widths[widest] = w - 1;
        total -= 1;
    }
}

/// `text` cut to `width` display columns, its last one `…` when cut.
pub fn cut(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(c);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(headers: &[&str], rows: &[&[&str]], width: Option<usize>) -> String {
        let headers: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
        let rows: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let mut out = Vec::new();
        write(&mut out, &headers, &rows, width).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn wide_characters_are_aligned_by_display_width() {
        let text = render(&["id", "name"], &[&["1", "日本語"], &["2", "abc"]], None);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "id  name");
        assert_eq!(lines[1], "--  ------");
        assert_eq!(lines[2], "1   日本語");
        assert_eq!(lines[3], "2   abc");
        let text = render(&["e", "x"], &[&["🦀", "1"], &["ab", "2"]], None);
        assert_eq!(text.lines().nth(2), Some("🦀  1"));
        assert_eq!(text.lines().nth(3), Some("ab  2"));
    }

    #[test]
    fn cells_are_cut_with_an_ellipsis_by_display_width() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
        assert_eq!(cut("日本語です", 6), "日本…");
        assert_eq!(cut("日本語です", 5), "日本…");
        assert_eq!(cut("x", 0), "");
        let long = "x".repeat(100);
        let text = render(&["id", "v"], &[&["1", &long]], None);
        let last = text.lines().nth(2).unwrap();
        assert_eq!(last.width(), "id  ".len() + MAX_CELL, "{last}");
        assert!(last.ends_with('…'));
    }

    #[test]
    fn a_table_is_fitted_to_the_width_by_shrinking_the_widest_columns() {
        let a = "a".repeat(30);
        let b = "b".repeat(20);
        let text = render(&["id", "a", "b"], &[&["1", &a, &b]], Some(40));
        for line in text.lines() {
            assert!(line.width() <= 40, "{line:?}");
        }
        let row = text.lines().nth(2).unwrap();
        assert!(row.contains('…') && row.starts_with("1   "), "{row}");
        // Nothing to shrink below MIN_CELL: the lines are then wider than asked.
        let text = render(&["a", "b", "c"], &[&[&a, &a, &a]], Some(5));
        assert_eq!(text.lines().nth(2).unwrap().width(), 3 * MIN_CELL + 4);
        // A table that fits is unchanged.
        assert_eq!(
            render(&["id"], &[&["1"]], Some(80)),
            render(&["id"], &[&["1"]], None)
        );
    }
}
