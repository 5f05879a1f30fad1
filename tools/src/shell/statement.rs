//! Splits typed or scripted input into statements, as cqlsh does: a CQL statement
//! runs until a `;` outside strings and comments, and may span lines; a shell
//! command (`EXIT`, `HELP`, `CONSISTENCY`, ...) at the start of a statement ends
//! at the end of its line. `--`, `//` and `/* */` comments are dropped.
//!
//! Pure: lines in, statement texts out. Running them is `mod.rs`'s business.

/// First words that make a line a shell command rather than CQL.
const SHELL_COMMANDS: &[&str] = &["exit", "quit", "help", "?", "consistency", "paging", "expand"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lexical {
    Code,
    SingleQuoted,
    DoubleQuoted,
    DollarQuoted,
    BlockComment,
}

/// Collects lines until statements are complete.
#[derive(Debug)]
pub struct StatementBuffer {
    current: String,
    state: Lexical,
}

impl Default for StatementBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl StatementBuffer {
    pub fn new() -> Self {
        StatementBuffer {
            current: String::new(),
            state: Lexical::Code,
        }
    }

    /// True when no statement is partly typed (the shell shows its main prompt).
    pub fn is_empty(&self) -> bool {
        self.current.trim().is_empty() && self.state == Lexical::Code
    }

    /// Drops a partly typed statement (Ctrl-C).
    pub fn clear(&mut self) {
        self.current.clear();
        self.state = Lexical::Code;
    }

    /// Feeds one line (without its newline); returns the statements it completes,
    /// trimmed, without their `;`, empty ones left out.
    pub fn push_line(&mut self, line: &str) -> Vec<String> {
        if self.is_empty() {
            if let Some(command) = shell_command(line) {
                self.clear();
                return vec![command];
            }
        }
        let mut done = Vec::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let next = chars.get(i + 1).copied();
            match self.state {
                Lexical::Code => match (c, next) {
                    ('-', Some('-')) | ('/', Some('/')) => break,
                    ('/', Some('*')) => {
                        self.state = Lexical::BlockComment;
                        // A comment separates tokens like whitespace does.
                        self.current.push(' ');
                        i += 1;
                    }
                    (';', _) => {
                        let statement = self.current.trim().to_string();
                        if !statement.is_empty() {
                            done.push(statement);
                        }
                        self.current.clear();
                    }
                    ('\'', _) => {
                        self.state = Lexical::SingleQuoted;
                        self.current.push(c);
                    }
                    ('"', _) => {
                        self.state = Lexical::DoubleQuoted;
                        self.current.push(c);
                    }
                    ('$', Some('$')) => {
                        self.state = Lexical::DollarQuoted;
                        self.current.push_str("$$");
                        i += 1;
                    }
                    _ => self.current.push(c),
                },
                // A doubled quote inside a string is an escaped quote; leaving and
                // re-entering the string on it gives the same result.
                Lexical::SingleQuoted => {
                    self.current.push(c);
                    if c == '\'' {
                        self.state = Lexical::Code;
                    }
                }
                Lexical::DoubleQuoted => {
                    self.current.push(c);
                    if c == '"' {
                        self.state = Lexical::Code;
                    }
                }
                Lexical::DollarQuoted => {
                    if c == '$' && next == Some('$') {
                        self.current.push_str("$$");
                        self.state = Lexical::Code;
                        i += 1;
                    } else {
                        self.current.push(c);
                    }
                }
                Lexical::BlockComment => {
                    if c == '*' && next == Some('/') {
                        self.state = Lexical::Code;
                        i += 1;
                    }
                }
            }
            i += 1;
        }
        if self.state != Lexical::BlockComment && !self.current.is_empty() {
            self.current.push('\n');
        }
        done
    }

    /// At end of input, what is left counts as a statement even without its `;`
    /// (so `rustica shell -e "SELECT ..."` needs none).
    pub fn finish(&mut self) -> Option<String> {
        let rest = self.current.trim().to_string();
        self.clear();
        (!rest.is_empty()).then_some(rest)
    }
}

