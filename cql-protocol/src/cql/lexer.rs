//! The CQL tokenizer: turns statement text into a list of tokens with their line
//! and column, dropping whitespace and comments. It owns the lexical rules
//! (string and identifier quoting, number, uuid, blob and duration shapes) and
//! nothing of the grammar: keywords are plain identifier tokens here, and the
//! parser decides what a word means where it stands.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{tag, tag_no_case, take_while, take_while_m_n};
use nom::character::complete::{char, digit0, digit1, one_of};
use nom::combinator::{opt, recognize};
use nom::multi::many1;
use nom::{IResult, Parser};

use super::error::ParseError;

/// What kind of token a piece of text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An unquoted word: an identifier or a keyword.
    Ident,
    /// `"Name"`; `value` holds the name with `""` unescaped.
    QuotedIdent,
    /// `'text'` or `$$text$$`; `value` holds the unescaped text.
    String,
    /// Digits, without sign.
    Integer,
    /// `1.5`, `2e3`, `1.5E-3`, without sign.
    Float,
    /// `8-4-4-4-12` hex digits.
    Uuid,
    /// `0x` followed by hex digits.
    Blob,
    /// `1h30m`, `3d`, `100ms`...; the ISO forms (`P1D`) lex as identifiers.
    Duration,
    /// Punctuation and operators.
    Symbol,
    /// The end of the input; always the last token.
    Eof,
}

/// One token: its kind, its source text and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: TokenKind,
    /// The token exactly as written.
    pub text: &'a str,
    /// The unescaped content of strings and quoted identifiers; `text` otherwise.
    pub value: Cow<'a, str>,
    /// Byte offset into the source.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 0-based column in characters, as Cassandra reports it.
    pub column: usize,
}

/// Multi-character symbols first so that `<=` wins over `<`.
const SYMBOLS: [&str; 21] = [
    "!=", "<=", ">=", "+=", "-=", "(", ")", "[", "]", "{", "}", ",", ";", ".", ":", "=", "<", ">", "+", "-", "*",
];
const SINGLE_QUESTION: &str = "?";

/// Splits `src` into tokens, ending with an `Eof` token.
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let lines = LineIndex::new(src);
    let mut tokens = Vec::new();
    let mut rest = src;
    loop {
        rest = skip_trivia(src, rest, &lines)?;
        let offset = src.len() - rest.len();
        let (line, column) = lines.locate(src, offset);
        if rest.is_empty() {
            tokens.push(Token {
                kind: TokenKind::Eof,
                text: "",
                value: Cow::Borrowed(""),
                offset,
                line,
                column,
            });
            return Ok(tokens);
        }
        let (next, (kind, value)) = match one_token(rest) {
            Ok(found) => found,
            Err(_) => return Err(lexical_error(rest, line, column)),
        };
        let text = rest.get(..rest.len() - next.len()).unwrap_or_default();
        let value = value.unwrap_or(Cow::Borrowed(text));
        tokens.push(Token {
            kind,
            text,
            value,
            offset,
            line,
            column,
        });
        rest = next;
    }
}

/// Line starts, so a byte offset can be turned into line and column.
struct LineIndex {
    starts: Vec<usize>,
    /// The last position located, `(offset, line, column)`: tokens come in order,
    /// so counting characters from there keeps long lines linear.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl LineIndex {
    fn new(src: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            last: std::cell::Cell::new((0, 1, 0)),
        }
    }

    fn locate(&self, src: &str, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let (last_offset, last_line, last_column) = self.last.get();
        let (from, base) = if last_line == line && last_offset >= start && last_offset <= offset {
            (last_offset, last_column)
        } else {
            (start, 0)
        };
        let column = base + src.get(from..offset).map_or(0, |s| s.chars().count());
        self.last.set((offset, line, column));
        (line, column)
    }
}

