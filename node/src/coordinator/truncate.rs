//! Cluster-wide TRUNCATE: the coordinator sends `Verb::Truncate` to every node
//! of the ring (itself included) and succeeds once all of them emptied the
//! table. As in Cassandra, a node that is down makes TRUNCATE Unavailable (at
//! ALL) before anything is sent, since it would keep the data. The table's
//! storage is the engine's; which nodes to ask is `Topology::members`.

use std::net::IpAddr;

use cql_protocol::wire::Consistency;
use futures::future::join_all;
use uuid::Uuid;

use super::replicas::{Strategy, Topology};
use super::Coordinator;
use crate::error::QueryError;
use crate::internode::{Reply, Verb};

/// The nodes a TRUNCATE goes to, or the Unavailable error when one is down.
pub fn targets(topology: &Topology) -> Result<Vec<IpAddr>, QueryError> {
    let members = topology.members();
    let alive = members.iter().filter(|n| topology.is_up(n)).count();
    if alive < members.len() {
        return Err(QueryError::Unavailable {
            consistency: Consistency::All,
            required: members.len() as i32,
            alive: alive as i32,
        });
    }
    Ok(members)
}

impl Coordinator {
    /// Empties `table` on every node (only here for node-local keyspaces).
    pub async fn truncate(&self, strategy: &Strategy, table: Uuid) -> Result<(), QueryError> {
        if matches!(strategy, Strategy::Local) {
            self.engine.truncate(table)?;
            return Ok(());
        }
        let topology = self.view.topology();
        let nodes = targets(&topology)?;
        let timeout = self.timeouts().truncate;
        let replies = join_all(
            nodes
                .iter()
                .map(|node| async move { (*node, self.send(*node, Verb::Truncate { table }, timeout).await) }),
        )
        .await;
        let failures: Vec<String> = replies
            .into_iter()
            .filter_map(|(node, reply)| match reply {
                Ok(Reply::Ack) => None,
                Ok(Reply::Failed { message }) => Some(format!("{node}: {message}")),
                Ok(other) => Some(format!("{node}: unexpected reply {other:?}")),
                Err(e) => Some(format!("{node}: {e}")),
            })
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(QueryError::Server {
                message: format!("Error during truncate: {}", failures.join("; ")),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ring::Ring;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    fn three_nodes(up: &[u8]) -> Topology {
        Topology {
            ring: Ring::new([(ip(1), vec![-100]), (ip(2), vec![0]), (ip(3), vec![100])]),
            up: up.iter().map(|n| ip(*n)).collect(),
            local: Some(ip(1)),
            ..Topology::default()
        }
    }

    #[test]
    fn truncate_goes_to_every_node_of_the_ring() {
        let nodes: HashSet<IpAddr> = targets(&three_nodes(&[1, 2, 3])).unwrap().into_iter().collect();
        assert_eq!(nodes, [ip(1), ip(2), ip(3)].into());
    }

    #[test]
    fn truncate_is_unavailable_when_a_node_is_down() {
        assert_eq!(
            targets(&three_nodes(&[1, 3])),
            Err(QueryError::Unavailable {
                consistency: Consistency::All,
                required: 3,
                alive: 2,
            })
        );
    }
}
