//! Reads and writes of `system_auth.roles` and `system_auth.role_permissions`,
//! as CQL run by the executor on behalf of the node itself. `system_auth` is
//! replicated by its own replication settings, so any node sees the same roles.

use std::collections::{BTreeSet, HashMap};

use cql_protocol::cql::ast::Permission;
use cql_protocol::response::{ResultBody, Rows};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;
use cql_protocol::wire::Consistency;

use super::resource::AuthResource;
use super::{Role, DEFAULT_SUPERUSER};
use crate::error::QueryError;
use crate::query::Executor;

/// A CQL string literal.
pub fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The default superuser is read at QUORUM, every other role at ONE, as Cassandra does.
fn consistency_for(role: &str) -> Consistency {
    if role == DEFAULT_SUPERUSER {
        Consistency::Quorum
    } else {
        Consistency::One
    }
}

fn rows(body: ResultBody) -> Result<Rows, QueryError> {
    match body {
        ResultBody::Rows(rows) => Ok(rows),
        other => Err(QueryError::Server {
            message: format!("an auth table read returned {other:?}"),
        }),
    }
}

fn cell(row: &[Option<Vec<u8>>], i: usize, ty: &ColumnType) -> Result<Option<Value>, QueryError> {
    match row.get(i).cloned().flatten() {
        None => Ok(None),
        Some(bytes) => Value::deserialize(ty, &bytes).map(Some).map_err(|e| QueryError::Server {
            message: format!("an auth table holds a bad value: {e}"),
        }),
    }
}

fn text(row: &[Option<Vec<u8>>], i: usize) -> Result<Option<String>, QueryError> {
    Ok(match cell(row, i, &ColumnType::Varchar)? {
        Some(Value::Text(s)) => Some(s),
        _ => None,
    })
}

fn boolean(row: &[Option<Vec<u8>>], i: usize) -> Result<bool, QueryError> {
    Ok(matches!(cell(row, i, &ColumnType::Boolean)?, Some(Value::Boolean(true))))
}

const ROLE_COLUMNS: &str = "role, can_login, is_superuser, salted_hash";

fn role_of(row: &[Option<Vec<u8>>]) -> Result<Option<Role>, QueryError> {
    let Some(name) = text(row, 0)? else { return Ok(None) };
    Ok(Some(Role {
        name,
        can_login: boolean(row, 1)?,
        is_superuser: boolean(row, 2)?,
        salted_hash: text(row, 3)?,
    }))
}

pub async fn role(executor: &Executor, name: &str) -> Result<Option<Role>, QueryError> {
    let query = format!("SELECT {ROLE_COLUMNS} FROM system_auth.roles WHERE role = {}", quote(name));
    let rows = rows(executor.execute_internal(&query, consistency_for(name), None).await?)?;
    match rows.rows.first() {
        Some(row) => role_of(row),
        None => Ok(None),
    }
}

pub async fn all_roles(executor: &Executor) -> Result<Vec<Role>, QueryError> {
    let query = format!("SELECT {ROLE_COLUMNS} FROM system_auth.roles");
    let rows = rows(executor.execute_internal(&query, Consistency::One, None).await?)?;
    let mut roles = Vec::new();
    for row in &rows.rows {
        roles.extend(role_of(row)?);
    }
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(roles)
}

/// Writes the given columns of a role; `timestamp` as in `USING TIMESTAMP`.
pub async fn write_role(
    executor: &Executor,
    name: &str,
    can_login: Option<bool>,
    is_superuser: Option<bool>,
    salted_hash: Option<&str>,
    timestamp: Option<i64>,
) -> Result<(), QueryError> {
    let mut columns = vec!["role".to_string()];
    let mut values = vec![quote(name)];
    if let Some(l) = can_login {
        columns.push("can_login".into());
        values.push(l.to_string());
    }
    if let Some(s) = is_superuser {
        columns.push("is_superuser".into());
        values.push(s.to_string());
    }
    if let Some(h) = salted_hash {
        columns.push("salted_hash".into());
        values.push(quote(h));
    }
    let using = timestamp.map(|t| format!(" USING TIMESTAMP {t}")).unwrap_or_default();
    let query = format!(
        "INSERT INTO system_auth.roles ({}) VALUES ({}){using}",
        columns.join(", "),
        values.join(", ")
    );
    executor.execute_internal(&query, consistency_for(name), None).await?;
    Ok(())
}

pub async fn delete_role(executor: &Executor, name: &str) -> Result<(), QueryError> {
    executor
        .execute_internal(
            &format!("DELETE FROM system_auth.roles WHERE role = {}", quote(name)),
            consistency_for(name),
            None,
        )
        .await?;
    executor
        .execute_internal(
            &format!("DELETE FROM system_auth.role_permissions WHERE role = {}", quote(name)),
            Consistency::One,
            None,
        )
        .await?;
    Ok(())
}

/// Every permission granted to `role`, by resource.
pub async fn permissions(executor: &Executor, role: &str) -> Result<HashMap<AuthResource, BTreeSet<Permission>>, QueryError> {
    let query = format!(
        "SELECT resource, permissions FROM system_auth.role_permissions WHERE role = {}",
        quote(role)
    );
    let rows = rows(executor.execute_internal(&query, Consistency::One, None).await?)?;
    let mut out: HashMap<AuthResource, BTreeSet<Permission>> = HashMap::new();
    for row in &rows.rows {
        let Some(resource) = text(row, 0)?.and_then(|r| AuthResource::from_name(&r)) else {
            continue;
        };
        let set = match cell(row, 1, &ColumnType::Set(Box::new(ColumnType::Varchar)))? {
            Some(Value::Set(items)) => items,
            _ => Vec::new(),
        };
        let entry = out.entry(resource).or_default();
        for item in set {
            if let Value::Text(name) = item {
                entry.extend(Permission::from_name(&name));
            }
        }
    }
    Ok(out)
}

/// Adds (`grant`) or removes permissions of `role` on `resource`.
pub async fn change_permissions(
    executor: &Executor,
    role: &str,
    resource: &AuthResource,
    permissions: &[Permission],
    grant: bool,
) -> Result<(), QueryError> {
    let names: Vec<String> = permissions.iter().map(|p| quote(p.name())).collect();
    let op = if grant { '+' } else { '-' };
    let query = format!(
        "UPDATE system_auth.role_permissions SET permissions = permissions {op} {{{}}} WHERE role = {} AND resource = {}",
        names.join(", "),
        quote(role),
        quote(&resource.name())
    );
    executor.execute_internal(&query, Consistency::One, None).await?;
    Ok(())
}

/// Every (role, resource, permissions) row, for LIST PERMISSIONS.
pub async fn all_permissions(executor: &Executor) -> Result<Vec<(String, AuthResource, BTreeSet<Permission>)>, QueryError> {
    let mut out = Vec::new();
    for role in all_roles(executor).await? {
        let mut by_resource: Vec<_> = permissions(executor, &role.name).await?.into_iter().collect();
        by_resource.sort_by(|a, b| a.0.cmp(&b.0));
        for (resource, set) in by_resource {
            out.push((role.name.clone(), resource, set));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_escape_their_quotes() {
        assert_eq!(quote("o'neil"), "'o''neil'");
        assert_eq!(quote(""), "''");
    }
}
