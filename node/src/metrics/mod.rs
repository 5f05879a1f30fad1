//! The node's metrics, as Prometheus reads them: counters and latency
//! histograms that the request path, internode messaging, hints, read repair,
//! Paxos, counters and compaction bump as they work (`Metrics`, one per
//! process), and the gauges read from the node's state at each scrape
//! (`node::NodeCollector`). `endpoint` serves both as text on `metrics_port`.
//! Names follow Prometheus' conventions (`rustica_` prefix, `_total` for
//! counters, seconds for latencies). It owns no request logic: the code paths
//! only call the small recording functions here.
//!
//! One registry per process: a node is one process (`rustica local` and the
//! tests start one process per node), and a global keeps every hook one line
//! instead of threading a handle through every service.

pub mod endpoint;
mod handles;
pub mod node;

use std::net::IpAddr;
use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

use self::handles::Handles;
use cql_protocol::request::Request;
use cql_protocol::response::Response;
use cql_protocol::wire::Consistency;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Latency buckets, in seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The CQL opcodes a client sends, in the order of `opcode_index`.
const OPCODES: [&str; 8] = [
    "OPTIONS",
    "STARTUP",
    "AUTH_RESPONSE",
    "REGISTER",
    "QUERY",
    "PREPARE",
    "EXECUTE",
    "BATCH",
];
/// A request without a consistency level (OPTIONS, PREPARE, ...) is labelled so.
const NO_CONSISTENCY: &str = "NONE";
const CONSISTENCY_SLOTS: usize = Consistency::ALL.len() + 1;

/// Every metric the node bumps as it works.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    request_latency: HistogramVec,
    /// Handles per (opcode, consistency), resolved once: the request path pays
    /// no label lookup.
    request_cells: Vec<OnceLock<(IntCounter, Histogram)>>,
    errors: IntCounterVec,
    connections: IntGauge,
    connections_total: IntCounter,
    in_flight_requests: IntGauge,
    in_flight_bytes: IntGauge,
    internode_sent: IntCounterVec,
    internode_failed: IntCounterVec,
    internode_latency: HistogramVec,
    internode_received: IntCounterVec,
    /// (sent, latency) handles per (peer, verb), and received ones per verb.
    peer_handles: Handles<(IpAddr, &'static str), (IntCounter, Histogram)>,
    received_handles: Handles<&'static str, IntCounter>,
    pub hints_stored: IntCounter,
    pub hints_replayed: IntCounter,
    pub batches_logged: IntCounter,
    pub batches_replayed: IntCounter,
    pub read_repairs: IntCounter,
    pub compactions: IntCounter,
    pub flushes: IntCounter,
    pub stream_bytes: IntCounterVec,
    cas: IntCounterVec,
    pub cas_contention: IntCounter,
    pub counter_increments: IntCounter,
    started: Instant,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn global() -> &'static Metrics {
    &METRICS
}

/// `metric` registered under `name`; a failure is a bug in the constant names.
fn registered<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, name: &str, metric: prometheus::Result<M>) -> M {
    let m = metric.unwrap_or_else(|e| panic!("metric {name}: {e}"));
    registry
        .register(Box::new(m.clone()))
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    m
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    registered(registry, name, IntCounter::new(name, help))
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    registered(registry, name, IntCounterVec::new(Opts::new(name, help), labels))
}

fn gauge(registry: &Registry, name: &str, help: &str) -> IntGauge {
    registered(registry, name, IntGauge::new(name, help))
}

fn histogram_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec());
    registered(registry, name, HistogramVec::new(opts, labels))
}

