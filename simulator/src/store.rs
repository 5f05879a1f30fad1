//! The simulator's reads and writes, as prepared statements on one driver session:
//! schedules and statuses at QUORUM (strong), live positions at ONE (weak), as the
//! design asks. Also connecting to the cluster and retrying a failed write. It holds
//! no flight logic: callers say what to write.

use std::future::Future;
use std::time::Duration;

use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::{CqlDate, CqlTimestamp};

use crate::airports::Airports;
use crate::clock::SimTime;
use crate::flight::FlightState;
use crate::schedule::FlightPlan;
use crate::status::Status;

/// How many times a write is tried before it counts as an error.
pub const WRITE_ATTEMPTS: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach the cluster at {contact_points}: {reason}")]
    Unreachable { contact_points: String, reason: String },
    // The driver's error is part of the message rather than a `source`, so that a
    // chain printer does not repeat it.
    #[error("cannot prepare `{statement}`: {cause} (has `flight-sim setup` been run?)")]
    Prepare {
        statement: &'static str,
        cause: Box<scylla::errors::PrepareError>,
    },
    #[error("{what} failed: {cause}")]
    Execute {
        what: &'static str,
        cause: Box<scylla::errors::ExecutionError>,
    },
    #[error("{what}: unexpected result: {detail}")]
    Result { what: &'static str, detail: String },
    #[error("flight {flight_id} already exists with another schedule")]
    FlightExists { flight_id: String },
}

/// How to log in and whether to talk TLS: a cluster with PasswordAuthenticator and
/// `[client_encryption]` wants both.
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// Role and password (PlainTextAuthenticator).
    pub credentials: Option<(String, String)>,
    /// The cluster's certificate authority (PEM); TLS is used when given.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Security {
    fn apply(&self, mut builder: SessionBuilder) -> Result<SessionBuilder, String> {
        if let Some((user, password)) = &self.credentials {
            builder = builder.user(user, password);
        }
        if let Some(ca) = &self.ca_file {
            use rustls::pki_types::pem::PemObject;
            let mut roots = rustls::RootCertStore::empty();
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(ca)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read the CA file {}: {e}", ca.display()))?;
            for cert in certs {
                roots.add(cert).map_err(|e| format!("bad certificate in {}: {e}", ca.display()))?;
            }
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
            builder = builder.tls_context(Some(std::sync::Arc::new(config)));
        }
        Ok(builder)
    }
}

/// Connects to the cluster through `hosts` (each `host` or `host:port`), failing
/// within `timeout` if no contact point answers.
pub async fn connect(hosts: &[String], port: u16, timeout: Duration, security: &Security) -> Result<Session, StoreError> {
    let contact_points: Vec<String> = hosts
        .iter()
        .map(|h| if h.contains(':') { h.clone() } else { format!("{h}:{port}") })
        .collect();
    let unreachable = |reason: String| StoreError::Unreachable {
        contact_points: contact_points.join(", "),
        reason,
    };
    let builder = SessionBuilder::new().known_nodes(&contact_points).connection_timeout(timeout);
    let builder = security.apply(builder).map_err(unreachable)?;
    match tokio::time::timeout(timeout + Duration::from_secs(1), builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {timeout:?}"))),
    }
}

/// Runs `op` up to `attempts` times, waiting 100 ms, 200 ms, ... between tries, and
/// returns the last error if every try failed.
pub async fn with_retries<T, F, Fut>(attempts: u32, mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= attempts || matches!(e, StoreError::FlightExists { .. }) => return Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

/// Which side of a flight a `flights_by_airport` row describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Departure,
    Arrival,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Departure => "departure",
            Direction::Arrival => "arrival",
        }
    }
}

const INSERT_AIRPORT: &str =
    "INSERT INTO aviation.airports (iata, icao, name, city, country, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?)";
const INSERT_FLIGHT: &str = "INSERT INTO aviation.flights (flight_id, flight_number, airline, origin, destination, scheduled_departure, \
     scheduled_arrival, aircraft, status, cruise_speed_kmh, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
const INSERT_BY_AIRPORT: &str = "INSERT INTO aviation.flights_by_airport (airport, day, direction, scheduled, flight_number, flight_id, \
     other_airport, airline, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const UPDATE_STATUS: &str = "UPDATE aviation.flights SET status = ?, updated_at = ? WHERE flight_id = ?";
