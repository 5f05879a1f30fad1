//! What internode frames carry (version [`super::INTERNODE_VERSION`], see
//! `docs/internode.md`): the verbs a coordinator sends to a replica and the
//! replies, as serde types encoded with postcard, and their framing. Decoding
//! rejects trailing bytes and never panics. Sockets are `connection`'s.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use uuid::Uuid;

use super::frame::{EncodeError, Frame, Kind};
use crate::movement::chunk::StreamChunk;
use crate::paxos::{Ballot, Promise, Proposal};
use crate::repair::merkle::{MerkleTree, TokenSpan};
use crate::storage::{Mutation, PartitionPosition, ReadCommand, ReadLimits, RepairedBefore, ResumePoint};

/// A request to a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verb {
    /// Apply these mutations (atomically where the engine can); answered by `Ack`.
    Mutate { mutations: Vec<Mutation> },
    /// The replica's unresolved content for a read (`StorageEngine::read_raw`),
    /// within `limits` (rows and bytes since version 10, rows of each
    /// partition since 11); answered by `Data`.
    Read { command: ReadCommand, limits: ReadLimits },
    /// Liveness; answered by `Pong`.
    Ping,
    /// Empty this table (TRUNCATE, sent to every node); answered by `Ack`.
    /// New in version 2.
    Truncate { table: Uuid },
    /// Only a digest of what `Read` would answer (`coordinator::digest`);
    /// answered by `Digest`. New in version 3; `limits` since version 10.
    ReadDigest { command: ReadCommand, limits: ReadLimits },
    /// The next chunk of a table's content over a token range, from `resume`
    /// on, at most `max_rows` rows; answered by `Stream`. New in version 4.
    StreamRead {
        table: Uuid,
        start: std::ops::Bound<i64>,
        end: std::ops::Bound<i64>,
        resume: Option<ResumePoint>,
        max_rows: u32,
    },
    /// Apply a stream chunk (checksum checked first); answered by `Ack`.
    /// New in version 4.
    StreamPush { chunk: StreamChunk },
    /// Paxos phase 1 for one partition: promise `ballot`; answered by
    /// `Promise`. New in version 5.
    PaxosPrepare {
        table: Uuid,
        position: PartitionPosition,
        ballot: Ballot,
    },
    /// Paxos phase 2: accept the proposal unless a higher ballot was promised;
    /// answered by `Accepted`. New in version 5.
    PaxosPropose { proposal: Proposal },
    /// Paxos phase 3: apply the proposal's update and record it as committed;
    /// answered by `Ack`. New in version 5.
    PaxosCommit { proposal: Proposal },
    /// Counter increments (each counter cell holds its delta) for this node to
    /// apply as their leader: it adds them to its own shards and answers `Data`
    /// with the mutations that carry its new shards, for the other replicas.
    /// New in version 5.
    CounterLead { mutations: Vec<Mutation> },
    /// A verb the coordinator traces: the replica records what it does under
    /// the trace session `session` (`crate::trace`). `verb` is the postcard
    /// encoding of the verb itself, decoded by `Verb::untraced`, which refuses
    /// a `Traced` inside (so decoding never recurses). The verb's own reply
    /// answers it. New in version 7.
    Traced { session: Uuid, verb: Vec<u8> },
    /// The Merkle tree of this replica's content of `table` over `span`, with
    /// `2^depth` leaves, for a repair; answered by `Tree`. New in version 8.
    Validate { table: Uuid, span: TokenSpan, depth: u8 },
    /// A hint handed over by a decommissioning node (Cassandra's `HINT_REQ`
    /// from `HintsService.transferHints`): the receiver applies `mutation` when
    /// it is `target` itself, else keeps it as its own hint for `target`,
    /// created at `created_at` (milliseconds since the epoch, for its TTL).
    /// Answered by `Ack`. New in version 9 (verb 13).
    Hint {
        target: std::net::IpAddr,
        created_at: i64,
        mutation: Mutation,
    },
    /// Starts an incremental repair of `table` over `span` on this replica
    /// (Cassandra's `PREPARE_CONSISTENT_REQ`): its later writes are marked
    /// with a newer epoch and its earlier ones made durable
    /// (`StorageEngine::begin_repair`). Answered by `Unrepaired`: the cut and
    /// the partitions of the span marked unrepaired, or none listed when there
    /// are more than `max_partitions`. New in version 10 (verb 14).
    RepairPrepare { table: Uuid, span: TokenSpan, max_partitions: u32 },
    /// The Merkle tree, `2^depth` leaves over `span`, of this replica's
    /// content of only these partitions of `table` (those outside `span` are
    /// left out); answered by `Tree`. New in version 10 (verb 15).
    ValidatePartitions {
        table: Uuid,
        span: TokenSpan,
        depth: u8,
        partitions: Vec<PartitionPosition>,
    },
    /// The incremental repair of `table` over `span` succeeded on every
    /// replica: drop the unrepaired marks of writes before `before` (the cut
    /// this replica answered `RepairPrepare` with; Cassandra's
    /// `FINALIZE_COMMIT_MSG`). Answered by `Ack`. New in version 10 (verb 16).
    RepairFinalize {
        table: Uuid,
        span: TokenSpan,
        before: RepairedBefore,
    },
}