impl Metrics {
    // The names and labels are constants: registering them cannot fail but by
    // a bug here, which the tests below catch.
    fn new() -> Metrics {
        let r = Registry::new_custom(Some("rustica".into()), None).unwrap_or_else(|e| panic!("metrics registry: {e}"));
        Metrics {
            requests: counter_vec(
                &r,
                "cql_requests_total",
                "CQL requests answered, by opcode and consistency level",
                &["opcode", "consistency"],
            ),
            request_latency: histogram_vec(
                &r,
                "cql_request_latency_seconds",
                "Time from a CQL request's decoding to its answer, by opcode and consistency level",
                &["opcode", "consistency"],
            ),
            request_cells: (0..OPCODES.len() * CONSISTENCY_SLOTS).map(|_| OnceLock::new()).collect(),
            errors: counter_vec(
                &r,
                "cql_errors_total",
                "CQL requests answered with an error, by error code",
                &["code", "error"],
            ),
            connections: gauge(&r, "cql_connections", "Client connections open now (past their TLS handshake)"),
            connections_total: counter(&r, "cql_connections_total", "Client connections served since start"),
            in_flight_requests: gauge(&r, "cql_requests_in_flight", "CQL requests read and not yet answered"),
            in_flight_bytes: gauge(
                &r,
                "cql_request_bytes_in_flight",
                "Bytes of CQL requests read and not yet answered (bounded by native_transport_max_concurrent_requests_in_bytes)",
            ),
            internode_sent: counter_vec(
                &r,
                "internode_requests_total",
                "Internode requests this node sent, by peer and verb",
                &["peer", "verb"],
            ),
            internode_failed: counter_vec(
                &r,
                "internode_failures_total",
                "Internode requests that got no reply (timeout, unreachable peer, protocol error), by peer",
                &["peer", "reason"],
            ),
            internode_latency: histogram_vec(
                &r,
                "internode_latency_seconds",
                "Round trip of an internode request, by peer",
                &["peer"],
            ),
            internode_received: counter_vec(
                &r,
                "internode_received_total",
                "Internode requests this node answered as a replica, by verb",
                &["verb"],
            ),
            peer_handles: Handles::new(),
            received_handles: Handles::new(),
            hints_stored: counter(
                &r,
                "hints_stored_total",
                "Hints written for replicas that were down or did not answer",
            ),
            hints_replayed: counter(&r, "hints_replayed_total", "Hints delivered to their replica and deleted"),
            batches_logged: counter(
                &r,
                "batches_logged_total",
                "Logged batches stored in the batchlog before they were applied",
            ),
            batches_replayed: counter(
                &r,
                "batches_replayed_total",
                "Batches replayed from this node's batchlog (their coordinator did not remove them)",
            ),
            read_repairs: counter(&r, "read_repairs_total", "Replicas sent the merged data by a blocking read repair"),
            compactions: counter(&r, "compactions_total", "Major compactions run (nodetool compact, cleanup)"),
            flushes: counter(&r, "memtable_flushes_total", "Memtable flushes asked for (nodetool flush, drain)"),
            stream_bytes: counter_vec(
                &r,
                "stream_bytes_total",
                "Bytes streamed by ring operations (bootstrap, decommission, removenode), by direction",
                &["direction"],
            ),
            cas: counter_vec(
                &r,
                "cas_total",
                "Lightweight transactions coordinated, by outcome (applied, not_applied; timeouts are cql_errors_total)",
                &["outcome"],
            ),
            cas_contention: counter(&r, "cas_contention_total", "Paxos rounds retried because a competing ballot won"),
            counter_increments: counter(&r, "counter_increments_total", "Counter updates this node led"),
            registry: r,
            started: Instant::now(),
        }
    }

    /// Every metric of the registry, ready to encode.
    pub fn gather(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.registry.gather()
    }

    /// Starts timing a client request; `RequestTimer::finish` records it.
    pub fn request(&'static self, request: &Request) -> RequestTimer {
        let (opcode, consistency) = classify(request);
        RequestTimer {
            metrics: self,
            cell: opcode * CONSISTENCY_SLOTS + consistency,
            started: Instant::now(),
        }
    }

