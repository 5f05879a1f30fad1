//! Frames (spec sections 1, 2 and the start of 4): the 9-byte header, its flags and
//! opcodes, and the optional pieces that precede a message body (tracing id,
//! warnings, custom payload). This module owns framing; message bodies live in
//! `request` and `response`, and reading bytes off a socket is the server's job.

use std::fmt;

use uuid::Uuid;

use crate::error::{Context, DecodeError};
use crate::request::Request;
use crate::response::Response;
use crate::wire::{write_bytes_map, write_int, write_short, write_string_list, write_uuid, BytesMap, Reader};

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 9;
/// The largest body the spec allows ("a frame is limited to 256MB").
pub const DEFAULT_MAX_FRAME_LEN: u32 = 256 * 1024 * 1024;

/// The protocol version this codec speaks.
pub const PROTOCOL_VERSION: u8 = 0x04;
/// The direction bit of the version byte: set on responses.
pub const RESPONSE_BIT: u8 = 0x80;

pub const FLAG_COMPRESSION: u8 = 0x01;
pub const FLAG_TRACING: u8 = 0x02;
pub const FLAG_CUSTOM_PAYLOAD: u8 = 0x04;
pub const FLAG_WARNING: u8 = 0x08;
pub const FLAG_BETA: u8 = 0x10;

/// A message kind (spec section 2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    Error = 0x00,
    Startup = 0x01,
    Ready = 0x02,
    Authenticate = 0x03,
    Options = 0x05,
    Supported = 0x06,
    Query = 0x07,
    Result = 0x08,
    Prepare = 0x09,
    Execute = 0x0A,
    Register = 0x0B,
    Event = 0x0C,
    Batch = 0x0D,
    AuthChallenge = 0x0E,
    AuthResponse = 0x0F,
    AuthSuccess = 0x10,
}

impl Opcode {
    /// Every opcode, in wire order.
    pub const ALL: [Opcode; 16] = [
        Opcode::Error,
        Opcode::Startup,
        Opcode::Ready,
        Opcode::Authenticate,
        Opcode::Options,
        Opcode::Supported,
        Opcode::Query,
        Opcode::Result,
        Opcode::Prepare,
        Opcode::Execute,
        Opcode::Register,
        Opcode::Event,
        Opcode::Batch,
        Opcode::AuthChallenge,
        Opcode::AuthResponse,
        Opcode::AuthSuccess,
    ];

    pub fn from_u8(value: u8) -> Option<Opcode> {
        Opcode::ALL.into_iter().find(|o| *o as u8 == value)
    }

    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether clients send this opcode (the others are server responses).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Opcode::Startup
                | Opcode::Options
                | Opcode::Query
                | Opcode::Prepare
                | Opcode::Execute
                | Opcode::Register
                | Opcode::Batch
                | Opcode::AuthResponse
        )
    }

    /// The spec's name (`AUTH_RESPONSE`).
    pub fn name(self) -> &'static str {
        match self {
            Opcode::Error => "ERROR",
            Opcode::Startup => "STARTUP",
            Opcode::Ready => "READY",
            Opcode::Authenticate => "AUTHENTICATE",
            Opcode::Options => "OPTIONS",
            Opcode::Supported => "SUPPORTED",
            Opcode::Query => "QUERY",
            Opcode::Result => "RESULT",
            Opcode::Prepare => "PREPARE",
            Opcode::Execute => "EXECUTE",
            Opcode::Register => "REGISTER",
            Opcode::Event => "EVENT",
            Opcode::Batch => "BATCH",
            Opcode::AuthChallenge => "AUTH_CHALLENGE",
            Opcode::AuthResponse => "AUTH_RESPONSE",
            Opcode::AuthSuccess => "AUTH_SUCCESS",
        }
    }
}

impl fmt::Display for Opcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:02X})", self.name(), self.as_u8())
    }
}

