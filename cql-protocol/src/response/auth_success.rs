//! AUTH_SUCCESS (spec 4.2.8): authentication succeeded; a final `[bytes]` token,
//! often null.

use crate::error::{Context, DecodeError};
use crate::response::Response;
use crate::wire::{write_bytes, Reader};

pub fn decode(r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    Ok(Response::AuthSuccess {
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
    fn auth_success_with_a_null_token_is_a_negative_length() {
        let golden = [0xFF, 0xFF, 0xFF, 0xFF];
        let response = Response::AuthSuccess { token: None };
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Response::decode(Opcode::AuthSuccess, &golden).unwrap(), response);
    }
}