    fn cell(&self, index: usize) -> &(IntCounter, Histogram) {
        self.request_cells[index].get_or_init(|| {
            let opcode = OPCODES[index / CONSISTENCY_SLOTS];
            let consistency = Consistency::ALL.get(index % CONSISTENCY_SLOTS).map_or(NO_CONSISTENCY, |c| c.name());
            (
                self.requests.with_label_values(&[opcode, consistency]),
                self.request_latency.with_label_values(&[opcode, consistency]),
            )
        })
    }

    /// A client connection past its TLS handshake, counted until the guard drops.
    pub fn connection(&'static self) -> Gauged {
        self.connections_total.inc();
        self.connections.inc();
        Gauged {
            gauge: &self.connections,
            by: 1,
        }
    }

    /// A request of `bytes` body bytes read and not yet answered, counted until
    /// both guards drop.
    pub fn in_flight(&'static self, bytes: usize) -> (Gauged, Gauged) {
        let bytes = bytes as i64;
        self.in_flight_requests.inc();
        self.in_flight_bytes.add(bytes);
        (
            Gauged {
                gauge: &self.in_flight_requests,
                by: 1,
            },
            Gauged {
                gauge: &self.in_flight_bytes,
                by: bytes,
            },
        )
    }

    /// An internode request to `to` of `verb`; `InternodeTimer::finish` records its outcome.
    pub fn internode(&'static self, to: IpAddr, verb: &'static str) -> InternodeTimer {
        InternodeTimer {
            metrics: self,
            peer: to,
            verb,
            started: Instant::now(),
        }
    }

    /// A verb this node answered as a replica.
    pub fn received(&self, verb: &'static str) {
        self.received_handles
            .get(verb, |verb| self.internode_received.with_label_values(&[verb]))
            .inc();
    }

    /// Time since the metrics began, at the node's start.
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Requests answered with a server error (a bug or a failed disk).
    pub fn server_errors(&self) -> u64 {
        self.errors.with_label_values(&["0x0000", "server_error"]).get()
    }

    /// (in flight now, answered since start) of the client requests.
    pub fn request_counts(&self) -> (i64, u64) {
        (self.in_flight_requests.get(), crate::nodetool::family_sum(&self.requests))
    }

    /// Internode requests sent since start, to every peer.
    pub fn internode_sent_total(&self) -> u64 {
        crate::nodetool::family_sum(&self.internode_sent)
    }

    /// Internode requests of `verb` answered as a replica since start.
    pub fn received_total(&self, verb: &str) -> u64 {
        self.internode_received.with_label_values(&[verb]).get()
    }

    /// A lightweight transaction's outcome: `applied` or `not_applied`.
    pub fn cas(&self, outcome: &'static str) {
        self.cas.with_label_values(&[outcome]).inc();
    }
}

/// Times one client request.
pub struct RequestTimer {
    metrics: &'static Metrics,
    cell: usize,
    started: Instant,
}

impl RequestTimer {
    /// Records the request's latency, and its error code if it failed; hands
    /// the response back.
    pub fn finish(self, response: Response) -> Response {
        let (count, latency) = self.metrics.cell(self.cell);
        count.inc();
        latency.observe(self.started.elapsed().as_secs_f64());
        if let Response::Error(e) = &response {
            let code = e.kind.code();
            self.metrics
                .errors
                .with_label_values(&[&format!("0x{code:04X}"), error_name(code)])
                .inc();
        }
        response
    }
}

/// Times one internode request.
pub struct InternodeTimer {
    metrics: &'static Metrics,
    peer: IpAddr,
    verb: &'static str,
    started: Instant,
}

