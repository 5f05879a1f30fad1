//! Request messages (spec section 4.1), one file per opcode, each with the same
//! shape: a struct with pub fields, `decode(&mut Reader)` and `encode(&mut Vec<u8>)`.
//! This module owns the `Request` enum and dispatch by opcode; frame flags and the
//! custom payload are handled in `frame`.

mod auth_response;
mod batch;
mod execute;
mod options;
mod prepare;
mod query;
mod register;
mod startup;

pub use auth_response::AuthResponse;
pub use batch::{Batch, BatchStatement, BatchTarget, BatchType};
pub use execute::Execute;
pub use options::Options;
pub use prepare::Prepare;
pub use query::{BoundValue, BoundValues, Query, QueryParameters};
pub use register::Register;
pub use startup::Startup;

use crate::error::DecodeError;
use crate::frame::Opcode;
use crate::wire::Reader;

/// A request body, by opcode.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Startup(Startup),
    Options,
    Query(Query),
    Prepare(Prepare),
    Execute(Execute),
    Register(Register),
    Batch(Batch),
    AuthResponse(AuthResponse),
}

impl Request {
    pub fn opcode(&self) -> Opcode {
        match self {
            Request::Startup(_) => Opcode::Startup,
            Request::Options => Opcode::Options,
            Request::Query(_) => Opcode::Query,
            Request::Prepare(_) => Opcode::Prepare,
            Request::Execute(_) => Opcode::Execute,
            Request::Register(_) => Opcode::Register,
            Request::Batch(_) => Opcode::Batch,
            Request::AuthResponse(_) => Opcode::AuthResponse,
        }
    }

    /// Decodes a request body (after any custom payload). Bytes after the message
    /// are ignored, as the spec asks of readers. Response opcodes are an error.
    pub fn decode(opcode: Opcode, body: &[u8]) -> Result<Request, DecodeError> {
        let r = &mut Reader::new(body);
        Ok(match opcode {
            Opcode::Startup => Request::Startup(Startup::decode(r)?),
            Opcode::Options => {
                Options::decode(r)?;
                Request::Options
            }
            Opcode::Query => Request::Query(Query::decode(r)?),
            Opcode::Prepare => Request::Prepare(Prepare::decode(r)?),
            Opcode::Execute => Request::Execute(Execute::decode(r)?),
            Opcode::Register => Request::Register(Register::decode(r)?),
            Opcode::Batch => Request::Batch(Batch::decode(r)?),
            Opcode::AuthResponse => Request::AuthResponse(AuthResponse::decode(r)?),
            Opcode::Error
            | Opcode::Ready
            | Opcode::Authenticate
            | Opcode::Supported
            | Opcode::Result
            | Opcode::Event
            | Opcode::AuthChallenge
            | Opcode::AuthSuccess => return Err(DecodeError::NotARequest { opcode }),
        })
    }

    /// Appends the body (no header) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Request::Startup(m) => m.encode(out),
            Request::Options => Options.encode(out),
            Request::Query(m) => m.encode(out),
            Request::Prepare(m) => m.encode(out),
            Request::Execute(m) => m.encode(out),
            Request::Register(m) => m.encode(out),
            Request::Batch(m) => m.encode(out),
            Request::AuthResponse(m) => m.encode(out),
        }
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use crate::wire::strategies::{blob, consistency, string};
    use proptest::prelude::*;

    pub fn bound_value() -> impl Strategy<Value = BoundValue> {
        prop_oneof![Just(BoundValue::Null), Just(BoundValue::Unset), blob().prop_map(BoundValue::Bytes),]
    }

    pub fn bound_values() -> impl Strategy<Value = BoundValues> {
        prop_oneof![
            Just(BoundValues::None),
            proptest::collection::vec(bound_value(), 0..4).prop_map(BoundValues::Positional),
            proptest::collection::vec((string(), bound_value()), 0..4).prop_map(BoundValues::Named),
        ]
    }

    pub fn query_parameters() -> impl Strategy<Value = QueryParameters> {
        (
            consistency(),
            bound_values(),
            any::<bool>(),
            proptest::option::of(any::<i32>()),
            proptest::option::of(blob()),
            proptest::option::of(consistency()),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(
                |(consistency, values, skip_metadata, page_size, paging_state, serial_consistency, default_timestamp)| QueryParameters {
                    consistency,
                    values,
                    skip_metadata,
                    page_size,
                    paging_state,
                    serial_consistency,
                    default_timestamp,
                },
            )
    }

    pub fn batch() -> impl Strategy<Value = Batch> {
        let target = prop_oneof![string().prop_map(BatchTarget::Query), blob().prop_map(BatchTarget::Prepared),];
        let positional = proptest::collection::vec((target.clone(), proptest::collection::vec(bound_value(), 0..3)), 0..4).prop_map(|s| {
            s.into_iter()
                .map(|(target, v)| BatchStatement {
                    target,
                    values: BoundValues::Positional(v),
                })
                .collect::<Vec<_>>()
        });
        let named = proptest::collection::vec((target, proptest::collection::vec((string(), bound_value()), 0..3)), 1..4).prop_map(|s| {
            s.into_iter()
                .map(|(target, v)| BatchStatement {
                    target,
                    values: BoundValues::Named(v),
                })
                .collect::<Vec<_>>()
        });
        (
            proptest::sample::select(vec![BatchType::Logged, BatchType::Unlogged, BatchType::Counter]),
            prop_oneof![positional, named],
            consistency(),
            proptest::option::of(consistency()),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(|(kind, statements, consistency, serial_consistency, default_timestamp)| Batch {
                kind,
                statements,
                consistency,
                serial_consistency,
                default_timestamp,
            })
    }

    pub fn request() -> impl Strategy<Value = Request> {
        prop_oneof![
            proptest::collection::vec((string(), string()), 0..4).prop_map(|options| Request::Startup(Startup { options })),
            Just(Request::Options),
            (string(), query_parameters()).prop_map(|(query, params)| Request::Query(Query { query, params })),
            string().prop_map(|query| Request::Prepare(Prepare { query })),
            (blob(), query_parameters()).prop_map(|(id, params)| Request::Execute(Execute { id, params })),
            proptest::collection::vec(string(), 0..4).prop_map(|events| Request::Register(Register { events })),
            batch().prop_map(Request::Batch),
            proptest::option::of(blob()).prop_map(|token| Request::AuthResponse(AuthResponse { token })),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::request;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn response_opcodes_are_not_requests() {
        assert_eq!(
            Request::decode(Opcode::Ready, &[]).unwrap_err(),
            DecodeError::NotARequest { opcode: Opcode::Ready }
        );
    }

    #[test]
    fn trailing_bytes_after_a_request_are_ignored() {
        let body = b"\x00\x00\x00\x01x\xDE\xAD";
        assert_eq!(
            Request::decode(Opcode::Prepare, body).unwrap(),
            Request::Prepare(Prepare { query: "x".into() })
        );
    }

    proptest! {
        #[test]
        fn every_request_round_trips(request in request()) {
            let mut body = Vec::new();
            request.encode(&mut body);
            prop_assert_eq!(Request::decode(request.opcode(), &body).unwrap(), request);
        }
    }
}