const UPDATE_DEPARTED: &str = "UPDATE aviation.flights SET status = ?, actual_departure = ?, updated_at = ? WHERE flight_id = ?";
const UPDATE_ARRIVED: &str = "UPDATE aviation.flights SET status = ?, actual_arrival = ?, updated_at = ? WHERE flight_id = ?";
const UPDATE_BY_AIRPORT_STATUS: &str = "UPDATE aviation.flights_by_airport SET status = ? \
     WHERE airport = ? AND day = ? AND direction = ? AND scheduled = ? AND flight_number = ?";
const UPDATE_BY_AIRPORT_ACTUAL: &str = "UPDATE aviation.flights_by_airport SET status = ?, actual = ? \
     WHERE airport = ? AND day = ? AND direction = ? AND scheduled = ? AND flight_number = ?";
const READ_STATUS: &str = "SELECT status FROM aviation.flights WHERE flight_id = ?";
const INSERT_POSITION: &str = "INSERT INTO aviation.flight_positions (flight_id, flight_number, origin, destination, latitude, longitude, \
     altitude_m, ground_speed_kmh, heading_deg, fuel_kg, progress, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const DELETE_POSITION: &str = "DELETE FROM aviation.flight_positions WHERE flight_id = ?";

/// The session and its prepared statements.
pub struct Store {
    session: Session,
    insert_airport: PreparedStatement,
    insert_flight: PreparedStatement,
    insert_by_airport: PreparedStatement,
    update_status: PreparedStatement,
    update_departed: PreparedStatement,
    update_arrived: PreparedStatement,
    update_by_airport_status: PreparedStatement,
    update_by_airport_actual: PreparedStatement,
    read_status: PreparedStatement,
    insert_position: PreparedStatement,
    delete_position: PreparedStatement,
}

