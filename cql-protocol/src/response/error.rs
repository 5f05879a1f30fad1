//! ERROR (spec 4.2.1 and section 9): an `[int]` code, a `[string]` message, and
//! extra fields that depend on the code. This file owns the wire shape of every v4
//! error; which internal failure becomes which code is decided by the server.

use crate::error::{Context, DecodeError};
use crate::wire::{write_byte, write_consistency, write_int, write_short_bytes, write_string, write_string_list, Consistency, Reader};

/// Every v4 error code with its extra fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// 0x0000: a server-side bug.
    Server,
    /// 0x000A
    Protocol,
    /// 0x0100: authentication failed.
    BadCredentials,
    /// 0x1000
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
    },
    /// 0x1001
    Overloaded,
    /// 0x1002
    IsBootstrapping,
    /// 0x1003
    Truncate,
    /// 0x1100
    WriteTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        /// `SIMPLE`, `BATCH`, `UNLOGGED_BATCH`, `COUNTER`, `BATCH_LOG`, `CAS`, ...
        write_type: String,
    },
    /// 0x1200
    ReadTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        data_present: bool,
    },
    /// 0x1300
    ReadFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        num_failures: i32,
        data_present: bool,
    },
    /// 0x1400
    FunctionFailure {
        keyspace: String,
        function: String,
        arg_types: Vec<String>,
    },
    /// 0x1500
    WriteFailure {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        num_failures: i32,
        write_type: String,
    },
    /// 0x2000
    Syntax,
    /// 0x2100
    Unauthorized,
    /// 0x2200
    Invalid,
    /// 0x2300
    Config,
    /// 0x2400: `table` is empty when a keyspace already exists.
    AlreadyExists { keyspace: String, table: String },
    /// 0x2500
    Unprepared { id: Vec<u8> },
}

impl ErrorKind {
    pub fn code(&self) -> i32 {
        match self {
            ErrorKind::Server => 0x0000,
            ErrorKind::Protocol => 0x000A,
            ErrorKind::BadCredentials => 0x0100,
            ErrorKind::Unavailable { .. } => 0x1000,
            ErrorKind::Overloaded => 0x1001,
            ErrorKind::IsBootstrapping => 0x1002,
            ErrorKind::Truncate => 0x1003,
            ErrorKind::WriteTimeout { .. } => 0x1100,
            ErrorKind::ReadTimeout { .. } => 0x1200,
            ErrorKind::ReadFailure { .. } => 0x1300,
            ErrorKind::FunctionFailure { .. } => 0x1400,
            ErrorKind::WriteFailure { .. } => 0x1500,
            ErrorKind::Syntax => 0x2000,
            ErrorKind::Unauthorized => 0x2100,
            ErrorKind::Invalid => 0x2200,
            ErrorKind::Config => 0x2300,
            ErrorKind::AlreadyExists { .. } => 0x2400,
            ErrorKind::Unprepared { .. } => 0x2500,
        }
    }
}

/// The body of an ERROR response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub kind: ErrorKind,
    pub message: String,
}

