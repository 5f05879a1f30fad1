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