impl Store {
    /// Prepares every statement; fails if the keyspace does not exist yet.
    pub async fn prepare(session: Session) -> Result<Store, StoreError> {
        async fn prepare(session: &Session, statement: &'static str, consistency: Consistency) -> Result<PreparedStatement, StoreError> {
            let mut prepared = session.prepare(statement).await.map_err(|source| StoreError::Prepare {
                statement,
                cause: Box::new(source),
            })?;
            prepared.set_consistency(consistency);
            Ok(prepared)
        }
        use Consistency::{One, Quorum};
        Ok(Store {
            insert_airport: prepare(&session, INSERT_AIRPORT, Quorum).await?,
            insert_flight: prepare(&session, INSERT_FLIGHT, Quorum).await?,
            insert_by_airport: prepare(&session, INSERT_BY_AIRPORT, Quorum).await?,
            update_status: prepare(&session, UPDATE_STATUS, Quorum).await?,
            update_departed: prepare(&session, UPDATE_DEPARTED, Quorum).await?,
            update_arrived: prepare(&session, UPDATE_ARRIVED, Quorum).await?,
            update_by_airport_status: prepare(&session, UPDATE_BY_AIRPORT_STATUS, Quorum).await?,
            update_by_airport_actual: prepare(&session, UPDATE_BY_AIRPORT_ACTUAL, Quorum).await?,
            read_status: prepare(&session, READ_STATUS, Quorum).await?,
            insert_position: prepare(&session, INSERT_POSITION, One).await?,
            // Removing a plane from the map is part of landing or cancelling it, so it
            // is as strong as the status change.
            delete_position: prepare(&session, DELETE_POSITION, Quorum).await?,
            session,
        })
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub async fn load_airports(&self, airports: &Airports) -> Result<usize, StoreError> {
        for a in airports.iter() {
            let values = (&a.iata, &a.icao, &a.name, &a.city, &a.country, a.latitude, a.longitude);
            with_retries(WRITE_ATTEMPTS, || async {
                self.session
                    .execute_unpaged(&self.insert_airport, values)
                    .await
                    .map_err(|source| StoreError::Execute {
                        what: "inserting an airport",
                        cause: Box::new(source),
                    })
            })
            .await?;
        }
        Ok(airports.len())
    }

    /// Writes a new flight: its `flights` row, only if no flight has its id (a
    /// lightweight transaction: a flight made on the map or by another simulator
    /// is never overwritten), and its two `flights_by_airport` rows. A row already
    /// there with the same route and departure is this flight (a retried write, or
    /// the same flight scheduled elsewhere) and is taken as it is; another schedule
    /// under the id is refused.
    pub async fn insert_flight(&self, plan: &FlightPlan, status: Status) -> Result<(), StoreError> {
        let what = "writing a flight's schedule";
        let values = (
            &plan.flight_id,
            &plan.number,
            &plan.airline,
            &plan.origin.iata,
            &plan.destination.iata,
            timestamp(plan.scheduled_departure),
            timestamp(plan.scheduled_arrival),
            plan.aircraft.code,
            status.as_str(),
            plan.model.cruise_speed_kmh(),
            timestamp(wall_now()),
        );
        let result = self
            .session
            .execute_unpaged(&self.insert_flight, values)
            .await
            .map_err(|source| StoreError::Execute {
                what,
                cause: Box::new(source),
            })?;
        let existing = not_applied(result).map_err(|detail| StoreError::Result { what, detail })?;
        if let Some(existing) = existing {
            let same = existing.text("origin") == Some(plan.origin.iata.as_str())
                && existing.text("destination") == Some(plan.destination.iata.as_str())
                && existing.timestamp("scheduled_departure") == Some(plan.scheduled_departure);
            if !same {
                return Err(StoreError::FlightExists {
                    flight_id: plan.flight_id.clone(),
                });
            }
        }
        for direction in [Direction::Departure, Direction::Arrival] {
            let (airport, other, scheduled) = side(plan, direction);
            let values = (
                airport,
                date(scheduled),
                direction.as_str(),
                timestamp(scheduled),
                &plan.number,
                &plan.flight_id,
                other,
                &plan.airline,
                status.as_str(),
            );
            self.execute(&self.insert_by_airport, values, what).await?;
        }
        Ok(())
    }

    /// Records a status change in `flights` and both `flights_by_airport` rows; with
    /// `actual`, also the actual departure or arrival time.
    pub async fn record_status(&self, plan: &FlightPlan, status: Status, actual: Option<(Direction, SimTime)>) -> Result<(), StoreError> {
        let what = "writing a flight's status";
        let now = timestamp(wall_now());
        match actual {
            None => {
                self.execute(&self.update_status, (status.as_str(), now, &plan.flight_id), what)
                    .await?
            }
            Some((Direction::Departure, at)) => {
                let values = (status.as_str(), timestamp(at), now, &plan.flight_id);
                self.execute(&self.update_departed, values, what).await?
            }
            Some((Direction::Arrival, at)) => {
                let values = (status.as_str(), timestamp(at), now, &plan.flight_id);
                self.execute(&self.update_arrived, values, what).await?
            }
        }
        for direction in [Direction::Departure, Direction::Arrival] {
            let (airport, _, scheduled) = side(plan, direction);
            let key = (airport, date(scheduled), direction.as_str(), timestamp(scheduled), &plan.number);
            match actual {
                Some((d, at)) if d == direction => {
                    let values = (status.as_str(), timestamp(at), key.0, key.1, key.2, key.3, key.4);
                    self.execute(&self.update_by_airport_actual, values, what).await?
                }
                _ => {
                    let values = (status.as_str(), key.0, key.1, key.2, key.3, key.4);
                    self.execute(&self.update_by_airport_status, values, what).await?
                }
            }
        }
        Ok(())
    }

    /// The flight's status as the cluster has it (QUORUM); `None` if the row is gone
    /// or holds a word that is not a status.
    pub async fn read_status(&self, flight_id: &str) -> Result<Option<Status>, StoreError> {
        let what = "reading a flight's status";
        let result = self
            .session
            .execute_unpaged(&self.read_status, (flight_id,))
            .await
            .map_err(|source| StoreError::Execute {
                what,
                cause: Box::new(source),
            })?;
        let rows = result.into_rows_result().map_err(|e| StoreError::Result {
            what,
            detail: e.to_string(),
        })?;
        let row = rows.maybe_first_row::<(Option<String>,)>().map_err(|e| StoreError::Result {
            what,
            detail: e.to_string(),
        })?;
        Ok(row.and_then(|(status,)| status).and_then(|s| Status::parse(&s)))
    }

    /// Writes the live position (ONE).
    pub async fn write_position(&self, plan: &FlightPlan, state: &FlightState) -> Result<(), StoreError> {
        let values = (
            &plan.flight_id,
            &plan.number,
            &plan.origin.iata,
            &plan.destination.iata,
            state.position.lat,
            state.position.lon,
            state.altitude_m,
            state.ground_speed_kmh,
            state.heading_deg,
            state.fuel_kg,
            state.progress,
            timestamp(wall_now()),
        );
        self.execute(&self.insert_position, values, "writing a position").await
    }

    pub async fn delete_position(&self, flight_id: &str) -> Result<(), StoreError> {
        self.execute(&self.delete_position, (flight_id,), "deleting a position").await
    }

    async fn execute(
        &self,
        statement: &PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
        what: &'static str,
    ) -> Result<(), StoreError> {
        self.session
            .execute_unpaged(statement, values)
            .await
            .map(|_| ())
            .map_err(|source| StoreError::Execute {
                what,
                cause: Box::new(source),
            })
    }
}

/// The row a conditional insert found in its way, by column name.
struct Existing {
    names: Vec<String>,
    row: scylla::value::Row,
}

impl Existing {
    fn value(&self, name: &str) -> Option<&scylla::value::CqlValue> {
        let i = self.names.iter().position(|n| n == name)?;
        self.row.columns.get(i)?.as_ref()
    }

