//! flight-sim as a dispatcher on a three-node cluster (RF 3): flights scheduled as
//! the map schedules them (the shared `aviation` statements) are claimed, flown at
//! their scheduled time and landed; two simulators running at once fly each flight
//! exactly once; a simulator killed mid-flight leaves a plane that fades from
//! `flight_positions` (TTL) and whose flight another simulator takes over once the
//! lease lapses. Every test runs under a hard timeout; nodes and simulators are
//! killed on drop.

mod harness;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

use aviation::flight::{flight_id, Flight, NewFlight};
use aviation::geo::distance_km;
use aviation::statements::{wall_now, Scheduled, Statements};
use scylla::client::session::Session;

use harness::{text, TestCluster};
use simulator::airports::Airports;

const TEST_TIMEOUT: Duration = Duration::from_secs(110);

async fn within_timeout(body: impl Future<Output = anyhow::Result<()>>) {
    harness::within(TEST_TIMEOUT, body).await
}

/// A flight as the map's form makes it: the user's departure and arrival, and the
/// cruise speed that covers the distance in that time.
fn as_the_map_makes_it(airports: &Airports, number: &str, from: &str, to: &str, departure: i64, minutes: i64) -> NewFlight {
    let (a, b) = (airports.get(from).expect("origin"), airports.get(to).expect("destination"));
    let hours = minutes as f64 / 60.0;
    NewFlight {
        flight_id: flight_id(number, departure),
        number: number.into(),
        airline: number[..2].into(),
        origin: from.into(),
        destination: to.into(),
        scheduled_departure: departure,
        scheduled_arrival: departure + minutes * 60_000,
        aircraft: "A320".into(),
        cruise_speed_kmh: (distance_km(a.location(), b.location()) / hours).clamp(200.0, 950.0),
    }
}

async fn flight(session: &Session, id: &str) -> anyhow::Result<Flight> {
    let shared = Statements {
        session,
        timeout: Duration::from_secs(5),
    };
    shared.flight(id).await?.ok_or_else(|| anyhow::anyhow!("{id} is gone"))
}

async fn positions(session: &Session) -> anyhow::Result<BTreeSet<String>> {
    let rows = session
        .query_unpaged("SELECT flight_id FROM aviation.flight_positions", ())
        .await?
        .into_rows_result()?;
    Ok(rows.rows::<(String,)>()?.map(|r| r.map(|(id,)| id)).collect::<Result<_, _>>()?)
}

