//! The gossip state machine of one node: its own endpoint state, its view of every
//! other endpoint, who is live and who is unreachable, and the rounds (SYN, ACK, ACK2)
//! that keep views converging. Sans-IO: `tick` and `handle` take the time and return
//! the messages to send; what changed is queued as `GossipEvent`s. It owns neither the
//! transport nor the timer nor the meaning of application state values (ring, schema).

use std::collections::{BTreeMap, BTreeSet};

use rand::seq::IteratorRandom;
use rand::{Rng, RngCore};

use crate::failure_detector::{FailureDetector, FailureDetectorConfig, DEFAULT_PHI_CONVICT_THRESHOLD};
use crate::message::{Ack, Ack2, DigestComparison, GossipDigest, Message, Syn};
use crate::state::{ApplicationState, Endpoint, EndpointState, HeartbeatState, MergeOutcome, Millis, VersionedValue};

/// Cassandra's gossip round interval.
pub const DEFAULT_INTERVAL_MS: Millis = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct GossipConfig {
    /// SYNs carrying another cluster name are ignored.
    pub cluster_name: String,
    /// Endpoints contacted when no peer is live and, now and then, besides a live peer,
    /// so that partitions heal through them. The local endpoint may be among them.
    pub seeds: Vec<Endpoint>,
    /// How often the caller runs `tick`; the failure detector's first guess of the
    /// heartbeat interval is twice this.
    pub interval_ms: Millis,
    /// Phi above which a peer is convicted.
    pub phi_convict_threshold: f64,
}

impl GossipConfig {
    /// A config with Cassandra's defaults: one round a second, conviction at phi 8.
    pub fn new(cluster_name: impl Into<String>, seeds: Vec<Endpoint>) -> Self {
        Self {
            cluster_name: cluster_name.into(),
            seeds,
            interval_ms: DEFAULT_INTERVAL_MS,
            phi_convict_threshold: DEFAULT_PHI_CONVICT_THRESHOLD,
        }
    }
}

/// What changed in this node's view, for the node to update its ring and tell drivers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GossipEvent {
    /// An endpoint was heard of for the first time. It is unreachable until its
    /// heartbeat is seen advancing, so a long-dead node reported by a peer is never
    /// taken for live. `StateChanged` follows for each of its keys.
    Joined(Endpoint),
    /// An endpoint came back with a higher generation: its whole state was replaced.
    /// `StateChanged` follows for each of its keys, then `Alive` if it was down.
    Restarted(Endpoint),
    /// An endpoint's heartbeat advanced while it was unreachable.
    Alive(Endpoint),
    /// The failure detector convicted an endpoint.
    Dead(Endpoint),
    /// An application state of an endpoint took a new version.
    StateChanged(Endpoint, ApplicationState),
}

#[derive(Debug, Clone)]
pub struct Gossiper {
    local: Endpoint,
    config: GossipConfig,
    /// The seeds other than the local endpoint.
    seeds: BTreeSet<Endpoint>,
    local_state: EndpointState,
    /// The last version drawn from the local counter.
    version: i32,
    /// Every other endpoint ever heard of; each is either live or unreachable.
    states: BTreeMap<Endpoint, EndpointState>,
    live: BTreeSet<Endpoint>,
    unreachable: BTreeSet<Endpoint>,
    updated_at: BTreeMap<Endpoint, Millis>,
    failure_detector: FailureDetector,
    events: Vec<GossipEvent>,
}

impl Gossiper {
    /// A node at `local` starting its life `generation` (its start time in seconds since
    /// the epoch; a restart must use a higher one) at time `now`.
    pub fn new(local: Endpoint, config: GossipConfig, generation: i32, now: Millis) -> Self {
        let seeds = config.seeds.iter().copied().filter(|s| *s != local).collect();
        let failure_detector = FailureDetector::new(FailureDetectorConfig::for_gossip_interval(
            config.interval_ms,
            config.phi_convict_threshold,
        ));
        Self {
            local,
            config,
            seeds,
            local_state: EndpointState::new(HeartbeatState { generation, version: 1 }),
            version: 1,
            states: BTreeMap::new(),
            live: BTreeSet::new(),
            unreachable: BTreeSet::new(),
            updated_at: BTreeMap::from([(local, now)]),
            failure_detector,
            events: Vec::new(),
        }
    }

