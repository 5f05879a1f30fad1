//! JSON text as `INSERT JSON` and `fromJson()` read it: a small parser whose
//! numbers keep the exact text they were written with, as Cassandra's Jackson
//! mapper hands a `BigInteger` or `BigDecimal` to the type that reads it. A
//! varint past 2^63 and a decimal's scale (`1.50`) survive, which a parser
//! reading numbers as 64-bit doubles loses. Writing JSON is `json.rs`'s job.
//! Pure; refuses input nested deeper than `MAX_DEPTH` instead of recursing
//! without bound.

use std::fmt;

use super::json::java_double;

/// How deeply arrays and objects may nest (serde_json's own default).
const MAX_DEPTH: usize = 128;

/// One parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    /// A number as written; `integer` when it has no fraction and no exponent.
    Number {
        text: String,
        integer: bool,
    },
    String(String),
    Array(Vec<Json>),
    /// Members in the order written; a repeated name keeps its last value.
    Object(Vec<(String, Json)>),
}

/// Why a text is not JSON: what was wrong and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at byte {offset}")]
pub struct JsonError {
    pub reason: &'static str,
    pub offset: usize,
}

/// Parses one JSON value filling the whole text (whitespace aside).
pub fn parse(text: &str) -> Result<Json, JsonError> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        at: 0,
    };
    let value = parser.value(0)?;
    parser.skip_whitespace();
    if parser.at != parser.bytes.len() {
        return Err(parser.error("trailing characters"));
    }
    Ok(value)
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError { reason, offset: self.at }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect_word(&mut self, word: &'static str, value: Json) -> Result<Json, JsonError> {
        if self.bytes.get(self.at..self.at + word.len()) == Some(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b'n') => self.expect_word("null", Json::Null),
            Some(b't') => self.expect_word("true", Json::Bool(true)),
            Some(b'f') => self.expect_word("false", Json::Bool(false)),
            Some(b'"') => Ok(Json::String(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => self.array(depth + 1),
            Some(b'{') => self.object(depth + 1),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.at += 1;
            integer = false;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            integer = false;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        let text = String::from_utf8_lossy(self.bytes.get(start..self.at).unwrap_or_default()).into_owned();
        Ok(Json::Number { text, integer })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.error("invalid escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.error("invalid escape"))?;
        let code = u32::from_str_radix(text, 16).map_err(|_| self.error("invalid escape"))?;
        self.at += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1; // the opening quote
        let mut out = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(escape) = self.peek() else {
                        return Err(self.error("unterminated string"));
                    };
                    self.at += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return Err(self.error("control character in string")),
                other => out.push(other),
            }
        }
        // The input is a &str and escapes add whole characters: valid UTF-8.
        String::from_utf8(out).map_err(|_| self.error("invalid UTF-8 in string"))
    }

    /// `\uXXXX`, with a surrogate pair taken as one character.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if (0xd800..0xdc00).contains(&first) {
            if self.bytes.get(self.at..self.at + 2) != Some(b"\\u") {
                return Err(self.error("unpaired surrogate"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xdc00..0xe000).contains(&second) {
                return Err(self.error("unpaired surrogate"));
            }
            0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("unpaired surrogate"))
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1; // '['
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.at += 1; // '{'
        let mut members: Vec<(String, Json)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a member name"));
            }
            let name = self.string()?;
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.at += 1;
            let value = self.value(depth)?;
            match members.iter_mut().find(|(n, _)| *n == name) {
                Some(member) => member.1 = value,
                None => members.push((name, value)),
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

impl Json {
    /// The Java class Cassandra's JSON mapper (Jackson, default settings)
    /// decodes this value to, as Cassandra's type errors name it.
    pub fn java_class(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "Boolean",
            Json::Number { integer: false, .. } => "Double",
            Json::Number { text, integer: true } if text.parse::<i32>().is_ok() => "Integer",
            Json::Number { text, integer: true } if text.parse::<i64>().is_ok() => "Long",
            Json::Number { integer: true, .. } => "BigInteger",
            Json::String(_) => "String",
            Json::Array(_) => "ArrayList",
            Json::Object(_) => "LinkedHashMap",
        }
    }
}

/// The value as Cassandra's messages print it: as Java prints the object
/// Jackson decodes it to (a string unquoted, `1000.0` and `1.0E20` for
/// doubles, `[a, b]` for a list, `{k=v}` for a map).
impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Json::Null => f.write_str("null"),
            Json::Bool(b) => write!(f, "{b}"),
            Json::Number { text, integer: true } => match text.parse::<i64>() {
                Ok(n) => write!(f, "{n}"),
                Err(_) => f.write_str(text),
            },
            Json::Number { text, integer: false } => f.write_str(&java_double(text.parse().unwrap_or(f64::NAN))),
            Json::String(s) => f.write_str(s),
            Json::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Json::Object(members) => {
                f.write_str("{")?;
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}={value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn number(text: &str, integer: bool) -> Json {
        Json::Number {
            text: text.into(),
            integer,
        }
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        assert_eq!(
            parse("123456789012345678901234567890"),
            Ok(number("123456789012345678901234567890", true))
        );
        assert_eq!(parse("1.50"), Ok(number("1.50", false)));
        assert_eq!(parse(" -0.25e-3 "), Ok(number("-0.25e-3", false)));
        assert_eq!(parse("-7"), Ok(number("-7", true)));
    }

    #[test]
    fn values_nest_and_objects_keep_their_order() {
        let parsed = parse(r#"{"b": [1, true, null], "a": {"x": "y\n\u00e9\ud83d\ude00"}}"#).unwrap();
        assert_eq!(
            parsed,
            Json::Object(vec![
                ("b".into(), Json::Array(vec![number("1", true), Json::Bool(true), Json::Null])),
                ("a".into(), Json::Object(vec![("x".into(), Json::String("y\né😀".into()))])),
            ])
        );
        assert_eq!(parsed.to_string(), "{b=[1, true, null], a={x=y\né😀}}");
    }

    #[test]
    fn values_print_as_java_prints_what_jackson_decodes() {
        for (text, class, printed) in [
            ("5", "Integer", "5"),
            ("-0", "Integer", "0"),
            ("2147483648", "Long", "2147483648"),
            ("-9223372036854775809", "BigInteger", "-9223372036854775809"),
            ("1.5", "Double", "1.5"),
            ("1e3", "Double", "1000.0"),
            ("0.001", "Double", "0.001"),
            ("0.0001", "Double", "1.0E-4"),
            ("1.25e20", "Double", "1.25E20"),
            ("-0.0", "Double", "-0.0"),
            ("1e400", "Double", "Infinity"),
            ("\"a b\"", "String", "a b"),
            ("[1, \"x\", [true]]", "ArrayList", "[1, x, [true]]"),
        ] {
            let json = parse(text).unwrap();
            assert_eq!((json.java_class(), json.to_string().as_str()), (class, printed), "{text}");
        }
    }

    #[test]
    fn a_repeated_member_keeps_its_last_value() {
        assert_eq!(
            parse(r#"{"k": 1, "k": 2}"#),
            Ok(Json::Object(vec![("k".into(), number("2", true))]))
        );
    }

    #[test]
    fn malformed_text_is_refused_without_panicking() {
        for bad in [
            "",
            "not json",
            "01",
            "1.",
            "-",
            "1e",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\": 1",
            "\"abc",
            "\"\\x\"",
            "\"\\ud800\"",
            "[1] 2",
            "tru",
            "\"\u{1}\"",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(parse(&"[".repeat(100_000)).unwrap_err().reason, "nested too deeply");
    }
}
