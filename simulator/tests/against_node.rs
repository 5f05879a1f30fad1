//! flight-sim against a real single rustica node: `setup` creates the schema and loads
//! the airports, random flights all land while their live positions move toward
//! their destinations, and status changes made by another client are obeyed. Every
//! test runs under a hard timeout; the node and flight-sim are killed on drop.

mod harness;

use std::collections::BTreeMap;
use std::future::Future;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use scylla::client::session::Session;
use scylla::value::CqlTimestamp;

use harness::{text, TestNode};
use simulator::airports::Airports;
use simulator::geo::{distance_km, LatLon};

// Below nextest's 120 s backstop, so a hang fails here with the node's log.
const TEST_TIMEOUT: Duration = Duration::from_secs(100);

async fn within_timeout(body: impl Future<Output = anyhow::Result<()>>) {
    harness::within(TEST_TIMEOUT, body).await
}

async fn setup(node: &TestNode) -> anyhow::Result<()> {
    let out: Output = node.flight_sim(&["setup"]).output().await?;
    let stdout = text(&out.stdout);
    anyhow::ensure!(out.status.success(), "setup failed: {stdout}{}", text(&out.stderr));
    anyhow::ensure!(
        stdout.contains("replication factor 1 = min(3, 1 node"),
        "setup did not state the RF: {stdout}"
    );
    Ok(())
}

/// (flight number, flight id, destination, status) of every flight.
async fn flights(session: &Session) -> anyhow::Result<Vec<(String, String, String, Option<String>)>> {
    let rows = session
        .query_unpaged("SELECT flight_number, flight_id, destination, status FROM aviation.flights", ())
        .await?
        .into_rows_result()?;
    Ok(rows.rows::<(String, String, String, Option<String>)>()?.collect::<Result<_, _>>()?)
}

/// flight id -> (latitude, longitude, progress) of every live position.
async fn positions(session: &Session) -> anyhow::Result<BTreeMap<String, (f64, f64, f64)>> {
    let rows = session
        .query_unpaged("SELECT flight_id, latitude, longitude, progress FROM aviation.flight_positions", ())
        .await?
        .into_rows_result()?;
    let mut out = BTreeMap::new();
    for row in rows.rows::<(String, f64, f64, f64)>()? {
        let (id, lat, lon, progress) = row?;
        out.insert(id, (lat, lon, progress));
    }
    Ok(out)
}

async fn status_and_times(session: &Session, id: &str) -> anyhow::Result<(String, Option<CqlTimestamp>, Option<CqlTimestamp>)> {
    let rows = session
        .query_unpaged(
            "SELECT status, actual_departure, actual_arrival FROM aviation.flights WHERE flight_id = ?",
            (id,),
        )
        .await?
        .into_rows_result()?;
    Ok(rows.single_row::<(String, Option<CqlTimestamp>, Option<CqlTimestamp>)>()?)
}

async fn set_status(session: &Session, id: &str, status: &str) -> anyhow::Result<()> {
    let mut statement = scylla::statement::unprepared::Statement::new("UPDATE aviation.flights SET status = ? WHERE flight_id = ?");
    statement.set_consistency(scylla::statement::Consistency::Quorum);
    session.query_unpaged(statement, (status, id)).await?;
    Ok(())
}