    fn next_version(&mut self) -> i32 {
        self.version = self.version.saturating_add(1);
        self.version
    }

    /// Sets one of the local node's application states under a new version, to be
    /// gossiped from the next round on.
    pub fn set_local_state(&mut self, key: ApplicationState, value: impl Into<String>) {
        let version = self.next_version();
        self.local_state.states.insert(key, VersionedValue::new(value, version));
    }

    /// One gossip round, to run every `interval_ms`: beats the local heartbeat,
    /// convicts silent peers, and returns the SYNs to send: one to a random live peer;
    /// one to a random unreachable endpoint with probability
    /// `unreachable / (live + 1)`; and, if the live peer was not a seed or fewer peers
    /// are live than there are seeds, one to a random seed, always when nothing is live
    /// and otherwise with probability `seeds / (live + unreachable)`, as Cassandra does.
    pub fn tick(&mut self, now: Millis, rng: &mut impl RngCore) -> Vec<(Endpoint, Message)> {
        self.local_state.heartbeat.version = self.next_version();
        self.updated_at.insert(self.local, now);
        self.convict(now);

        let mut targets: Vec<Endpoint> = Vec::new();
        let live = self.live.len();
        let unreachable = self.unreachable.len();
        let mut gossiped_to_seed = false;
        if let Some(peer) = self.live.iter().copied().choose(rng) {
            targets.push(peer);
            gossiped_to_seed = self.seeds.contains(&peer);
        }
        if unreachable > 0 && rng.gen::<f64>() < unreachable as f64 / (live + 1) as f64 {
            if let Some(peer) = self.unreachable.iter().copied().choose(rng) {
                if !targets.contains(&peer) {
                    targets.push(peer);
                }
            }
        }
        if !gossiped_to_seed || live < self.seeds.len() {
            let to_seed = live == 0 || rng.gen::<f64>() <= self.seeds.len() as f64 / (live + unreachable) as f64;
            if to_seed {
                if let Some(seed) = self.seeds.iter().copied().choose(rng) {
                    if !targets.contains(&seed) {
                        targets.push(seed);
                    }
                }
            }
        }
        if targets.is_empty() {
            return Vec::new();
        }
        let syn = Message::Syn(self.syn());
        targets.into_iter().map(|peer| (peer, syn.clone())).collect()
    }

    /// The SYN this node would send now: its cluster name and a digest of every
    /// endpoint it knows, itself included.
    pub fn syn(&self) -> Syn {
        let digests = self
            .endpoints()
            .filter_map(|ep| self.endpoint_state(ep).map(|s| GossipDigest::of(ep, s)))
            .collect();
        Syn {
            cluster_name: self.config.cluster_name.clone(),
            digests,
        }
    }

    /// Handles a message from `from` received at `now` and returns the answers to send.
    pub fn handle(&mut self, from: Endpoint, message: Message, now: Millis) -> Vec<(Endpoint, Message)> {
        let answer = match message {
            Message::Syn(syn) => self.handle_syn(from, syn),
            Message::Ack(ack) => self.handle_ack(ack, now),
            Message::Ack2(ack2) => {
                self.apply_states(ack2.states, now);
                None
            }
        };
        answer.map(|m| vec![(from, m)]).unwrap_or_default()
    }

