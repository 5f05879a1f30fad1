//! Merging is a join: the view a node ends with depends only on the set of states it
//! received, never on their order or repetition.

use std::collections::BTreeMap;

use gossip::{Ack2, ApplicationState, Endpoint, EndpointState, GossipConfig, Gossiper, HeartbeatState, Message, VersionedValue};
use proptest::prelude::*;

fn ep(k: u8) -> Endpoint {
    Endpoint::new([10, 0, 0, k].into(), 9044)
}

/// A view of endpoint `k`, as some peer may hold it. An owner never gives two values
/// the same version in one generation, so the value is a function of (endpoint,
/// generation, key, version).
fn arb_state_of(k: u8) -> impl Strategy<Value = EndpointState> {
    (1i32..4, 1i32..12, proptest::collection::btree_map(0u8..6, 1i32..12, 0..5)).prop_map(move |(generation, heartbeat, keys)| {
        let mut state = EndpointState::new(HeartbeatState {
            generation,
            version: heartbeat,
        });
        for (code, version) in keys {
            let key = ApplicationState::from_code(code);
            state
                .states
                .insert(key, VersionedValue::new(format!("{k}/{generation}/{code}/{version}"), version));
        }
        state
    })
}

fn arb_view() -> impl Strategy<Value = (Endpoint, EndpointState)> {
    (1u8..4).prop_flat_map(|k| arb_state_of(k).prop_map(move |s| (ep(k), s)))
}

fn merge_all(views: &[(Endpoint, EndpointState)]) -> BTreeMap<Endpoint, EndpointState> {
    let mut result: BTreeMap<Endpoint, EndpointState> = BTreeMap::new();
    for (ep, view) in views {
        match result.get_mut(ep) {
            Some(state) => {
                state.merge(view);
            }
            None => {
                result.insert(*ep, view.clone());
            }
        }
    }
    result
}

/// What a gossiper knows after receiving `views` one message at a time.
fn gossiper_view(views: &[(Endpoint, EndpointState)]) -> BTreeMap<Endpoint, EndpointState> {
    let mut g = Gossiper::new(ep(100), GossipConfig::new("laws", vec![]), 1, 0);
    for (i, (ep, view)) in views.iter().enumerate() {
        let message = Message::Ack2(Ack2 {
            states: BTreeMap::from([(*ep, view.clone())]),
        });
        assert_eq!(g.handle(*ep, message, i as u64 * 100), vec![]);
    }
    g.endpoints().skip(1).map(|e| (e, g.endpoint_state(e).unwrap().clone())).collect()
}

proptest! {
    #[test]
    fn merging_two_views_is_commutative(a in arb_state_of(1), b in arb_state_of(1)) {
        let (a, b) = ((ep(1), a), (ep(1), b));
        prop_assert_eq!(merge_all(&[a.clone(), b.clone()]), merge_all(&[b, a]));
    }

    #[test]
    fn merging_a_view_twice_changes_nothing(a in arb_state_of(1), b in arb_state_of(1)) {
        let (a, b) = ((ep(1), a), (ep(1), b));
        let once = merge_all(&[a.clone(), b.clone()]);
        prop_assert_eq!(&merge_all(&[a.clone(), b.clone(), b.clone(), a.clone()]), &once);
    }

    #[test]
    fn merging_is_associative(a in arb_state_of(1), b in arb_state_of(1), c in arb_state_of(1)) {
        // (a + b) + c
        let mut left = a.clone();
        left.merge(&b);
        left.merge(&c);
        // a + (b + c)
        let mut b_c = b.clone();
        b_c.merge(&c);
        let mut right = a.clone();
        right.merge(&b_c);
        prop_assert_eq!(left, right);
    }

    #[test]
    fn the_final_view_does_not_depend_on_message_order_or_repetition(
        (views, shuffled) in proptest::collection::vec(arb_view(), 1..16).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        repeat in proptest::collection::vec(any::<proptest::sample::Index>(), 0..8),
    ) {
        let in_order = gossiper_view(&views);
        let mut shuffled_with_repeats = shuffled.clone();
        for index in repeat {
            shuffled_with_repeats.push(index.get(&shuffled).clone());
        }
        prop_assert_eq!(&gossiper_view(&shuffled_with_repeats), &in_order);
        prop_assert_eq!(&in_order, &merge_all(&views));
    }
}