/// A frame header as it was on the wire. Version and opcode are kept raw so the
/// server can answer an unsupported version or an unknown opcode with an error
/// frame on the right stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The raw byte, direction bit included.
    pub version: u8,
    pub flags: u8,
    pub stream: i16,
    /// The raw byte; may not be a known opcode.
    pub opcode: u8,
    /// Length of the body that follows.
    pub length: u32,
}

impl FrameHeader {
    /// Reads the first [`HEADER_LEN`] bytes of `bytes` (more may follow). Neither the
    /// version nor the opcode is validated.
    pub fn decode(bytes: &[u8]) -> Result<FrameHeader, DecodeError> {
        let mut r = Reader::new(bytes);
        if r.remaining() < HEADER_LEN {
            return Err(DecodeError::Truncated {
                what: "frame header",
                needed: HEADER_LEN,
                available: r.remaining(),
            });
        }
        let version = r.read_byte().context("frame header")?;
        let flags = r.read_byte().context("frame header")?;
        let stream = r.read_short().context("frame header")? as i16;
        let opcode = r.read_byte().context("frame header")?;
        let length = r.read_int().context("frame header")? as u32;
        Ok(FrameHeader {
            version,
            flags,
            stream,
            opcode,
            length,
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.push(self.flags);
        write_short(out, self.stream as u16);
        out.push(self.opcode);
        write_int(out, self.length as i32);
    }

    /// The version without the direction bit (4 for this protocol).
    pub fn protocol_version(&self) -> u8 {
        self.version & !RESPONSE_BIT
    }

    pub fn is_response(&self) -> bool {
        self.version & RESPONSE_BIT != 0
    }

    /// The body length as a `usize`, or `TooLong` if it is over `max` (use
    /// [`DEFAULT_MAX_FRAME_LEN`] unless configured otherwise). Check this before
    /// reading or buffering the body.
    pub fn body_len(&self, max: u32) -> Result<usize, DecodeError> {
        if self.length > max {
            return Err(DecodeError::TooLong {
                what: "frame body",
                length: u64::from(self.length),
                max: u64::from(max),
            });
        }
        usize::try_from(self.length).map_err(|_| DecodeError::TooLong {
            what: "frame body",
            length: u64::from(self.length),
            max: usize::MAX as u64,
        })
    }
}

/// A decoded request frame: the request and the frame-level extras around it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestFrame {
    /// The client asked for tracing.
    pub tracing: bool,
    pub custom_payload: Option<BytesMap>,
    pub request: Request,
}

impl RequestFrame {
    /// A complete v4 request frame (header and body).
    pub fn encode(&self, stream: i16) -> Vec<u8> {
        let mut flags = 0;
        if self.tracing {
            flags |= FLAG_TRACING;
        }
        if self.custom_payload.is_some() {
            flags |= FLAG_CUSTOM_PAYLOAD;
        }
        encode_frame(PROTOCOL_VERSION, flags, stream, self.request.opcode(), |out| {
            if let Some(payload) = &self.custom_payload {
                write_bytes_map(out, payload);
            }
            self.request.encode(out);
        })
    }
}

/// Decodes a request body given its header. Rejects compressed frames (the
/// caller decompresses first, see `compression`), unknown opcodes and response opcodes. The version
/// byte is not checked here; the server decides what to answer to other versions.
pub fn decode_request(header: &FrameHeader, body: &[u8]) -> Result<RequestFrame, DecodeError> {
    if header.flags & FLAG_COMPRESSION != 0 {
        return Err(DecodeError::CompressedFrame);
    }
    let opcode = Opcode::from_u8(header.opcode).ok_or(DecodeError::UnknownOpcode { opcode: header.opcode })?;
    if !opcode.is_request() {
        return Err(DecodeError::NotARequest { opcode });
    }
    let mut r = Reader::new(body);
    let custom_payload = if header.flags & FLAG_CUSTOM_PAYLOAD != 0 {
        Some(r.read_bytes_map().context("custom payload")?)
    } else {
        None
    };
    let request = Request::decode(opcode, r.rest())?;
    Ok(RequestFrame {
        tracing: header.flags & FLAG_TRACING != 0,
        custom_payload,
        request,
    })
}

/// A complete v4 request frame with no flags set.
pub fn encode_request_frame(stream: i16, request: &Request) -> Vec<u8> {
    encode_frame(PROTOCOL_VERSION, 0, stream, request.opcode(), |out| request.encode(out))
}

/// A decoded response frame, as a client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseFrame {
    pub tracing_id: Option<Uuid>,
    pub warnings: Vec<String>,
    pub custom_payload: Option<BytesMap>,
    pub response: Response,
}

