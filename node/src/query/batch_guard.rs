//! Cassandra's guards on a batch over several partitions: more data than
//! `batch_size_fail_threshold_in_kb` is refused ("Batch too large"), more than
//! `batch_size_warn_threshold_in_kb` is answered with a warning for the
//! client, and an UNLOGGED batch over more partitions than
//! `unlogged_batch_across_partitions_warn_threshold` gets a warning too. Pure:
//! the caller logs and sends the warnings.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::error::QueryError;
use crate::storage::Mutation;

/// The thresholds, from the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub fail_bytes: usize,
    pub warn_bytes: usize,
    pub unlogged_partitions_warn: usize,
}

impl Default for BatchLimits {
    /// Cassandra's defaults: 50 KiB, 5 KiB, 10 partitions.
    fn default() -> Self {
        BatchLimits {
            fail_bytes: 50 << 10,
            warn_bytes: 5 << 10,
            unlogged_partitions_warn: 10,
        }
    }
}

/// Checks a batch's writes; returns the warnings for its client. `logged`:
/// a LOGGED batch; `table_name` names a table as `keyspace.table`.
pub fn check(
    limits: &BatchLimits,
    logged: bool,
    writes: &[Mutation],
    table_name: impl Fn(Uuid) -> String,
) -> Result<Vec<String>, QueryError> {
    let partitions: BTreeSet<(Uuid, &[u8])> = writes.iter().map(|m| (m.table, m.position.key.as_slice())).collect();
    if partitions.len() <= 1 {
        return Ok(Vec::new());
    }
    let tables = || {
        let names: BTreeSet<String> = writes.iter().map(|m| table_name(m.table)).collect();
        (format!("[{}]", names.iter().cloned().collect::<Vec<_>>().join(", ")), names.len())
    };
    let size: usize = writes.iter().map(Mutation::data_size).sum();
    let over = |threshold: usize| {
        format!(
            "Batch for {} is of size {}, exceeding specified threshold of {} by {}.",
            tables().0,
            pretty_memory(size),
            pretty_memory(threshold),
            pretty_memory(size - threshold)
        )
    };
    if size > limits.fail_bytes {
        tracing::error!(
            "{} (see batch_size_fail_threshold_in_kb)",
            over(limits.fail_bytes).trim_end_matches('.')
        );
        return Err(QueryError::invalid("Batch too large"));
    }
    let mut warnings = Vec::new();
    if size > limits.warn_bytes {
        let warning = over(limits.warn_bytes);
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    if !logged && partitions.len() > limits.unlogged_partitions_warn {
        let (names, count) = tables();
        let warning = format!(
            "Unlogged batch covering {} partitions detected against table{} {names}. \
             You should use a logged batch for atomicity, or asynchronous writes for performance.",
            partitions.len(),
            if count > 1 { "s" } else { "" },
        );
        tracing::warn!("{warning}");
        warnings.push(warning);
    }
    Ok(warnings)
}

/// A size as Cassandra prints one (`FBUtilities.prettyPrintMemory`): 5.000KiB.
pub fn pretty_memory(bytes: usize) -> String {
    let b = bytes as f64;
    if bytes >= 1 << 30 {
        format!("{:.3}GiB", b / f64::from(1u32 << 30))
    } else if bytes >= 1 << 20 {
        format!("{:.3}MiB", b / f64::from(1u32 << 20))
    } else {
        format!("{:.3}KiB", b / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Cell, ColumnData, PartitionPosition, Row};

    fn write(key: u8, bytes: usize) -> Mutation {
        let mut m = Mutation::new(
            Uuid::nil(),
            PartitionPosition {
                token: i64::from(key),
                key: vec![key],
            },
        );
        let mut row = Row::default();
        row.columns
            .insert("v".into(), ColumnData::Simple(Cell::live(1, vec![0; bytes], 0, 0)));
        m.rows.push((Vec::new(), row));
        m
    }

    fn name(_: Uuid) -> String {
        "ks.t".into()
    }

    #[test]
    fn sizes_print_as_cassandra_prints_them() {
        assert_eq!(pretty_memory(5120), "5.000KiB");
        assert_eq!(pretty_memory(6902), "6.740KiB");
        assert_eq!(pretty_memory(3 << 20), "3.000MiB");
    }

    #[test]
    fn a_large_batch_over_partitions_warns_then_fails() {
        let limits = BatchLimits::default();
        let small = [write(1, 100), write(2, 100)];
        assert!(check(&limits, true, &small, name).unwrap().is_empty());
        let warned = check(&limits, true, &[write(1, 3000), write(2, 3000)], name).unwrap();
        assert_eq!(warned.len(), 1);
        assert!(
            warned[0].starts_with("Batch for [ks.t] is of size 5.") && warned[0].contains("exceeding specified threshold of 5.000KiB by"),
            "{warned:?}"
        );
        let refused = check(&limits, true, &[write(1, 30_000), write(2, 30_000)], name).unwrap_err();
        assert_eq!(refused.to_string(), "Batch too large");
        assert!(
            check(&limits, true, &[write(1, 30_000), write(1, 30_000)], name)
                .unwrap()
                .is_empty(),
            "one partition: no limit"
        );
    }

    #[test]
    fn an_unlogged_batch_over_many_partitions_warns() {
        let limits = BatchLimits::default();
        let writes: Vec<Mutation> = (0..11).map(|k| write(k, 10)).collect();
        let warned = check(&limits, false, &writes, name).unwrap();
        assert_eq!(
            warned,
            vec![
                "Unlogged batch covering 11 partitions detected against table [ks.t]. You should use a logged batch \
                  for atomicity, or asynchronous writes for performance."
                    .to_string()
            ]
        );
        assert!(check(&limits, true, &writes, name).unwrap().is_empty(), "a logged batch is atomic");
    }
}