/// Polls `check` every 100 ms until it returns true or `limit` passes.
async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + limit;
    while !check().await? {
        anyhow::ensure!(Instant::now() < deadline, "timed out after {limit:?} waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_random_flights_all_land_moving_monotonically_toward_their_destinations() {
    let node = TestNode::start("twenty_random_flights");
    within_timeout(async {
        setup(&node).await?;
        let session = node.session().await;
        let airports = Airports::builtin()?;
        let count: i64 = session
            .query_unpaged("SELECT count(*) FROM aviation.airports", ())
            .await?
            .into_rows_result()?
            .single_row::<(i64,)>()?
            .0;
        assert_eq!(count as usize, airports.len());

        let mut run = node
            .flight_sim(&[
                "run",
                "--random",
                "20",
                "--spread",
                "5s",
                "--time-scale",
                "5000",
                "--tick",
                "200ms",
                "--duration",
                "80s",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        // Sample the live positions, as a map would, until the run is over.
        let mut samples: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
        while run.try_wait()?.is_none() {
            for (id, p) in positions(&session).await? {
                let track = samples.entry(id).or_default();
                if track.last() != Some(&p) {
                    track.push(p);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let out = run.wait_with_output().await?;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "run failed: {stdout}{}", text(&out.stderr));
        let last = stdout.lines().last().unwrap_or_default();
        assert!(last.starts_with("done: 20 landed, 0 cancelled, 0 stopped"), "{stdout}");
        assert!(last.ends_with(" 0 errors"), "{stdout}");

        let flights = flights(&session).await?;
        assert_eq!(flights.len(), 20);
        let mut destination = BTreeMap::new();
        for (_, id, dest, status) in &flights {
            assert_eq!(status.as_deref(), Some("landed"), "{id}");
            let (_, departed, arrived) = status_and_times(&session, id).await?;
            let (departed, arrived) = (departed.expect("actual departure"), arrived.expect("actual arrival"));
            assert!(arrived.0 > departed.0, "{id} arrived before it departed");
            let a = airports.get(dest).expect("a known destination");
            destination.insert(id.clone(), LatLon::new(a.latitude, a.longitude));
        }
        assert!(positions(&session).await?.is_empty(), "landed flights must leave flight_positions");

        let mut tracked = 0;
        for (id, track) in &samples {
            let dest = destination[id];
            for pair in track.windows(2) {
                let (before, after) = (pair[0], pair[1]);
                let to_go_before = distance_km(LatLon::new(before.0, before.1), dest);
                let to_go_after = distance_km(LatLon::new(after.0, after.1), dest);
                assert!(
                    to_go_after <= to_go_before + 1e-6,
                    "{id} moved away: {to_go_before} km then {to_go_after} km to go"
                );
                assert!(after.2 >= before.2, "{id} progress went back: {} then {}", before.2, after.2);
            }
            if track.len() >= 3 {
                tracked += 1;
            }
        }
        assert!(
            tracked >= 5,
            "only {tracked} flights were seen at three or more positions: {samples:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_changes_by_another_client_are_obeyed() {
    let node = TestNode::start("status_changes_by_another_client");
    within_timeout(async {
        setup(&node).await?;
        let session = node.session().await;

        // Bad input: a clear message, a failure, and nothing written.
        let out = node
            .flight_sim(&["run", "--flight", "ZZ1 EZE EZE now 850", "--flight", "ZZ2 EZE MAD now 850"])
            .output()
            .await?;
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("origin and destination are both EZE"),
            "{}",
            text(&out.stderr)
        );
        assert!(flights(&session).await?.is_empty(), "a refused run must write nothing");

        // ZZ100 flies at once; ZZ200 departs 12 s later (real time: the one clock).
        let started = Instant::now();
        let mut run = node
            .flight_sim(&[
                "run",
                "--flight",
                "ZZ100 EZE MAD now 850",
                "--flight",
                "ZZ200 JFK LHR +12s 850",
                "--time-scale",
                "600",
                "--tick",
                "200ms",
                "--duration",
                "80s",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let ids: BTreeMap<String, String> = loop {
            let ids: BTreeMap<String, String> = flights(&session)
                .await?
                .into_iter()
                .map(|(number, id, _, _)| (number, id))
                .collect();
            if ids.len() == 2 {
                break ids;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(20),
                "the two flights were not scheduled: {ids:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let (zz100, zz200) = (ids["ZZ100"].clone(), ids["ZZ200"].clone());
        set_status(&session, &zz200, "delayed").await?;

        wait_until("ZZ100 is in the air", Duration::from_secs(10), || async {
            Ok(positions(&session).await?.contains_key(&zz100))
        })
        .await?;
        set_status(&session, &zz100, "cancelled").await?;
        wait_until("cancelled ZZ100 leaves flight_positions", Duration::from_secs(5), || async {
            Ok(!positions(&session).await?.contains_key(&zz100))
        })
        .await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(
            !positions(&session).await?.contains_key(&zz100),
            "a cancelled flight kept writing its position"
        );
        let (status, _, arrived) = status_and_times(&session, &zz100).await?;
        assert_eq!(status, "cancelled");
        assert_eq!(arrived, None);

        // Past ZZ200's departure time it is still on the ground, because it is delayed.
        tokio::time::sleep((started + Duration::from_secs(16)).saturating_duration_since(Instant::now())).await;
        let (status, departed, _) = status_and_times(&session, &zz200).await?;
        assert_eq!(status, "delayed");
        assert_eq!(departed, None, "a delayed flight took off");
        assert!(!positions(&session).await?.contains_key(&zz200));

        set_status(&session, &zz200, "on time").await?;
        wait_until("ZZ200 takes off once no longer delayed", Duration::from_secs(5), || async {
            Ok(positions(&session).await?.contains_key(&zz200))
        })
        .await?;
        let (status, departed, _) = status_and_times(&session, &zz200).await?;
        assert_eq!(status, "in flight");
        assert!(departed.is_some());

        set_status(&session, &zz200, "cancelled").await?;
        let out = tokio::time::timeout(Duration::from_secs(10), run.wait()).await??;
        assert!(out.success());
        let mut stdout = String::new();
        if let Some(mut pipe) = run.stdout.take() {
            tokio::io::AsyncReadExt::read_to_string(&mut pipe, &mut stdout).await?;
        }
        assert!(stdout.contains("done: 0 landed, 2 cancelled, 0 stopped"), "{stdout}");
        assert!(positions(&session).await?.is_empty());
        Ok(())
    })
    .await;
}

/// The run ends when the database says its flights are over; a flight cancelled by
/// another client between two of its (slow) ticks must still end `cancelled` and
/// leave the map, not be `stopped` by the shutdown under it (the cause of the old
/// flakiness of the test above, made certain here by a 4 s tick).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flight_cancelled_between_slow_ticks_ends_cancelled_not_stopped() {
    let node = TestNode::start("cancelled_between_slow_ticks");
    within_timeout(async {
        setup(&node).await?;
        let session = node.session().await;
        let run = node
            .flight_sim(&[
                "run",
                "--flight",
                "ZZ300 EZE MAD now 850",
                "--time-scale",
                "600",
                "--tick",
                "4s",
                "--duration",
                "60s",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let started = Instant::now();
        let id = loop {
            if let Some(id) = positions(&session).await?.into_keys().find(|k| k.starts_with("ZZ300-")) {
                break id;
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(20), "ZZ300 never took off");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        set_status(&session, &id, "cancelled").await?;
        let out = tokio::time::timeout(Duration::from_secs(20), run.wait_with_output()).await??;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "run failed: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains("done: 0 landed, 1 cancelled, 0 stopped"), "{stdout}");
        assert!(positions(&session).await?.is_empty(), "the cancelled flight left its position");
        Ok(())
    })
    .await;
}

/// The compose cluster's security on one node: TLS whose certificate names `node1`
/// while flight-sim dials an address, and passwords. The apps check that the
/// certificate chains to the authority given (as the rustica tools do), not its
/// names; a wrong password or another authority is a clear refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_works_over_tls_with_a_password_and_refuses_a_stranger() {
    let node = TestNode::start_secured("tls_and_password");
    within_timeout(async {
        let ca = node.ca_file().display().to_string();
        let secured = |password: &str, ca: &str| {
            let mut cmd = node.flight_sim(&["--ca-file", ca, "-u", "cassandra", "-p", password, "--connect-timeout", "5s"]);
            cmd.arg("setup");
            cmd
        };
        // The node makes its default superuser a moment after it opens its port.
        let started = Instant::now();
        let out = loop {
            let out = secured("cassandra", &ca).output().await?;
            if out.status.success() || started.elapsed() > Duration::from_secs(30) {
                break out;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
        assert!(text(&out.stdout).contains("loaded "), "{}", text(&out.stdout));

        let out = secured("wrong", &ca).output().await?;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("are incorrect"), "{}", text(&out.stderr));

        // The node's own certificate is no authority: the chain is still checked.
        let stranger = node.ca_file().with_file_name("node1.crt").display().to_string();
        let out = secured("cassandra", &stranger).output().await?;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(text(&out.stderr).contains("invalid peer certificate"), "{}", text(&out.stderr));

        // And without TLS a TLS-only node is not reached.
        let out = node
            .flight_sim(&["-u", "cassandra", "-p", "cassandra", "--connect-timeout", "3s", "setup"])
            .output()
            .await?;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        Ok(())
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_clear_message_and_a_nonzero_exit() {
    within_timeout(async {
        // Nothing listens on 127.0.15.254: the node tests' addresses start at 127.0.16.x.
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_flight-sim"))
            .args(["--host", "127.0.15.254", "--connect-timeout", "3s", "setup"])
            .kill_on_drop(true)
            .output()
            .await?;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("cannot reach the cluster at 127.0.15.254:9042"),
            "{}",
            text(&out.stderr)
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flight_scheduled_elsewhere_is_never_overwritten() {
    use aviation::statements::{Scheduled, Statements};
    use simulator::schedule::{self, FlightRequest};
    let node = TestNode::start("never_overwritten");
    within_timeout(async {
        setup(&node).await?;
        let session = node.session().await;
        let shared = Statements {
            session: &session,
            timeout: Duration::from_secs(5),
        };
        let airports = Airports::builtin()?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as i64;
        let request = |destination: &str| FlightRequest {
            number: "AR1132".into(),
            origin: "EZE".into(),
            destination: destination.into(),
            departure: "+10m".into(),
            cruise_speed_kmh: "850".into(),
            airline: None,
            aircraft: None,
        };
        let plan = schedule::plan(&request("MAD"), &airports, now)?;
        assert_eq!(shared.schedule_flight(&plan.to_new_flight()).await?, Scheduled::Created);
        // The same flight again (a retried write, or the same schedule made elsewhere) is taken as it is.
        let again = shared.schedule_flight(&plan.to_new_flight()).await?;
        assert!(matches!(again, Scheduled::AlreadyScheduled(_)), "{again:?}");
        // Another route under the same id is refused, and the first schedule stays.
        let other = schedule::plan(&request("COR"), &airports, now)?;
        assert_eq!(other.flight_id, plan.flight_id);
        let refusal = shared.schedule_flight(&other.to_new_flight()).await?;
        let Scheduled::Conflict(existing) = refusal else {
            panic!("another schedule under the id was not refused: {refusal:?}");
        };
        assert_eq!(existing.destination, "MAD");
        let rows = flights(&session).await?;
        assert_eq!(
            rows,
            vec![(
                "AR1132".to_string(),
                plan.flight_id.clone(),
                "MAD".to_string(),
                Some("scheduled".to_string())
            )]
        );
        Ok(())
    })
    .await;
}
