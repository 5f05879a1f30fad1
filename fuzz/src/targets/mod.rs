//! Every fuzz target, one per decoder that reads bytes from outside the node.

mod cql;
mod gossip;
mod internode;
mod storage;

use crate::target::Target;

pub fn all() -> Vec<Target> {
    let mut all = cql::targets();
    all.extend(internode::targets());
    all.extend(gossip::targets());
    all.extend(storage::targets());
    all
}

pub fn named(name: &str) -> Option<Target> {
    all().into_iter().find(|t| t.name == name)
}