impl ResponseFrame {
    /// A complete v4 response frame; flags follow from which extras are present
    /// (an empty warning list sets no flag).
    pub fn encode(&self, stream: i16) -> Vec<u8> {
        let mut flags = 0;
        if self.tracing_id.is_some() {
            flags |= FLAG_TRACING;
        }
        if !self.warnings.is_empty() {
            flags |= FLAG_WARNING;
        }
        if self.custom_payload.is_some() {
            flags |= FLAG_CUSTOM_PAYLOAD;
        }
        let version = PROTOCOL_VERSION | RESPONSE_BIT;
        encode_frame(version, flags, stream, self.response.opcode(), |out| {
            if let Some(id) = self.tracing_id {
                write_uuid(out, id);
            }
            if !self.warnings.is_empty() {
                write_string_list(out, &self.warnings);
            }
            if let Some(payload) = &self.custom_payload {
                write_bytes_map(out, payload);
            }
            self.response.encode(out);
        })
    }
}

/// Decodes a response body given its header: tracing id, warnings and custom
/// payload as the flags say, then the message. Used by tests and tools.
pub fn decode_response(header: &FrameHeader, body: &[u8]) -> Result<ResponseFrame, DecodeError> {
    if header.flags & FLAG_COMPRESSION != 0 {
        return Err(DecodeError::CompressedFrame);
    }
    let opcode = Opcode::from_u8(header.opcode).ok_or(DecodeError::UnknownOpcode { opcode: header.opcode })?;
    let mut r = Reader::new(body);
    let tracing_id = if header.flags & FLAG_TRACING != 0 {
        Some(r.read_uuid().context("tracing id")?)
    } else {
        None
    };
    let warnings = if header.flags & FLAG_WARNING != 0 {
        r.read_string_list().context("warnings")?
    } else {
        Vec::new()
    };
    let custom_payload = if header.flags & FLAG_CUSTOM_PAYLOAD != 0 {
        Some(r.read_bytes_map().context("custom payload")?)
    } else {
        None
    };
    let response = Response::decode(opcode, r.rest())?;
    Ok(ResponseFrame {
        tracing_id,
        warnings,
        custom_payload,
        response,
    })
}

/// A complete v4 response frame (version byte 0x84). Non-empty `warnings` set the
/// WARNING flag and precede the body as a `[string list]`.
pub fn encode_response_frame(stream: i16, response: &Response, warnings: &[String]) -> Vec<u8> {
    encode_response_frame_with(stream, response, None, warnings)
}

/// A complete v4 response frame with the id of the trace session the client
/// asked for (the TRACING flag; the id precedes the body), when it did, and
/// the request's warnings (the WARNING flag, when there are any).
pub fn encode_response_frame_with(stream: i16, response: &Response, tracing_id: Option<Uuid>, warnings: &[String]) -> Vec<u8> {
    let mut flags = 0;
    if tracing_id.is_some() {
        flags |= FLAG_TRACING;
    }
    if !warnings.is_empty() {
        flags |= FLAG_WARNING;
    }
    let version = PROTOCOL_VERSION | RESPONSE_BIT;
    encode_frame(version, flags, stream, response.opcode(), |out| {
        if let Some(id) = tracing_id {
            write_uuid(out, id);
        }
        if !warnings.is_empty() {
            write_string_list(out, warnings);
        }
        response.encode(out);
    })
}

