//! The map's CQL against the `aviation` keyspace (DDL in `aviation/schema.cql`),
//! with the consistency the design asks for: schedules and statuses read and written
//! at QUORUM, live positions read at ONE. Scheduling a flight, reading one and
//! changing its status are the shared statements of `aviation::statements`, the same
//! the simulator and its console run; the map's own reads (airports, an airport's
//! day, live positions) are here. Retrying and connection state belong to the worker.

use std::time::Duration;

use chrono::NaiveDate;
use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::value::CqlTimestamp;

use aviation::connection::ConnectError;
use aviation::flight::cql_date;
use aviation::statements::{Scheduled, StatementError, Statements};

pub use aviation::connection::{connect, Security};

use crate::form::NewFlight;
use crate::model::{Airport, DayRow, Direction, Flight, LivePosition, Millis, SimulatorClock, Status, STALE_POSITION_MS};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error("flight {flight_id} already exists")]
    FlightExists { flight_id: String },
    #[error("flight {flight_id} does not exist")]
    NoSuchFlight { flight_id: String },
}

const SELECT_AIRPORTS: &str = "SELECT iata, icao, name, city, country, latitude, longitude FROM aviation.airports";
const SELECT_DAY: &str = "SELECT direction, scheduled, flight_number, flight_id, other_airport, airline, status, actual \
     FROM aviation.flights_by_airport WHERE airport = ? AND day = ?";
const SELECT_POSITIONS: &str = "SELECT flight_id, flight_number, origin, destination, latitude, longitude, altitude_m, \
     ground_speed_kmh, heading_deg, fuel_kg, progress, updated_at, sim_time FROM aviation.flight_positions";
const PROBE: &str = "SELECT release_version FROM system.local";

/// The statements of one session, with the request timeout the worker uses.
pub struct Store {
    pub session: Session,
    pub timeout: Duration,
}

impl Store {
    fn shared(&self) -> Statements<'_> {
        Statements {
            session: &self.session,
            timeout: self.timeout,
        }
    }

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
        Ok(self.shared().rows(what, text, consistency, values).await?)
    }

    /// Whether the cluster answers at all (used after a failure to tell a bad request
    /// from a lost connection).
    pub async fn probe(&self) -> bool {
        self.shared().run("probing the cluster", PROBE, Consistency::One, ()).await.is_ok()
    }

    /// Contact point and node count, for the status bar.
    pub fn describe(&self) -> (String, usize) {
        let state = self.session.get_cluster_state();
        let nodes = state.get_nodes_info();
        let node = nodes.first().map(|n| n.address.to_string()).unwrap_or_else(|| "?".to_string());
        (node, nodes.len())
    }

    pub async fn airports(&self) -> Result<Vec<Airport>, StoreError> {
        type Row = (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<f64>,
            Option<f64>,
        );
        let rows: Vec<Row> = self.rows("reading airports", SELECT_AIRPORTS, Consistency::One, ()).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(iata, icao, name, city, country, lat, lon)| {
                Some(Airport {
                    iata,
                    icao: icao.unwrap_or_default(),
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
        Ok(self.shared().flight(flight_id).await?)
    }

    /// The simulators' published clocks.
    pub async fn simulators(&self) -> Result<Vec<SimulatorClock>, StoreError> {
        Ok(self.shared().simulators().await?)
    }

    /// Every plane in the air (ONE: a stale position for a second is fine), but
    /// none written more than [`STALE_POSITION_MS`] before `now`: the rows carry a
    /// TTL, and this also hides one whose writer's clock runs behind.
    pub async fn positions(&self, now: Millis) -> Result<Vec<LivePosition>, StoreError> {
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
            Option<CqlTimestamp>,
            Option<CqlTimestamp>,
        );
        let rows: Vec<Row> = self.rows("reading live positions", SELECT_POSITIONS, Consistency::One, ()).await?;
        let mut out: Vec<LivePosition> = rows
            .into_iter()
            .filter(|r| r.11.is_none_or(|at| now - at.0 <= STALE_POSITION_MS))
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
                    updated_at: r.11.map(|t| t.0),
                    sim_time: r.12.map(|t| t.0),
                })
            })
            .collect();
        out.sort_by(|a, b| a.flight_id.cmp(&b.flight_id));
        Ok(out)
    }

    /// Schedules a new flight with the documented statements (`IF NOT EXISTS` on
    /// `flights`, then its airport and departure rows, all QUORUM); an id in use is
    /// refused, even by the same schedule.
    pub async fn create_flight(&self, f: &NewFlight) -> Result<(), StoreError> {
        match self.shared().schedule_flight(f).await? {
            Scheduled::Created => Ok(()),
            Scheduled::AlreadyScheduled(_) | Scheduled::Conflict(_) => Err(StoreError::FlightExists {
                flight_id: f.flight_id.clone(),
            }),
        }
    }

    /// Sets a flight's status (QUORUM) in `flights` and in both of its
    /// `flights_by_airport` rows, with the shared statements.
    pub async fn set_status(&self, flight_id: &str, status: Status) -> Result<Flight, StoreError> {
        let Some(mut flight) = self.flight(flight_id).await? else {
            return Err(StoreError::NoSuchFlight {
                flight_id: flight_id.to_string(),
            });
        };
        self.shared().set_status(&flight, status).await?;
        flight.status = status.as_str().to_string();
        Ok(flight)
    }
}