impl InternodeTimer {
    /// Records the round trip, or the failure (`reason`: timeout, unreachable, protocol).
    pub fn finish(self, failure: Option<&'static str>) {
        let m = self.metrics;
        let (sent, latency) = m.peer_handles.get((self.peer, self.verb), |(peer, verb)| {
            let peer = peer.to_string();
            (
                m.internode_sent.with_label_values(&[&peer, verb]),
                m.internode_latency.with_label_values(&[&peer]),
            )
        });
        sent.inc();
        match failure {
            None => latency.observe(self.started.elapsed().as_secs_f64()),
            Some(reason) => m.internode_failed.with_label_values(&[&self.peer.to_string(), reason]).inc(),
        }
    }
}

/// Holds `by` on a gauge until it drops.
#[derive(Debug)]
pub struct Gauged {
    gauge: &'static IntGauge,
    by: i64,
}

impl Drop for Gauged {
    fn drop(&mut self) {
        self.gauge.sub(self.by);
    }
}

/// (opcode index, consistency slot) of a request: the slot past the levels
/// stands for "no consistency level".
fn classify(request: &Request) -> (usize, usize) {
    let none = Consistency::ALL.len();
    let slot = |c: Consistency| Consistency::ALL.iter().position(|l| *l == c).unwrap_or(none);
    match request {
        Request::Options => (0, none),
        Request::Startup(_) => (1, none),
        Request::AuthResponse(_) => (2, none),
        Request::Register(_) => (3, none),
        Request::Query(q) => (4, slot(q.params.consistency)),
        Request::Prepare(_) => (5, none),
        Request::Execute(e) => (6, slot(e.params.consistency)),
        Request::Batch(b) => (7, slot(b.consistency)),
    }
}

/// The protocol's name of an error code (native protocol v4, section 9).
pub fn error_name(code: i32) -> &'static str {
    match code {
        0x0000 => "server_error",
        0x000A => "protocol_error",
        0x0100 => "bad_credentials",
        0x1000 => "unavailable",
        0x1001 => "overloaded",
        0x1002 => "is_bootstrapping",
        0x1003 => "truncate_error",
        0x1100 => "write_timeout",
        0x1200 => "read_timeout",
        0x1300 => "read_failure",
        0x1400 => "function_failure",
        0x1500 => "write_failure",
        0x2000 => "syntax_error",
        0x2100 => "unauthorized",
        0x2200 => "invalid",
        0x2300 => "config_error",
        0x2400 => "already_exists",
        0x2500 => "unprepared",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_registers_and_a_request_is_counted_under_its_opcode_and_level() {
        let m = global();
        let query = Request::Options;
        let before = m.requests.with_label_values(&["OPTIONS", NO_CONSISTENCY]).get();
        let response = m.request(&query).finish(Response::Ready);
        assert!(matches!(response, Response::Ready), "the response is handed back unchanged");
        assert_eq!(m.requests.with_label_values(&["OPTIONS", NO_CONSISTENCY]).get(), before + 1);
        let text = prometheus::TextEncoder::new().encode_to_string(&m.gather()).unwrap();
        assert!(
            text.contains("rustica_cql_requests_total{consistency=\"NONE\",opcode=\"OPTIONS\"}"),
            "{text}"
        );
    }

    #[test]
    fn every_opcode_and_level_has_a_cell_of_its_own() {
        let m = global();
        for index in 0..OPCODES.len() * CONSISTENCY_SLOTS {
            let _ = m.cell(index);
        }
        assert_eq!(m.request_cells.len(), 8 * 12);
        assert_eq!(classify(&Request::Options), (0, 11));
    }

    #[test]
    fn a_gauge_guard_gives_back_what_it_added() {
        let m = global();
        let before = m.in_flight_bytes.get();
        let guards = m.in_flight(100);
        assert_eq!(m.in_flight_bytes.get(), before + 100);
        drop(guards);
        assert_eq!(m.in_flight_bytes.get(), before);
    }

    #[test]
    fn error_codes_have_the_protocols_names() {
        assert_eq!(error_name(0x1100), "write_timeout");
        assert_eq!(error_name(0x2200), "invalid");
        assert_eq!(error_name(0x7777), "other");
    }
}
