//! The flight story on five real nodes (RF 3) with one of them killed mid-run
//! (issue 18, item 7). The map's side goes through the map's own data layer
//! (`gui::store::Store` and `gui::form::FlightForm`, what its worker calls), the
//! simulator is the `flight-sim` binary dispatching the schedule. With four of five
//! nodes: the simulator keeps flying (positions at ONE), the map keeps reading its
//! flights and an airport's day (QUORUM, two of three replicas), a flight created
//! on the map's form is claimed, flies and lands, and a status set on the map
//! reaches the simulator. Nodes and the simulator are killed on drop.

mod harness;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aviation::flight::{day_of, Millis, DAY_MS};
use aviation::statements::wall_now;
use chrono::{NaiveDate, Timelike};

use gui::form::{FlightForm, NewFlight};
use gui::model::{builtin_airports, Airport, Direction, Status};
use gui::store::Store;
use harness::{text, TestCluster};

const TEST_TIMEOUT: Duration = Duration::from_secs(150);
/// The node killed: neither a seed nor the simulator's contact point.
const KILLED: usize = 4;

/// Runs one of the map's reads or writes as its worker does: a failure (a request
/// that went to the node just killed, before the driver and the coordinators know
/// it is down) is retried after a pause. Failures are counted for the report.
async fn as_the_map<T, F, Fut>(what: &str, failures: &AtomicUsize, mut op: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, gui::store::StoreError>>,
{
    let mut last = None;
    for _ in 0..6 {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                failures.fetch_add(1, Ordering::Relaxed);
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    anyhow::bail!("the map could not {what}: {last:?}")
}

/// `HH:MM` of `t` on `day`, with `+1` when it falls on the next day, as typed in the form.
fn typed(t: Millis, day: NaiveDate) -> String {
    let at = chrono::DateTime::from_timestamp_millis(t).unwrap_or_default();
    let next = if day_of(t) > day { "+1" } else { "" };
    format!("{:02}:{:02}{next}", at.hour(), at.minute())
}

/// A flight typed into the map's form at `origin`, departing this very minute (the
/// form has minute precision, so it is due at once) and arriving `minutes` later.
fn typed_in_the_form(number: &str, origin: &str, destination: &str, minutes: i64) -> NewFlight {
    let airports: BTreeMap<String, Airport> = builtin_airports().into_iter().map(|a| (a.iata.clone(), a)).collect();
    let departure = wall_now() / 60_000 * 60_000;
    let day = day_of(departure);
    let mut form = FlightForm {
        number: number.into(),
        destination: destination.into(),
        departure: typed(departure, day),
        arrival: typed(departure + minutes * 60_000, day),
        ..FlightForm::default()
    };
    form.validate(origin, day, &airports)
        .unwrap_or_else(|| panic!("the form refused {number}: {:?}", form.errors))
}

/// The status the map shows for `id` on its airport's day (QUORUM), if listed.
async fn on_the_board(map: &Store, failures: &AtomicUsize, f: &NewFlight) -> anyhow::Result<Option<String>> {
    let day = day_of(f.scheduled_departure);
    let rows = as_the_map("read an airport's day", failures, || map.day(&f.origin, day)).await?;
    Ok(rows
        .into_iter()
        .find(|r| r.direction == Direction::Departure && r.flight_id == f.flight_id)
        .map(|r| r.status))
}

/// Progress of `id` on the map's live layer (ONE), if it is drawn.
async fn drawn(map: &Store, failures: &AtomicUsize, id: &str) -> anyhow::Result<Option<f64>> {
    let live = as_the_map("read the live positions", failures, || map.positions(wall_now())).await?;
    Ok(live.into_iter().find(|p| p.flight_id == id).map(|p| p.progress))
}

async fn wait_for<F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await? {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_one_of_five_nodes_killed_the_map_and_the_simulator_keep_the_story_going() {
    // Near midnight the form's `+1` days and the day partitions shift under the
    // test; wait the few seconds out rather than test a different thing.
    while wall_now().rem_euclid(DAY_MS) > DAY_MS - 5 * 60_000 {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    let mut cluster = TestCluster::start("five_nodes_one_killed", 5);
    harness::within(TEST_TIMEOUT, async {
        let out = cluster.flight_sim(0, &["setup"]).output().await?;
        anyhow::ensure!(out.status.success(), "setup: {}{}", text(&out.stdout), text(&out.stderr));
        anyhow::ensure!(text(&out.stdout).contains("replication factor 3"), "{}", text(&out.stdout));
        let map = Store {
            session: cluster.session().await,
            timeout: Duration::from_secs(5),
        };
        let failures = AtomicUsize::new(0);

        // The simulator dispatches the schedule; a 12-hour flight lasts ~2.5 min at
        // 300x, a 1-hour one ~12 s.
        let mut sim = cluster
            .flight_sim(
                0,
                &[
                    "run",
                    "--time-scale",
                    "300",
                    "--tick",
                    "200ms",
                    "--lease",
                    "3s",
                    "--duration",
                    "140s",
                ],
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;

        // A long flight made on the map is claimed and flies.
        let long = typed_in_the_form("ZZ501", "EZE", "MAD", 12 * 60);
        as_the_map("create a flight", &failures, || map.create_flight(&long)).await?;
        wait_for("ZZ501 is claimed and drawn in the air", Duration::from_secs(20), || async {
            let f = as_the_map("read a flight", &failures, || map.flight(&long.flight_id)).await?;
            Ok(f.is_some_and(|f| f.claimed_by.is_some() && f.status == "in flight")
                && drawn(&map, &failures, &long.flight_id).await?.is_some())
        })
        .await?;
        let before = drawn(&map, &failures, &long.flight_id).await?.unwrap_or_default();

        // A node dies.
        cluster.kill(KILLED);
        let failures_before_kill = failures.load(Ordering::Relaxed);

        // Past the time every node takes to see it down (~7 s), the plane still moves
        // (positions at ONE) and the map still reads its board (QUORUM with 4 of 5).
        tokio::time::sleep(Duration::from_secs(9)).await;
        assert_eq!(cluster.up_count(0), 4, "node1 does not list four nodes UN");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let progress = drawn(&map, &failures, &long.flight_id).await?.unwrap_or(before);
            if progress > before {
                break;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "ZZ501 stopped at {before} with a node down");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(on_the_board(&map, &failures, &long).await?.as_deref(), Some("in flight"));

        // A short flight made on the map now is claimed, flies and lands.
        let short = typed_in_the_form("ZZ502", "AEP", "MVD", 60);
        as_the_map("create a flight", &failures, || map.create_flight(&short)).await?;
        let mut seen_in_air = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        loop {
            let f = as_the_map("read a flight", &failures, || map.flight(&short.flight_id)).await?;
            seen_in_air |= drawn(&map, &failures, &short.flight_id).await?.is_some();
            if f.as_ref().is_some_and(|f| f.status == "landed") {
                break;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "ZZ502 was not flown and landed: {f:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(seen_in_air, "ZZ502 landed without ever being drawn in the air");
        let f = map.flight(&short.flight_id).await?.expect("ZZ502");
        assert!(f.claimed_by.is_some(), "{f:?}");
        let (departed, arrived) = (f.actual_departure.expect("departed"), f.actual_arrival.expect("arrived"));
        assert!(departed >= short.scheduled_departure && arrived > departed, "{f:?}");
        assert_eq!(on_the_board(&map, &failures, &short).await?.as_deref(), Some("landed"));
        wait_for("landed ZZ502 leaves the map", Duration::from_secs(5), || async {
            Ok(drawn(&map, &failures, &short.flight_id).await?.is_none())
        })
        .await?;

        // A status set on the map reaches the simulator: the cancelled plane leaves.
        as_the_map("cancel a flight", &failures, || map.set_status(&long.flight_id, Status::Cancelled)).await?;
        wait_for("cancelled ZZ501 leaves the map", Duration::from_secs(10), || async {
            Ok(drawn(&map, &failures, &long.flight_id).await?.is_none())
        })
        .await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(drawn(&map, &failures, &long.flight_id).await?, None, "ZZ501 kept flying");
        assert_eq!(on_the_board(&map, &failures, &long).await?.as_deref(), Some("cancelled"));

        sim.start_kill()?;
        let out = sim.wait_with_output().await?;
        let stdout = text(&out.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        assert!(
            last.contains("claimed 2") && last.contains("landed 1") && last.contains("cancelled 1"),
            "{stdout}"
        );
        eprintln!(
            "map requests retried: {failures_before_kill} before the kill, {} after; simulator's last line: {last}",
            failures.load(Ordering::Relaxed) - failures_before_kill
        );
        Ok(())
    })
    .await;
}
