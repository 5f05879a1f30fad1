//! Response messages (spec section 4.2), one file per opcode. This module owns the
//! `Response` enum and dispatch by opcode; the tracing id, warnings and custom
//! payload that may precede a body are handled in `frame`.

mod auth_challenge;
mod auth_success;
mod authenticate;
mod error;
mod event;
mod ready;
mod result;
mod supported;

pub use error::{ErrorBody, ErrorKind};
pub use event::{Event, SchemaChange, SchemaChangeTarget, SchemaChangeType};
pub use result::{ColumnSpec, Prepared, PreparedMetadata, ResultBody, Rows, RowsMetadata, MAX_ROWS_WITHOUT_COLUMNS};

use crate::error::DecodeError;
use crate::frame::Opcode;
use crate::wire::Reader;

/// A response body, by opcode.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Error(ErrorBody),
    Ready,
    Authenticate { authenticator: String },
    Supported { options: Vec<(String, Vec<String>)> },
    Result(ResultBody),
    Event(Event),
    AuthChallenge { token: Option<Vec<u8>> },
    AuthSuccess { token: Option<Vec<u8>> },
}

impl Response {
    pub fn opcode(&self) -> Opcode {
        match self {
            Response::Error(_) => Opcode::Error,
            Response::Ready => Opcode::Ready,
            Response::Authenticate { .. } => Opcode::Authenticate,
            Response::Supported { .. } => Opcode::Supported,
            Response::Result(_) => Opcode::Result,
            Response::Event(_) => Opcode::Event,
            Response::AuthChallenge { .. } => Opcode::AuthChallenge,
            Response::AuthSuccess { .. } => Opcode::AuthSuccess,
        }
    }

    /// Decodes a response body (after any tracing id, warnings and custom payload).
    /// Bytes after the message are ignored, as the spec asks of readers.
    pub fn decode(opcode: Opcode, body: &[u8]) -> Result<Response, DecodeError> {
        let r = &mut Reader::new(body);
        match opcode {
            Opcode::Error => Ok(Response::Error(ErrorBody::decode(r)?)),
            Opcode::Ready => ready::decode(r),
            Opcode::Authenticate => authenticate::decode(r),
            Opcode::Supported => supported::decode(r),
            Opcode::Result => Ok(Response::Result(ResultBody::decode(r)?)),
            Opcode::Event => Ok(Response::Event(Event::decode(r)?)),
            Opcode::AuthChallenge => auth_challenge::decode(r),
            Opcode::AuthSuccess => auth_success::decode(r),
            Opcode::Startup
            | Opcode::Options
            | Opcode::Query
            | Opcode::Prepare
            | Opcode::Execute
            | Opcode::Register
            | Opcode::Batch
            | Opcode::AuthResponse => Err(DecodeError::NotAResponse { opcode }),
        }
    }

