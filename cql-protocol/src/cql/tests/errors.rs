//! Syntax errors: a position and a message naming the offending token.

use super::*;

fn error(text: &str) -> String {
    match parse_statement(text) {
        Ok(s) => panic!("{text} parsed as {s:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_misspelt_keyword_names_the_token_and_what_was_expected() {
    assert_eq!(
        error("SELECT * FRM t"),
        "line 1:9 mismatched input 'FRM' expecting FROM (SELECT * [FRM] t)"
    );
}

#[test]
fn an_unknown_statement_is_no_viable_alternative() {
    assert_eq!(
        error("SELEC * FROM t"),
        "line 1:0 no viable alternative at input 'SELEC' ([SELEC] * FROM...)"
    );
}

#[test]
fn the_end_of_input_is_reported_as_eof() {
    assert_eq!(
        error("SELECT * FROM"),
        "line 1:13 mismatched input '<EOF>' expecting identifier (SELECT * FROM [<EOF>])"
    );
}

#[test]
fn errors_on_later_lines_report_that_line() {
    let e = parse_statement("SELECT a\nFROM t\nWHERE a = = 1").unwrap_err();
    assert_eq!((e.line, e.column), (3, 10));
    assert!(e.message.starts_with("mismatched input '=' expecting a value"), "{e}");
}

#[test]
fn an_unclosed_value_list_expects_a_comma_or_parenthesis() {
    assert_eq!(
        error("INSERT INTO t (a, b) VALUES (1, 2"),
        "line 1:33 mismatched input '<EOF>' expecting ',' or ')' (...(a, b) VALUES (1, 2 [<EOF>])"
    );
}

#[test]
fn a_reserved_word_cannot_be_a_bare_column_name() {
    assert_eq!(
        error("SELECT a FROM t WHERE from = 1"),
        "line 1:22 mismatched input 'from' expecting identifier (SELECT a FROM t WHERE [from] = 1)"
    );
    assert!(parse_statement("SELECT a FROM t WHERE \"from\" = 1").is_ok());
}

#[test]
fn a_misspelt_clause_lists_every_clause_that_could_follow() {
    assert_eq!(
        error("SELECT a FROM t WHERE a = 1 LIMT 5"),
        "line 1:28 mismatched input 'LIMT' expecting AND, GROUP BY, ORDER BY, PER PARTITION LIMIT, LIMIT, ALLOW FILTERING, ';' or <EOF> (SELECT a FROM t WHERE a = 1 [LIMT] 5)"
    );
}

#[test]
fn malformed_literals_say_what_is_wrong() {
    assert_eq!(
        error("INSERT INTO t (a) VALUES (0xABC)"),
        "line 1:26 blob literal '0xABC' has an odd number of hex digits (INSERT INTO t (a) VALUES ([0xABC]))"
    );
    assert_eq!(
        error("SELECT 'abc FROM t"),
        "line 1:7 unterminated string literal: missing closing '"
    );
    assert_eq!(error("SELECT a FROM t /* open"), "line 1:16 unterminated comment: missing '*/'");
}

#[test]
fn trailing_garbage_after_a_statement_is_rejected() {
    assert_eq!(
        error("DROP TABLE t extra"),
        "line 1:13 mismatched input 'extra' expecting ';' or <EOF> (DROP TABLE t [extra])"
    );
}

#[test]
fn deeply_nested_input_fails_cleanly_instead_of_overflowing() {
    let deep = |open: &str, close: &str| format!("{}{}", open.repeat(5000), close.repeat(5000));
    let inputs = [
        format!("INSERT INTO t (a) VALUES ({})", deep("[", "]")),
        format!("INSERT INTO t (a) VALUES ({})", deep("(", ")")),
        format!("INSERT INTO t (a) VALUES ({})", deep("{", "}")),
        format!("INSERT INTO t (a) VALUES ({}1)", "(int) ".repeat(5000)),
        format!("SELECT {}a{} FROM t", "f(".repeat(5000), ")".repeat(5000)),
        format!("CREATE TABLE t (a {}int{} PRIMARY KEY)", "list<".repeat(5000), ">".repeat(5000)),
    ];
    for text in inputs {
        let e = parse_statement(&text).unwrap_err();
        assert!(e.message.contains("nested more than"), "{e}");
    }
}

#[test]
fn nesting_below_the_limit_still_parses() {
    let text = format!("INSERT INTO t (a) VALUES ({}1{})", "[".repeat(40), "]".repeat(40));
    assert!(parse_statement(&text).is_ok());
}

#[test]
fn an_empty_statement_is_no_viable_alternative_at_eof() {
    assert_eq!(
        error("  -- only a comment"),
        "line 1:19 no viable alternative at input '<EOF>' ([<EOF>])"
    );
}

#[test]
fn a_named_marker_must_touch_its_colon() {
    assert_eq!(
        error("SELECT * FROM t WHERE a = : b"),
        "line 1:28 mismatched input 'b' expecting bind marker name (SELECT * FROM t WHERE a = : [b])"
    );
}
