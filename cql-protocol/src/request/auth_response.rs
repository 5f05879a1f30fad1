//! AUTH_RESPONSE (spec 4.1.2): a SASL token, as `[bytes]` (which may be null).
//! What the token means is the authenticator's business.

use crate::error::{Context, DecodeError};
use crate::wire::{write_bytes, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResponse {
    pub token: Option<Vec<u8>>,
}

impl AuthResponse {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AuthResponse {
            token: r.read_bytes().context("SASL token")?.map(<[u8]>::to_vec),
        })
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        write_bytes(out, self.token.as_deref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_text_auth_response_is_one_bytes_token() {
        let golden = b"\x00\x00\x00\x14\x00cassandra\x00cassandra";
        let auth = AuthResponse {
            token: Some(b"\x00cassandra\x00cassandra".to_vec()),
        };
        let mut out = Vec::new();
        auth.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(AuthResponse::decode(&mut Reader::new(golden)).unwrap(), auth);
    }

    #[test]
    fn a_null_token_is_a_negative_length() {
        let auth = AuthResponse::decode(&mut Reader::new(&[0xFF; 4])).unwrap();
        assert_eq!(auth, AuthResponse { token: None });
        let mut out = Vec::new();
        auth.encode(&mut out);
        assert_eq!(out, [0xFF; 4]);
    }
}
