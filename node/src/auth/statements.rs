//! The role and permission statements: CREATE / ALTER / DROP ROLE, LIST ROLES,
//! GRANT / REVOKE, LIST PERMISSIONS, and the default superuser of a new cluster.
//! What a statement needs is checked before (see `required`); here it is done.

use cql_protocol::cql::ast::{GrantPermissions, ListPermissions, Permission, RoleOptions, Statement};
use cql_protocol::response::{ColumnSpec, ResultBody, Rows, RowsMetadata};
use cql_protocol::types::ColumnType;
use cql_protocol::value::Value;

use super::resource::AuthResource;
use super::{password, Auth, AuthenticatedUser, DEFAULT_SUPERUSER};
use crate::error::QueryError;
use crate::schema::Schema;

fn result(table: &str, columns: &[(&str, ColumnType)], rows: Vec<Vec<Value>>) -> ResultBody {
    let columns: Vec<ColumnSpec> = columns
        .iter()
        .map(|(name, ty)| ColumnSpec {
            keyspace: "system_auth".into(),
            table: table.into(),
            name: (*name).into(),
            ty: ty.clone(),
        })
        .collect();
    ResultBody::Rows(Rows {
        metadata: RowsMetadata {
            column_count: columns.len(),
            columns,
            paging_state: None,
            no_metadata: false,
        },
        rows: rows
            .into_iter()
            .map(|row| row.into_iter().map(|v| Some(v.to_bytes())).collect())
            .collect(),
    })
}

fn missing(name: &str) -> QueryError {
    QueryError::invalid(format!("{name} doesn't exist"))
}

fn hash(auth: &Auth, options: &RoleOptions) -> Result<Option<String>, QueryError> {
    options
        .password
        .as_deref()
        .map(|p| password::hash(p, auth.config.password_hash_cost))
        .transpose()
        .map_err(|e| QueryError::Server { message: e.to_string() })
}

/// Runs a role or permission statement for `user` (None without a login).
pub async fn execute(
    auth: &Auth,
    schema: &Schema,
    user: Option<&AuthenticatedUser>,
    session_ks: Option<&str>,
    statement: &Statement,
) -> Result<ResultBody, QueryError> {
    let result = match statement {
        Statement::CreateRole(r) => {
            if auth.role(&r.name).await?.is_some() {
                if r.if_not_exists {
                    return Ok(ResultBody::Void);
                }
                return Err(QueryError::invalid(format!("{} already exists", r.name)));
            }
            let salted = hash(auth, &r.options)?;
            auth.store
                .write_role(
                    &r.name,
                    Some(r.options.login.unwrap_or(false)),
                    Some(r.options.superuser.unwrap_or(false)),
                    salted.as_deref(),
                    None,
                )
                .await?;
            // The creator may manage what it created, as in Cassandra.
            if let Some(creator) = user {
                if !auth.is_superuser(&creator.name).await? {
                    let on = AuthResource::Role(r.name.clone());
                    auth.store
                        .change_permissions(
                            &creator.name,
                            &on,
                            &[Permission::Alter, Permission::Drop, Permission::Authorize],
                            true,
                        )
                        .await?;
                }
            }
            ResultBody::Void
        }
        Statement::AlterRole(r) => {
            if auth.role(&r.name).await?.is_none() {
                return Err(missing(&r.name));
            }
            let salted = hash(auth, &r.options)?;
            auth.store
                .write_role(&r.name, r.options.login, r.options.superuser, salted.as_deref(), None)
                .await?;
            ResultBody::Void
        }
        Statement::DropRole(r) => {
            if auth.role(&r.name).await?.is_none() {
                if r.if_exists {
                    return Ok(ResultBody::Void);
                }
                return Err(missing(&r.name));
            }
            if user.is_some_and(|u| u.name == r.name) {
                return Err(QueryError::invalid("Cannot DROP primary role for current login"));
            }
            auth.store.delete_role(&r.name).await?;
            ResultBody::Void
        }
        Statement::ListRoles(l) => list_roles(auth, user, l.of.as_deref(), l.users).await?,
        Statement::Grant(g) => change(auth, schema, session_ks, g, true).await?,
        Statement::Revoke(g) => change(auth, schema, session_ks, g, false).await?,
        Statement::ListPermissions(l) => list_permissions(auth, user, session_ks, l).await?,
        _ => {
            return Err(QueryError::Server {
                message: "not a role or permission statement".into(),
            })
        }
    };
    auth.invalidate();
    Ok(result)
}

async fn list_roles(auth: &Auth, user: Option<&AuthenticatedUser>, of: Option<&str>, users: bool) -> Result<ResultBody, QueryError> {
    let mut roles = auth.store.all_roles().await?;
    let sees_all = match user {
        None => true,
        Some(u) => auth.is_superuser(&u.name).await?,
    };
    if let Some(of) = of {
        if auth.role(of).await?.is_none() {
            return Err(missing(of));
        }
        roles.retain(|r| r.name == of);
    }
    if !sees_all {
        let me = user.map(|u| u.name.clone()).unwrap_or_default();
        roles.retain(|r| r.name == me);
    }
    if users {
        roles.retain(|r| r.can_login);
        let rows = roles
            .into_iter()
            .map(|r| vec![Value::Text(r.name), Value::Boolean(r.is_superuser)])
            .collect();
        return Ok(result(
            "users",
            &[("name", ColumnType::Varchar), ("super", ColumnType::Boolean)],
            rows,
        ));
    }
    let options_type = ColumnType::Map(Box::new(ColumnType::Varchar), Box::new(ColumnType::Varchar));
    let rows = roles
        .into_iter()
        .map(|r| {
            vec![
                Value::Text(r.name),
                Value::Boolean(r.is_superuser),
                Value::Boolean(r.can_login),
                Value::Map(Vec::new()),
            ]
        })
        .collect();
    Ok(result(
        "roles",
        &[
            ("role", ColumnType::Varchar),
            ("super", ColumnType::Boolean),
            ("login", ColumnType::Boolean),
            ("options", options_type),
        ],
        rows,
    ))
}

