//! Deterministic simulations: gossipers exchange encoded messages through an in-memory
//! network with latency, driven by a simulated clock and seeded random numbers.

use std::collections::{BTreeMap, BTreeSet};

use gossip::{ApplicationState, Endpoint, GossipConfig, GossipEvent, Gossiper, Message, Millis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const INTERVAL: Millis = 1000;

fn ep(k: usize) -> Endpoint {
    let k = u16::try_from(k).unwrap();
    Endpoint::new([127, 1, (k / 250) as u8, (k % 250 + 1) as u8].into(), 9044)
}

enum Event {
    Tick(usize),
    Deliver { from: usize, to: usize, bytes: Vec<u8> },
}

struct Node {
    gossiper: Gossiper,
    running: bool,
    events: Vec<GossipEvent>,
}

struct Network {
    nodes: Vec<Node>,
    index: BTreeMap<Endpoint, usize>,
    now: Millis,
    queue: BTreeMap<(Millis, u64), Event>,
    seq: u64,
    rng: StdRng,
    /// Directed links that drop every message.
    cut: BTreeSet<(usize, usize)>,
}

impl Network {
    /// `n` nodes, the first two of which are seeds, each starting with its own status,
    /// host id and tokens, and ticking at its own phase within the first interval.
    fn new(n: usize, seed: u64) -> Self {
        let seeds = vec![ep(0), ep(1)];
        let mut rng = StdRng::seed_from_u64(seed);
        let mut net = Network {
            nodes: Vec::new(),
            index: BTreeMap::new(),
            now: 0,
            queue: BTreeMap::new(),
            seq: 0,
            rng: StdRng::seed_from_u64(0),
            cut: BTreeSet::new(),
        };
        for k in 0..n {
            let mut g = Gossiper::new(ep(k), GossipConfig::new("sim", seeds.clone()), 1_700_000_000, 0);
            g.set_local_state(ApplicationState::Status, "NORMAL");
            g.set_local_state(ApplicationState::HostId, format!("host-{k}"));
            g.set_local_state(ApplicationState::Tokens, format!("{}", k * 1000));
            net.nodes.push(Node {
                gossiper: g,
                running: true,
                events: Vec::new(),
            });
            net.index.insert(ep(k), k);
            let phase = rng.gen_range(0..INTERVAL);
            net.schedule(phase, Event::Tick(k));
        }
        net.rng = rng;
        net
    }

    fn schedule(&mut self, at: Millis, event: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    fn send(&mut self, from: usize, out: Vec<(Endpoint, Message)>) {
        for (to, message) in out {
            let to = self.index[&to];
            let latency = self.rng.gen_range(1..=20);
            // Through the codec, as on the wire.
            let bytes = message.encode().unwrap();
            self.schedule(self.now + latency, Event::Deliver { from, to, bytes });
        }
    }

    fn run_until(&mut self, until: Millis) {
        while let Some(entry) = self.queue.first_entry() {
            let (at, _) = *entry.key();
            if at > until {
                break;
            }
            let event = entry.remove();
            self.now = at;
            match event {
                Event::Tick(k) => {
                    self.schedule(at + INTERVAL, Event::Tick(k));
                    if self.nodes[k].running {
                        let node = &mut self.nodes[k];
                        let out = node.gossiper.tick(at, &mut self.rng);
                        node.events.extend(node.gossiper.drain_events());
                        self.send(k, out);
                    }
                }
                Event::Deliver { from, to, bytes } => {
                    if !self.nodes[to].running || self.cut.contains(&(from, to)) {
                        continue;
                    }
                    let message = Message::decode(&bytes).unwrap();
                    let node = &mut self.nodes[to];
                    let out = node.gossiper.handle(ep(from), message, at);
                    node.events.extend(node.gossiper.drain_events());
                    self.send(to, out);
                }
            }
        }
        self.now = until;
    }

    /// Runs whole rounds until `done` holds, returning how many it took, or panics after
    /// `max_rounds`.
    fn rounds_until(&mut self, max_rounds: u64, what: &str, done: impl Fn(&Network) -> bool) -> u64 {
        for round in 1..=max_rounds {
            self.run_until(self.now + INTERVAL);
            if done(self) {
                return round;
            }
        }
        panic!("{what}: not reached after {max_rounds} rounds\n{}", self.describe());
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        for (k, node) in self.nodes.iter().enumerate() {
            let g = &node.gossiper;
            s += &format!(
                "node {k} running={} knows={} live={:?} unreachable={:?}\n",
                node.running,
                g.endpoints().count(),
                g.live_endpoints(),
                g.unreachable_endpoints()
            );
        }
        s
    }

    fn running(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|k| self.nodes[*k].running)
    }

    /// Every running node holds every node's application states as their owner does.
    fn states_converged(&self) -> bool {
        self.running().all(|i| {
            self.nodes.iter().enumerate().all(|(j, owner)| {
                self.nodes[i]
                    .gossiper
                    .endpoint_state(ep(j))
                    .is_some_and(|s| s.states == owner.gossiper.local_state().states)
            })
        })
    }

    /// Whether node `observer` believes node `k` up.
    fn sees_alive(&self, observer: usize, k: usize) -> bool {
        self.nodes[observer].gossiper.is_alive(ep(k))
    }

    fn all_see_all_alive(&self) -> bool {
        let n = self.nodes.len();
        self.running().all(|i| (0..n).all(|j| self.sees_alive(i, j)))
    }
}

#[test]
fn five_gossipers_converge_to_the_same_view_within_a_few_rounds() {
    for seed in 0..20 {
        let mut net = Network::new(5, seed);
        let rounds = net.rounds_until(10, "convergence of 5 nodes", |n| n.states_converged() && n.all_see_all_alive());
        eprintln!("5 nodes, seed {seed}: converged in {rounds} rounds");
        assert!(rounds <= 10, "seed {seed} took {rounds} rounds");
        // Every node announced every other one exactly once as joined and once as alive.
        for (i, node) in net.nodes.iter().enumerate() {
            for j in (0..5).filter(|j| *j != i) {
                let joined = node.events.iter().filter(|e| **e == GossipEvent::Joined(ep(j))).count();
                let alive = node.events.iter().filter(|e| **e == GossipEvent::Alive(ep(j))).count();
                assert_eq!((joined, alive), (1, 1), "seed {seed}: node {i} about node {j}: {:?}", node.events);
            }
            assert!(
                !node.events.iter().any(|e| matches!(e, GossipEvent::Dead(_))),
                "seed {seed}: node {i}: {:?}",
                node.events
            );
        }
    }
}

#[test]
fn a_hundred_gossipers_converge_in_a_logarithmic_number_of_rounds() {
    let mut worst = 0;
    for seed in 0..3 {
        let mut net = Network::new(100, seed);
        // Twice log2(100), rounded up: epidemic spread doubles the informed nodes each round.
        let rounds = net.rounds_until(14, "convergence of 100 nodes", |n| n.states_converged() && n.all_see_all_alive());
        eprintln!("100 nodes, seed {seed}: converged in {rounds} rounds");
        worst = worst.max(rounds);
    }
    assert!(worst <= 14, "worst case {worst} rounds");
}

#[test]
fn a_state_change_reaches_every_node() {
    let mut net = Network::new(5, 7);
    net.rounds_until(10, "initial convergence", |n| n.states_converged() && n.all_see_all_alive());
    net.nodes[3].gossiper.set_local_state(ApplicationState::SchemaVersion, "v2");
    let rounds = net.rounds_until(10, "schema version spread", |n| {
        (0..5).all(|i| {
            n.nodes[i]
                .gossiper
                .endpoint_state(ep(3))
                .and_then(|s| s.get(ApplicationState::SchemaVersion))
                .is_some_and(|v| v.value == "v2")
        })
    });
    eprintln!("schema version reached all 5 nodes in {rounds} rounds");
    assert!(rounds <= 5, "took {rounds} rounds");
    for i in [0, 1, 2, 4] {
        let changes = net.nodes[i]
            .events
            .iter()
            .filter(|e| **e == GossipEvent::StateChanged(ep(3), ApplicationState::SchemaVersion))
            .count();
        assert_eq!(changes, 1, "node {i}");
    }
}

#[test]
fn a_node_that_stops_ticking_is_marked_dead_by_all_and_alive_again_when_it_resumes() {
    let mut net = Network::new(5, 11);
    net.rounds_until(10, "initial convergence", |n| n.states_converged() && n.all_see_all_alive());
    net.run_until(net.now + 30 * INTERVAL);
    assert!(net.all_see_all_alive(), "{}", net.describe());

    net.nodes[4].running = false;
    let stopped_at = net.now;
    // Phi 8 with heartbeats about once a second is some 18 s of silence: not 10.
    net.run_until(stopped_at + 10 * INTERVAL);
    for i in 0..4 {
        assert!(
            net.sees_alive(i, 4),
            "node {i} convicted node 4 after only 10 s\n{}",
            net.describe()
        );
    }
    let rounds = net.rounds_until(40, "conviction of node 4", |n| (0..4).all(|i| !n.sees_alive(i, 4)));
    eprintln!("node 4 convicted by all within {} s of silence", 10 + rounds);
    for i in 0..4 {
        assert!(net.nodes[i].events.contains(&GossipEvent::Dead(ep(4))));
        for j in (0..4).filter(|j| *j != i) {
            assert!(net.sees_alive(i, j), "node {i} wrongly convicted node {j}\n{}", net.describe());
        }
    }

    net.nodes[4].running = true;
    let rounds = net.rounds_until(5, "node 4 seen alive again", |n| n.all_see_all_alive());
    eprintln!("node 4 seen alive by all within {rounds} s of resuming");
    for i in 0..4 {
        assert_eq!(net.nodes[i].events.last(), Some(&GossipEvent::Alive(ep(4))), "node {i}");
    }
}

#[test]
fn a_restarted_node_replaces_its_old_state_everywhere() {
    let mut net = Network::new(5, 13);
    net.rounds_until(10, "initial convergence", |n| n.states_converged() && n.all_see_all_alive());
    net.nodes[2].running = false;
    net.run_until(net.now + 40 * INTERVAL);
    assert!((0..5).filter(|i| *i != 2).all(|i| !net.sees_alive(i, 2)), "{}", net.describe());

    // The new life starts its versions from scratch, under a higher generation.
    let mut g = Gossiper::new(ep(2), GossipConfig::new("sim", vec![ep(0), ep(1)]), 1_700_000_100, net.now);
    g.set_local_state(ApplicationState::Status, "NORMAL");
    g.set_local_state(ApplicationState::HostId, "host-2");
    net.nodes[2] = Node {
        gossiper: g,
        running: true,
        events: Vec::new(),
    };
    net.rounds_until(10, "restarted node known everywhere", |n| {
        n.states_converged() && n.all_see_all_alive()
    });
    for i in (0..5).filter(|i| *i != 2) {
        let state = net.nodes[i].gossiper.endpoint_state(ep(2)).unwrap();
        assert_eq!(state.generation(), 1_700_000_100);
        assert_eq!(state.get(ApplicationState::Tokens), None, "node {i} kept a key of the old life");
        assert!(net.nodes[i].events.contains(&GossipEvent::Restarted(ep(2))), "node {i}");
    }
}

#[test]
fn a_partitioned_pair_rejoins() {
    let mut net = Network::new(5, 17);
    net.rounds_until(10, "initial convergence", |n| n.states_converged() && n.all_see_all_alive());
    net.run_until(net.now + 20 * INTERVAL);
    let pair = [3, 4];
    let rest = [0, 1, 2];
    for a in pair {
        for b in rest {
            net.cut.insert((a, b));
            net.cut.insert((b, a));
        }
    }
    net.run_until(net.now + 60 * INTERVAL);
    for a in pair {
        for b in rest {
            assert!(!net.sees_alive(a, b), "node {a} still sees node {b}\n{}", net.describe());
            assert!(!net.sees_alive(b, a), "node {b} still sees node {a}\n{}", net.describe());
        }
    }
    assert!(
        net.sees_alive(3, 4) && net.sees_alive(4, 3),
        "the pair lost each other\n{}",
        net.describe()
    );
    assert!(
        net.sees_alive(0, 1) && net.sees_alive(1, 2) && net.sees_alive(2, 0),
        "{}",
        net.describe()
    );

    // Something changes on each side while apart.
    net.nodes[4].gossiper.set_local_state(ApplicationState::Load, "4.2");
    net.nodes[0].gossiper.set_local_state(ApplicationState::Load, "0.1");
    net.run_until(net.now + 5 * INTERVAL);

    net.cut.clear();
    let rounds = net.rounds_until(10, "rejoin", |n| n.states_converged() && n.all_see_all_alive());
    eprintln!("partitioned pair rejoined in {rounds} rounds");
}

#[test]
fn a_node_of_another_cluster_learns_nothing_and_is_learned_by_nobody() {
    let mut net = Network::new(3, 19);
    let mut stranger = Gossiper::new(ep(3), GossipConfig::new("elsewhere", vec![ep(0)]), 1_700_000_000, 0);
    stranger.set_local_state(ApplicationState::Status, "NORMAL");
    net.nodes.push(Node {
        gossiper: stranger,
        running: true,
        events: Vec::new(),
    });
    net.index.insert(ep(3), 3);
    net.schedule(500, Event::Tick(3));
    net.run_until(20 * INTERVAL);
    for i in 0..3 {
        assert_eq!(net.nodes[i].gossiper.endpoint_state(ep(3)), None, "node {i}");
    }
    assert_eq!(net.nodes[3].gossiper.endpoints().collect::<Vec<_>>(), vec![ep(3)]);
}
