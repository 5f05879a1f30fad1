//! On-disk targets: the durable engine's keys and entry values (what it reads
//! back from fjall's SSTables and journal), clustering keys, hint and Paxos
//! records (a postcard mutation), and the paging state a client hands back.
//! fjall's own journal and block formats are fjall's, not fuzzed here.

use std::ops::Bound;

use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use node::query::paging::PagingState;
use node::storage::durable::codec::EntryValue;
use node::storage::durable::layout::{self, Component, RowId, RowPart};
use node::storage::key::{decode_clustering, encode_clustering};
use node::storage::{Mutation, PartitionPosition};
use num_bigint::BigInt;
use uuid::Uuid;

use super::internode::sample_mutation;
use crate::target::Target;

pub fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "storage-key",
            about: "a durable engine key: partition position, entry kind, clustering, column, suffix",
            seeds: key_seeds,
            decode: |input| layout::decode_key(input).is_ok(),
            dictionary: &[],
        },
        Target {
            name: "storage-value",
            about: "a durable engine entry value: a live cell or a tombstone",
            seeds: || {
                vec![
                    EntryValue::Live {
                        ttl: 30,
                        expires_at: 1_700_000_030,
                        value: b"value".to_vec(),
                    }
                    .encode(),
                    EntryValue::Live {
                        ttl: 0,
                        expires_at: 0,
                        value: vec![],
                    }
                    .encode(),
                    EntryValue::Tombstone {
                        local_deletion_time: 1_700_000_000,
                    }
                    .encode(),
                ]
            },
            decode: |input| EntryValue::decode(input).is_ok(),
            dictionary: &[],
        },
        Target {
            name: "storage-clustering",
            about: "a clustering key by its types (chosen by the first byte), ascending and descending",
            seeds: clustering_seeds,
            decode: decode_clustering_input,
            dictionary: &[],
        },
        Target {
            name: "hint",
            about: "a hint or Paxos record: a postcard mutation as read back from the system tables",
            seeds: || (1..4).filter_map(|n| postcard::to_stdvec(&sample_mutation(n)).ok()).collect(),
            decode: |input| postcard::from_bytes::<Mutation>(input).is_ok(),
            dictionary: &[],
        },
        Target {
            name: "paging-state",
            about: "the paging state a client sends back",
            seeds: || {
                vec![
                    PagingState {
                        position: position(),
                        clustering: Some(vec![1, 2, 3]),
                        remaining: 100,
                        partition_rows: 2,
                    }
                    .encode(),
                    PagingState {
                        position: position(),
                        clustering: None,
                        remaining: usize::MAX >> 1,
                        partition_rows: 0,
                    }
                    .encode(),
                ]
            },
            decode: |input| PagingState::decode(input).is_ok(),
            dictionary: &[],
        },
    ]
}

fn position() -> PartitionPosition {
    PartitionPosition {
        token: -42,
        key: b"key".to_vec(),
    }
}

fn key_seeds() -> Vec<Vec<u8>> {
    let row = RowId::Clustering(vec![0x80, 0, 0, 1]);
    let components = [
        Component::PartitionDeletion,
        Component::RangeTombstone {
            start: Bound::Included(vec![1]),
            end: Bound::Excluded(vec![9, 9]),
        },
        Component::RangeTombstone {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        },
        Component::Row {
            row: RowId::Static,
            part: RowPart::Cell("s".into()),
        },
        Component::Row {
            row: row.clone(),
            part: RowPart::Marker,
        },
        Component::Row {
            row: row.clone(),
            part: RowPart::Deletion,
        },
        Component::Row {
            row: row.clone(),
            part: RowPart::ColumnDeletion("m".into()),
        },
        Component::Row {
            row: row.clone(),
            part: RowPart::Cell("v".into()),
        },
        Component::Row {
            row,
            part: RowPart::Element("m".into(), b"k".to_vec()),
        },
    ];
    components
        .iter()
        .enumerate()
        .map(|(i, c)| layout::encode_key(&position(), c, 1_700_000_000_000_000 + i as i64, i as u64))
        .collect()
}

/// The clustering types an input's first byte chooses from.
fn clustering_types() -> Vec<Vec<(ColumnType, bool)>> {
    let udt = ColumnType::Udt {
        keyspace: "ks".into(),
        name: "u".into(),
        fields: vec![("a".into(), ColumnType::Int), ("b".into(), ColumnType::Varchar)],
    };
    vec![
        vec![(ColumnType::Int, false)],
        vec![(ColumnType::Varchar, true), (ColumnType::Bigint, false)],
        vec![(ColumnType::Timeuuid, true), (ColumnType::Uuid, false)],
        vec![(ColumnType::Varint, false), (ColumnType::Decimal, true)],
        vec![(ColumnType::Double, false), (ColumnType::Float, true), (ColumnType::Boolean, false)],
        vec![
            (ColumnType::Blob, false),
            (ColumnType::Inet, true),
            (ColumnType::Date, false),
            (ColumnType::Time, false),
        ],
        vec![(ColumnType::List(Box::new(ColumnType::Int)), false), (ColumnType::Smallint, true)],
        vec![(
            ColumnType::Map(
                Box::new(ColumnType::Varchar),
                Box::new(ColumnType::Set(Box::new(ColumnType::Tinyint))),
            ),
            true,
        )],
        vec![(ColumnType::Tuple(vec![ColumnType::Int, ColumnType::Ascii]), false), (udt, true)],
        vec![(ColumnType::Timestamp, false), (ColumnType::Counter, false)],
    ]
}

fn decode_clustering_input(input: &[u8]) -> bool {
    let Some((selector, bytes)) = input.split_first() else {
        return false;
    };
    let types = clustering_types();
    let chosen = &types[usize::from(*selector) % types.len()];
    decode_clustering(chosen, bytes).is_ok()
}

fn clustering_seeds() -> Vec<Vec<u8>> {
    let values: Vec<Vec<Value>> = vec![
        vec![Value::Int(-7)],
        vec![Value::Text("abc".into()), Value::Bigint(i64::MIN)],
        vec![
            Value::Timeuuid(Uuid::from_u128(0x1000_0000_0000_1000_8000_0000_0000_0001)),
            Value::Uuid(Uuid::from_u128(5)),
        ],
        vec![
            Value::Varint(BigInt::from(-1_000_000_000_000i64) * 1_000_000),
            Value::Decimal {
                unscaled: BigInt::from(31415),
                scale: 4,
            },
        ],
        vec![Value::Double(-0.5), Value::Float(3.25), Value::Boolean(true)],
        vec![
            Value::Blob(vec![0, 0xff, 0]),
            Value::Inet("::1".parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))),
            Value::Date(1 << 31),
            Value::Time(1),
        ],
        vec![Value::List(vec![Value::Int(1), Value::Int(-1)]), Value::Smallint(-2)],
        vec![Value::Map(vec![(
            Value::Text("k".into()),
            Value::Set(vec![Value::Tinyint(1), Value::Tinyint(2)]),
        )])],
        vec![
            Value::Tuple(vec![Some(Value::Int(1)), Some(Value::Ascii("a".into()))]),
            Value::Udt(vec![("a".into(), Some(Value::Int(3))), ("b".into(), None)]),
        ],
        vec![Value::Timestamp(1_700_000_000_000), Value::Counter(3)],
    ];
    clustering_types()
        .iter()
        .zip(values)
        .enumerate()
        .filter_map(|(i, (types, values))| {
            let mut out = vec![i as u8];
            out.extend_from_slice(&encode_clustering(types, &values).ok()?);
            Some(out)
        })
        .collect()
}