fn skip_trivia<'a>(src: &'a str, mut rest: &'a str, lines: &LineIndex) -> Result<&'a str, ParseError> {
    loop {
        let trimmed = rest.trim_start();
        if let Some(after) = trimmed.strip_prefix("--").or_else(|| trimmed.strip_prefix("//")) {
            rest = after.find('\n').and_then(|i| after.get(i..)).unwrap_or("");
        } else if let Some(after) = trimmed.strip_prefix("/*") {
            match after.find("*/") {
                Some(end) => rest = after.get(end + 2..).unwrap_or(""),
                None => {
                    let offset = src.len() - trimmed.len();
                    let (line, column) = lines.locate(src, offset);
                    return Err(ParseError::new(line, column, "unterminated comment: missing '*/'".to_string()));
                }
            }
        } else {
            return Ok(trimmed);
        }
    }
}

fn lexical_error(rest: &str, line: usize, column: usize) -> ParseError {
    let first = rest.chars().next().unwrap_or(' ');
    let message = match first {
        '\'' => "unterminated string literal: missing closing '".to_string(),
        '"' => "unterminated quoted identifier: missing closing \"".to_string(),
        '$' if rest.starts_with("$$") => "unterminated string literal: missing closing $$".to_string(),
        c => format!("token recognition error at: '{c}'"),
    };
    ParseError::new(line, column, message)
}

type Lexed<'a> = (TokenKind, Option<Cow<'a, str>>);

fn one_token(input: &str) -> IResult<&str, Lexed<'_>> {
    alt((
        quoted_string,
        dollar_string,
        quoted_ident,
        uuid,
        blob,
        number,
        word,
        question,
        symbol,
    ))
    .parse(input)
}

fn quoted_string(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, value) = quoted(input, '\'')?;
    Ok((rest, (TokenKind::String, Some(value))))
}

fn quoted_ident(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, value) = quoted(input, '"')?;
    Ok((rest, (TokenKind::QuotedIdent, Some(value))))
}

/// `q...q` where a doubled quote inside stands for one.
fn quoted(input: &str, q: char) -> IResult<&str, Cow<'_, str>> {
    let (mut rest, _) = char(q)(input)?;
    let mut owned: Option<String> = None;
    let start = rest;
    loop {
        match rest.find(q) {
            None => return Err(nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Char))),
            Some(i) => {
                let chunk = rest.get(..i).unwrap_or_default();
                let after = rest.get(i + q.len_utf8()..).unwrap_or_default();
                if after.starts_with(q) {
                    owned.get_or_insert_with(String::new).push_str(chunk);
                    if let Some(s) = owned.as_mut() {
                        s.push(q);
                    }
                    rest = after.get(q.len_utf8()..).unwrap_or_default();
                } else {
                    let value = match owned {
                        Some(mut s) => {
                            s.push_str(chunk);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(start.get(..i).unwrap_or_default()),
                    };
                    return Ok((after, value));
                }
            }
        }
    }
}

fn dollar_string(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, _) = tag("$$")(input)?;
    match rest.find("$$") {
        Some(i) => {
            let value = rest.get(..i).unwrap_or_default();
            Ok((
                rest.get(i + 2..).unwrap_or_default(),
                (TokenKind::String, Some(Cow::Borrowed(value))),
            ))
        }
        None => Err(nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Tag))),
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The rest does not continue the current word.
fn word_boundary(rest: &str) -> IResult<&str, ()> {
    match rest.chars().next() {
        Some(c) if is_ident_char(c) || c == 'µ' || c == 'μ' => {
            Err(nom::Err::Error(nom::error::Error::new(rest, nom::error::ErrorKind::Verify)))
        }
        _ => Ok((rest, ())),
    }
}

fn hex(n: usize) -> impl Fn(&str) -> IResult<&str, &str> {
    move |i| take_while_m_n(n, n, |c: char| c.is_ascii_hexdigit())(i)
}

fn uuid(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, _) = recognize((hex(8), char('-'), hex(4), char('-'), hex(4), char('-'), hex(4), char('-'), hex(12))).parse(input)?;
    let (rest, ()) = word_boundary(rest)?;
    Ok((rest, (TokenKind::Uuid, None)))
}

fn blob(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, _) = (char('0'), one_of("xX"), take_while(|c: char| c.is_ascii_hexdigit())).parse(input)?;
    let (rest, ()) = word_boundary(rest)?;
    Ok((rest, (TokenKind::Blob, None)))
}

