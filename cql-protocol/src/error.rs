//! Everything that can go wrong while decoding native protocol bytes. This module
//! owns the decode error type and its wording; it does not map errors to CQL error
//! codes (the server does that, in one place).

use crate::frame::Opcode;

/// Why a frame header, a body, or a piece of the spec's notation could not be decoded.
///
/// `what` names the thing being read, in the spec's words (`[string]`) or, where the
/// caller knows better, in the message's words (`query string`); see
/// [`DecodeError::context`].
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum DecodeError {
    #[error("frame body truncated while reading {what}: needed {needed} bytes, {available} left")]
    Truncated {
        what: &'static str,
        needed: usize,
        available: usize,
    },
    #[error("{what} is not valid UTF-8")]
    InvalidUtf8 { what: &'static str },
    #[error("{what} has a negative length ({length})")]
    NegativeLength { what: &'static str, length: i64 },
    #[error("{what} is {length} long, more than the limit of {max}")]
    TooLong { what: &'static str, length: u64, max: u64 },
    #[error("{what} has length {length}, but a [value] length must be -1 (null), -2 (unset) or at least 0")]
    InvalidValueLength { what: &'static str, length: i32 },
    #[error("{what} has an address of {length} bytes; an [inet] address is 4 (IPv4) or 16 (IPv6) bytes")]
    InvalidInetLength { what: &'static str, length: u8 },
    #[error("{what} has port {port}, outside 0..=65535")]
    InvalidPort { what: &'static str, port: i32 },
    #[error("unknown opcode 0x{opcode:02X}")]
    UnknownOpcode { opcode: u8 },
    #[error("opcode {opcode} is a response, but a request was expected")]
    NotARequest { opcode: Opcode },
    #[error("opcode {opcode} is a request, but a response was expected")]
    NotAResponse { opcode: Opcode },
    #[error("the frame has the compression flag set, but no compression was negotiated in STARTUP")]
    CompressedFrame,
    #[error("cannot decompress the {algorithm} frame body: {reason}")]
    Decompression { algorithm: &'static str, reason: String },
    #[error("unknown consistency level 0x{value:04X}")]
    UnknownConsistency { value: u16 },
    #[error("unknown column type id 0x{id:04X}")]
    UnknownTypeId { id: u16 },
    #[error("column type nests deeper than {max} levels")]
    TooDeep { max: usize },
    #[error("unknown batch type {value} (expected 0 logged, 1 unlogged or 2 counter)")]
    UnknownBatchType { value: u8 },
    #[error("unknown batch statement kind {value} (expected 0 query string or 1 prepared id)")]
    UnknownBatchStatementKind { value: u8 },
    #[error("unknown error code 0x{code:04X}")]
    UnknownErrorCode { code: i32 },
    #[error("unknown result kind 0x{kind:04X}")]
    UnknownResultKind { kind: i32 },
    #[error("unknown event type {name:?}")]
    UnknownEventType { name: String },
    #[error("unknown schema change type {name:?} (expected CREATED, UPDATED or DROPPED)")]
    UnknownSchemaChangeType { name: String },
    #[error("unknown schema change target {name:?} (expected KEYSPACE, TABLE, TYPE, FUNCTION or AGGREGATE)")]
    UnknownSchemaChangeTarget { name: String },
    #[error("{count} unexpected bytes after {what}")]
    TrailingBytes { what: &'static str, count: usize },
    #[error("{message}")]
    Invalid { message: String },
}

impl DecodeError {
    /// Renames what was being read, so that "truncated while reading [long string]"
    /// can become "truncated while reading query string". Variants without a `what`
    /// are returned unchanged.
    #[must_use]
    pub fn context(mut self, context: &'static str) -> Self {
        match &mut self {
            DecodeError::Truncated { what, .. }
            | DecodeError::InvalidUtf8 { what }
            | DecodeError::NegativeLength { what, .. }
            | DecodeError::TooLong { what, .. }
            | DecodeError::InvalidValueLength { what, .. }
            | DecodeError::InvalidInetLength { what, .. }
            | DecodeError::InvalidPort { what, .. }
            | DecodeError::TrailingBytes { what, .. } => *what = context,
            DecodeError::UnknownOpcode { .. }
            | DecodeError::NotARequest { .. }
            | DecodeError::NotAResponse { .. }
            | DecodeError::CompressedFrame
            | DecodeError::Decompression { .. }
            | DecodeError::UnknownConsistency { .. }
            | DecodeError::UnknownTypeId { .. }
            | DecodeError::TooDeep { .. }
            | DecodeError::UnknownBatchType { .. }
            | DecodeError::UnknownBatchStatementKind { .. }
            | DecodeError::UnknownErrorCode { .. }
            | DecodeError::UnknownResultKind { .. }
            | DecodeError::UnknownEventType { .. }
            | DecodeError::UnknownSchemaChangeType { .. }
            | DecodeError::UnknownSchemaChangeTarget { .. }
            | DecodeError::Invalid { .. } => {}
        }
        self
    }
}

/// `.context("query string")` on a decode result; see [`DecodeError::context`].
pub trait Context {
    #[must_use]
    fn context(self, what: &'static str) -> Self;
}

impl<T> Context for Result<T, DecodeError> {
    fn context(self, what: &'static str) -> Self {
        self.map_err(|e| e.context(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_reads_as_a_sentence() {
        let e = DecodeError::Truncated {
            what: "[long string]",
            needed: 12,
            available: 3,
        }
        .context("query string");
        assert_eq!(
            e.to_string(),
            "frame body truncated while reading query string: needed 12 bytes, 3 left"
        );
    }

    #[test]
    fn context_leaves_errors_without_a_subject_alone() {
        let e = DecodeError::UnknownOpcode { opcode: 0x04 }.context("query string");
        assert_eq!(e, DecodeError::UnknownOpcode { opcode: 0x04 });
        assert_eq!(e.to_string(), "unknown opcode 0x04");
    }
}
