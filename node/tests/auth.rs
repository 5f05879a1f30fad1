//! Password authentication and permissions through the scylla Rust driver against
//! a real node with PasswordAuthenticator and CassandraAuthorizer.

mod common;

use std::time::{Duration, Instant};

use common::{db_error, within_timeout, TestNode};
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::DbError;

const CONFIG: &str = r#"
authenticator = "PasswordAuthenticator"
authorizer = "CassandraAuthorizer"
password_hash_cost = 4
"#;

async fn login(node: &TestNode, user: Option<(&str, &str)>) -> anyhow::Result<Session> {
    let mut builder = SessionBuilder::new()
        .known_node_addr(node.socket_addr())
        .connection_timeout(Duration::from_secs(10));
    if let Some((name, password)) = user {
        builder = builder.user(name, password);
    }
    Ok(builder.build().await?)
}

/// The default superuser is created in the background just after start.
async fn superuser(node: &TestNode) -> anyhow::Result<Session> {
    let start = Instant::now();
    loop {
        match login(node, Some(("cassandra", "cassandra"))).await {
            Ok(s) => return Ok(s),
            Err(e) if start.elapsed() < Duration::from_secs(20) => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_are_checked_and_a_role_writes_only_once_granted_modify() {
    within_timeout(async {
        let node = TestNode::start_with_config(CONFIG).await;
        let admin = superuser(&node).await?;

        let anonymous = login(&node, None).await;
        assert!(anonymous.is_err(), "a session without credentials must be refused");
        let wrong = login(&node, Some(("cassandra", "nope")))
            .await
            .expect_err("a wrong password is refused");
        assert!(format!("{wrong:?}").contains("incorrect"), "{wrong:?}");

        admin
            .query_unpaged(
                "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                (),
            )
            .await?;
        admin.query_unpaged("CREATE TABLE ks.t (k int PRIMARY KEY, v text)", ()).await?;
        admin
            .query_unpaged("CREATE ROLE writer WITH PASSWORD = 'w' AND LOGIN = true", ())
            .await?;
        let writer = login(&node, Some(("writer", "w"))).await?;
        let insert = "INSERT INTO ks.t (k, v) VALUES (1, 'a')";
        let refused = writer.query_unpaged(insert, ()).await.expect_err("no MODIFY yet");
        match db_error(&refused) {
            Some(DbError::Unauthorized) => assert!(refused.to_string().contains("has no MODIFY permission"), "{refused}"),
            other => panic!("expected Unauthorized, got {other:?} ({refused})"),
        }
        let prepared = writer.prepare(insert).await?;
        assert!(
            writer.execute_unpaged(&prepared, ()).await.is_err(),
            "a prepared write is checked too"
        );

        admin.query_unpaged("GRANT MODIFY ON KEYSPACE ks TO writer", ()).await?;
        let start = Instant::now();
        while writer.execute_unpaged(&prepared, ()).await.is_err() {
            anyhow::ensure!(start.elapsed() < Duration::from_secs(10), "the grant never took effect");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let rows = admin
            .query_unpaged("SELECT v FROM ks.t WHERE k = 1", ())
            .await?
            .into_rows_result()?;
        assert_eq!(rows.single_row::<(String,)>()?.0, "a");
        Ok(())
    })
    .await;
}

/// The Unauthorized error's message, or a failure saying what came instead.
fn unauthorized(result: Result<impl std::fmt::Debug, scylla::errors::ExecutionError>) -> anyhow::Result<String> {
    let err = match result {
        Ok(answer) => anyhow::bail!("expected Unauthorized, the statement ran: {answer:?}"),
        Err(err) => err,
    };
    match db_error(&err) {
        Some(DbError::Unauthorized) => Ok(err.to_string()),
        other => anyhow::bail!("expected Unauthorized, got {other:?} ({err})"),
    }
}

/// Creates a role that may log in, and a session logged in as it.
async fn role(node: &TestNode, admin: &Session, name: &str) -> anyhow::Result<Session> {
    admin
        .query_unpaged(format!("CREATE ROLE {name} WITH PASSWORD = 'pw' AND LOGIN = true"), ())
        .await?;
    login(node, Some((name, "pw"))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_role_reads_the_driver_tables_but_not_hints_or_paxos_nor_runs_nodetool() {
    within_timeout(async {
        let node = TestNode::start_with_config(CONFIG).await;
        let admin = superuser(&node).await?;
        let alice = role(&node, &admin, "alice").await?;

        for table in ["system.local", "system.peers", "system.peers_v2", "system_schema.tables"] {
            alice.query_unpaged(format!("SELECT * FROM {table}"), ()).await?;
        }
        for table in ["hints", "paxos"] {
            let refused = unauthorized(alice.query_unpaged(format!("SELECT * FROM system.{table}"), ()).await)?;
            assert!(
                refused.contains(&format!(
                    "User alice has no SELECT permission on <table system.{table}> or any of its parents"
                )),
                "{refused}"
            );
            admin.query_unpaged(format!("SELECT * FROM system.{table}"), ()).await?;
        }
        // Not even SELECT on every keyspace opens them: they hold every table's rows.
        admin.query_unpaged("GRANT SELECT ON ALL KEYSPACES TO alice", ()).await?;
        let prepared = alice.prepare("SELECT * FROM system.paxos").await?;
        unauthorized(alice.execute_unpaged(&prepared, ()).await)?;

        let refused = unauthorized(alice.query_unpaged("NODETOOL CLEANUP", ()).await)?;
        assert!(refused.contains("Only superusers can run NODETOOL statements"), "{refused}");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_grants_and_revokes_only_permissions_it_holds_itself() {
    within_timeout(async {
        let node = TestNode::start_with_config(CONFIG).await;
        let admin = superuser(&node).await?;
        admin
            .query_unpaged(
                "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                (),
            )
            .await?;
        let bob = role(&node, &admin, "bob").await?;
        let _carol = role(&node, &admin, "carol").await?;

        let refused = unauthorized(bob.query_unpaged("GRANT SELECT ON KEYSPACE ks TO carol", ()).await)?;
        assert!(
            refused.contains("User bob has no AUTHORIZE permission on <keyspace ks>"),
            "{refused}"
        );

        admin.query_unpaged("GRANT AUTHORIZE ON KEYSPACE ks TO bob", ()).await?;
        admin.query_unpaged("GRANT SELECT ON KEYSPACE ks TO bob", ()).await?;
        bob.query_unpaged("GRANT SELECT ON KEYSPACE ks TO carol", ()).await?;
        bob.query_unpaged("REVOKE SELECT ON KEYSPACE ks FROM carol", ()).await?;
        for statement in [
            "GRANT MODIFY ON KEYSPACE ks TO carol",
            "REVOKE MODIFY ON KEYSPACE ks FROM carol",
            "GRANT ALL PERMISSIONS ON KEYSPACE ks TO carol",
        ] {
            let refused = unauthorized(bob.query_unpaged(statement, ()).await)?;
            assert!(
                refused.contains("User bob has no ") && refused.contains(" permission on <keyspace ks> or any of its parents"),
                "{statement}: {refused}"
            );
        }
        let rows = admin.query_unpaged("LIST ALL PERMISSIONS OF carol", ()).await?.into_rows_result()?;
        assert_eq!(rows.rows_num(), 0, "carol was given nothing bob lacks");
        Ok(())
    })
    .await;
}

/// bcrypt work factor of the timing and throttle tests: slow enough that the
/// password check, not the connection, decides how long a login takes.
const SLOW_HASH_CONFIG: &str = r#"
authenticator = "PasswordAuthenticator"
authorizer = "CassandraAuthorizer"
password_hash_cost = 10
# Fifteen logins at once from one address: more than the default bound on
# connections not yet logged in (8 per address) would let through.
native_transport_max_unauthenticated_connections_per_ip = 32
"#;

/// How long a login that fails takes, and its error.
async fn failed_login(node: &TestNode, user: &str, password: &str) -> anyhow::Result<(Duration, String)> {
    let start = Instant::now();
    match login(node, Some((user, password))).await {
        Ok(_) => anyhow::bail!("{user} logged in with a wrong password"),
        Err(e) => Ok((start.elapsed(), format!("{e:#}"))),
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_takes_as_long_for_an_unknown_role_as_for_a_wrong_password() {
    within_timeout(async {
        let node = TestNode::start_with_config(SLOW_HASH_CONFIG).await;
        let admin = superuser(&node).await?;
        role(&node, &admin, "known").await?;
        let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
        // Five each (the throttle's limit), interleaved so that load on the
        // machine falls on both alike.
        for i in 0..5 {
            let (time, error) = failed_login(&node, &format!("nobody{i}"), "pw").await?;
            assert!(
                error.contains(&format!("Provided username nobody{i} and/or password are incorrect")),
                "{error}"
            );
            unknown.push(time);
            let (time, error) = failed_login(&node, "known", "wrong").await?;
            assert!(error.contains("Provided username known and/or password are incorrect"), "{error}");
            wrong.push(time);
        }
        let (unknown, wrong) = (median(unknown), median(wrong));
        let (short, long) = (unknown.min(wrong), unknown.max(wrong));
        assert!(
            short.as_secs_f64() > 0.5 * long.as_secs_f64(),
            "median failed login: unknown role {unknown:?}, wrong password {wrong:?}"
        );
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guesses_are_counted_before_they_are_checked() {
    within_timeout(async {
        let node = TestNode::start_with_config(SLOW_HASH_CONFIG).await;
        let admin = superuser(&node).await?;
        role(&node, &admin, "target").await?;

        // Far more guesses at once than the limit: only the limit's worth reach
        // the password check, the others are refused by the throttle.
        let guesses = (0..15).map(|_| failed_login(&node, "target", "guess"));
        let errors: Vec<String> = futures::future::try_join_all(guesses).await?.into_iter().map(|(_, e)| e).collect();
        let checked = errors.iter().filter(|e| e.contains("and/or password are incorrect")).count();
        let throttled = errors
            .iter()
            .filter(|e| e.contains("Too many failed login attempts for target"))
            .count();
        assert_eq!(
            (checked, throttled),
            (5, 10),
            "password checks and throttled attempts of 15 at once"
        );

        // With the limit reached, parallel attempts are all refused, the right
        // password among them.
        let attempts = (0..4).map(|i| login(&node, Some(("target", if i == 0 { "pw" } else { "guess" }))));
        for (i, attempt) in futures::future::join_all(attempts).await.into_iter().enumerate() {
            match attempt {
                Ok(_) => anyhow::bail!("attempt {i} logged in past the throttle"),
                Err(e) => assert!(format!("{e:#}").contains("Too many failed login attempts"), "{e:#}"),
            }
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_authentication_nodetool_is_taken_from_a_loopback_client() {
    within_timeout(async {
        let node = TestNode::start().await;
        let session = node.session().await?;
        let rows = session.query_unpaged("NODETOOL CLEANUP", ()).await?.into_rows_result()?;
        assert_eq!(
            rows.column_specs().iter().map(|c| c.name().to_string()).collect::<Vec<_>>(),
            ["keyspace_name", "table_name", "partitions_removed"]
        );
        Ok(())
    })
    .await;
}