/// A replica's answer to one verb.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    Ack,
    Data {
        partitions: Vec<Mutation>,
    },
    /// The replica could not do it (storage error, unknown table, ...).
    Failed {
        message: String,
    },
    Pong,
    /// New in version 3.
    Digest {
        digest: u64,
    },
    /// A stream chunk and where the next one starts (`None`: the range is done).
    /// New in version 4.
    Stream {
        chunk: StreamChunk,
        next: Option<ResumePoint>,
    },
    /// New in version 5.
    Promise {
        promise: Promise,
    },
    /// New in version 5.
    Accepted {
        accepted: bool,
    },
    /// A replica's Merkle tree and the rows and bytes it hashed. New in version 8.
    Tree {
        tree: MerkleTree,
        rows: u64,
        bytes: u64,
    },
    /// A replica's cut for an incremental repair and the partitions it holds
    /// unrepaired in the span (`None`: more than were asked for). New in
    /// version 10 (reply 9).
    Unrepaired {
        before: RepairedBefore,
        partitions: Option<Vec<PartitionPosition>>,
    },
}

impl Verb {
    /// The verb's name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Verb::Mutate { .. } => "mutate",
            Verb::Read { .. } => "read",
            Verb::Ping => "ping",
            Verb::Truncate { .. } => "truncate",
            Verb::ReadDigest { .. } => "read_digest",
            Verb::StreamRead { .. } => "stream_read",
            Verb::StreamPush { .. } => "stream_push",
            Verb::PaxosPrepare { .. } => "paxos_prepare",
            Verb::PaxosPropose { .. } => "paxos_propose",
            Verb::PaxosCommit { .. } => "paxos_commit",
            Verb::CounterLead { .. } => "counter_lead",
            Verb::Traced { .. } => "traced",
            Verb::Validate { .. } => "validate",
            Verb::Hint { .. } => "hint",
            Verb::RepairPrepare { .. } => "repair_prepare",
            Verb::ValidatePartitions { .. } => "validate_partitions",
            Verb::RepairFinalize { .. } => "repair_finalize",
        }
    }

    /// The verb's name in trace events, as Cassandra writes it
    /// (`Sending MUTATION message to /10.0.0.2`).
    pub fn trace_name(&self) -> &'static str {
        match self {
            Verb::Mutate { .. } => "MUTATION",
            Verb::Read { .. } | Verb::ReadDigest { .. } => "READ",
            Verb::Ping => "ECHO",
            Verb::Truncate { .. } => "TRUNCATE",
            Verb::StreamRead { .. } | Verb::StreamPush { .. } => "STREAM",
            Verb::PaxosPrepare { .. } => "PAXOS_PREPARE",
            Verb::PaxosPropose { .. } => "PAXOS_PROPOSE",
            Verb::PaxosCommit { .. } => "PAXOS_COMMIT",
            Verb::CounterLead { .. } => "COUNTER_MUTATION",
            Verb::Traced { .. } => "TRACED",
            Verb::Validate { .. } => "VALIDATION_REQ",
            Verb::Hint { .. } => "HINT_REQ",
            Verb::RepairPrepare { .. } => "PREPARE_CONSISTENT_REQ",
            Verb::ValidatePartitions { .. } => "VALIDATION_REQ",
            Verb::RepairFinalize { .. } => "FINALIZE_COMMIT_MSG",
        }
    }

    /// The stage that answers the verb on a replica, as `rustica tpstats`
    /// names it (a traced verb's events' `thread`).
    pub fn stage(&self) -> &'static str {
        match self {
            Verb::Mutate { .. } | Verb::Truncate { .. } | Verb::CounterLead { .. } | Verb::Hint { .. } => "MutationStage",
            Verb::Read { .. } | Verb::ReadDigest { .. } => "ReadStage",
            Verb::StreamRead { .. } | Verb::StreamPush { .. } => "StreamStage",
            Verb::PaxosPrepare { .. } | Verb::PaxosPropose { .. } | Verb::PaxosCommit { .. } => "PaxosStage",
            Verb::Validate { .. } | Verb::ValidatePartitions { .. } => "ValidationExecutor",
            Verb::RepairPrepare { .. } | Verb::RepairFinalize { .. } => "AntiEntropyStage",
            Verb::Ping | Verb::Traced { .. } => "RequestResponseStage",
        }
    }

    /// This verb, carrying the trace session `session`.
    pub fn traced(self, session: Uuid) -> Result<Verb, postcard::Error> {
        Ok(Verb::Traced {
            session,
            verb: postcard::to_allocvec(&self)?,
        })
    }

    /// The verb inside a `Traced`'s bytes; another `Traced` is refused.
    pub fn untraced(bytes: &[u8]) -> Result<Verb, DecodeError> {
        match decode::<Verb>(bytes)? {
            Verb::Traced { .. } => Err(DecodeError::NestedTrace),
            verb => Ok(verb),
        }
    }
}

