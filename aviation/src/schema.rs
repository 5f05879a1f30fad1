//! The flight keyspace's DDL, in one place: keyspace `aviation` and its tables, as
//! `docs/flight-data.md` describes them, every statement idempotent (`IF NOT
//! EXISTS`). `aviation/schema.cql` is this text for a three-node cluster, kept equal
//! by a test. Creating it against a session (and adding the columns a keyspace made
//! by an older version lacks) is the one async function here; the text is pure.

use scylla::client::session::Session;

pub const KEYSPACE: &str = "aviation";

/// The replication factor the design asks for.
pub const DESIGN_REPLICATION_FACTOR: usize = 3;

/// Replication factor for a cluster of `nodes` nodes: the design's 3, or fewer when
/// the cluster is smaller (a keyspace cannot be written at QUORUM with RF above the
/// node count).
pub fn replication_factor(nodes: usize) -> usize {
    nodes.clamp(1, DESIGN_REPLICATION_FACTOR)
}

pub fn create_keyspace(replication_factor: usize) -> String {
    format!(
        "CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': {replication_factor}}}"
    )
}

/// One row per airport.
pub const CREATE_AIRPORTS: &str = "CREATE TABLE IF NOT EXISTS aviation.airports (
    iata text PRIMARY KEY,
    icao text,
    name text,
    city text,
    country text,
    latitude double,
    longitude double
)";

/// One row per flight: its schedule and its status, the authoritative copy.
pub const CREATE_FLIGHTS: &str = "CREATE TABLE IF NOT EXISTS aviation.flights (
    flight_id text PRIMARY KEY,
    flight_number text,
    airline text,
    origin text,
    destination text,
    scheduled_departure timestamp,
    scheduled_arrival timestamp,
    actual_departure timestamp,
    actual_arrival timestamp,
    aircraft text,
    status text,
    cruise_speed_kmh double,
    updated_at timestamp,
    claimed_by text,
    lease_until timestamp
)";

/// The schedule by day of departure, which dispatchers watch: one partition per UTC
/// day, clustered by scheduled departure, so "flights due in the next minutes" is one
/// slice of one or two partitions, never a scan.
pub const CREATE_DEPARTURES: &str = "CREATE TABLE IF NOT EXISTS aviation.departures (
    day date,
    scheduled_departure timestamp,
    flight_id text,
    PRIMARY KEY ((day), scheduled_departure, flight_id)
)";

/// Each running simulator's clock and load, rewritten every few seconds with a TTL:
/// the map shows the simulated time and speed-up it computes positions with.
pub const CREATE_SIMULATORS: &str = "CREATE TABLE IF NOT EXISTS aviation.simulators (
    simulator text PRIMARY KEY,
    time_scale double,
    sim_now timestamp,
    flying int,
    updated_at timestamp
)";

/// The airport-and-date view: each flight appears twice, as a departure at its origin
/// on the day of its scheduled departure and as an arrival at its destination on the
/// day of its scheduled arrival (UTC days).
pub const CREATE_FLIGHTS_BY_AIRPORT: &str = "CREATE TABLE IF NOT EXISTS aviation.flights_by_airport (
    airport text,
    day date,
    direction text,
    scheduled timestamp,
    flight_number text,
    flight_id text,
    other_airport text,
    airline text,
    status text,
    actual timestamp,
    PRIMARY KEY ((airport, day), direction, scheduled, flight_number)
)";

/// The live state of a flight in the air; the row is deleted when it lands or is
/// cancelled.
pub const CREATE_FLIGHT_POSITIONS: &str = "CREATE TABLE IF NOT EXISTS aviation.flight_positions (
    flight_id text PRIMARY KEY,
    flight_number text,
    origin text,
    destination text,
    latitude double,
    longitude double,
    altitude_m double,
    ground_speed_kmh double,
    heading_deg double,
    fuel_kg double,
    progress double,
    updated_at timestamp,
    sim_time timestamp
)";

pub const TABLES: [&str; 6] = [
    CREATE_AIRPORTS,
    CREATE_FLIGHTS,
    CREATE_FLIGHTS_BY_AIRPORT,
    CREATE_FLIGHT_POSITIONS,
    CREATE_DEPARTURES,
    CREATE_SIMULATORS,
];

/// Columns added after the first version of the keyspace: `create` adds them to a
/// table made before them (an "already exists" answer means it has them).
pub const ADDED_COLUMNS: [&str; 3] = [
    "ALTER TABLE aviation.flights ADD claimed_by text",
    "ALTER TABLE aviation.flights ADD lease_until timestamp",
    "ALTER TABLE aviation.flight_positions ADD sim_time timestamp",
];

/// Every statement, keyspace first, for a cluster with this replication factor.
pub fn statements(replication_factor: usize) -> Vec<String> {
    let mut all = vec![create_keyspace(replication_factor)];
    all.extend(TABLES.iter().map(|t| t.to_string()));
    all
}

/// The text of `aviation/schema.cql`.
pub fn schema_cql(replication_factor: usize) -> String {
    let mut out = String::from(
        "-- The flight keyspace, shared by flight-sim and the desktop map.\n\
         -- Generated from aviation/src/schema.rs (a test keeps them equal); `flight-sim setup`\n\
         -- creates it with replication_factor = min(3, nodes in the cluster).\n\n",
    );
    for statement in statements(replication_factor) {
        out.push_str(&statement);
        out.push_str(";\n\n");
    }
    out
}

/// Creates the keyspace and tables (idempotently) with RF = min(3, nodes the driver
/// sees), and returns (RF, nodes seen).
pub async fn create(session: &Session) -> Result<(usize, usize), scylla::errors::ExecutionError> {
    let nodes = session.get_cluster_state().get_nodes_info().len();
    let rf = replication_factor(nodes);
    for statement in statements(rf) {
        session.query_unpaged(statement, ()).await?;
    }
    for statement in ADDED_COLUMNS {
        if let Err(e) = session.query_unpaged(statement, ()).await {
            if !e.to_string().contains("already exist") {
                return Err(e);
            }
        }
    }
    Ok((rf, nodes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replication_factor_is_three_or_the_cluster_size_if_smaller() {
        assert_eq!(replication_factor(0), 1);
        assert_eq!(replication_factor(1), 1);
        assert_eq!(replication_factor(2), 2);
        assert_eq!(replication_factor(3), 3);
        assert_eq!(replication_factor(5), 3);
    }

    #[test]
    fn every_statement_is_idempotent() {
        for statement in statements(3) {
            assert!(statement.contains("IF NOT EXISTS"), "{statement}");
        }
        assert!(create_keyspace(2).contains("'replication_factor': 2"));
    }

    #[test]
    fn schema_cql_file_matches_the_ddl_in_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.cql");
        let on_disk = std::fs::read_to_string(path).expect("aviation/schema.cql exists");
        assert_eq!(
            on_disk,
            schema_cql(DESIGN_REPLICATION_FACTOR),
            "regenerate aviation/schema.cql with `flight-sim schema > aviation/schema.cql`"
        );
    }
}