    fn handle_syn(&self, from: Endpoint, syn: Syn) -> Option<Message> {
        if syn.cluster_name != self.config.cluster_name {
            tracing::warn!(peer = %from, cluster = %syn.cluster_name, local_cluster = %self.config.cluster_name, "ignoring gossip SYN from another cluster");
            return None;
        }
        let mut wanted = Vec::new();
        let mut states = BTreeMap::new();
        let mentioned: BTreeSet<Endpoint> = syn.digests.iter().map(|d| d.endpoint).collect();
        for digest in &syn.digests {
            let local = self.endpoint_state(digest.endpoint);
            match digest.compare(local) {
                DigestComparison::InSync => {}
                DigestComparison::Request { generation, max_version } => {
                    // Nobody knows better than this node what this node says.
                    if digest.endpoint != self.local {
                        wanted.push(GossipDigest {
                            endpoint: digest.endpoint,
                            generation,
                            max_version,
                        });
                    }
                }
                DigestComparison::Send { after } => {
                    if let Some(state) = local {
                        states.insert(digest.endpoint, state.newer_than(after));
                    }
                }
            }
        }
        // The SYN sender has never heard of these: it lacks their whole state.
        for ep in self.endpoints().filter(|ep| !mentioned.contains(ep)) {
            if let Some(state) = self.endpoint_state(ep) {
                states.insert(ep, state.clone());
            }
        }
        if wanted.is_empty() && states.is_empty() {
            return None;
        }
        Some(Message::Ack(Ack { digests: wanted, states }))
    }

    fn handle_ack(&mut self, ack: Ack, now: Millis) -> Option<Message> {
        self.apply_states(ack.states, now);
        let mut states = BTreeMap::new();
        for digest in &ack.digests {
            let Some(state) = self.endpoint_state(digest.endpoint) else {
                continue;
            };
            if state.generation() == digest.generation {
                if state.max_version() > digest.max_version {
                    states.insert(digest.endpoint, state.newer_than(digest.max_version));
                }
            } else if state.generation() > digest.generation {
                // The asker's view is of an older life: a delta would be meaningless.
                states.insert(digest.endpoint, state.clone());
            }
        }
        if states.is_empty() {
            return None;
        }
        Some(Message::Ack2(Ack2 { states }))
    }

    /// Merges received endpoint states into this node's view (see `EndpointState::merge`),
    /// feeding the failure detector with every heartbeat that advanced.
    fn apply_states(&mut self, states: BTreeMap<Endpoint, EndpointState>, now: Millis) {
        for (ep, remote) in states {
            if ep == self.local {
                continue;
            }
            let Some(local) = self.states.get_mut(&ep) else {
                self.events.push(GossipEvent::Joined(ep));
                self.events.extend(remote.states.keys().map(|k| GossipEvent::StateChanged(ep, *k)));
                self.states.insert(ep, remote);
                self.updated_at.insert(ep, now);
                self.failure_detector.report(ep, now);
                self.unreachable.insert(ep);
                continue;
            };
            match local.merge(&remote) {
                MergeOutcome::Stale => {}
                MergeOutcome::Replaced { keys } => {
                    self.events.push(GossipEvent::Restarted(ep));
                    self.events.extend(keys.into_iter().map(|k| GossipEvent::StateChanged(ep, k)));
                    self.updated_at.insert(ep, now);
                    if !self.live.contains(&ep) {
                        // Relearn the intervals of the new life from scratch.
                        self.failure_detector.remove(ep);
                    }
                    self.failure_detector.report(ep, now);
                    self.mark_alive(ep);
                }
                MergeOutcome::Merged { heartbeat_advanced, keys } => {
                    if heartbeat_advanced || !keys.is_empty() {
                        self.updated_at.insert(ep, now);
                    }
                    self.events.extend(keys.into_iter().map(|k| GossipEvent::StateChanged(ep, k)));
                    if heartbeat_advanced {
                        self.failure_detector.report(ep, now);
                        self.mark_alive(ep);
                    }
                }
            }
        }
    }

    fn mark_alive(&mut self, ep: Endpoint) {
        if self.live.insert(ep) {
            self.unreachable.remove(&ep);
            self.events.push(GossipEvent::Alive(ep));
        }
    }

    fn mark_dead(&mut self, ep: Endpoint) {
        if self.live.remove(&ep) {
            self.unreachable.insert(ep);
            self.events.push(GossipEvent::Dead(ep));
        }
    }

    /// Moves every live peer whose phi exceeds the threshold at `now` to unreachable,
    /// queueing `Dead` events. `tick` calls it; the node may call it more often.
    pub fn convict(&mut self, now: Millis) {
        let convicted: Vec<Endpoint> = self
            .live
            .iter()
            .copied()
            .filter(|ep| !self.failure_detector.is_alive(*ep, now))
            .collect();
        for ep in convicted {
            self.mark_dead(ep);
        }
    }

