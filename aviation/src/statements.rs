//! The statements every client of the `aviation` keyspace shares, with the
//! consistency the design gives them: scheduling a flight (the documented set in
//! `docs/flight-data.md`, a lightweight transaction first), reading one, changing its
//! status, the dispatcher's claim and lease (lightweight transactions on `flights`),
//! the schedule by day, and the simulators' published clocks. The map, the simulator
//! and its console all go through these, so a flight made by one is the same rows as
//! a flight made by another. The simulator's per-tick writes (positions) are its own.

use std::time::Duration;

use scylla::client::session::Session;
use scylla::response::query_result::QueryResult;
use scylla::statement::unprepared::Statement;
use scylla::statement::Consistency;
use scylla::value::{CqlTimestamp, CqlValue, Row};

use crate::flight::{cql_date_of, Flight, Millis, NewFlight};
use crate::status::Status;

pub const INSERT_FLIGHT: &str = "INSERT INTO aviation.flights (flight_id, flight_number, airline, origin, destination, \
     scheduled_departure, scheduled_arrival, aircraft, status, cruise_speed_kmh, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scheduled', ?, ?) IF NOT EXISTS";
pub const INSERT_BY_AIRPORT: &str = "INSERT INTO aviation.flights_by_airport (airport, day, direction, scheduled, flight_number, \
     flight_id, other_airport, airline, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'scheduled')";
pub const INSERT_DEPARTURE: &str = "INSERT INTO aviation.departures (day, scheduled_departure, flight_id) VALUES (?, ?, ?)";
pub const SELECT_FLIGHT: &str = "SELECT flight_id, flight_number, airline, origin, destination, scheduled_departure, \
     scheduled_arrival, actual_departure, actual_arrival, aircraft, status, cruise_speed_kmh, claimed_by, lease_until \
     FROM aviation.flights WHERE flight_id = ?";
pub const SELECT_FLIGHTS: &str = "SELECT flight_id, flight_number, airline, origin, destination, scheduled_departure, \
     scheduled_arrival, actual_departure, actual_arrival, aircraft, status, cruise_speed_kmh, claimed_by, lease_until \
     FROM aviation.flights LIMIT ?";
pub const UPDATE_STATUS: &str = "UPDATE aviation.flights SET status = ?, updated_at = ? WHERE flight_id = ?";
pub const UPDATE_BY_AIRPORT_STATUS: &str = "UPDATE aviation.flights_by_airport SET status = ? \
     WHERE airport = ? AND day = ? AND direction = ? AND scheduled = ? AND flight_number = ?";
pub const SELECT_DUE: &str = "SELECT scheduled_departure, flight_id FROM aviation.departures \
     WHERE day = ? AND scheduled_departure >= ? AND scheduled_departure <= ?";
pub const CLAIM: &str = "UPDATE aviation.flights SET claimed_by = ?, lease_until = ?, updated_at = ? \
     WHERE flight_id = ? IF status = ? AND claimed_by = null";
pub const TAKE_OVER: &str = "UPDATE aviation.flights SET claimed_by = ?, lease_until = ?, updated_at = ? \
     WHERE flight_id = ? IF claimed_by = ? AND lease_until = ?";
pub const RELEASE: &str = "UPDATE aviation.flights SET claimed_by = null, lease_until = null, updated_at = ? \
     WHERE flight_id = ? IF claimed_by = ?";
pub const RENEW: &str = "UPDATE aviation.flights SET lease_until = ? WHERE flight_id = ? IF claimed_by = ?";
pub const PUBLISH_SIMULATOR: &str = "INSERT INTO aviation.simulators (simulator, time_scale, sim_now, flying, updated_at) \
     VALUES (?, ?, ?, ?, ?) USING TTL ?";
pub const SELECT_SIMULATORS: &str = "SELECT simulator, time_scale, sim_now, flying, updated_at FROM aviation.simulators";

