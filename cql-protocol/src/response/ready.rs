//! READY (spec 4.2.2): the server is ready for queries. The body is empty.

use crate::error::DecodeError;
use crate::response::Response;
use crate::wire::Reader;

pub fn decode(_r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    Ok(Response::Ready)
}

pub fn encode(_out: &mut Vec<u8>) {}

#[cfg(test)]
mod tests {
    use crate::frame::{encode_response_frame, Opcode};
    use crate::response::Response;

    #[test]
    fn ready_is_an_empty_body() {
        let mut out = Vec::new();
        Response::Ready.encode(&mut out);
        assert!(out.is_empty());
        assert_eq!(Response::decode(Opcode::Ready, &[]).unwrap(), Response::Ready);
        assert_eq!(
            encode_response_frame(1, &Response::Ready, &[]),
            [0x84, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00]
        );
    }
}