impl ErrorBody {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorBody {
            kind,
            message: message.into(),
        }
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let code = r.read_int().context("error code")?;
        let message = r.read_string().context("error message")?;
        let kind = match code {
            0x0000 => ErrorKind::Server,
            0x000A => ErrorKind::Protocol,
            0x0100 => ErrorKind::BadCredentials,
            0x1000 => ErrorKind::Unavailable {
                consistency: r.read_consistency()?,
                required: r.read_int().context("required replicas")?,
                alive: r.read_int().context("alive replicas")?,
            },
            0x1001 => ErrorKind::Overloaded,
            0x1002 => ErrorKind::IsBootstrapping,
            0x1003 => ErrorKind::Truncate,
            0x1100 => ErrorKind::WriteTimeout {
                consistency: r.read_consistency()?,
                received: r.read_int().context("received acknowledgements")?,
                block_for: r.read_int().context("block_for")?,
                write_type: r.read_string().context("write type")?,
            },
            0x1200 => ErrorKind::ReadTimeout {
                consistency: r.read_consistency()?,
                received: r.read_int().context("received responses")?,
                block_for: r.read_int().context("block_for")?,
                data_present: r.read_byte().context("data_present")? != 0,
            },
            0x1300 => ErrorKind::ReadFailure {
                consistency: r.read_consistency()?,
                received: r.read_int().context("received responses")?,
                block_for: r.read_int().context("block_for")?,
                num_failures: r.read_int().context("failure count")?,
                data_present: r.read_byte().context("data_present")? != 0,
            },
            0x1400 => ErrorKind::FunctionFailure {
                keyspace: r.read_string().context("function keyspace")?,
                function: r.read_string().context("function name")?,
                arg_types: r.read_string_list().context("function argument types")?,
            },
            0x1500 => ErrorKind::WriteFailure {
                consistency: r.read_consistency()?,
                received: r.read_int().context("received acknowledgements")?,
                block_for: r.read_int().context("block_for")?,
                num_failures: r.read_int().context("failure count")?,
                write_type: r.read_string().context("write type")?,
            },
            0x2000 => ErrorKind::Syntax,
            0x2100 => ErrorKind::Unauthorized,
            0x2200 => ErrorKind::Invalid,
            0x2300 => ErrorKind::Config,
            0x2400 => ErrorKind::AlreadyExists {
                keyspace: r.read_string().context("existing keyspace")?,
                table: r.read_string().context("existing table")?,
            },
            0x2500 => ErrorKind::Unprepared {
                id: r.read_short_bytes().context("unknown prepared id")?.to_vec(),
            },
            code => return Err(DecodeError::UnknownErrorCode { code }),
        };
        Ok(ErrorBody { kind, message })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_int(out, self.kind.code());
        write_string(out, &self.message);
        match &self.kind {
            ErrorKind::Unavailable {
                consistency,
                required,
                alive,
            } => {
                write_consistency(out, *consistency);
                write_int(out, *required);
                write_int(out, *alive);
            }
            ErrorKind::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
            } => {
                write_consistency(out, *consistency);
                write_int(out, *received);
                write_int(out, *block_for);
                write_string(out, write_type);
            }
            ErrorKind::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => {
                write_consistency(out, *consistency);
                write_int(out, *received);
                write_int(out, *block_for);
                write_byte(out, u8::from(*data_present));
            }
            ErrorKind::ReadFailure {
                consistency,
                received,
                block_for,
                num_failures,
                data_present,
            } => {
                write_consistency(out, *consistency);
                write_int(out, *received);
                write_int(out, *block_for);
                write_int(out, *num_failures);
                write_byte(out, u8::from(*data_present));
            }
            ErrorKind::FunctionFailure {
                keyspace,
                function,
                arg_types,
            } => {
                write_string(out, keyspace);
                write_string(out, function);
                write_string_list(out, arg_types);
            }
            ErrorKind::WriteFailure {
                consistency,
                received,
                block_for,
                num_failures,
                write_type,
            } => {
                write_consistency(out, *consistency);
                write_int(out, *received);
                write_int(out, *block_for);
                write_int(out, *num_failures);
                write_string(out, write_type);
            }
            ErrorKind::AlreadyExists { keyspace, table } => {
                write_string(out, keyspace);
                write_string(out, table);
            }
            ErrorKind::Unprepared { id } => write_short_bytes(out, id),
            ErrorKind::Server
            | ErrorKind::Protocol
            | ErrorKind::BadCredentials
            | ErrorKind::Overloaded
            | ErrorKind::IsBootstrapping
            | ErrorKind::Truncate
            | ErrorKind::Syntax
            | ErrorKind::Unauthorized
            | ErrorKind::Invalid
            | ErrorKind::Config => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(golden: &[u8], body: &ErrorBody) {
        let mut out = Vec::new();
        body.encode(&mut out);
        assert_eq!(out, golden);
        let mut r = Reader::new(golden);
        assert_eq!(&ErrorBody::decode(&mut r).unwrap(), body);
        assert!(r.is_empty());
    }

    #[test]
    fn an_unavailable_error_carries_consistency_required_and_alive() {
        let golden = b"\x00\x00\x10\x00\x00\x04down\x00\x04\x00\x00\x00\x02\x00\x00\x00\x01";
        round_trip(
            golden,
            &ErrorBody::new(
                ErrorKind::Unavailable {
                    consistency: Consistency::Quorum,
                    required: 2,
                    alive: 1,
                },
                "down",
            ),
        );
    }