    /// Appends the body (no header) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Response::Error(body) => body.encode(out),
            Response::Ready => ready::encode(out),
            Response::Authenticate { authenticator } => authenticate::encode(out, authenticator),
            Response::Supported { options } => supported::encode(out, options),
            Response::Result(body) => body.encode(out),
            Response::Event(event) => event.encode(out),
            Response::AuthChallenge { token } => auth_challenge::encode(out, token.as_deref()),
            Response::AuthSuccess { token } => auth_success::encode(out, token.as_deref()),
        }
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::option::strategies::column_type;
    use crate::wire::strategies::{blob, consistency, socket_addr, string};
    use proptest::collection::vec;
    use proptest::prelude::*;

    pub fn error_body() -> impl Strategy<Value = ErrorBody> {
        let kind = prop_oneof![
            proptest::sample::select(vec![
                ErrorKind::Server,
                ErrorKind::Protocol,
                ErrorKind::BadCredentials,
                ErrorKind::Overloaded,
                ErrorKind::IsBootstrapping,
                ErrorKind::Truncate,
                ErrorKind::Syntax,
                ErrorKind::Unauthorized,
                ErrorKind::Invalid,
                ErrorKind::Config,
            ]),
            (consistency(), any::<i32>(), any::<i32>()).prop_map(|(consistency, required, alive)| {
                ErrorKind::Unavailable {
                    consistency,
                    required,
                    alive,
                }
            }),
            (consistency(), any::<i32>(), any::<i32>(), string()).prop_map(|(consistency, received, block_for, write_type)| {
                ErrorKind::WriteTimeout {
                    consistency,
                    received,
                    block_for,
                    write_type,
                }
            }),
            (consistency(), any::<i32>(), any::<i32>(), any::<bool>()).prop_map(|(consistency, received, block_for, data_present)| {
                ErrorKind::ReadTimeout {
                    consistency,
                    received,
                    block_for,
                    data_present,
                }
            }),
            (consistency(), any::<i32>(), any::<i32>(), any::<i32>(), any::<bool>()).prop_map(
                |(consistency, received, block_for, num_failures, data_present)| {
                    ErrorKind::ReadFailure {
                        consistency,
                        received,
                        block_for,
                        num_failures,
                        data_present,
                    }
                }
            ),
            (string(), string(), vec(string(), 0..3)).prop_map(|(keyspace, function, arg_types)| {
                ErrorKind::FunctionFailure {
                    keyspace,
                    function,
                    arg_types,
                }
            }),
            (consistency(), any::<i32>(), any::<i32>(), any::<i32>(), string()).prop_map(
                |(consistency, received, block_for, num_failures, write_type)| {
                    ErrorKind::WriteFailure {
                        consistency,
                        received,
                        block_for,
                        num_failures,
                        write_type,
                    }
                }
            ),
            (string(), string()).prop_map(|(keyspace, table)| ErrorKind::AlreadyExists { keyspace, table }),
            blob().prop_map(|id| ErrorKind::Unprepared { id }),
        ];
        (kind, string()).prop_map(|(kind, message)| ErrorBody { kind, message })
    }

    pub fn column_specs() -> impl Strategy<Value = Vec<ColumnSpec>> {
        let spec = |(keyspace, table, name, ty)| ColumnSpec { keyspace, table, name, ty };
        prop_oneof![
            // One table: encoded with the global table spec.
            (string(), string(), vec((string(), column_type()), 0..4)).prop_map(|(keyspace, table, cols)| {
                cols.into_iter()
                    .map(|(name, ty)| ColumnSpec {
                        keyspace: keyspace.clone(),
                        table: table.clone(),
                        name,
                        ty,
                    })
                    .collect()
            }),
            vec((string(), string(), string(), column_type()).prop_map(spec), 0..4),
        ]
    }

    pub fn rows_metadata() -> impl Strategy<Value = RowsMetadata> {
        let shape = prop_oneof![
            column_specs().prop_map(RowsMetadata::new),
            (0usize..4).prop_map(|n| RowsMetadata {
                column_count: n,
                ..RowsMetadata::empty()
            }),
        ];
        (shape, proptest::option::of(blob())).prop_map(|(m, paging_state)| RowsMetadata { paging_state, ..m })
    }

    pub fn rows() -> impl Strategy<Value = Rows> {
        rows_metadata().prop_flat_map(|metadata| {
            let n = metadata.column_count;
            vec(vec(proptest::option::of(blob()), n), 0..4).prop_map(move |rows| Rows {
                metadata: metadata.clone(),
                rows,
            })
        })
    }

    pub fn schema_change() -> impl Strategy<Value = SchemaChange> {
        let change = proptest::sample::select(vec![
            SchemaChangeType::Created,
            SchemaChangeType::Updated,
            SchemaChangeType::Dropped,
        ]);
        let target = prop_oneof![
            string().prop_map(|keyspace| SchemaChangeTarget::Keyspace { keyspace }),
            (string(), string()).prop_map(|(keyspace, name)| SchemaChangeTarget::Table { keyspace, name }),
            (string(), string()).prop_map(|(keyspace, name)| SchemaChangeTarget::Type { keyspace, name }),
            (string(), string(), vec(string(), 0..3))
                .prop_map(|(keyspace, name, arg_types)| { SchemaChangeTarget::Function { keyspace, name, arg_types } }),
            (string(), string(), vec(string(), 0..3))
                .prop_map(|(keyspace, name, arg_types)| { SchemaChangeTarget::Aggregate { keyspace, name, arg_types } }),
        ];
        (change, target).prop_map(|(change, target)| SchemaChange { change, target })
    }

    pub fn result_body() -> impl Strategy<Value = ResultBody> {
        prop_oneof![
            Just(ResultBody::Void),
            rows().prop_map(ResultBody::Rows),
            string().prop_map(ResultBody::SetKeyspace),
            (blob(), column_specs(), vec(any::<u16>(), 0..4), rows_metadata()).prop_map(|(id, columns, pk_indexes, result_metadata)| {
                ResultBody::Prepared(Prepared {
                    id,
                    metadata: PreparedMetadata { columns, pk_indexes },
                    result_metadata,
                })
            }),
            schema_change().prop_map(ResultBody::SchemaChange),
        ]
    }

    pub fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (string(), socket_addr()).prop_map(|(change, address)| Event::TopologyChange { change, address }),
            (string(), socket_addr()).prop_map(|(change, address)| Event::StatusChange { change, address }),
            schema_change().prop_map(Event::SchemaChange),
        ]
    }

    pub fn response() -> impl Strategy<Value = Response> {
        prop_oneof![
            error_body().prop_map(Response::Error),
            Just(Response::Ready),
            string().prop_map(|authenticator| Response::Authenticate { authenticator }),
            vec((string(), vec(string(), 0..3)), 0..3).prop_map(|options| Response::Supported { options }),
            result_body().prop_map(Response::Result),
            event().prop_map(Response::Event),
            proptest::option::of(blob()).prop_map(|token| Response::AuthChallenge { token }),
            proptest::option::of(blob()).prop_map(|token| Response::AuthSuccess { token }),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::response;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn request_opcodes_are_not_responses() {
        assert_eq!(
            Response::decode(Opcode::Query, &[]).unwrap_err(),
            DecodeError::NotAResponse { opcode: Opcode::Query }
        );
    }

    proptest! {
        #[test]
        fn every_response_round_trips(response in response()) {
            let mut body = Vec::new();
            response.encode(&mut body);
            prop_assert_eq!(Response::decode(response.opcode(), &body).unwrap(), response);
        }
    }
}