fn encode_frame(version: u8, flags: u8, stream: i16, opcode: Opcode, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut header = FrameHeader {
        version,
        flags,
        stream,
        opcode: opcode.as_u8(),
        length: 0,
    };
    header.encode(&mut out);
    body(&mut out);
    header.length = u32::try_from(out.len().saturating_sub(HEADER_LEN)).unwrap_or(u32::MAX);
    let mut patched = Vec::with_capacity(HEADER_LEN);
    header.encode(&mut patched);
    if let Some(head) = out.get_mut(..HEADER_LEN) {
        head.copy_from_slice(&patched);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::strategies::request;
    use crate::request::Startup;
    use crate::response::strategies::response;
    use crate::wire::strategies::{blob, string};
    use proptest::prelude::*;

    fn split(frame: &[u8]) -> (FrameHeader, &[u8]) {
        let header = FrameHeader::decode(frame).unwrap();
        (header, &frame[HEADER_LEN..])
    }

    #[test]
    fn a_header_is_nine_big_endian_bytes() {
        let bytes = [0x84, 0x08, 0xFF, 0xFF, 0x0C, 0x00, 0x00, 0x01, 0x02];
        let header = FrameHeader::decode(&bytes).unwrap();
        assert_eq!(
            header,
            FrameHeader {
                version: 0x84,
                flags: FLAG_WARNING,
                stream: -1,
                opcode: 0x0C,
                length: 0x0102,
            }
        );
        assert_eq!(header.protocol_version(), 4);
        assert!(header.is_response());
        let mut out = Vec::new();
        header.encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn a_short_header_is_truncated() {
        let err = FrameHeader::decode(&[0x04, 0, 0, 1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame body truncated while reading frame header: needed 9 bytes, 4 left"
        );
    }

    #[test]
    fn a_header_keeps_unknown_versions_and_opcodes_for_the_server_to_judge() {
        let header = FrameHeader::decode(&[0x05, 0, 0, 7, 0x04, 0, 0, 0, 0]).unwrap();
        assert_eq!(header.protocol_version(), 5);
        assert!(!header.is_response());
        assert_eq!(header.opcode, 0x04);
        assert_eq!(Opcode::from_u8(header.opcode), None);
    }

    #[test]
    fn a_body_over_the_limit_is_too_long() {
        let header = FrameHeader::decode(&[0x04, 0, 0, 1, 0x07, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap();
        assert_eq!(
            header.body_len(DEFAULT_MAX_FRAME_LEN).unwrap_err().to_string(),
            "frame body is 4294967295 long, more than the limit of 268435456"
        );
        let header = FrameHeader { length: 10, ..header };
        assert_eq!(header.body_len(DEFAULT_MAX_FRAME_LEN).unwrap(), 10);
    }

    #[test]
    fn opcodes_round_trip_and_know_their_direction() {
        for op in Opcode::ALL {
            assert_eq!(Opcode::from_u8(op.as_u8()), Some(op));
        }
        assert_eq!(Opcode::from_u8(0x04), None);
        assert_eq!(Opcode::from_u8(0x11), None);
        assert_eq!(Opcode::ALL.iter().filter(|o| o.is_request()).count(), 8);
        assert_eq!(Opcode::AuthResponse.to_string(), "AUTH_RESPONSE (0x0F)");
    }

    #[test]
    fn a_startup_request_frame_matches_the_spec_bytes() {
        let request = Request::Startup(Startup {
            options: vec![("CQL_VERSION".into(), "3.0.0".into())],
        });
        let frame = encode_request_frame(1, &request);
        let mut expected = vec![0x04, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x16];
        expected.extend_from_slice(b"\x00\x01\x00\x0BCQL_VERSION\x00\x053.0.0");
        assert_eq!(frame, expected);
        let (header, body) = split(&frame);
        assert_eq!(
            decode_request(&header, body).unwrap(),
            RequestFrame {
                tracing: false,
                custom_payload: None,
                request
            }
        );
    }

    #[test]
    fn a_traced_response_carries_its_session_id_before_the_body() {
        let id = Uuid::from_u128(0x1234);
        let bytes = encode_response_frame_with(3, &Response::Ready, Some(id), &[]);
        let header = FrameHeader::decode(&bytes[..HEADER_LEN]).unwrap();
        assert_eq!(header.flags, FLAG_TRACING);
        let frame = decode_response(&header, &bytes[HEADER_LEN..]).unwrap();
        assert_eq!((frame.tracing_id, frame.response), (Some(id), Response::Ready));
    }

    #[test]
    fn a_traced_response_with_warnings_carries_the_id_then_the_warnings() {
        let id = Uuid::from_u128(0x1234);
        let warnings = vec!["Batch for [k.t] is too big".to_string()];
        let bytes = encode_response_frame_with(3, &Response::Ready, Some(id), &warnings);
        let header = FrameHeader::decode(&bytes[..HEADER_LEN]).unwrap();
        assert_eq!(header.flags, FLAG_TRACING | FLAG_WARNING);
        let frame = decode_response(&header, &bytes[HEADER_LEN..]).unwrap();
        assert_eq!(
            (frame.tracing_id, frame.warnings, frame.response),
            (Some(id), warnings, Response::Ready)
        );
    }

    #[test]
    fn a_request_with_tracing_and_custom_payload_carries_the_payload_first() {
        let mut frame = vec![0x04, FLAG_TRACING | FLAG_CUSTOM_PAYLOAD, 0x00, 0x02, 0x09, 0, 0, 0, 0];
        frame.extend_from_slice(b"\x00\x01\x00\x01k\x00\x00\x00\x01\x2A");
        frame.extend_from_slice(b"\x00\x00\x00\x08SELECT 1");
        let len = (frame.len() - HEADER_LEN) as u8;
        frame[8] = len;
        let (header, body) = split(&frame);
        let decoded = decode_request(&header, body).unwrap();
        assert_eq!(
            decoded,
            RequestFrame {
                tracing: true,
                custom_payload: Some(vec![("k".into(), Some(vec![0x2A]))]),
                request: Request::Prepare(crate::request::Prepare { query: "SELECT 1".into() }),
            }
        );
        assert_eq!(decoded.encode(2), frame);
    }

    #[test]
    fn a_compressed_request_is_refused_with_a_clear_error() {
        let header = FrameHeader {
            version: 0x04,
            flags: FLAG_COMPRESSION,
            stream: 0,
            opcode: Opcode::Options.as_u8(),
            length: 0,
        };
        let err = decode_request(&header, &[]).unwrap_err();
        assert_eq!(err, DecodeError::CompressedFrame);
        assert!(err.to_string().contains("compression"));
    }

    #[test]
    fn unknown_and_response_opcodes_are_not_requests() {
        let mut header = FrameHeader {
            version: 0x04,
            flags: 0,
            stream: 0,
            opcode: 0x04,
            length: 0,
        };
        assert_eq!(
            decode_request(&header, &[]).unwrap_err(),
            DecodeError::UnknownOpcode { opcode: 0x04 }
        );
        header.opcode = Opcode::Result.as_u8();
        let err = decode_request(&header, &[]).unwrap_err();
        assert_eq!(err, DecodeError::NotARequest { opcode: Opcode::Result });
        assert_eq!(err.to_string(), "opcode RESULT (0x08) is a response, but a request was expected");
    }

    #[test]
    fn a_response_frame_with_warnings_sets_the_flag_and_lists_them_first() {
        let frame = encode_response_frame(3, &Response::Ready, &["careful".to_string()]);
        let mut expected = vec![0x84, FLAG_WARNING, 0x00, 0x03, 0x02, 0x00, 0x00, 0x00, 0x0B];
        expected.extend_from_slice(b"\x00\x01\x00\x07careful");
        assert_eq!(frame, expected);
        let (header, body) = split(&frame);
        let decoded = decode_response(&header, body).unwrap();
        assert_eq!(decoded.warnings, vec!["careful".to_string()]);
        assert_eq!(decoded.response, Response::Ready);
    }

    #[test]
    fn a_response_frame_without_warnings_has_no_flags() {
        let frame = encode_response_frame(0, &Response::Ready, &[]);
        assert_eq!(frame, [0x84, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00]);
    }

    fn header() -> impl Strategy<Value = FrameHeader> {
        (any::<u8>(), any::<u8>(), any::<i16>(), any::<u8>(), any::<u32>()).prop_map(|(version, flags, stream, opcode, length)| {
            FrameHeader {
                version,
                flags,
                stream,
                opcode,
                length,
            }
        })
    }

    fn payload() -> impl Strategy<Value = Option<BytesMap>> {
        proptest::option::of(proptest::collection::vec((string(), proptest::option::of(blob())), 0..3))
    }

    fn mutate(bytes: &mut [u8], edits: &[(prop::sample::Index, u8)]) {
        for (i, b) in edits {
            if bytes.is_empty() {
                return;
            }
            let i = i.index(bytes.len());
            bytes[i] = *b;
        }
    }

    proptest! {
        #[test]
        fn every_header_round_trips(h in header()) {
            let mut out = Vec::new();
            h.encode(&mut out);
            prop_assert_eq!(out.len(), HEADER_LEN);
            prop_assert_eq!(FrameHeader::decode(&out).unwrap(), h);
        }

        #[test]
        fn every_request_frame_round_trips(
            tracing in any::<bool>(), custom_payload in payload(), request in request(), stream in any::<i16>(),
        ) {
            let frame = RequestFrame { tracing, custom_payload, request };
            let bytes = frame.encode(stream);
            let (header, body) = split(&bytes);
            prop_assert_eq!(header.stream, stream);
            prop_assert_eq!(header.length as usize, body.len());
            prop_assert_eq!(decode_request(&header, body).unwrap(), frame);
        }

        #[test]
        fn every_response_frame_round_trips(
            tracing_id in proptest::option::of(any::<[u8; 16]>().prop_map(Uuid::from_bytes)),
            warnings in proptest::collection::vec(string(), 0..3),
            custom_payload in payload(), response in response(), stream in any::<i16>(),
        ) {
            let frame = ResponseFrame { tracing_id, warnings, custom_payload, response };
            let bytes = frame.encode(stream);
            let (header, body) = split(&bytes);
            prop_assert_eq!(header.version, 0x84);
            prop_assert_eq!(header.length as usize, body.len());
            prop_assert_eq!(decode_response(&header, body).unwrap(), frame);
        }

        #[test]
        fn decoders_never_panic_on_random_bytes(
            h in header(), body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let _ = decode_request(&h, &body);
            let _ = decode_response(&h, &body);
            if let Some(op) = Opcode::from_u8(h.opcode) {
                let _ = Request::decode(op, &body);
                let _ = Response::decode(op, &body);
            }
        }

        #[test]
        fn decoders_never_panic_on_mutated_requests(
            request in request(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode_request_frame(0, &request);
            mutate(&mut bytes, &edits);
            let (header, body) = split(&bytes);
            let _ = decode_request(&header, body);
            let _ = decode_request(&header, &body[..cut.index(body.len() + 1)]);
        }

        #[test]
        fn decoders_never_panic_on_mutated_responses(
            response in response(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            big in prop_oneof![Just(0x7Fu8), Just(0xFF), Just(0x80)],
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode_response_frame(0, &response, &[]);
            mutate(&mut bytes, &edits);
            let (header, body) = split(&bytes);
            let _ = decode_response(&header, body);
            let _ = decode_response(&header, &body[..cut.index(body.len() + 1)]);
            // Turn one byte into the top of a huge length or count.
            let mut huge = body.to_vec();
            mutate(&mut huge, &[(cut, big)]);
            let _ = decode_response(&header, &huge);
        }
    }
}