/// A line that starts with a shell command's name is that command, up to the end
/// of the line, with any trailing `;` dropped.
fn shell_command(line: &str) -> Option<String> {
    let trimmed = line.trim();
    let first = trimmed.split(|c: char| c.is_whitespace() || c == ';').next()?;
    if !SHELL_COMMANDS.iter().any(|cmd| first.eq_ignore_ascii_case(cmd)) {
        return None;
    }
    Some(trimmed.trim_end_matches(';').trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(lines: &[&str]) -> Vec<String> {
        let mut buffer = StatementBuffer::new();
        let mut out: Vec<String> = lines.iter().flat_map(|l| buffer.push_line(l)).collect();
        out.extend(buffer.finish());
        out
    }

    #[test]
    fn a_semicolon_ends_a_statement() {
        assert_eq!(split_all(&["SELECT * FROM t;"]), vec!["SELECT * FROM t"]);
    }

    #[test]
    fn statements_span_lines_until_the_semicolon() {
        let mut buffer = StatementBuffer::new();
        assert!(buffer.push_line("SELECT *").is_empty());
        assert!(!buffer.is_empty());
        assert_eq!(buffer.push_line("FROM t;"), vec!["SELECT *\nFROM t"]);
        assert!(buffer.is_empty());
    }

    #[test]
    fn several_statements_on_one_line() {
        assert_eq!(split_all(&["USE ks; SELECT 1 FROM t ;"]), vec!["USE ks", "SELECT 1 FROM t"]);
    }

    #[test]
    fn semicolons_inside_strings_do_not_split() {
        assert_eq!(
            split_all(&["INSERT INTO t (k, v) VALUES (1, 'a;b''c;');"]),
            vec!["INSERT INTO t (k, v) VALUES (1, 'a;b''c;')"]
        );
        assert_eq!(split_all(&["SELECT \"we;ird\" FROM t;"]), vec!["SELECT \"we;ird\" FROM t"]);
        assert_eq!(split_all(&["SELECT $$a;b$$ FROM t;"]), vec!["SELECT $$a;b$$ FROM t"]);
    }

    #[test]
    fn strings_may_span_lines() {
        assert_eq!(split_all(&["INSERT 'a", "b;';"]), vec!["INSERT 'a\nb;'"]);
    }

    #[test]
    fn comments_are_dropped() {
        assert_eq!(
            split_all(&["-- a comment; still a comment", "SELECT 1 // trailing;", "FROM t; /* x; */"]),
            vec!["SELECT 1 \nFROM t"]
        );
        assert_eq!(split_all(&["SELECT /* a", "b; */ k FROM t;"]), vec!["SELECT   k FROM t"]);
        assert_eq!(
            split_all(&["SELECT '--not a comment' FROM t;"]),
            vec!["SELECT '--not a comment' FROM t"]
        );
    }

    #[test]
    fn empty_statements_are_ignored() {
        assert_eq!(split_all(&[";;", "  ; -- nothing", ""]), Vec::<String>::new());
        let mut buffer = StatementBuffer::new();
        buffer.push_line("-- only a comment");
        assert!(buffer.is_empty());
    }

    #[test]
    fn shell_commands_end_at_the_end_of_the_line() {
        assert_eq!(split_all(&["exit"]), vec!["exit"]);
        assert_eq!(split_all(&["  CONSISTENCY quorum;  "]), vec!["CONSISTENCY quorum"]);
        assert_eq!(split_all(&["paging off", "HELP"]), vec!["paging off", "HELP"]);
    }

    #[test]
    fn shell_command_words_inside_a_statement_are_cql() {
        let mut buffer = StatementBuffer::new();
        assert!(buffer.push_line("SELECT paging").is_empty());
        assert!(buffer.push_line("expand FROM t").is_empty());
        assert_eq!(buffer.push_line(";"), vec!["SELECT paging\nexpand FROM t"]);
    }

    #[test]
    fn a_column_named_like_a_command_prefix_is_not_a_command() {
        assert_eq!(split_all(&["helpers;"]), vec!["helpers"]);
    }

    #[test]
    fn unterminated_input_is_flushed_at_the_end() {
        assert_eq!(split_all(&["SELECT * FROM t"]), vec!["SELECT * FROM t"]);
    }

    #[test]
    fn clear_forgets_a_partial_statement() {
        let mut buffer = StatementBuffer::new();
        buffer.push_line("SELECT 'abc");
        buffer.clear();
        assert!(buffer.is_empty());
        assert_eq!(buffer.push_line("SELECT 1;"), vec!["SELECT 1"]);
    }
}
