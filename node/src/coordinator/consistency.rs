//! Consistency arithmetic: how many replica answers a consistency level needs,
//! given the replication factor in total and in the local data centre. Pure.

use cql_protocol::wire::Consistency;

pub fn quorum(rf: usize) -> usize {
    rf / 2 + 1
}

/// Replica acknowledgements a request at `cl` waits for. `local_rf` is the
/// replication factor in the coordinator's data centre.
pub fn block_for(cl: Consistency, rf: usize, local_rf: usize) -> usize {
    match cl {
        Consistency::Any | Consistency::One | Consistency::LocalOne => 1,
        Consistency::Two => 2,
        Consistency::Three => 3,
        Consistency::Quorum | Consistency::Serial | Consistency::EachQuorum => quorum(rf),
        Consistency::LocalQuorum | Consistency::LocalSerial => quorum(local_rf),
        Consistency::All => rf,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_is_a_strict_majority() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(2), 2);
        assert_eq!(quorum(3), 2);
        assert_eq!(quorum(5), 3);
    }

    #[test]
    fn levels_need_the_cassandra_counts() {
        assert_eq!(block_for(Consistency::One, 3, 3), 1);
        assert_eq!(block_for(Consistency::Two, 3, 3), 2);
        assert_eq!(block_for(Consistency::Quorum, 3, 3), 2);
        assert_eq!(block_for(Consistency::All, 3, 3), 3);
        assert_eq!(block_for(Consistency::LocalQuorum, 5, 3), 2);
        assert_eq!(block_for(Consistency::Any, 3, 3), 1);
    }

    #[test]
    fn any_quorum_overlaps_any_other_quorum() {
        for rf in 1..10 {
            assert!(2 * quorum(rf) > rf, "two quorums of {rf} share a replica");
        }
    }
}