/// Integers, floats and number-unit durations. A number glued to letters that do
/// not form a duration lexes as a number followed by a word; the parser rejects it.
fn number(input: &str) -> IResult<&str, Lexed<'_>> {
    if let Ok((rest, _)) = duration(input) {
        if word_boundary(rest).is_ok() {
            return Ok((rest, (TokenKind::Duration, None)));
        }
    }
    let (rest, _) = digit1(input)?;
    let fraction: IResult<&str, &str> = recognize((char('.'), digit0, opt(exponent))).parse(rest);
    if let Ok((after, _)) = fraction {
        return Ok((after, (TokenKind::Float, None)));
    }
    if let Ok((after, _)) = recognize(exponent).parse(rest) {
        return Ok((after, (TokenKind::Float, None)));
    }
    Ok((rest, (TokenKind::Integer, None)))
}

/// `e5`, `E-3`.
fn exponent(input: &str) -> IResult<&str, &str> {
    recognize((one_of("eE"), opt(one_of("+-")), digit1)).parse(input)
}

/// `(digits unit)+` with Cassandra's units; longer units first so `ms` beats `m`.
fn duration(input: &str) -> IResult<&str, &str> {
    let unit = alt((
        tag_no_case("mo"),
        tag_no_case("ms"),
        tag_no_case("us"),
        tag("µs"),
        tag("μs"),
        tag_no_case("ns"),
        tag_no_case("y"),
        tag_no_case("w"),
        tag_no_case("d"),
        tag_no_case("h"),
        tag_no_case("m"),
        tag_no_case("s"),
    ));
    recognize(many1((digit1, unit))).parse(input)
}

fn word(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, _) = recognize((take_while_m_n(1, 1, |c: char| c.is_ascii_alphabetic()), take_while(is_ident_char))).parse(input)?;
    Ok((rest, (TokenKind::Ident, None)))
}

fn question(input: &str) -> IResult<&str, Lexed<'_>> {
    let (rest, _) = tag(SINGLE_QUESTION)(input)?;
    Ok((rest, (TokenKind::Symbol, None)))
}

fn symbol(input: &str) -> IResult<&str, Lexed<'_>> {
    for s in SYMBOLS {
        if let Some(rest) = input.strip_prefix(s) {
            return Ok((rest, (TokenKind::Symbol, None)));
        }
    }
    Err(nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Tag)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(TokenKind, String)> {
        tokenize(src).unwrap().into_iter().map(|t| (t.kind, t.value.into_owned())).collect()
    }

    #[test]
    fn strings_and_quoted_identifiers_unescape_doubled_quotes() {
        assert_eq!(
            kinds(r#"'it''s' "My""Col" $$a'b$$"#),
            vec![
                (TokenKind::String, "it's".to_string()),
                (TokenKind::QuotedIdent, "My\"Col".to_string()),
                (TokenKind::String, "a'b".to_string()),
                (TokenKind::Eof, String::new()),
            ]
        );
    }

    #[test]
    fn numbers_uuids_blobs_and_durations_are_told_apart() {
        let got: Vec<TokenKind> = tokenize("12 1.5 2e3 1.5E-3 0xCAFE 1h30m 100ms 3µs 123e4567-e89b-12d3-a456-426614174000")
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect();
        use TokenKind::*;
        assert_eq!(
            got,
            vec![Integer, Float, Float, Float, Blob, Duration, Duration, Duration, Uuid, Eof]
        );
    }

    #[test]
    fn comments_are_skipped_and_positions_count_lines() {
        let toks = tokenize("-- intro\nSELECT /* x */ a // tail\n  FROM t").unwrap();
        let select = toks.first().unwrap();
        assert_eq!((select.text, select.line, select.column), ("SELECT", 2, 0));
        let from = toks.get(2).unwrap();
        assert_eq!((from.text, from.line, from.column), ("FROM", 3, 2));
    }

    #[test]
    fn an_unterminated_string_is_reported_where_it_starts() {
        let err = tokenize("SELECT 'abc").unwrap_err();
        assert_eq!((err.line, err.column), (1, 7));
        assert!(err.message.contains("unterminated string"), "{}", err.message);
    }

    #[test]
    fn an_unknown_character_is_reported() {
        let err = tokenize("SELECT # FROM t").unwrap_err();
        assert_eq!(err.to_string(), "line 1:7 token recognition error at: '#'");
    }
}