    fn text(&self, name: &str) -> Option<&str> {
        match self.value(name)? {
            scylla::value::CqlValue::Text(s) | scylla::value::CqlValue::Ascii(s) => Some(s),
            _ => None,
        }
    }

    fn timestamp(&self, name: &str) -> Option<SimTime> {
        match self.value(name)? {
            scylla::value::CqlValue::Timestamp(CqlTimestamp(ms)) => Some(*ms),
            _ => None,
        }
    }
}

/// `None` when a conditional insert applied, else the row already there.
fn not_applied(result: scylla::response::query_result::QueryResult) -> Result<Option<Existing>, String> {
    let rows = result.into_rows_result().map_err(|e| e.to_string())?;
    let names = rows.column_specs().iter().map(|c| c.name().to_string()).collect();
    let row: scylla::value::Row = rows.first_row().map_err(|e| e.to_string())?;
    match row.columns.first() {
        Some(Some(scylla::value::CqlValue::Boolean(true))) => Ok(None),
        Some(Some(scylla::value::CqlValue::Boolean(false))) => Ok(Some(Existing { names, row })),
        other => Err(format!("no [applied] column in the answer: {other:?}")),
    }
}

/// (airport, the other airport, scheduled time) of one side of a flight.
fn side(plan: &FlightPlan, direction: Direction) -> (&str, &str, SimTime) {
    match direction {
        Direction::Departure => (&plan.origin.iata, &plan.destination.iata, plan.scheduled_departure),
        Direction::Arrival => (&plan.destination.iata, &plan.origin.iata, plan.scheduled_arrival),
    }
}

pub fn timestamp(t: SimTime) -> CqlTimestamp {
    CqlTimestamp(t)
}

/// The UTC day of `t` as a CQL `date` (days since the epoch, offset by 2^31).
pub fn date(t: SimTime) -> CqlDate {
    let days = t.div_euclid(86_400_000);
    CqlDate((days + (1i64 << 31)) as u32)
}

fn wall_now() -> SimTime {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_the_epoch_offset_by_two_to_the_31() {
        assert_eq!(date(0), CqlDate(1 << 31));
        assert_eq!(date(86_400_000 - 1), CqlDate(1 << 31));
        assert_eq!(date(-1), CqlDate((1u32 << 31) - 1));
        // 2026-11-22 is day 20779.
        assert_eq!(date(1_795_334_400_000), CqlDate((1 << 31) + 20_779));
    }

    #[tokio::test]
    async fn a_write_that_keeps_failing_is_tried_the_given_number_of_times() {
        let mut calls = 0;
        let result: Result<(), StoreError> = with_retries(3, || {
            calls += 1;
            async {
                Err(StoreError::Result {
                    what: "test",
                    detail: "always fails".into(),
                })
            }
        })
        .await;
        assert!(result.is_err());
        assert_eq!(calls, 3);
    }

    #[tokio::test]
    async fn a_write_that_succeeds_on_the_second_try_is_not_an_error() {
        let mut calls = 0;
        let result = with_retries(3, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 2 {
                    Err(StoreError::Result {
                        what: "test",
                        detail: "flaky".into(),
                    })
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 2);
    }
}
