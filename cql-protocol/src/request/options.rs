//! OPTIONS (spec 4.1.3): asks which STARTUP options the server supports. The body
//! is empty.

use crate::error::DecodeError;
use crate::wire::Reader;

/// The (empty) body of an OPTIONS request; `Request::Options` carries no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options;

impl Options {
    pub fn decode(_r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Options)
    }

    pub fn encode(&self, _out: &mut Vec<u8>) {}
}

#[cfg(test)]
mod tests {
    use super::super::Request;
    use crate::frame::{encode_request_frame, Opcode};

    #[test]
    fn options_request_is_an_empty_body() {
        let mut body = Vec::new();
        Request::Options.encode(&mut body);
        assert!(body.is_empty());
        assert_eq!(Request::decode(Opcode::Options, &[]).unwrap(), Request::Options);
        assert_eq!(
            encode_request_frame(0, &Request::Options),
            [0x04, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00]
        );
    }
}
