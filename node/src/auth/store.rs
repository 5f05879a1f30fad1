//! Reads and writes of `system_auth.roles` and `system_auth.role_permissions`
//! through the coordinator, as typed rows: no CQL is built or parsed here.
//! `system_auth` is replicated by its own replication settings, so any node
//! sees the same roles.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use cql_protocol::cql::ast::Permission;
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use cql_protocol::wire::Consistency;

use super::resource::AuthResource;
use super::{Role, DEFAULT_SUPERUSER};
use crate::clock::{now_seconds, server_timestamp};
use crate::coordinator::replicas::Strategy;
use crate::coordinator::{Coordinator, Want};
use crate::error::QueryError;
use crate::query::cells::{self, WriteContext};
use crate::query::restrictions::partition_position;
use crate::schema::Table;
use crate::schema_service::SchemaService;
use crate::storage::key::{decode_clustering, encode_clustering};
use crate::storage::{LiveRow, Mutation, ReadCommand, Row, Visit};
use crate::system::AUTH_KEYSPACE;

const ROLES: &str = "roles";
const ROLE_PERMISSIONS: &str = "role_permissions";

/// The auth tables, read and written at Cassandra's levels.
#[derive(Clone)]
pub struct RoleStore {
    coordinator: Arc<Coordinator>,
    schema: Arc<SchemaService>,
}

impl std::fmt::Debug for RoleStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoleStore")
    }
}

/// The default superuser is read at QUORUM, every other role at ONE, as Cassandra does.
fn consistency_for(role: &str) -> Consistency {
    if role == DEFAULT_SUPERUSER {
        Consistency::Quorum
    } else {
        Consistency::One
    }
}

fn server_error(message: impl std::fmt::Display) -> QueryError {
    QueryError::Server {
        message: message.to_string(),
    }
}

/// A column's value in a row read from an auth table.
fn value(table: &Table, row: &LiveRow, column: &str) -> Result<Option<Value>, QueryError> {
    let (Some(col), Some(data)) = (table.column(column), row.get(column)) else {
        return Ok(None);
    };
    cells::live_value(col, data).map(Some)
}

fn text(value: Option<Value>) -> Option<String> {
    match value {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    }
}

fn role_of(table: &Table, name: String, row: &LiveRow) -> Result<Role, QueryError> {
    Ok(Role {
        name,
        can_login: matches!(value(table, row, "can_login")?, Some(Value::Boolean(true))),
        is_superuser: matches!(value(table, row, "is_superuser")?, Some(Value::Boolean(true))),
        salted_hash: text(value(table, row, "salted_hash")?),
    })
}

fn context(timestamp: Option<i64>) -> WriteContext {
    WriteContext {
        timestamp: timestamp.unwrap_or_else(server_timestamp),
        ttl: 0,
        now: now_seconds(),
    }
}

impl RoleStore {
    pub fn new(coordinator: Arc<Coordinator>, schema: Arc<SchemaService>) -> RoleStore {
        RoleStore { coordinator, schema }
    }

    /// An auth table and its keyspace's replication.
    fn table(&self, name: &str) -> Result<(Arc<Table>, Strategy), QueryError> {
        let schema = self.schema.snapshot();
        let keyspace = schema
            .keyspace(AUTH_KEYSPACE)
            .ok_or_else(|| server_error(format!("the {AUTH_KEYSPACE} keyspace is missing")))?;
        let table = keyspace
            .tables
            .get(name)
            .cloned()
            .ok_or_else(|| server_error(format!("the table {AUTH_KEYSPACE}.{name} is missing")))?;
        Ok((table, Strategy::from_replication(&keyspace.replication)))
    }

    /// Every live row of `command` on `table`: (partition key bytes, clustering bytes, row).
    async fn read(
        &self,
        strategy: &Strategy,
        cl: Consistency,
        command: &ReadCommand,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>, LiveRow)>, QueryError> {
        let mut rows = Vec::new();
        self.coordinator
            .read(strategy, cl, command, Want::ALL, now_seconds(), &mut |pv, row| {
                if let Some((clustering, live)) = row {
                    rows.push((pv.position.key.clone(), clustering.to_vec(), live.clone()));
                }
                Visit::Continue
            })
            .await?;
        Ok(rows)
    }

    async fn write(&self, strategy: &Strategy, mutations: Vec<Mutation>, cl: Consistency) -> Result<(), QueryError> {
        self.coordinator.write(strategy, mutations, cl, "SIMPLE").await
    }

    pub async fn role(&self, name: &str) -> Result<Option<Role>, QueryError> {
        let (table, strategy) = self.table(ROLES)?;
        let key = partition_position(&table, &[Value::Text(name.to_string())]);
        let command = ReadCommand::rows(table.id, key, []);
        let rows = self.read(&strategy, consistency_for(name), &command).await?;
        match rows.first() {
            Some((_, _, row)) => role_of(&table, name.to_string(), row).map(Some),
            None => Ok(None),
        }
    }

