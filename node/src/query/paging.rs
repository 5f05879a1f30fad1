//! The paging state a client sends back to get the next page: where the last
//! page stopped and how much of the LIMIT is left. Versioned bytes, checked on
//! the way in (a client may send anything).

use crate::error::QueryError;
use crate::storage::PartitionPosition;

const VERSION: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagingState {
    pub position: PartitionPosition,
    /// The last clustering key returned; None when the partition was finished.
    pub clustering: Option<Vec<u8>>,
    /// Rows of the LIMIT still to return.
    pub remaining: usize,
    /// Rows already returned from `position`'s partition (for PER PARTITION LIMIT).
    pub partition_rows: usize,
}

impl PagingState {
    /// `[u8 version][i64 token][u32 n][n key bytes][u8 has clustering][u32 n][n bytes][u64 remaining][u64 partition rows]`, big-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![VERSION];
        out.extend_from_slice(&self.position.token.to_be_bytes());
        out.extend_from_slice(&(self.position.key.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.position.key);
        match &self.clustering {
            Some(c) => {
                out.push(1);
                out.extend_from_slice(&(c.len() as u32).to_be_bytes());
                out.extend_from_slice(c);
            }
            None => out.push(0),
        }
        out.extend_from_slice(&(self.remaining as u64).to_be_bytes());
        out.extend_from_slice(&(self.partition_rows as u64).to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<PagingState, QueryError> {
        let invalid = || QueryError::Protocol {
            message: "Invalid value for the paging state: it was not produced by this server".into(),
        };
        let mut r = bytes;
        let mut take = |n: usize| -> Result<&[u8], QueryError> {
            if r.len() < n {
                return Err(invalid());
            }
            let (head, tail) = r.split_at(n);
            r = tail;
            Ok(head)
        };
        if take(1)? != [VERSION] {
            return Err(invalid());
        }
        let token = i64::from_be_bytes(take(8)?.try_into().map_err(|_| invalid())?);
        let n = u32::from_be_bytes(take(4)?.try_into().map_err(|_| invalid())?) as usize;
        let key = take(n)?.to_vec();
        let clustering = match take(1)? {
            [0] => None,
            [1] => {
                let n = u32::from_be_bytes(take(4)?.try_into().map_err(|_| invalid())?) as usize;
                Some(take(n)?.to_vec())
            }
            _ => return Err(invalid()),
        };
        let remaining = u64::from_be_bytes(take(8)?.try_into().map_err(|_| invalid())?) as usize;
        let partition_rows = u64::from_be_bytes(take(8)?.try_into().map_err(|_| invalid())?) as usize;
        Ok(PagingState {
            position: PartitionPosition { token, key },
            clustering,
            remaining,
            partition_rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn paging_state_round_trips(token: i64, key: Vec<u8>, c: Option<Vec<u8>>, remaining in 0usize..1_000_000, rows in 0usize..1000) {
            let s = PagingState { position: PartitionPosition { token, key }, clustering: c, remaining, partition_rows: rows };
            prop_assert_eq!(PagingState::decode(&s.encode()).unwrap(), s);
        }

        #[test]
        fn garbage_paging_state_is_an_error_not_a_panic(bytes: Vec<u8>) {
            let _ = PagingState::decode(&bytes);
        }
    }
}
