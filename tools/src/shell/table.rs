//! Lays out formatted rows the way cqlsh prints them: a left-justified header, a
//! `---+---` rule, right-justified cells, then `(N rows)`; or, with `EXPAND ON`,
//! one `@ Row n` block per row.
//!
//! Works on already formatted cell text (see `format.rs`); knows nothing of the
//! driver or the terminal. `tty` selects cqlsh's interactive spacing: a blank line
//! after every page, and no extra blank line before the row count.
use super::format::display_width;

/// How a result is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub expand: bool,
    pub tty: bool,
}

/// Text printed before the first page of a result.
pub const RESULT_START: &str = "\n";

/// One page of a result, as cqlsh's `print_static_result` prints it. `first_row` is
/// the number of rows printed by earlier pages (for `@ Row n`). The header is
/// printed on the first page, and on every page when interactive.
pub fn page(columns: &[String], rows: &[Vec<String>], style: Style, is_first: bool, first_row: usize) -> String {
    if columns.is_empty() {
        return String::new();
    }
    if rows.is_empty() {
        return horizontal(columns, None, true, style.tty);
    }
    if style.expand {
        vertical(columns, rows, first_row)
    } else {
        horizontal(columns, Some(rows), is_first || style.tty, style.tty)
    }
}

/// Text printed after the last page: the row count.
pub fn result_end(total_rows: usize, style: Style) -> String {
    let gap = if style.tty { "" } else { "\n" };
    format!("{gap}({total_rows} rows)\n\n")
}

/// A whole single-page result: start, page, row count.
pub fn result(columns: &[String], rows: &[Vec<String>], style: Style) -> String {
    let mut out = String::from(RESULT_START);
    out.push_str(&page(columns, rows, style, true, 0));
    out.push_str(&result_end(rows.len(), style));
    out
}

/// `rows: None` prints only the header, as cqlsh does for an empty result.
pub fn horizontal(columns: &[String], rows: Option<&[Vec<String>]>, with_header: bool, tty: bool) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|c| display_width(c)).collect();
    for row in rows.unwrap_or_default() {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(display_width(cell));
        }
    }

    let mut out = String::new();
    if with_header {
        let header: Vec<String> = columns.iter().zip(&widths).map(|(c, w)| ljust(c, *w)).collect();
        out.push(' ');
        out.push_str(header.join(" | ").trim_end());
        out.push('\n');
        out.push_str(&rule(&widths));
    }
    let Some(rows) = rows else {
        out.push('\n');
        return out;
    };
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| rjust(c, *w)).collect();
        out.push(' ');
        out.push_str(&cells.join(" | "));
        out.push('\n');
    }
    if tty {
        out.push('\n');
    }
    out
}

/// cqlsh's `EXPAND ON` layout: every row as a block of `column | value` lines.
pub fn vertical(columns: &[String], rows: &[Vec<String>], first_row: usize) -> String {
    let name_width = columns.iter().map(|c| display_width(c)).max().unwrap_or(0);
    let value_width = rows.iter().flatten().map(|v| display_width(v)).max().unwrap_or(0);
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&format!("@ Row {}\n", first_row + i + 1));
        out.push_str(&rule(&[name_width, value_width]));
        for (name, value) in columns.iter().zip(row) {
            out.push_str(&format!(" {} | {}\n", ljust(name, name_width), ljust(value, value_width)));
        }
        out.push('\n');
    }
    out
}

fn rule(widths: &[usize]) -> String {
    let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    format!("-{}-\n", dashes.join("-+-"))
}

fn ljust(s: &str, width: usize) -> String {
    format!("{s}{}", " ".repeat(width.saturating_sub(display_width(s))))
}

fn rjust(s: &str, width: usize) -> String {
    format!("{}{s}", " ".repeat(width.saturating_sub(display_width(s))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const SCRIPT: Style = Style { expand: false, tty: false };
    const INTERACTIVE: Style = Style { expand: false, tty: true };

    #[test]
    fn cells_are_right_justified_under_a_left_justified_header() {
        let columns = strings(&["k", "value"]);
        let rows = vec![strings(&["1", "one"]), strings(&["22", "three"])];
        let expected = "\n k  | value\n----+-------\n  1 |   one\n 22 | three\n\n(2 rows)\n\n";
        assert_eq!(result(&columns, &rows, INTERACTIVE), expected);
    }

    #[test]
    fn header_wider_than_values_sets_the_width() {
        let columns = strings(&["name", "v"]);
        let rows = vec![strings(&["a", "xyz"])];
        let expected = "\n name | v\n------+-----\n    a | xyz\n\n(1 rows)\n\n";
        assert_eq!(result(&columns, &rows, SCRIPT), expected);
    }

    #[test]
    fn empty_result_prints_header_and_zero_rows() {
        let columns = strings(&["k", "v"]);
        assert_eq!(result(&columns, &[], INTERACTIVE), "\n k | v\n---+---\n\n(0 rows)\n\n");
        assert_eq!(result(&columns, &[], SCRIPT), "\n k | v\n---+---\n\n\n(0 rows)\n\n");
    }

    #[test]
    fn later_pages_repeat_the_header_only_when_interactive() {
        let columns = strings(&["k"]);
        let rows = vec![strings(&["7"])];
        assert_eq!(page(&columns, &rows, SCRIPT, false, 1), " 7\n");
        assert_eq!(page(&columns, &rows, INTERACTIVE, false, 1), " k\n---\n 7\n\n");
    }

    #[test]
    fn expanded_rows_are_numbered_blocks() {
        let columns = strings(&["k", "value"]);
        let rows = vec![strings(&["1", "one"]), strings(&["2", "three"])];
        let style = Style { expand: true, tty: true };
        // The value column is as wide as the widest value of the page ("three").
        let got = result(&columns, &rows, style);
        let want = concat!(
            "\n",
            "@ Row 1\n",
            "-------+-------\n",
            " k     | 1    \n",
            " value | one  \n",
            "\n",
            "@ Row 2\n",
            "-------+-------\n",
            " k     | 2    \n",
            " value | three\n",
            "\n",
            "(2 rows)\n\n",
        );
        assert_eq!(got, want);
    }

    #[test]
    fn expanded_row_numbers_continue_across_pages() {
        let columns = strings(&["k"]);
        let rows = vec![strings(&["5"])];
        let style = Style { expand: true, tty: false };
        assert!(page(&columns, &rows, style, false, 100).starts_with("@ Row 101\n"));
    }

    #[test]
    fn wide_characters_are_padded_by_display_width() {
        let columns = strings(&["v"]);
        let rows = vec![strings(&["日本"]), strings(&["a"])];
        assert_eq!(page(&columns, &rows, SCRIPT, true, 0), " v\n------\n 日本\n    a\n");
    }

    #[test]
    fn no_columns_prints_nothing() {
        assert_eq!(page(&[], &[], SCRIPT, true, 0), "");
    }
}