async fn check_resource_exists(auth: &Auth, schema: &Schema, resource: &AuthResource) -> Result<(), QueryError> {
    let exists = match resource {
        AuthResource::AllKeyspaces | AuthResource::AllRoles | AuthResource::Role(_) => true,
        AuthResource::Keyspace(k) => schema.keyspace(k).is_some(),
        AuthResource::Table(k, t) => schema.keyspace(k).is_some_and(|ks| ks.tables.contains_key(t)),
    };
    if let AuthResource::Role(r) = resource {
        if auth.role(r).await?.is_none() {
            return Err(missing(r));
        }
    }
    if exists {
        Ok(())
    } else {
        Err(QueryError::invalid(format!("Resource {} doesn't exist", resource.display())))
    }
}

async fn change(
    auth: &Auth,
    schema: &Schema,
    session_ks: Option<&str>,
    g: &GrantPermissions,
    grant: bool,
) -> Result<ResultBody, QueryError> {
    let resource = AuthResource::resolve(&g.resource, session_ks).map_err(QueryError::invalid)?;
    let permissions = resource
        .grantable(&g.permissions)
        .map_err(|message| QueryError::Syntax { message })?;
    check_resource_exists(auth, schema, &resource).await?;
    if auth.role(&g.role).await?.is_none() {
        return Err(missing(&g.role));
    }
    // REVOKE ALL also takes away what an older GRANT ALL stored beyond the
    // applicable permissions.
    let changed = if grant { &permissions[..] } else { &g.permissions[..] };
    auth.store.change_permissions(&g.role, &resource, changed, grant).await?;
    Ok(ResultBody::Void)
}

async fn list_permissions(
    auth: &Auth,
    user: Option<&AuthenticatedUser>,
    session_ks: Option<&str>,
    l: &ListPermissions,
) -> Result<ResultBody, QueryError> {
    let resource = l
        .resource
        .as_ref()
        .map(|r| AuthResource::resolve(r, session_ks))
        .transpose()
        .map_err(QueryError::invalid)?;
    let sees_all = match user {
        None => true,
        Some(u) => auth.is_superuser(&u.name).await?,
    };
    let mut rows = Vec::new();
    for (role, on, set) in auth.store.all_permissions().await? {
        if l.role.as_ref().is_some_and(|r| *r != role) || (!sees_all && user.is_some_and(|u| u.name != role)) {
            continue;
        }
        if resource.as_ref().is_some_and(|r| !r.chain().contains(&on)) {
            continue;
        }
        for p in set {
            if l.permission.is_some_and(|want| want != p) {
                continue;
            }
            rows.push(vec![
                Value::Text(role.clone()),
                Value::Text(role.clone()),
                Value::Text(on.display()),
                Value::Text(p.name().into()),
            ]);
        }
    }
    Ok(result(
        "role_permissions",
        &[
            ("role", ColumnType::Varchar),
            ("username", ColumnType::Varchar),
            ("resource", ColumnType::Varchar),
            ("permission", ColumnType::Varchar),
        ],
        rows,
    ))
}

/// Creates `cassandra`/`cassandra` when the cluster has no such role yet, written
/// at timestamp 0 so that every node may do it at once and any later change or
/// DROP ROLE (with a real timestamp) wins over it. Returns whether it wrote.
pub async fn ensure_default_superuser(auth: &Auth) -> Result<bool, QueryError> {
    if auth.store.role(DEFAULT_SUPERUSER).await?.is_some() {
        return Ok(false);
    }
    let salted =
        password::hash(DEFAULT_SUPERUSER, auth.config.password_hash_cost).map_err(|e| QueryError::Server { message: e.to_string() })?;
    auth.store
        .write_role(DEFAULT_SUPERUSER, Some(true), Some(true), Some(&salted), Some(0))
        .await?;
    auth.invalidate();
    Ok(true)
}

/// Keeps trying `ensure_default_superuser` (the replicas of `system_auth` may not
/// be known or up yet at start) until it is done or the node stops.
pub async fn default_superuser_task(auth: std::sync::Arc<Auth>, mut stop: crate::jobs::Stop) {
    // Give gossip a moment to find the ring first.
    let mut delay = std::time::Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = stop.stopped() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        match ensure_default_superuser(&auth).await {
            Ok(true) => {
                tracing::warn!(
                    "created the default superuser '{DEFAULT_SUPERUSER}' with password '{DEFAULT_SUPERUSER}': \
                     change it (ALTER ROLE {DEFAULT_SUPERUSER} WITH PASSWORD = '...') or create another superuser and drop it"
                );
                return;
            }
            Ok(false) => return,
            Err(e) => tracing::debug!(error = %e, "cannot set up the default superuser yet; retrying"),
        }
        delay = (delay * 2).min(std::time::Duration::from_secs(5));
    }
}