impl Reply {
    /// The reply's name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Ack => "ack",
            Reply::Data { .. } => "data",
            Reply::Failed { .. } => "failed",
            Reply::Pong => "pong",
            Reply::Digest { .. } => "digest",
            Reply::Stream { .. } => "stream",
            Reply::Promise { .. } => "promise",
            Reply::Accepted { .. } => "accepted",
            Reply::Tree { .. } => "tree",
            Reply::Unrepaired { .. } => "unrepaired",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("malformed message: {source}")]
    Postcard {
        #[from]
        source: postcard::Error,
    },
    #[error("{extra} bytes left over after the message")]
    TrailingBytes { extra: usize },
    #[error("a traced verb inside a traced verb")]
    NestedTrace,
}

/// A whole frame (header and postcard payload) for one message.
pub fn encode<T: Serialize>(request_id: u64, kind: Kind, message: &T) -> Result<Vec<u8>, EncodeError<postcard::Error>> {
    Frame::encode_with(request_id, kind, |out| postcard::to_extend(message, out))
}

/// A message from a frame's payload; every byte must belong to it.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    let (message, rest) = postcard::take_from_bytes(payload)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes { extra: rest.len() });
    }
    Ok(message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use std::ops::Bound;

    use proptest::prelude::*;
    use uuid::Uuid;

    use super::*;
    use crate::storage::{Cell, ColumnData, DeletionTime, PartitionPosition, PartitionSelection, RangeTombstone, ResumePoint, Row};

    fn sample_mutation() -> Mutation {
        let mut m = Mutation::new(
            Uuid::from_u128(7),
            PartitionPosition {
                token: -3,
                key: b"k".to_vec(),
            },
        );
        m.partition_deletion = Some(DeletionTime {
            timestamp: 5,
            local_deletion_time: 6,
        });
        m.range_tombstones.push(RangeTombstone {
            start: Bound::Included(vec![1]),
            end: Bound::Unbounded,
            deletion: DeletionTime {
                timestamp: 9,
                local_deletion_time: 10,
            },
        });
        let mut row = Row {
            marker: Some(Cell::live(11, Vec::new(), 30, 100)),
            ..Row::default()
        };
        row.columns.insert("a".into(), ColumnData::Simple(Cell::tombstone(12)));
        row.columns.insert(
            "m".into(),
            ColumnData::Complex {
                deletion: None,
                cells: [(vec![1], Cell::live(13, b"x".to_vec(), 0, 0))].into(),
            },
        );
        m.rows.push((vec![2], row));
        m
    }

    fn sample_proposal() -> Proposal {
        Proposal {
            ballot: Ballot { micros: 12, node: 3 },
            table: Uuid::from_u128(7),
            position: sample_mutation().position,
            update: vec![sample_mutation()],
        }
    }

    #[test]
    fn verbs_and_replies_round_trip() {
        let verbs = [
            Verb::Mutate {
                mutations: vec![sample_mutation()],
            },
            Verb::Read {
                command: ReadCommand {
                    index: Some(crate::index::IndexLookup {
                        index_table: Uuid::from_u128(2),
                        values: vec![b"v".to_vec()],
                    }),
                    table: Uuid::from_u128(1),
                    partitions: PartitionSelection::Tokens {
                        start: Bound::Excluded(-5),
                        end: Bound::Unbounded,
                    },
                    slices: vec![(Bound::Included(vec![1]), Bound::Excluded(vec![9]))],
                    reversed: true,
                    resume: Some(ResumePoint {
                        position: sample_mutation().position,
                        clustering: Some(vec![3]),
                    }),
                },
                limits: ReadLimits {
                    rows: Some(100),
                    bytes: Some(1 << 20),
                    per_partition: Some(1),
                },
            },
            Verb::Ping,
            Verb::Truncate { table: Uuid::from_u128(3) },
            Verb::StreamRead {
                table: Uuid::from_u128(4),
                start: Bound::Excluded(-9),
                end: Bound::Included(9),
                resume: Some(ResumePoint {
                    position: sample_mutation().position,
                    clustering: Some(vec![2]),
                }),
                max_rows: 1000,
            },
            Verb::StreamPush {
                chunk: crate::movement::chunk::encode(Uuid::from_u128(7), &[sample_mutation()]).unwrap(),
            },
            Verb::PaxosPrepare {
                table: Uuid::from_u128(7),
                position: sample_mutation().position,
                ballot: Ballot { micros: 12, node: 3 },
            },
            Verb::PaxosPropose {
                proposal: sample_proposal(),
            },
            Verb::PaxosCommit {
                proposal: sample_proposal(),
            },
            Verb::CounterLead {
                mutations: vec![sample_mutation()],
            },
            Verb::Validate {
                table: Uuid::from_u128(7),
                span: TokenSpan { first: -5, last: 9 },
                depth: 4,
            },
            Verb::Hint {
                target: std::net::IpAddr::from([127, 0, 0, 3]),
                created_at: 1_700_000_000_000,
                mutation: sample_mutation(),
            },
            Verb::RepairPrepare {
                table: Uuid::from_u128(7),
                span: TokenSpan { first: -5, last: 9 },
                max_partitions: 100,
            },
            Verb::ValidatePartitions {
                table: Uuid::from_u128(7),
                span: TokenSpan { first: -5, last: 9 },
                depth: 2,
                partitions: vec![sample_mutation().position],
            },
            Verb::RepairFinalize {
                table: Uuid::from_u128(7),
                span: TokenSpan { first: -5, last: 9 },
                before: RepairedBefore { incarnation: 1, epoch: 2 },
            },
        ];
        for verb in verbs {
            let bytes = encode(42, Kind::Request, &verb).unwrap();
            let (frame, used) = Frame::parse(&bytes).unwrap().unwrap();
            assert_eq!((frame.request_id, frame.kind, used), (42, Kind::Request, bytes.len()));
            assert_eq!(decode::<Verb>(&frame.payload).unwrap(), verb);
        }
        for reply in [
            Reply::Ack,
            Reply::Data {
                partitions: vec![sample_mutation()],
            },
            Reply::Failed { message: "disk".into() },
            Reply::Pong,
            Reply::Stream {
                chunk: crate::movement::chunk::encode(Uuid::from_u128(7), &[]).unwrap(),
                next: None,
            },
            Reply::Promise {
                promise: Promise {
                    promised: false,
                    highest: Some(Ballot { micros: 99, node: 1 }),
                    in_progress: Some(sample_proposal()),
                    committed: None,
                },
            },
            Reply::Accepted { accepted: true },
            Reply::Tree {
                tree: MerkleTree {
                    depth: 1,
                    leaves: vec![0, u64::MAX],
                },
                rows: 3,
                bytes: 120,
            },
            Reply::Unrepaired {
                before: RepairedBefore { incarnation: 1, epoch: 2 },
                partitions: Some(vec![sample_mutation().position]),
            },
        ] {
            let bytes = encode(1, Kind::Response, &reply).unwrap();
            let (frame, _) = Frame::parse(&bytes).unwrap().unwrap();
            assert_eq!(decode::<Reply>(&frame.payload).unwrap(), reply);
        }
    }

    #[test]
    fn simple_messages_have_the_documented_bytes() {
        // Enum variants are their index as a varint; see docs/internode.md.
        assert_eq!(
            encode(1, Kind::Request, &Verb::Ping).unwrap(),
            vec![0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2]
        );
        assert_eq!(encode(1, Kind::Response, &Reply::Pong).unwrap()[13..], [3]);
        let mut truncate = vec![3, 16];
        truncate.extend_from_slice(&[0; 15]);
        truncate.push(0x2a);
        assert_eq!(
            encode(
                1,
                Kind::Request,
                &Verb::Truncate {
                    table: Uuid::from_u128(42)
                }
            )
            .unwrap()[13..],
            truncate[..],
            "variant 3, then the uuid as 16 (a varint) and its 16 bytes"
        );
        assert_eq!(
            encode(1, Kind::Response, &Reply::Failed { message: "no".into() }).unwrap()[13..],
            [2, 2, b'n', b'o']
        );
    }

    #[test]
    fn trailing_bytes_and_unknown_variants_are_errors() {
        assert!(matches!(decode::<Verb>(&[2, 0]), Err(DecodeError::TrailingBytes { extra: 1 })));
        assert!(
            matches!(decode::<Verb>(&[3, 16, 0]), Err(DecodeError::Postcard { .. })),
            "a truncated uuid"
        );
        assert!(matches!(decode::<Verb>(&[9]), Err(DecodeError::Postcard { .. })));
        assert!(matches!(decode::<Verb>(&[12]), Err(DecodeError::Postcard { .. })), "no verb 12");
        assert!(matches!(decode::<Reply>(&[]), Err(DecodeError::Postcard { .. })));
    }

    #[test]
    fn a_traced_verb_carries_its_session_and_the_verb_it_wraps() {
        let session = Uuid::from_u128(0xabc);
        let inner = Verb::Mutate {
            mutations: vec![sample_mutation()],
        };
        let traced = inner.clone().traced(session).unwrap();
        let bytes = encode(5, Kind::Request, &traced).unwrap();
        let (frame, _) = Frame::parse(&bytes).unwrap().unwrap();
        assert_eq!(frame.payload[0], 11, "Traced is variant 11");
        let Verb::Traced { session: got, verb } = decode::<Verb>(&frame.payload).unwrap() else {
            panic!("decoded as another verb");
        };
        assert_eq!(got, session);
        assert_eq!(Verb::untraced(&verb).unwrap(), inner);
    }

    #[test]
    fn a_traced_verb_inside_a_traced_verb_is_refused() {
        let twice = Verb::Ping.traced(Uuid::from_u128(1)).unwrap().traced(Uuid::from_u128(2)).unwrap();
        let Verb::Traced { verb, .. } = twice else {
            panic!("not traced");
        };
        assert!(matches!(Verb::untraced(&verb), Err(DecodeError::NestedTrace)));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode::<Verb>(&bytes);
            let _ = decode::<Reply>(&bytes);
            let _ = Verb::untraced(&bytes);
        }
    }
}