#[derive(Debug, thiserror::Error)]
pub enum StatementError {
    // The driver's error is part of the message rather than a `source`, so that a
    // chain printer does not repeat it.
    #[error("{what} failed: {cause}")]
    Execute {
        what: &'static str,
        cause: Box<scylla::errors::ExecutionError>,
    },
    #[error("{what}: no answer within {timeout:?}")]
    Timeout { what: &'static str, timeout: Duration },
    #[error("{what}: unexpected result: {detail}")]
    Result { what: &'static str, detail: String },
}

/// What scheduling a flight found.
#[derive(Debug, Clone, PartialEq)]
pub enum Scheduled {
    /// The flight is new: all its rows are written.
    Created,
    /// A flight with this id and the same route and departure was there already (a
    /// retried write, or the same flight scheduled by another client); its airport
    /// and departure rows are written again, which changes nothing.
    AlreadyScheduled(Box<Flight>),
    /// Another flight holds the id; nothing was written.
    Conflict(Box<Flight>),
}

/// Runs statements on one session with a consistency each and one request timeout.
#[derive(Clone, Copy)]
pub struct Statements<'a> {
    pub session: &'a Session,
    pub timeout: Duration,
}

fn statement(text: &str, consistency: Consistency, timeout: Duration) -> Statement {
    let mut s = Statement::new(text);
    s.set_consistency(consistency);
    s.set_request_timeout(Some(timeout));
    s
}

pub fn wall_now() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

impl Statements<'_> {
    pub async fn run(
        &self,
        what: &'static str,
        text: &str,
        consistency: Consistency,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<QueryResult, StatementError> {
        let request = self.session.query_unpaged(statement(text, consistency, self.timeout), values);
        match tokio::time::timeout(self.timeout + Duration::from_millis(500), request).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(cause)) => Err(StatementError::Execute {
                what,
                cause: Box::new(cause),
            }),
            Err(_) => Err(StatementError::Timeout {
                what,
                timeout: self.timeout,
            }),
        }
    }

    /// Rows of `T` from a query.
    pub async fn rows<T>(
        &self,
        what: &'static str,
        text: &str,
        consistency: Consistency,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Vec<T>, StatementError>
    where
        T: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
    {
        let bad = |detail: String| StatementError::Result { what, detail };
        let result = self.run(what, text, consistency, values).await?;
        let rows = result.into_rows_result().map_err(|e| bad(e.to_string()))?;
        let iter = rows.rows::<T>().map_err(|e| bad(e.to_string()))?;
        iter.collect::<Result<Vec<T>, _>>().map_err(|e| bad(e.to_string()))
    }

    /// Schedules a flight, as `docs/flight-data.md` documents: the `flights` row only
    /// if no flight has its id (`IF NOT EXISTS`, so no client ever overwrites
    /// another's flight), then its departure and arrival rows in `flights_by_airport`
    /// and its row in `departures`, all at QUORUM.
    pub async fn schedule_flight(&self, f: &NewFlight) -> Result<Scheduled, StatementError> {
        let what = "scheduling a flight";
        let values = (
            &f.flight_id,
            &f.number,
            &f.airline,
            &f.origin,
            &f.destination,
            CqlTimestamp(f.scheduled_departure),
            CqlTimestamp(f.scheduled_arrival),
            &f.aircraft,
            f.cruise_speed_kmh,
            CqlTimestamp(wall_now()),
        );
        let result = self.run(what, INSERT_FLIGHT, Consistency::Quorum, values).await?;
        let outcome = match conditional(result).map_err(|detail| StatementError::Result { what, detail })? {
            None => Scheduled::Created,
            Some(existing) => {
                let existing = existing.flight();
                let same = existing.origin == f.origin
                    && existing.destination == f.destination
                    && existing.scheduled_departure == Some(f.scheduled_departure);
                if !same {
                    return Ok(Scheduled::Conflict(Box::new(existing)));
                }
                Scheduled::AlreadyScheduled(Box::new(existing))
            }
        };
        // An existing flight keeps its own arrival time; its rows are keyed by it.
        let arrival = match &outcome {
            Scheduled::AlreadyScheduled(existing) => existing.scheduled_arrival.unwrap_or(f.scheduled_arrival),
            _ => f.scheduled_arrival,
        };
        let flight = NewFlight {
            scheduled_arrival: arrival,
            ..f.clone()
        };
        for (direction, airport, other, at) in flight.sides() {
            let values = (
                airport,
                cql_date_of(at),
                direction.as_str(),
                CqlTimestamp(at),
                &f.number,
                &f.flight_id,
                other,
                &f.airline,
            );
            self.run(what, INSERT_BY_AIRPORT, Consistency::Quorum, values).await?;
        }
        let values = (
            cql_date_of(f.scheduled_departure),
            CqlTimestamp(f.scheduled_departure),
            &f.flight_id,
        );
        self.run(what, INSERT_DEPARTURE, Consistency::Quorum, values).await?;
        Ok(outcome)
    }

    /// One flight (QUORUM), or `None` if there is no such row.
    pub async fn flight(&self, flight_id: &str) -> Result<Option<Flight>, StatementError> {
        let flights = self.flights("reading a flight", SELECT_FLIGHT, (flight_id,)).await?;
        Ok(flights.into_iter().next())
    }

    /// Every flight in the keyspace, at most `limit` (QUORUM; a scan, for the
    /// console's `list`, never for the dispatcher).
    pub async fn all_flights(&self, limit: usize) -> Result<Vec<Flight>, StatementError> {
        let limit = i32::try_from(limit).unwrap_or(i32::MAX);
        let mut flights = self.flights("reading every flight", SELECT_FLIGHTS, (limit,)).await?;
        flights.sort_by(|a, b| (a.scheduled_departure, &a.flight_id).cmp(&(b.scheduled_departure, &b.flight_id)));
        Ok(flights)
    }

    async fn flights(
        &self,
        what: &'static str,
        text: &str,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Vec<Flight>, StatementError> {
        let bad = |e: &dyn std::fmt::Display| StatementError::Result {
            what,
            detail: e.to_string(),
        };
        let result = self.run(what, text, Consistency::Quorum, values).await?;
        let rows = result.into_rows_result().map_err(|e| bad(&e))?;
        let names: Vec<String> = rows.column_specs().iter().map(|c| c.name().to_string()).collect();
        let mut out = Vec::new();
        for row in rows.rows::<Row>().map_err(|e| bad(&e))? {
            let row = row.map_err(|e| bad(&e))?;
            out.push(Columns { names: names.clone(), row }.flight());
        }
        Ok(out)
    }

    /// Sets a flight's status (QUORUM) in `flights` and in both of its
    /// `flights_by_airport` rows: what the map and the console do, and what anyone
    /// with cqlsh should do.
    pub async fn set_status(&self, flight: &Flight, status: Status) -> Result<(), StatementError> {
        let what = "writing a flight's status";
        let values = (status.as_str(), CqlTimestamp(wall_now()), &flight.flight_id);
        self.run(what, UPDATE_STATUS, Consistency::Quorum, values).await?;
        for (direction, airport, at) in flight.sides() {
            let values = (
                status.as_str(),
                airport,
                cql_date_of(at),
                direction.as_str(),
                CqlTimestamp(at),
                &flight.number,
            );
            self.run(what, UPDATE_BY_AIRPORT_STATUS, Consistency::Quorum, values).await?;
        }
        Ok(())
    }

    /// Flight ids scheduled to depart between `from` and `to` (inclusive), read at
    /// QUORUM from the `departures` partitions of the UTC days they span.
    pub async fn due(&self, from: Millis, to: Millis) -> Result<Vec<(Millis, String)>, StatementError> {
        let mut out = Vec::new();
        let mut day = from.div_euclid(crate::flight::DAY_MS);
        while day <= to.div_euclid(crate::flight::DAY_MS) {
            let values = (cql_date_of(day * crate::flight::DAY_MS), CqlTimestamp(from), CqlTimestamp(to));
            let rows: Vec<(CqlTimestamp, String)> = self.rows("reading the schedule", SELECT_DUE, Consistency::Quorum, values).await?;
            out.extend(rows.into_iter().map(|(at, id)| (at.0, id)));
            day += 1;
        }
        Ok(out)
    }

    /// Claims an unclaimed flight for `simulator` until `lease_until`, if its status
    /// is still `expected` (a lightweight transaction: of any number of simulators
    /// trying at once, exactly one gets it). `Ok(None)` when claimed; otherwise the
    /// columns the condition read (the claimant, the status).
    pub async fn claim(
        &self,
        flight_id: &str,
        expected: Status,
        simulator: &str,
        lease_until: Millis,
    ) -> Result<Option<Flight>, StatementError> {
        let what = "claiming a flight";
        let values = (
            simulator,
            CqlTimestamp(lease_until),
            CqlTimestamp(wall_now()),
            flight_id,
            expected.as_str(),
        );
        let result = self.run(what, CLAIM, Consistency::Quorum, values).await?;
        let existing = conditional(result).map_err(|detail| StatementError::Result { what, detail })?;
        Ok(existing.map(|e| e.flight()))
    }

    /// Takes over a flight whose claim by `owner` lapsed at `lapsed` (the owner stopped
    /// renewing it): applies only if nobody renewed or took it meanwhile.
    pub async fn take_over(
        &self,
        flight_id: &str,
        owner: &str,
        lapsed: Millis,
        simulator: &str,
        lease_until: Millis,
    ) -> Result<bool, StatementError> {
        let what = "taking over a flight";
        let values = (
            simulator,
            CqlTimestamp(lease_until),
            CqlTimestamp(wall_now()),
            flight_id,
            owner,
            CqlTimestamp(lapsed),
        );
        let result = self.run(what, TAKE_OVER, Consistency::Quorum, values).await?;
        Ok(conditional(result)
            .map_err(|detail| StatementError::Result { what, detail })?
            .is_none())
    }

    /// Extends `simulator`'s claim; false when another simulator holds the flight now.
    pub async fn renew(&self, flight_id: &str, simulator: &str, lease_until: Millis) -> Result<bool, StatementError> {
        let what = "renewing a claim";
        let values = (CqlTimestamp(lease_until), flight_id, simulator);
        let result = self.run(what, RENEW, Consistency::Quorum, values).await?;
        Ok(conditional(result)
            .map_err(|detail| StatementError::Result { what, detail })?
            .is_none())
    }

    /// Gives up `simulator`'s claim (a simulator stopping with flights unfinished), so
    /// another simulator claims them at once instead of after the lease; false if
    /// it was not (or no longer) `simulator`'s.
    pub async fn release(&self, flight_id: &str, simulator: &str) -> Result<bool, StatementError> {
        let what = "releasing a claim";
        let values = (CqlTimestamp(wall_now()), flight_id, simulator);
        let result = self.run(what, RELEASE, Consistency::Quorum, values).await?;
        Ok(conditional(result)
            .map_err(|detail| StatementError::Result { what, detail })?
            .is_none())
    }

    /// Publishes a simulator's clock for `ttl_s` seconds (ONE: it is rewritten often).
    pub async fn publish_clock(&self, clock: &SimulatorClock, ttl_s: i32) -> Result<(), StatementError> {
        let values = (
            &clock.simulator,
            clock.time_scale,
            CqlTimestamp(clock.sim_now),
            clock.flying,
            CqlTimestamp(clock.updated_at),
            ttl_s,
        );
        self.run("publishing the simulated clock", PUBLISH_SIMULATOR, Consistency::One, values)
            .await?;
        Ok(())
    }

    /// Every simulator that published its clock within its TTL.
    pub async fn simulators(&self) -> Result<Vec<SimulatorClock>, StatementError> {
        type R = (String, Option<f64>, Option<CqlTimestamp>, Option<i32>, Option<CqlTimestamp>);
        let rows: Vec<R> = self.rows("reading the simulators", SELECT_SIMULATORS, Consistency::One, ()).await?;
        let mut out: Vec<SimulatorClock> = rows
            .into_iter()
            .map(|(simulator, scale, now, flying, at)| SimulatorClock {
                simulator,
                time_scale: scale.unwrap_or(1.0),
                sim_now: now.map(|t| t.0).unwrap_or_default(),
                flying: flying.unwrap_or_default(),
                updated_at: at.map(|t| t.0).unwrap_or_default(),
            })
            .collect();
        out.sort_by(|a, b| a.simulator.cmp(&b.simulator));
        Ok(out)
    }
}

/// A simulator's published clock: at wall-clock `updated_at` its simulated time was
/// `sim_now`, running `time_scale` times faster than the wall clock.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatorClock {
    pub simulator: String,
    pub time_scale: f64,
    pub sim_now: Millis,
    pub flying: i32,
    pub updated_at: Millis,
}

