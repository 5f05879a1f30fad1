//! The error every CQL parse failure becomes: a position and a message worded like
//! Cassandra's `SyntaxException`, so a person can see what went wrong and where.

/// A statement that could not be parsed. `line` is 1-based and `column` 0-based
/// (in characters), as in Cassandra's messages: `line 1:9 mismatched input 'FRM'
/// expecting FROM (SELECT * [FRM]...)`.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("line {line}:{column} {message}")]
pub struct ParseError {
    pub message: String,
    pub line: usize,
    pub column: usize,
    /// Well formed, but refused as Cassandra refuses it when preparing the
    /// statement: the server answers InvalidRequest with `message` alone,
    /// not a SyntaxException.
    pub invalid: bool,
}

impl ParseError {
    pub(crate) fn new(line: usize, column: usize, message: String) -> Self {
        ParseError {
            message,
            line,
            column,
            invalid: false,
        }
    }

    pub(crate) fn invalid(line: usize, column: usize, message: String) -> Self {
        ParseError {
            message,
            line,
            column,
            invalid: true,
        }
    }
}
