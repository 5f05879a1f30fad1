//! The simulator's own reads and writes, as prepared statements on one driver
//! session: flight statuses at QUORUM (strong), live positions at ONE (weak) with a
//! TTL of a few ticks, as the design asks; and retrying a failed write. The
//! statements every client shares (scheduling, claims, the schedule by day) are in
//! `aviation::statements`. It holds no flight logic: callers say what to write.

use std::future::Future;
use std::time::Duration;

use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

use aviation::connection::ConnectError;
use aviation::flight::cql_date_of;
use aviation::statements::{StatementError, Statements};

pub use aviation::flight::Direction;

use crate::airports::Airports;
use crate::clock::SimTime;
use crate::flight::FlightState;
use crate::schedule::FlightPlan;
use crate::status::Status;

/// How many times a write is tried before it counts as an error.
pub const WRITE_ATTEMPTS: u32 = 3;

/// How long one shared statement may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Statement(#[from] StatementError),
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
            Err(e) if attempt >= attempts => return Err(e),
            Err(_) => {
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
        }
    }
}

const INSERT_AIRPORT: &str =
    "INSERT INTO aviation.airports (iata, icao, name, city, country, latitude, longitude) VALUES (?, ?, ?, ?, ?, ?, ?)";
// Conditional on the status the simulator last read, so that it never overwrites a
// status a person set meanwhile (a `delayed` written between its read and its write).
const UPDATE_STATUS: &str = "UPDATE aviation.flights SET status = ?, updated_at = ? WHERE flight_id = ? IF status = ?";
const UPDATE_DEPARTED: &str =
    "UPDATE aviation.flights SET status = ?, actual_departure = ?, updated_at = ? WHERE flight_id = ? IF status = ?";
const UPDATE_ARRIVED: &str = "UPDATE aviation.flights SET status = ?, actual_arrival = ?, updated_at = ? WHERE flight_id = ? IF status = ?";
const UPDATE_BY_AIRPORT_STATUS: &str = "UPDATE aviation.flights_by_airport SET status = ? \
     WHERE airport = ? AND day = ? AND direction = ? AND scheduled = ? AND flight_number = ?";
const UPDATE_BY_AIRPORT_ACTUAL: &str = "UPDATE aviation.flights_by_airport SET status = ?, actual = ? \
     WHERE airport = ? AND day = ? AND direction = ? AND scheduled = ? AND flight_number = ?";
const READ_STATUS: &str = "SELECT status FROM aviation.flights WHERE flight_id = ?";
const INSERT_POSITION: &str = "INSERT INTO aviation.flight_positions (flight_id, flight_number, origin, destination, latitude, longitude, \
     altitude_m, ground_speed_kmh, heading_deg, fuel_kg, progress, updated_at, sim_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     USING TTL ?";
const DELETE_POSITION: &str = "DELETE FROM aviation.flight_positions WHERE flight_id = ?";

/// The session and its prepared statements.
pub struct Store {
    session: Session,
    insert_airport: PreparedStatement,
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

    /// The shared statements (scheduling, claims, the schedule) on this session.
    pub fn shared(&self) -> Statements<'_> {
        Statements {
            session: &self.session,
            timeout: REQUEST_TIMEOUT,
        }
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

    /// Records a status change in `flights`, only if its status is still `from` (a
    /// lightweight transaction), then in both `flights_by_airport` rows; with
    /// `actual`, also the actual departure or arrival time. False (and nothing
    /// written) when someone changed the status meanwhile.
    pub async fn record_status(
        &self,
        plan: &FlightPlan,
        from: Status,
        status: Status,
        actual: Option<(Direction, SimTime)>,
    ) -> Result<bool, StoreError> {
        let what = "writing a flight's status";
        let now = timestamp(wall_now());
        let (statement, values) = match actual {
            None => (&self.update_status, (status.as_str(), None, now, &plan.flight_id, from.as_str())),
            Some((Direction::Departure, at)) => (
                &self.update_departed,
                (status.as_str(), Some(timestamp(at)), now, &plan.flight_id, from.as_str()),
            ),
            Some((Direction::Arrival, at)) => (
                &self.update_arrived,
                (status.as_str(), Some(timestamp(at)), now, &plan.flight_id, from.as_str()),
            ),
        };
        let result = match values {
            (s, None, now, id, from) => self.session.execute_unpaged(statement, (s, now, id, from)).await,
            (s, Some(at), now, id, from) => self.session.execute_unpaged(statement, (s, at, now, id, from)).await,
        }
        .map_err(|source| StoreError::Execute {
            what,
            cause: Box::new(source),
        })?;
        if !applied(result).map_err(|detail| StoreError::Result { what, detail })? {
            return Ok(false);
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
        Ok(true)
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

    /// Writes the live position (ONE) for `ttl_s` seconds: a flight whose simulator
    /// stops writing fades from the map by itself. `sim_time` is the flight's own
    /// simulated instant.
    pub async fn write_position(&self, plan: &FlightPlan, state: &FlightState, sim_time: SimTime, ttl_s: i32) -> Result<(), StoreError> {
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
            timestamp(sim_time),
            ttl_s,
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

/// Whether a conditional statement applied: the `[applied]` column of its answer.
fn applied(result: scylla::response::query_result::QueryResult) -> Result<bool, String> {
    let rows = result.into_rows_result().map_err(|e| e.to_string())?;
    let row: scylla::value::Row = rows.first_row().map_err(|e| e.to_string())?;
    match row.columns.first() {
        Some(Some(scylla::value::CqlValue::Boolean(applied))) => Ok(*applied),
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

/// The UTC day of `t` as a CQL `date`.
pub fn date(t: SimTime) -> scylla::value::CqlDate {
    cql_date_of(t)
}

fn wall_now() -> SimTime {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

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