    pub async fn all_roles(&self) -> Result<Vec<Role>, QueryError> {
        let (table, strategy) = self.table(ROLES)?;
        let command = ReadCommand::all(table.id);
        let mut roles = Vec::new();
        for (key, _, row) in self.read(&strategy, Consistency::One, &command).await? {
            let name = String::from_utf8(key).map_err(|_| server_error("a role name in system_auth.roles is not UTF-8"))?;
            roles.push(role_of(&table, name, &row)?);
        }
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(roles)
    }

    /// Writes the given columns of a role (as an INSERT would); `timestamp` as
    /// in `USING TIMESTAMP`.
    pub async fn write_role(
        &self,
        name: &str,
        can_login: Option<bool>,
        is_superuser: Option<bool>,
        salted_hash: Option<&str>,
        timestamp: Option<i64>,
    ) -> Result<(), QueryError> {
        let (table, strategy) = self.table(ROLES)?;
        let ctx = context(timestamp);
        let mut row = Row {
            marker: Some(ctx.cell(Vec::new())),
            ..Row::default()
        };
        let values = [
            ("can_login", can_login.map(Value::Boolean)),
            ("is_superuser", is_superuser.map(Value::Boolean)),
            ("salted_hash", salted_hash.map(|h| Value::Text(h.to_string()))),
        ];
        for (column, value) in values {
            if let (Some(col), Some(v)) = (table.column(column), value) {
                row.columns.insert(column.to_string(), cells::assign(col, Some(&v), &ctx)?);
            }
        }
        let mut mutation = Mutation::new(table.id, partition_position(&table, &[Value::Text(name.to_string())]));
        mutation.rows.push((Vec::new(), row));
        self.write(&strategy, vec![mutation], consistency_for(name)).await
    }

    /// Deletes a role and every permission granted to it.
    pub async fn delete_role(&self, name: &str) -> Result<(), QueryError> {
        let deletion = context(None).deletion();
        for (table_name, cl) in [(ROLES, consistency_for(name)), (ROLE_PERMISSIONS, Consistency::One)] {
            let (table, strategy) = self.table(table_name)?;
            let mut mutation = Mutation::new(table.id, partition_position(&table, &[Value::Text(name.to_string())]));
            mutation.partition_deletion = Some(deletion);
            self.write(&strategy, vec![mutation], cl).await?;
        }
        Ok(())
    }

    /// Every permission granted to `role`, by resource.
    pub async fn permissions(&self, role: &str) -> Result<HashMap<AuthResource, BTreeSet<Permission>>, QueryError> {
        let (table, strategy) = self.table(ROLE_PERMISSIONS)?;
        let key = partition_position(&table, &[Value::Text(role.to_string())]);
        let command = ReadCommand::rows(table.id, key, []);
        let mut out: HashMap<AuthResource, BTreeSet<Permission>> = HashMap::new();
        for (_, clustering, row) in self.read(&strategy, Consistency::One, &command).await? {
            let resource = decode_clustering(&table.clustering_types(), &clustering)
                .ok()
                .and_then(|values| text(values.into_iter().next()))
                .and_then(|name| AuthResource::from_name(&name));
            let Some(resource) = resource else { continue };
            let entry = out.entry(resource).or_default();
            if let Some(Value::Set(items)) = value(&table, &row, "permissions")? {
                for item in items {
                    if let Value::Text(name) = item {
                        entry.extend(Permission::from_name(&name));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Adds (`grant`) or removes permissions of `role` on `resource`, as
    /// `UPDATE ... SET permissions = permissions + {...}` (or `-`) would.
    pub async fn change_permissions(
        &self,
        role: &str,
        resource: &AuthResource,
        permissions: &[Permission],
        grant: bool,
    ) -> Result<(), QueryError> {
        let (table, strategy) = self.table(ROLE_PERMISSIONS)?;
        let column = table
            .column("permissions")
            .ok_or_else(|| server_error("system_auth.role_permissions has no permissions column"))?;
        let ctx = context(None);
        let names: Vec<Value> = permissions.iter().map(|p| Value::Text(p.name().to_string())).collect();
        let data = if grant {
            cells::add_elements(column, &Value::Set(names), &ctx, false)?
        } else {
            let paths = names
                .iter()
                .map(|name| cells::set_path(&ColumnType::Varchar, name))
                .collect::<Result<Vec<_>, _>>()?;
            cells::remove_paths(paths, &ctx)
        };
        let mut row = Row::default();
        row.columns.insert(column.name.clone(), data);
        let clustering =
            encode_clustering(&table.clustering_types(), &[Value::Text(resource.name())]).map_err(|e| server_error(e.to_string()))?;
        let mut mutation = Mutation::new(table.id, partition_position(&table, &[Value::Text(role.to_string())]));
        mutation.rows.push((clustering, row));
        self.write(&strategy, vec![mutation], Consistency::One).await
    }

    /// Every (role, resource, permissions) row, for LIST PERMISSIONS.
    pub async fn all_permissions(&self) -> Result<Vec<(String, AuthResource, BTreeSet<Permission>)>, QueryError> {
        let mut out = Vec::new();
        for role in self.all_roles().await? {
            let mut by_resource: Vec<_> = self.permissions(&role.name).await?.into_iter().collect();
            by_resource.sort_by(|a, b| a.0.cmp(&b.0));
            for (resource, set) in by_resource {
                out.push((role.name.clone(), resource, set));
            }
        }
        Ok(out)
    }
}