impl SimulatorClock {
    /// Its simulated time at wall-clock `wall`, extrapolated from the last publication.
    pub fn at(&self, wall: Millis) -> Millis {
        self.sim_now + ((wall - self.updated_at) as f64 * self.time_scale) as Millis
    }
}

/// The columns of a row by name: a conditional statement's answer, or a flight.
struct Columns {
    names: Vec<String>,
    row: Row,
}

impl Columns {
    fn value(&self, name: &str) -> Option<&CqlValue> {
        let i = self.names.iter().position(|n| n == name)?;
        self.row.columns.get(i)?.as_ref()
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.value(name)? {
            CqlValue::Text(s) | CqlValue::Ascii(s) => Some(s.clone()),
            _ => None,
        }
    }

    fn timestamp(&self, name: &str) -> Option<Millis> {
        match self.value(name)? {
            CqlValue::Timestamp(CqlTimestamp(ms)) => Some(*ms),
            _ => None,
        }
    }

    fn double(&self, name: &str) -> Option<f64> {
        match self.value(name)? {
            CqlValue::Double(x) => Some(*x),
            _ => None,
        }
    }

    fn flight(&self) -> Flight {
        Flight {
            flight_id: self.text("flight_id").unwrap_or_default(),
            number: self.text("flight_number").unwrap_or_default(),
            airline: self.text("airline").unwrap_or_default(),
            origin: self.text("origin").unwrap_or_default(),
            destination: self.text("destination").unwrap_or_default(),
            scheduled_departure: self.timestamp("scheduled_departure"),
            scheduled_arrival: self.timestamp("scheduled_arrival"),
            actual_departure: self.timestamp("actual_departure"),
            actual_arrival: self.timestamp("actual_arrival"),
            aircraft: self.text("aircraft").unwrap_or_default(),
            status: self.text("status").unwrap_or_default(),
            cruise_speed_kmh: self.double("cruise_speed_kmh"),
            claimed_by: self.text("claimed_by"),
            lease_until: self.timestamp("lease_until"),
        }
    }
}

/// `None` when a conditional statement applied, else the columns it found.
fn conditional(result: QueryResult) -> Result<Option<Columns>, String> {
    let rows = result.into_rows_result().map_err(|e| e.to_string())?;
    let names = rows.column_specs().iter().map(|c| c.name().to_string()).collect();
    let row: Row = rows.first_row().map_err(|e| e.to_string())?;
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(true))) => Ok(None),
        Some(Some(CqlValue::Boolean(false))) => Ok(Some(Columns { names, row })),
        other => Err(format!("no [applied] column in the answer: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_clock_is_extrapolated_at_its_time_scale() {
        let clock = SimulatorClock {
            simulator: "sim-a".into(),
            time_scale: 60.0,
            sim_now: 1_000_000,
            flying: 3,
            updated_at: 500,
        };
        assert_eq!(clock.at(500), 1_000_000);
        assert_eq!(clock.at(1_500), 1_060_000);
    }

    #[test]
    fn the_claim_is_conditional_on_the_status_and_on_no_claimant() {
        assert!(CLAIM.contains("IF status = ? AND claimed_by = null"));
        assert!(INSERT_FLIGHT.ends_with("IF NOT EXISTS"));
    }
}
