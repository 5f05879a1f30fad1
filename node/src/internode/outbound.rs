//! A request for one or more peers, encoded at most once: a write goes to each
//! of its replicas and a Paxos phase to each participant, with the same bytes.
//! Encoding waits for the first peer that needs the bytes, so a request that
//! only this node answers (a single-node cluster) is never encoded.

use std::sync::{Arc, OnceLock};

use super::message::Verb;

/// A verb to send, shared by every send of it (cloning is a reference count).
#[derive(Debug, Clone)]
pub struct Outbound {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    verb: Verb,
    /// The verb's postcard bytes (a frame's payload), or why it cannot be encoded.
    payload: OnceLock<Result<Vec<u8>, String>>,
}

impl Outbound {
    pub fn new(verb: Verb) -> Outbound {
        Outbound {
            inner: Arc::new(Inner {
                verb,
                payload: OnceLock::new(),
            }),
        }
    }

    pub fn verb(&self) -> &Verb {
        &self.inner.verb
    }

    /// The encoded verb: computed by the first caller, shared by the rest.
    pub fn payload(&self) -> Result<&[u8], &str> {
        match self
            .inner
            .payload
            .get_or_init(|| postcard::to_allocvec(&self.inner.verb).map_err(|e| e.to_string()))
        {
            Ok(bytes) => Ok(bytes),
            Err(reason) => Err(reason),
        }
    }

    /// The verb itself, without a copy when no other send still holds it.
    pub fn into_verb(self) -> Verb {
        match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner.verb,
            Err(shared) => shared.verb.clone(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_clone_shares_one_encoding_that_decodes_to_the_verb() {
        let request = Outbound::new(Verb::Truncate {
            table: uuid::Uuid::from_u128(3),
        });
        let copy = request.clone();
        let first = request.payload().unwrap().as_ptr();
        assert_eq!(copy.payload().unwrap().as_ptr(), first, "encoded once, not per clone");
        let decoded: Verb = super::super::message::decode(copy.payload().unwrap()).unwrap();
        assert_eq!(&decoded, request.verb());
        drop(copy);
        assert_eq!(request.into_verb(), decoded);
    }
}