    /// Takes the events queued since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<GossipEvent> {
        std::mem::take(&mut self.events)
    }

    pub fn local_endpoint(&self) -> Endpoint {
        self.local
    }

    pub fn config(&self) -> &GossipConfig {
        &self.config
    }

    pub fn local_state(&self) -> &EndpointState {
        &self.local_state
    }

    /// The state of any known endpoint, the local one included.
    pub fn endpoint_state(&self, ep: Endpoint) -> Option<&EndpointState> {
        if ep == self.local {
            Some(&self.local_state)
        } else {
            self.states.get(&ep)
        }
    }

    /// Every known endpoint: the local one first, then the others in address order.
    pub fn endpoints(&self) -> impl Iterator<Item = Endpoint> + '_ {
        std::iter::once(self.local).chain(self.states.keys().copied())
    }

    /// Peers believed up (never the local endpoint).
    pub fn live_endpoints(&self) -> &BTreeSet<Endpoint> {
        &self.live
    }

    /// Peers known but believed down, or not yet seen alive.
    pub fn unreachable_endpoints(&self) -> &BTreeSet<Endpoint> {
        &self.unreachable
    }

    /// Whether `ep` is the local endpoint or a live peer.
    pub fn is_alive(&self, ep: Endpoint) -> bool {
        ep == self.local || self.live.contains(&ep)
    }

    /// The seeds other than the local endpoint.
    pub fn seeds(&self) -> &BTreeSet<Endpoint> {
        &self.seeds
    }

    /// The failure detector's phi for `ep` at `now`, for status displays.
    pub fn phi(&self, ep: Endpoint, now: Millis) -> Option<f64> {
        self.failure_detector.phi(ep, now)
    }

    /// When this node last learned something new about `ep`.
    pub fn last_updated(&self, ep: Endpoint) -> Option<Millis> {
        self.updated_at.get(&ep).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn ep(k: u8) -> Endpoint {
        Endpoint::new([127, 0, 0, k].into(), 9044)
    }

    fn gossiper(k: u8, generation: i32) -> Gossiper {
        Gossiper::new(ep(k), GossipConfig::new("test", vec![ep(1)]), generation, 0)
    }

    fn only_message(out: Vec<(Endpoint, Message)>) -> (Endpoint, Message) {
        assert_eq!(out.len(), 1, "expected one message, got {out:?}");
        out.into_iter().next().unwrap()
    }

    fn ack2_with(from: Endpoint, state: EndpointState) -> Message {
        Message::Ack2(Ack2 {
            states: BTreeMap::from([(from, state)]),
        })
    }

    #[test]
    fn set_local_state_bumps_the_local_version() {
        let mut g = gossiper(1, 100);
        let before = g.local_state().max_version();
        g.set_local_state(ApplicationState::Status, "NORMAL");
        let status = g.local_state().get(ApplicationState::Status).unwrap().clone();
        assert_eq!(status.value, "NORMAL");
        assert!(status.version > before);
        assert_eq!(g.local_state().max_version(), status.version);
    }

    #[test]
    fn a_lone_node_gossips_to_a_seed_and_a_lone_seed_to_nobody() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut seed = gossiper(1, 100);
        assert_eq!(seed.tick(1000, &mut rng), vec![]);
        let mut other = gossiper(2, 100);
        let (to, message) = only_message(other.tick(1000, &mut rng));
        assert_eq!(to, ep(1));
        let Message::Syn(syn) = message else {
            panic!("expected a SYN, got {message:?}")
        };
        assert_eq!(syn.cluster_name, "test");
        assert_eq!(syn.digests, vec![GossipDigest::of(ep(2), other.local_state())]);
    }

    #[test]
    fn a_syn_from_another_cluster_is_ignored() {
        let mut g = gossiper(1, 100);
        let syn = Syn {
            cluster_name: "other".into(),
            digests: vec![GossipDigest {
                endpoint: ep(2),
                generation: 5,
                max_version: 9,
            }],
        };
        assert_eq!(g.handle(ep(2), Message::Syn(syn), 10), vec![]);
        assert_eq!(g.endpoints().collect::<Vec<_>>(), vec![ep(1)]);
    }

    #[test]
    fn ack_and_ack2_transfer_exactly_the_missing_states() {
        // a knows 3 at version 10 and 4 entirely; b knows 3 at version 20 and 5 entirely.
        let mut a = gossiper(1, 100);
        let mut b = gossiper(2, 200);
        let mut three_old = EndpointState::new(HeartbeatState {
            generation: 300,
            version: 10,
        });
        three_old.states.insert(ApplicationState::Status, VersionedValue::new("NORMAL", 5));
        let mut three_new = three_old.clone();
        three_new.heartbeat.version = 20;
        three_new.states.insert(ApplicationState::Load, VersionedValue::new("42", 15));
        let four = EndpointState::new(HeartbeatState {
            generation: 400,
            version: 4,
        });
        let five = EndpointState::new(HeartbeatState {
            generation: 500,
            version: 5,
        });
        a.handle(ep(9), ack2_with(ep(3), three_old.clone()), 0);
        a.handle(ep(9), ack2_with(ep(4), four.clone()), 0);
        b.handle(ep(9), ack2_with(ep(3), three_new.clone()), 0);
        b.handle(ep(9), ack2_with(ep(5), five.clone()), 0);
        a.set_local_state(ApplicationState::Tokens, "1,2,3");

        let syn = Message::Syn(a.syn());
        let (to, ack) = only_message(b.handle(ep(1), syn, 1));
        assert_eq!(to, ep(1));
        let Message::Ack(ack_body) = &ack else {
            panic!("expected an ACK, got {ack:?}")
        };
        // b wants all of a (never heard of it) and 4, and nothing of 3 (b is ahead).
        assert_eq!(
            ack_body.digests,
            vec![
                GossipDigest {
                    endpoint: ep(1),
                    generation: 100,
                    max_version: 0
                },
                GossipDigest {
                    endpoint: ep(4),
                    generation: 400,
                    max_version: 0
                }
            ]
        );
        // a lacks b entirely, 5 entirely, and of 3 only what is newer than version 10.
        let expected_states = BTreeMap::from([
            (ep(2), b.local_state().clone()),
            (ep(3), three_new.newer_than(10)),
            (ep(5), five.clone()),
        ]);
        assert_eq!(ack_body.states, expected_states);
        assert_eq!(
            ack_body.states[&ep(3)].states.keys().copied().collect::<Vec<_>>(),
            vec![ApplicationState::Load]
        );

        let (to, ack2) = only_message(a.handle(ep(2), ack, 2));
        assert_eq!(to, ep(2));
        let Message::Ack2(ack2_body) = &ack2 else {
            panic!("expected an ACK2, got {ack2:?}")
        };
        assert_eq!(
            ack2_body.states,
            BTreeMap::from([(ep(1), a.local_state().clone()), (ep(4), four.clone())])
        );
        assert_eq!(b.handle(ep(1), ack2, 3), vec![]);

        for g in [&a, &b] {
            assert_eq!(g.endpoint_state(ep(3)), Some(&three_new));
            assert_eq!(g.endpoint_state(ep(4)), Some(&four));
            assert_eq!(g.endpoint_state(ep(5)), Some(&five));
        }
        assert_eq!(a.endpoint_state(ep(2)), Some(b.local_state()));
        assert_eq!(b.endpoint_state(ep(1)), Some(a.local_state()));
        // Now in sync: a second SYN gets no answer.
        assert_eq!(b.handle(ep(1), Message::Syn(a.syn()), 4), vec![]);
    }

    #[test]
    fn a_restart_with_a_higher_generation_replaces_the_old_state() {
        let mut g = gossiper(1, 100);
        let mut old = EndpointState::new(HeartbeatState {
            generation: 10,
            version: 50,
        });
        old.states.insert(ApplicationState::Status, VersionedValue::new("NORMAL", 40));
        old.states.insert(ApplicationState::Load, VersionedValue::new("7", 45));
        g.handle(ep(2), ack2_with(ep(2), old), 0);
        let mut new = EndpointState::new(HeartbeatState {
            generation: 11,
            version: 2,
        });
        new.states.insert(ApplicationState::Status, VersionedValue::new("JOINING", 1));
        g.drain_events();
        g.handle(ep(2), ack2_with(ep(2), new.clone()), 1000);
        assert_eq!(g.endpoint_state(ep(2)), Some(&new));
        assert_eq!(
            g.drain_events(),
            vec![
                GossipEvent::Restarted(ep(2)),
                GossipEvent::StateChanged(ep(2), ApplicationState::Status),
                GossipEvent::Alive(ep(2))
            ]
        );
    }

    #[test]
    fn a_stale_generation_never_overwrites_a_newer_one() {
        let mut g = gossiper(1, 100);
        let new = EndpointState::new(HeartbeatState {
            generation: 11,
            version: 2,
        });
        g.handle(ep(2), ack2_with(ep(2), new.clone()), 0);
        let mut old = EndpointState::new(HeartbeatState {
            generation: 10,
            version: 50,
        });
        old.states.insert(ApplicationState::Status, VersionedValue::new("NORMAL", 40));
        g.drain_events();
        g.handle(ep(3), ack2_with(ep(2), old), 1000);
        assert_eq!(g.endpoint_state(ep(2)), Some(&new));
        assert_eq!(g.drain_events(), vec![]);
    }

    #[test]
    fn nobody_else_can_rewrite_the_local_state() {
        let mut g = gossiper(1, 100);
        let before = g.local_state().clone();
        let mut forged = EndpointState::new(HeartbeatState {
            generation: 101,
            version: 99,
        });
        forged.states.insert(ApplicationState::Status, VersionedValue::new("LEFT", 99));
        g.handle(ep(2), ack2_with(ep(1), forged), 0);
        assert_eq!(g.local_state(), &before);
    }

    #[test]
    fn a_new_endpoint_is_unreachable_until_its_heartbeat_advances() {
        let mut g = gossiper(1, 100);
        let mut state = EndpointState::new(HeartbeatState {
            generation: 10,
            version: 5,
        });
        state.states.insert(ApplicationState::HostId, VersionedValue::new("h2", 3));
        g.handle(ep(3), ack2_with(ep(2), state.clone()), 0);
        assert_eq!(
            g.drain_events(),
            vec![
                GossipEvent::Joined(ep(2)),
                GossipEvent::StateChanged(ep(2), ApplicationState::HostId)
            ]
        );
        assert!(g.unreachable_endpoints().contains(&ep(2)));
        assert!(!g.is_alive(ep(2)));
        // The same heartbeat again is no news.
        g.handle(ep(3), ack2_with(ep(2), state.clone()), 500);
        assert_eq!(g.drain_events(), vec![]);
        state.heartbeat.version = 6;
        g.handle(ep(3), ack2_with(ep(2), state), 1000);
        assert_eq!(g.drain_events(), vec![GossipEvent::Alive(ep(2))]);
        assert_eq!(g.live_endpoints().iter().copied().collect::<Vec<_>>(), vec![ep(2)]);
        assert!(g.unreachable_endpoints().is_empty());
    }

    #[test]
    fn a_silent_peer_is_convicted_and_revived_by_its_next_heartbeat() {
        let mut g = gossiper(1, 100);
        let mut state = EndpointState::new(HeartbeatState {
            generation: 10,
            version: 1,
        });
        let mut now = 0;
        for v in 1..=30 {
            state.heartbeat.version = v;
            g.handle(ep(2), ack2_with(ep(2), state.clone()), now);
            now += 1000;
        }
        let last = now - 1000;
        g.drain_events();
        g.convict(last + 10_000);
        assert!(
            g.is_alive(ep(2)),
            "convicted after 10 s of silence, phi {:?}",
            g.phi(ep(2), last + 10_000)
        );
        g.convict(last + 25_000);
        assert!(!g.is_alive(ep(2)));
        assert_eq!(g.drain_events(), vec![GossipEvent::Dead(ep(2))]);
        state.heartbeat.version += 1;
        g.handle(ep(2), ack2_with(ep(2), state), last + 30_000);
        assert_eq!(g.drain_events(), vec![GossipEvent::Alive(ep(2))]);
        assert!(g.is_alive(ep(2)));
    }
}
