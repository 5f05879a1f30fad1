//! Internode targets (port 7000): the hello, the frame layout, the postcard
//! verbs and replies (with what a replica checks right after decoding: a traced
//! verb's inner verb, a stream chunk, a Merkle tree's shape), and stream chunks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Bound;

use node::internode::frame::{Frame, Hello, Kind, INTERNODE_VERSION};
use node::internode::message::{decode, encode};
use node::internode::{Reply, Verb};
use node::movement::chunk::{self, StreamChunk};
use node::paxos::{Ballot, Promise, Proposal};
use node::repair::merkle::{MerkleTree, TokenSpan};
use node::storage::cell::Cell;
use node::storage::{
    ColumnData, DeletionTime, Mutation, PartitionPosition, PartitionSelection, RangeTombstone, ReadCommand, ReadLimits, RepairedBefore,
    ResumePoint, Row,
};
use uuid::Uuid;

use crate::target::Target;

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "internode-hello",
            about: "the hello that opens an internode connection",
            seeds: hello_seeds,
            decode: |input| matches!(Hello::parse(input), Ok(Some(_))),
            dictionary: &[b"RSTI"],
        },
        Target {
            name: "internode-frame",
            about: "an internode frame: length, request id, kind, payload",
            seeds: || {
                verbs()
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| encode(i as u64, Kind::Request, v).ok())
                    .chain(replies().iter().filter_map(|r| encode(7, Kind::Response, r).ok()))
                    .collect()
            },
            decode: |input| matches!(Frame::parse(input), Ok(Some(_))),
            dictionary: &[],
        },
        Target {
            name: "internode-verb",
            about: "a verb (postcard) and what a replica checks next: a traced verb's inner verb, a pushed chunk",
            seeds: || verbs().iter().filter_map(|v| postcard::to_stdvec(v).ok()).collect(),
            decode: decode_verb,
            dictionary: &[],
        },
        Target {
            name: "internode-reply",
            about: "a reply (postcard) and what a coordinator checks next: a chunk, a Merkle tree's shape",
            seeds: || replies().iter().filter_map(|r| postcard::to_stdvec(r).ok()).collect(),
            decode: decode_reply,
            dictionary: &[],
        },
        Target {
            name: "stream-chunk",
            about: "a stream chunk (postcard), its checksum made right in three inputs of four, then its mutations",
            seeds: || {
                [vec![], vec![sample_mutation(1)], vec![sample_mutation(2), sample_mutation(3)]]
                    .iter()
                    .filter_map(|ms| chunk::encode(TABLE, ms).ok())
                    .filter_map(|c| postcard::to_stdvec(&c).ok())
                    .collect()
            },
            decode: decode_chunk,
            dictionary: &[],
        },
    ]
}

const TABLE: Uuid = Uuid::from_u128(7);

fn decode_verb(input: &[u8]) -> bool {
    match decode::<Verb>(input) {
        Ok(Verb::Traced { verb, .. }) => Verb::untraced(&verb).is_ok(),
        Ok(Verb::StreamPush { chunk }) => chunk::decode(&chunk).is_ok(),
        Ok(_) => true,
        Err(_) => false,
    }
}

fn decode_reply(input: &[u8]) -> bool {
    match decode::<Reply>(input) {
        Ok(Reply::Stream { chunk, .. }) => chunk::decode(&chunk).is_ok(),
        Ok(Reply::Tree { tree, .. }) => tree.check().is_ok() && tree.differences(&tree).is_ok(),
        Ok(_) => true,
        Err(_) => false,
    }
}

fn decode_chunk(input: &[u8]) -> bool {
    let Ok(mut chunk) = decode::<StreamChunk>(input) else {
        return false;
    };
    // A sender computes the checksum over what it sends; mutations that break
    // it would stop every input at the checksum, so most inputs get it right.
    if input.last().is_some_and(|b| b % 4 != 0) {
        chunk.crc32 = crc32fast::hash(&chunk.data);
    }
    chunk::decode(&chunk).is_ok()
}

fn hello_seeds() -> Vec<Vec<u8>> {
    [
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
        IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    ]
    .into_iter()
    .zip(["rustica", ""])
    .map(|(address, name)| {
        Hello {
            version: INTERNODE_VERSION,
            cluster_name: name.into(),
            address,
            nonce: [0x5a; node::peer_auth::NONCE_LEN],
        }
        .encode()
    })
    .collect()
}

fn position(n: u8) -> PartitionPosition {
    PartitionPosition {
        token: -3 * i64::from(n),
        key: vec![n; usize::from(n) + 1],
    }
}

pub(crate) fn sample_mutation(n: u8) -> Mutation {
    let mut m = Mutation::new(TABLE, position(n));
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
    m.rows.push((vec![2, n], row));
    m
}

