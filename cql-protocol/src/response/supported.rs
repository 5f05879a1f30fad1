//! SUPPORTED (spec 4.2.4): the STARTUP options the server accepts, as a
//! `[string multimap]` from option name to allowed values.

use crate::error::{Context, DecodeError};
use crate::response::Response;
use crate::wire::{write_string_multimap, Reader};

pub fn decode(r: &mut Reader<'_>) -> Result<Response, DecodeError> {
    Ok(Response::Supported {
        options: r.read_string_multimap().context("supported options")?,
    })
}

pub fn encode(out: &mut Vec<u8>, options: &[(String, Vec<String>)]) {
    write_string_multimap(out, options);
}

#[cfg(test)]
mod tests {
    use crate::frame::Opcode;
    use crate::response::Response;

    #[test]
    fn supported_is_a_string_multimap() {
        let golden = b"\x00\x02\x00\x0BCQL_VERSION\x00\x01\x00\x053.4.4\x00\x0BCOMPRESSION\x00\x00";
        let response = Response::Supported {
            options: vec![("CQL_VERSION".into(), vec!["3.4.4".into()]), ("COMPRESSION".into(), vec![])],
        };
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(out, golden);
        assert_eq!(Response::decode(Opcode::Supported, golden).unwrap(), response);
    }
}
