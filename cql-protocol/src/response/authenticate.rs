//! AUTHENTICATE (spec 4.2.3): authentication is required, with this
//! authenticator (a Java class name, as a `[string]`).

use crate::error::{Context, DecodeError};
use crate::response::Response;
use crate::wire::{write_string, Reader};

pub fn decode(r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    Ok(Response::Authenticate {
        authenticator: r.read_string().context("authenticator class name")?,
    })
}

pub fn encode(out: &mut Vec<u8>, authenticator: &str) {
    write_string(out, authenticator);
}

#[cfg(test)]
mod tests {
    use crate::frame::Opcode;
    use crate::response::Response;

    #[test]
    fn authenticate_names_the_authenticator_class() {
        let golden = b"\x00\x2Forg.apache.cassandra.auth.PasswordAuthenticator";
        let response = Response::Authenticate {
            authenticator: "org.apache.cassandra.auth.PasswordAuthenticator".into(),
        };
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Response::decode(Opcode::Authenticate, golden).unwrap(), response);
    }
}
