//! The one error type of query execution, and its one exhaustive mapping to CQL
//! error codes: a new variant cannot silently become a server error.

use cql_protocol::response::{ErrorBody, ErrorKind};
use cql_protocol::wire::Consistency;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum QueryError {
    #[error("{message}")]
    Syntax { message: String },
    #[error("{message}")]
    Invalid { message: String },
    #[error("{message}")]
    AlreadyExists { keyspace: String, table: String, message: String },
    #[error("Prepared query with ID {} not found (either the query was not prepared on this host (maybe the host has been restarted?) or you have prepared too many queries and it has been evicted from the internal cache)", hex(.id))]
    Unprepared { id: Vec<u8> },
    #[error("{message}")]
    Config { message: String },
    /// A native function failed on its arguments (`function` in keyspace
    /// `system`, taking `arg_types`).
    #[error("{message}")]
    FunctionFailure {
        function: String,
        arg_types: Vec<String>,
        message: String,
    },
    #[error("{message}")]
    Protocol { message: String },
    #[error("{message}")]
    Unauthorized { message: String },
    #[error("{message}")]
    BadCredentials { message: String },
    #[error("Cannot achieve consistency level {consistency}")]
    Unavailable {
        consistency: Consistency,
        required: i32,
        alive: i32,
    },
    #[error("Operation timed out - received only {received} responses.")]
    WriteTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        write_type: String,
    },
    #[error("Operation timed out - received only {received} responses.")]
    ReadTimeout {
        consistency: Consistency,
        received: i32,
        block_for: i32,
        data_present: bool,
    },
    #[error("{message}")]
    Server { message: String },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl QueryError {
    pub fn invalid(message: impl Into<String>) -> QueryError {
        QueryError::Invalid { message: message.into() }
    }

    pub fn to_error_body(&self) -> ErrorBody {
        let message = self.to_string();
        let kind = match self {
            QueryError::Syntax { .. } => ErrorKind::Syntax,
            QueryError::Invalid { .. } => ErrorKind::Invalid,
            QueryError::AlreadyExists { keyspace, table, .. } => ErrorKind::AlreadyExists {
                keyspace: keyspace.clone(),
                table: table.clone(),
            },
            QueryError::Unprepared { id } => ErrorKind::Unprepared { id: id.clone() },
            QueryError::Config { .. } => ErrorKind::Config,
            QueryError::FunctionFailure { function, arg_types, .. } => ErrorKind::FunctionFailure {
                keyspace: "system".into(),
                function: function.clone(),
                arg_types: arg_types.clone(),
            },
            QueryError::Protocol { .. } => ErrorKind::Protocol,
            QueryError::Unauthorized { .. } => ErrorKind::Unauthorized,
            QueryError::BadCredentials { .. } => ErrorKind::BadCredentials,
            QueryError::Unavailable {
                consistency,
                required,
                alive,
            } => ErrorKind::Unavailable {
                consistency: *consistency,
                required: *required,
                alive: *alive,
            },
            QueryError::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
            } => ErrorKind::WriteTimeout {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                write_type: write_type.clone(),
            },
            QueryError::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => ErrorKind::ReadTimeout {
                consistency: *consistency,
                received: *received,
                block_for: *block_for,
                data_present: *data_present,
            },
            QueryError::Server { .. } => ErrorKind::Server,
        };
        ErrorBody { kind, message }
    }
}

impl From<crate::storage::StorageError> for QueryError {
    fn from(e: crate::storage::StorageError) -> Self {
        QueryError::Server { message: e.to_string() }
    }
}
