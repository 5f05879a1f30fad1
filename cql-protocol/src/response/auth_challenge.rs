//! AUTH_CHALLENGE (spec 4.2.7): a SASL challenge, as a `[bytes]` token.

use crate::error::{Context, DecodeError};
use crate::response::Response;
use crate::wire::{write_bytes, Reader};

pub fn decode(r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    Ok(Response::AuthChallenge {
        token: r.read_bytes().context("SASL token")?.map(<[u8]>::to_vec),
    })
}

pub fn encode(out: &mut Vec<u8>, token: Option<&[u8]>) {
    write_bytes(out, token);
}

#[cfg(test)]
mod tests {
    use crate::frame::Opcode;
    use crate::response::Response;

    #[test]
    fn auth_challenge_is_one_bytes_token() {
        let golden = b"\x00\x00\x00\x03abc";
        let response = Response::AuthChallenge {
            token: Some(b"abc".to_vec()),
        };
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Response::decode(Opcode::AuthChallenge, golden).unwrap(), response);
    }
}