/// `(landed, claimed, simulator id)` from a `flight-sim run`'s output.
fn run_totals(stdout: &str) -> (usize, usize, String) {
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("simulator ").and_then(|r| r.split(':').next()))
        .unwrap_or_default()
        .to_string();
    let done = stdout.lines().find(|l| l.starts_with("done: ")).unwrap_or_default();
    let number = |word: &str| -> usize {
        done.split([',', ';'])
            .find_map(|part| part.trim().trim_start_matches("done: ").strip_suffix(word))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(usize::MAX)
    };
    (number(" landed"), number(" claimed"), id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_simulators_fly_every_flight_made_as_the_map_makes_it_exactly_once() {
    let cluster = TestCluster::start("two_dispatchers", 3);
    within_timeout(async {
        let out = cluster.flight_sim(0, &["setup"]).output().await?;
        anyhow::ensure!(out.status.success(), "setup: {}{}", text(&out.stdout), text(&out.stderr));
        anyhow::ensure!(text(&out.stdout).contains("replication factor 3"), "{}", text(&out.stdout));
        let session = cluster.session().await;
        let shared = Statements {
            session: &session,
            timeout: Duration::from_secs(5),
        };
        let airports = Airports::builtin()?;
        let now = wall_now();
        let routes = [
            ("ZZ101", "EZE", "COR"),
            ("ZZ102", "AEP", "MDZ"),
            ("ZZ103", "MAD", "BCN"),
            ("ZZ104", "LHR", "CDG"),
            ("ZZ105", "JFK", "BOS"),
            ("ZZ106", "GRU", "GIG"),
        ];
        let mut ids = Vec::new();
        for (i, (number, from, to)) in routes.iter().enumerate() {
            let f = as_the_map_makes_it(&airports, number, from, to, now + 3_000 + i as i64 * 500, 60);
            assert_eq!(shared.schedule_flight(&f).await?, Scheduled::Created);
            ids.push(f.flight_id);
        }

        // Two dispatchers through different coordinators, started together.
        let args = ["run", "--time-scale", "900", "--tick", "200ms", "--duration", "30s"];
        let a = cluster.flight_sim(0, &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let b = cluster.flight_sim(1, &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;

        // Watch as the map would: each flight must be seen in the air, then landed.
        let mut seen_in_air: BTreeSet<String> = BTreeSet::new();
        let mut landed: BTreeMap<String, Flight> = BTreeMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
        while landed.len() < ids.len() {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "only {landed:?} landed; seen in the air: {seen_in_air:?}"
            );
            let live = positions(&session).await?;
            for id in &ids {
                let f = flight(&session, id).await?;
                if f.status == "in flight" && live.contains(id) {
                    seen_in_air.insert(id.clone());
                }
                if f.status == "landed" {
                    landed.insert(id.clone(), f);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (a, b) = (a.wait_with_output().await?, b.wait_with_output().await?);
        let (a_out, b_out) = (text(&a.stdout), text(&b.stdout));
        assert!(
            a.status.success() && b.status.success(),
            "{a_out}{}\n{b_out}{}",
            text(&a.stderr),
            text(&b.stderr)
        );
        let (a_landed, a_claimed, a_id) = run_totals(&a_out);
        let (b_landed, b_claimed, b_id) = run_totals(&b_out);
        assert_ne!(a_id, b_id);
        // Each flight was claimed once in all, and landed by whoever claimed it.
        assert_eq!(a_claimed + b_claimed, ids.len(), "claims: {a_out}\n{b_out}");
        assert_eq!(a_landed + b_landed, ids.len(), "landings: {a_out}\n{b_out}");
        assert_eq!((a_landed, b_landed), (a_claimed, b_claimed));
        assert!(
            seen_in_air.len() >= ids.len() / 2,
            "few flights were seen in the air: {seen_in_air:?}"
        );
        for (id, f) in &landed {
            let by = f.claimed_by.clone().unwrap_or_default();
            assert!(by == a_id || by == b_id, "{id} claimed by {by}");
            let (scheduled, departed, arrived) = (
                f.scheduled_departure.unwrap_or_default(),
                f.actual_departure.expect("actual departure"),
                f.actual_arrival.expect("actual arrival"),
            );
            // Flown at its real scheduled time, not before.
            assert!(departed >= scheduled, "{id} left at {departed}, scheduled {scheduled}");
            assert!(arrived > departed, "{id} arrived before it left");
        }
        assert!(positions(&session).await?.is_empty(), "landed flights keep positions");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_simulators_plane_fades_and_its_flight_is_taken_over_after_the_lease() {
    let cluster = TestCluster::start("takeover", 3);
    within_timeout(async {
        let out = cluster.flight_sim(0, &["setup"]).output().await?;
        anyhow::ensure!(out.status.success(), "setup: {}", text(&out.stderr));
        let session = cluster.session().await;
        let out = cluster.flight_sim(2, &["schedule", "ZZ900", "EZE", "MAD", "now"]).output().await?;
        let said = text(&out.stdout);
        assert!(
            out.status.success() && said.starts_with("scheduled ZZ900-"),
            "{said}{}",
            text(&out.stderr)
        );
        let id = said.split_whitespace().nth(1).unwrap_or_default().to_string();

        // The first simulator flies it slowly, and is killed in the air.
        let lease = ["--lease", "2s", "--tick", "200ms"];
        let mut first = cluster
            .flight_sim(0, &[&["run", "--time-scale", "10"][..], &lease[..]].concat())
            .stdout(Stdio::null())
            .spawn()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !positions(&session).await?.contains(&id) {
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "{id} never took off");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let owner = flight(&session, &id).await?.claimed_by.expect("a claimant");
        first.start_kill()?;
        first.wait().await?;

        // Its last position expires by its TTL: no ghost plane, but still in flight.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while positions(&session).await?.contains(&id) {
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "the dead simulator's plane stays on the map"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(flight(&session, &id).await?.status, "in flight");

        // Another simulator takes the flight over once the lease lapsed, and lands it.
        let second = cluster
            .flight_sim(
                1,
                &[&["run", "--time-scale", "20000", "--duration", "15s"][..], &lease[..]].concat(),
            )
            .stdout(Stdio::piped())
            .spawn()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let f = loop {
            let f = flight(&session, &id).await?;
            if f.status == "landed" {
                break f;
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "{id} was not landed: {f:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let out = second.wait_with_output().await?;
        let (_, claimed, second_id) = run_totals(&text(&out.stdout));
        assert_eq!(claimed, 1, "{}", text(&out.stdout));
        assert_eq!(f.claimed_by.as_deref(), Some(second_id.as_str()));
        assert_ne!(second_id, owner);
        assert!(f.actual_arrival.is_some());
        Ok(())
    })
    .await;
}