    #[test]
    fn a_syntax_error_is_just_code_and_message() {
        round_trip(b"\x00\x00\x20\x00\x00\x03bad", &ErrorBody::new(ErrorKind::Syntax, "bad"));
    }

    #[test]
    fn a_write_timeout_names_the_write_type() {
        let golden = b"\x00\x00\x11\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x06SIMPLE";
        round_trip(
            golden,
            &ErrorBody::new(
                ErrorKind::WriteTimeout {
                    consistency: Consistency::One,
                    received: 0,
                    block_for: 1,
                    write_type: "SIMPLE".into(),
                },
                "",
            ),
        );
    }

    #[test]
    fn a_read_timeout_and_read_failure_end_with_data_present() {
        round_trip(
            b"\x00\x00\x12\x00\x00\x00\x00\x05\x00\x00\x00\x01\x00\x00\x00\x02\x01",
            &ErrorBody::new(
                ErrorKind::ReadTimeout {
                    consistency: Consistency::All,
                    received: 1,
                    block_for: 2,
                    data_present: true,
                },
                "",
            ),
        );
        round_trip(
            b"\x00\x00\x13\x00\x00\x00\x00\x06\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x01\x00",
            &ErrorBody::new(
                ErrorKind::ReadFailure {
                    consistency: Consistency::LocalQuorum,
                    received: 1,
                    block_for: 2,
                    num_failures: 1,
                    data_present: false,
                },
                "",
            ),
        );
    }

    #[test]
    fn function_failure_write_failure_already_exists_and_unprepared_carry_their_fields() {
        round_trip(
            b"\x00\x00\x14\x00\x00\x00\x00\x02ks\x00\x01f\x00\x01\x00\x03int",
            &ErrorBody::new(
                ErrorKind::FunctionFailure {
                    keyspace: "ks".into(),
                    function: "f".into(),
                    arg_types: vec!["int".into()],
                },
                "",
            ),
        );
        round_trip(
            b"\x00\x00\x15\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x03CAS",
            &ErrorBody::new(
                ErrorKind::WriteFailure {
                    consistency: Consistency::One,
                    received: 0,
                    block_for: 1,
                    num_failures: 1,
                    write_type: "CAS".into(),
                },
                "",
            ),
        );
        round_trip(
            b"\x00\x00\x24\x00\x00\x00\x00\x02ks\x00\x00",
            &ErrorBody::new(
                ErrorKind::AlreadyExists {
                    keyspace: "ks".into(),
                    table: String::new(),
                },
                "",
            ),
        );
        round_trip(
            b"\x00\x00\x25\x00\x00\x00\x00\x02\xCA\xFE",
            &ErrorBody::new(ErrorKind::Unprepared { id: vec![0xCA, 0xFE] }, ""),
        );
    }

    #[test]
    fn every_code_matches_section_9() {
        let codes = [
            (ErrorKind::Server, 0x0000),
            (ErrorKind::Protocol, 0x000A),
            (ErrorKind::BadCredentials, 0x0100),
            (ErrorKind::Overloaded, 0x1001),
            (ErrorKind::IsBootstrapping, 0x1002),
            (ErrorKind::Truncate, 0x1003),
            (ErrorKind::Syntax, 0x2000),
            (ErrorKind::Unauthorized, 0x2100),
            (ErrorKind::Invalid, 0x2200),
            (ErrorKind::Config, 0x2300),
        ];
        for (kind, code) in codes {
            assert_eq!(kind.code(), code);
            let body = ErrorBody::new(kind, "m");
            let mut out = Vec::new();
            body.encode(&mut out);
            assert_eq!(out[..4], code.to_be_bytes());
            assert_eq!(ErrorBody::decode(&mut Reader::new(&out)).unwrap(), body);
        }
    }

    #[test]
    fn an_unknown_error_code_is_reported() {
        let err = ErrorBody::decode(&mut Reader::new(b"\x00\x00\x99\x99\x00\x00")).unwrap_err();
        assert_eq!(err.to_string(), "unknown error code 0x9999");
    }
}