fn proposal() -> Proposal {
    Proposal {
        ballot: Ballot { micros: 12, node: 3 },
        table: TABLE,
        position: position(1),
        update: vec![sample_mutation(1)],
    }
}

fn verbs() -> Vec<Verb> {
    let read = ReadCommand {
        index: Some(node::index::IndexLookup {
            index_table: TABLE,
            values: vec![vec![0, 0, 0, 7]],
        }),
        table: TABLE,
        partitions: PartitionSelection::Tokens {
            start: Bound::Excluded(-5),
            end: Bound::Unbounded,
        },
        slices: vec![(Bound::Included(vec![1]), Bound::Excluded(vec![9]))],
        reversed: true,
        resume: Some(ResumePoint {
            position: position(1),
            clustering: Some(vec![3]),
        }),
    };
    let mut verbs = vec![
        Verb::Mutate {
            mutations: vec![sample_mutation(1), sample_mutation(2)],
        },
        Verb::Read {
            command: read.clone(),
            limits: ReadLimits {
                rows: Some(100),
                bytes: Some(4 << 20),
                per_partition: Some(2),
            },
        },
        Verb::Read {
            command: ReadCommand {
                partitions: PartitionSelection::Keys(vec![position(1), position(4)]),
                slices: vec![],
                reversed: false,
                resume: None,
                ..read.clone()
            },
            limits: ReadLimits::NONE,
        },
        Verb::Ping,
        Verb::Truncate { table: TABLE },
        Verb::ReadDigest {
            command: read,
            limits: ReadLimits::rows(10),
        },
        Verb::StreamRead {
            table: TABLE,
            start: Bound::Excluded(-9),
            end: Bound::Included(9),
            resume: None,
            max_rows: 1000,
        },
        Verb::PaxosPrepare {
            table: TABLE,
            position: position(1),
            ballot: Ballot { micros: 12, node: 3 },
        },
        Verb::PaxosPropose { proposal: proposal() },
        Verb::PaxosCommit { proposal: proposal() },
        Verb::CounterLead {
            mutations: vec![sample_mutation(5)],
        },
        Verb::Validate {
            table: TABLE,
            span: TokenSpan { first: -5, last: 9 },
            depth: 4,
        },
        Verb::Hint {
            target: std::net::IpAddr::from([127, 0, 0, 2]),
            created_at: 1_700_000_000_000,
            mutation: sample_mutation(2),
        },
    ];
    if let Ok(chunk) = chunk::encode(TABLE, &[sample_mutation(1)]) {
        verbs.push(Verb::StreamPush { chunk });
    }
    let inner = Verb::Mutate {
        mutations: vec![sample_mutation(3)],
    };
    if let Ok(traced) = inner.traced(Uuid::from_u128(0xabc)) {
        verbs.push(traced);
    }
    let span = TokenSpan { first: -5, last: 9 };
    verbs.push(Verb::RepairPrepare {
        table: TABLE,
        span,
        max_partitions: 16_384,
    });
    verbs.push(Verb::ValidatePartitions {
        table: TABLE,
        span,
        depth: 3,
        partitions: vec![position(1), position(4)],
    });
    verbs.push(Verb::RepairFinalize {
        table: TABLE,
        span,
        before: RepairedBefore {
            incarnation: 7,
            epoch: 1_700_000_000_000_000,
        },
    });
    verbs
}

fn replies() -> Vec<Reply> {
    let mut replies = vec![
        Reply::Ack,
        Reply::Data {
            partitions: vec![sample_mutation(1), sample_mutation(2)],
        },
        Reply::Failed { message: "disk".into() },
        Reply::Pong,
        Reply::Digest { digest: 0xfeed },
        Reply::Promise {
            promise: Promise {
                promised: false,
                highest: Some(Ballot { micros: 99, node: 1 }),
                in_progress: Some(proposal()),
                committed: Some(proposal()),
            },
        },
        Reply::Accepted { accepted: true },
        Reply::Tree {
            tree: MerkleTree {
                depth: 2,
                leaves: vec![0, 1, u64::MAX, 3],
            },
            rows: 3,
            bytes: 120,
        },
    ];
    if let Ok(chunk) = chunk::encode(TABLE, &[sample_mutation(4)]) {
        replies.push(Reply::Stream {
            chunk,
            next: Some(ResumePoint {
                position: position(4),
                clustering: None,
            }),
        });
    }
    let before = RepairedBefore {
        incarnation: 7,
        epoch: 1_700_000_000_000_000,
    };
    replies.push(Reply::Unrepaired {
        before,
        partitions: Some(vec![position(1), position(4)]),
    });
    replies.push(Reply::Unrepaired { before, partitions: None });
    replies
}
