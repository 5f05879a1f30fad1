//! The CQL language: statement AST, tokenizer, parser and printer. Text goes in
//! through `parse_statement` / `parse_statements`; every AST node prints back as
//! CQL that parses to the same AST.
pub mod ast;
mod auth;
mod error;
mod keyword;
mod lexer;
mod parser;
mod print;

#[cfg(test)]
mod tests;

pub use error::ParseError;
pub use parser::{decode_hex, native_type, parse_statement, parse_statements, parse_type};
pub use print::quote_identifier;
