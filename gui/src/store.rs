//! The map's CQL: every statement it runs against the `aviation` keyspace (whose DDL
//! is the simulator's `simulator/schema.cql`), with the consistency the design asks
//! for: schedules and statuses read and written at QUORUM, live positions read at
//! ONE. Each function is one request (or a short sequence) on a driver session and
//! converts rows into the model's types; retrying and connection state belong to
//! the worker.

use std::time::Duration;

use chrono::NaiveDate;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::response::query_result::QueryResult;
use scylla::statement::{Consistency, Statement};
use scylla::value::{CqlDate, CqlTimestamp};

use crate::form::{days_since_epoch, NewFlight};
use crate::model::{Airport, DayRow, Direction, Flight, LivePosition, Millis, Status};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach the cluster at {contact_points}: {reason}")]
    Unreachable { contact_points: String, reason: String },
    #[error("{what} failed: {source}")]
    Execute {
        what: &'static str,
        source: Box<scylla::errors::ExecutionError>,
    },
    #[error("{what}: no answer within {timeout:?}")]
    Timeout { what: &'static str, timeout: Duration },
    #[error("{what}: unexpected result: {detail}")]
    Result { what: &'static str, detail: String },
    #[error("flight {flight_id} already exists")]
    FlightExists { flight_id: String },
    #[error("flight {flight_id} does not exist")]
    NoSuchFlight { flight_id: String },
}

const SELECT_AIRPORTS: &str = "SELECT iata, name, city, country, latitude, longitude FROM aviation.airports";
const SELECT_DAY: &str = "SELECT direction, scheduled, flight_number, flight_id, other_airport, airline, status, actual \
     FROM aviation.flights_by_airport WHERE airport = ? AND day = ?";
const SELECT_FLIGHT: &str = "SELECT flight_id, flight_number, airline, origin, destination, scheduled_departure, scheduled_arrival, \
     actual_departure, actual_arrival, aircraft, status FROM aviation.flights WHERE flight_id = ?";
const SELECT_POSITIONS: &str = "SELECT flight_id, flight_number, origin, destination, latitude, longitude, altitude_m, \
     ground_speed_kmh, heading_deg, fuel_kg, progress FROM aviation.flight_positions";
const INSERT_FLIGHT: &str = "INSERT INTO aviation.flights (flight_id, flight_number, airline, origin, destination, scheduled_departure, \
     scheduled_arrival, aircraft, status, cruise_speed_kmh, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS";
const INSERT_BY_AIRPORT: &str = "INSERT INTO aviation.flights_by_airport (airport, day, direction, scheduled, flight_number, flight_id, \
     other_airport, airline, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const UPDATE_STATUS: &str = "UPDATE aviation.flights SET status = ?, updated_at = ? WHERE flight_id = ?";
const UPDATE_BY_AIRPORT_STATUS: &str = "UPDATE aviation.flights_by_airport SET status = ? \
     WHERE airport = ? AND day = ? AND direction = ? AND scheduled = ? AND flight_number = ?";
const PROBE: &str = "SELECT release_version FROM system.local";

/// Whether a conditional statement applied: the `[applied]` column of its answer.
fn applied(result: QueryResult) -> Result<bool, String> {
    let rows = result.into_rows_result().map_err(|e| e.to_string())?;
    let row: scylla::value::Row = rows.first_row().map_err(|e| e.to_string())?;
    match row.columns.first() {
        Some(Some(scylla::value::CqlValue::Boolean(applied))) => Ok(*applied),
        other => Err(format!("no [applied] column in the answer: {other:?}")),
    }
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

/// Connects through `contact_points` (`host:port`), failing within `timeout`.
pub async fn connect(contact_points: &[String], timeout: Duration, security: &Security) -> Result<Session, StoreError> {
    let unreachable = |reason: String| StoreError::Unreachable {
        contact_points: contact_points.join(", "),
        reason,
    };
    let builder = SessionBuilder::new().known_nodes(contact_points).connection_timeout(timeout);
    let builder = security.apply(builder).map_err(unreachable)?;
    match tokio::time::timeout(timeout + Duration::from_secs(1), builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {timeout:?}"))),
    }
}

/// The statements of one session, with the request timeout the worker uses.
pub struct Store {
    pub session: Session,
    pub timeout: Duration,
}

fn statement(text: &'static str, consistency: Consistency, timeout: Duration) -> Statement {
    let mut s = Statement::new(text);
    s.set_consistency(consistency);
    s.set_request_timeout(Some(timeout));
    s
}

/// The CQL `date` of a day: days since the epoch, offset by 2^31.
pub fn cql_date(day: NaiveDate) -> CqlDate {
    CqlDate((days_since_epoch(day) + (1i64 << 31)) as u32)
}

fn now() -> CqlTimestamp {
    CqlTimestamp(chrono::Utc::now().timestamp_millis())
}

impl Store {
    async fn run(
        &self,
        what: &'static str,
        text: &'static str,
        consistency: Consistency,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<QueryResult, StoreError> {
        let request = self.session.query_unpaged(statement(text, consistency, self.timeout), values);
        match tokio::time::timeout(self.timeout + Duration::from_millis(500), request).await {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(source)) => Err(StoreError::Execute {
                what,
                source: Box::new(source),
            }),
            Err(_) => Err(StoreError::Timeout {
                what,
                timeout: self.timeout,
            }),
        }
    }

    /// Rows of `T` from a query.
    async fn rows<T>(
        &self,
        what: &'static str,
        text: &'static str,
        consistency: Consistency,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Vec<T>, StoreError>
    where
        T: for<'f, 'm> scylla::deserialize::row::DeserializeRow<'f, 'm>,
    {
        let bad = |detail: String| StoreError::Result { what, detail };
        let result = self.run(what, text, consistency, values).await?;
        let rows = result.into_rows_result().map_err(|e| bad(e.to_string()))?;
        let iter = rows.rows::<T>().map_err(|e| bad(e.to_string()))?;
        iter.collect::<Result<Vec<T>, _>>().map_err(|e| bad(e.to_string()))
    }

    /// Whether the cluster answers at all (used after a failure to tell a bad request
    /// from a lost connection).
    pub async fn probe(&self) -> bool {
        self.run("probing the cluster", PROBE, Consistency::One, ()).await.is_ok()
    }

    /// Contact point and node count, for the status bar.
    pub fn describe(&self) -> (String, usize) {
        let state = self.session.get_cluster_state();
        let nodes = state.get_nodes_info();
        let node = nodes.first().map(|n| n.address.to_string()).unwrap_or_else(|| "?".to_string());
        (node, nodes.len())
    }

    pub async fn airports(&self) -> Result<Vec<Airport>, StoreError> {
        type Row = (String, Option<String>, Option<String>, Option<String>, Option<f64>, Option<f64>);
        let rows: Vec<Row> = self.rows("reading airports", SELECT_AIRPORTS, Consistency::One, ()).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(iata, name, city, country, lat, lon)| {
                Some(Airport {
                    iata,
                    name: name.unwrap_or_default(),
                    city: city.unwrap_or_default(),
                    country: country.unwrap_or_default(),
                    latitude: lat?,
                    longitude: lon?,
                })
            })
            .collect())
    }

    /// The airport's departures and arrivals on `day` (QUORUM), departures first, each
    /// in scheduled order.
    pub async fn day(&self, airport: &str, day: NaiveDate) -> Result<Vec<DayRow>, StoreError> {
        type Row = (
            String,
            CqlTimestamp,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<CqlTimestamp>,
        );
        let what = "reading an airport's day";
        let rows: Vec<Row> = self.rows(what, SELECT_DAY, Consistency::Quorum, (airport, cql_date(day))).await?;
        let mut out: Vec<DayRow> = rows
            .into_iter()
            .filter_map(|(direction, scheduled, number, id, other, airline, status, actual)| {
                Some(DayRow {
                    direction: Direction::parse(&direction)?,
                    scheduled: scheduled.0,
                    flight_number: number,
                    flight_id: id.unwrap_or_default(),
                    other_airport: other.unwrap_or_default(),
                    airline: airline.unwrap_or_default(),
                    status: status.unwrap_or_default(),
                    actual: actual.map(|t| t.0),
                })
            })
            .collect();
        out.sort_by(|a, b| (a.direction, a.scheduled, &a.flight_number).cmp(&(b.direction, b.scheduled, &b.flight_number)));
        Ok(out)
    }

    /// One flight (QUORUM), or `None` if there is no such row.
    pub async fn flight(&self, flight_id: &str) -> Result<Option<Flight>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<CqlTimestamp>,
            Option<CqlTimestamp>,
            Option<CqlTimestamp>,
            Option<CqlTimestamp>,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row> = self
            .rows("reading a flight", SELECT_FLIGHT, Consistency::Quorum, (flight_id,))
            .await?;
        Ok(rows.into_iter().next().map(|r| Flight {
            flight_id: r.0,
            number: r.1.unwrap_or_default(),
            airline: r.2.unwrap_or_default(),
            origin: r.3.unwrap_or_default(),
            destination: r.4.unwrap_or_default(),
            scheduled_departure: r.5.map(|t| t.0),
            scheduled_arrival: r.6.map(|t| t.0),
            actual_departure: r.7.map(|t| t.0),
            actual_arrival: r.8.map(|t| t.0),
            aircraft: r.9.unwrap_or_default(),
            status: r.10.unwrap_or_default(),
        }))
    }

    /// Every plane in the air (ONE: a stale position for a second is fine).
    pub async fn positions(&self) -> Result<Vec<LivePosition>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
            Option<f64>,
        );
        let rows: Vec<Row> = self.rows("reading live positions", SELECT_POSITIONS, Consistency::One, ()).await?;
        let mut out: Vec<LivePosition> = rows
            .into_iter()
            .filter_map(|r| {
                Some(LivePosition {
                    number: r.1.unwrap_or_else(|| r.0.clone()),
                    flight_id: r.0,
                    origin: r.2.unwrap_or_default(),
                    destination: r.3.unwrap_or_default(),
                    latitude: r.4?,
                    longitude: r.5?,
                    altitude_m: r.6.unwrap_or_default(),
                    ground_speed_kmh: r.7.unwrap_or_default(),
                    heading_deg: r.8.unwrap_or_default(),
                    fuel_kg: r.9.unwrap_or_default(),
                    progress: r.10.unwrap_or_default(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.flight_id.cmp(&b.flight_id));
        Ok(out)
    }

    /// Writes a new flight (QUORUM): its `flights` row, only if no flight has its id
    /// (a lightweight transaction, so two clients cannot both create it), then its
    /// departure row at the origin and its arrival row at the destination.
    pub async fn create_flight(&self, f: &NewFlight) -> Result<(), StoreError> {
        let what = "writing a new flight";
        let status = Status::Scheduled.as_str();
        let values = (
            &f.flight_id,
            &f.number,
            &f.airline,
            &f.origin,
            &f.destination,
            CqlTimestamp(f.scheduled_departure),
            CqlTimestamp(f.scheduled_arrival),
            &f.aircraft,
            status,
            f.cruise_speed_kmh,
            now(),
        );
        let result = self.run(what, INSERT_FLIGHT, Consistency::Quorum, values).await?;
        if !applied(result).map_err(|detail| StoreError::Result { what, detail })? {
            return Err(StoreError::FlightExists {
                flight_id: f.flight_id.clone(),
            });
        }
        for (direction, airport, other, at) in sides(f) {
            let values = (
                airport,
                cql_date(crate::form::day_of(at)),
                direction.as_str(),
                CqlTimestamp(at),
                &f.number,
                &f.flight_id,
                other,
                &f.airline,
                status,
            );
            self.run(what, INSERT_BY_AIRPORT, Consistency::Quorum, values).await?;
        }
        Ok(())
    }

    /// Sets a flight's status (QUORUM) in `flights` and in both of its
    /// `flights_by_airport` rows, as the simulator does.
    pub async fn set_status(&self, flight_id: &str, status: Status) -> Result<Flight, StoreError> {
        let Some(mut flight) = self.flight(flight_id).await? else {
            return Err(StoreError::NoSuchFlight {
                flight_id: flight_id.to_string(),
            });
        };
        let what = "writing a flight's status";
        self.run(what, UPDATE_STATUS, Consistency::Quorum, (status.as_str(), now(), flight_id))
            .await?;
        let sides = [
            (Direction::Departure, &flight.origin, flight.scheduled_departure),
            (Direction::Arrival, &flight.destination, flight.scheduled_arrival),
        ];
        for (direction, airport, at) in sides {
            let Some(at) = at else { continue };
            let values = (
                status.as_str(),
                airport,
                cql_date(crate::form::day_of(at)),
                direction.as_str(),
                CqlTimestamp(at),
                &flight.number,
            );
            self.run(what, UPDATE_BY_AIRPORT_STATUS, Consistency::Quorum, values).await?;
        }
        flight.status = status.as_str().to_string();
        Ok(flight)
    }
}

/// (direction, airport, other airport, scheduled time) of both rows of a flight.
fn sides(f: &NewFlight) -> [(Direction, &str, &str, Millis); 2] {
    [
        (Direction::Departure, &f.origin, &f.destination, f.scheduled_departure),
        (Direction::Arrival, &f.destination, &f.origin, f.scheduled_arrival),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_is_a_cql_date_counted_from_the_epoch_offset_by_two_to_the_31() {
        assert_eq!(cql_date(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()), CqlDate(1 << 31));
        assert_eq!(
            cql_date(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()),
            CqlDate((1 << 31) + 20_779)
        );
        assert_eq!(cql_date(NaiveDate::from_ymd_opt(1969, 12, 31).unwrap()), CqlDate((1 << 31) - 1));
    }
}
