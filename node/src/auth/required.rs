//! What a statement needs from the authorizer (CassandraAuthorizer's rules): a
//! permission on a resource, or being a superuser; and, without any login, from
//! where an operator statement is taken. Pure: the store answers whether a role
//! has a permission.

use std::net::IpAddr;

use cql_protocol::cql::ast::{BatchStatement, Permission, QualifiedName, RoleOptions, Statement};

use super::resource::AuthResource;
use crate::error::QueryError;
use crate::query::keyspace_of;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Permission(Permission, AuthResource),
    /// Only a superuser may do this; the text says what.
    Superuser(&'static str),
    /// A permission no GRANT gives: only superusers hold it (the internal
    /// tables). Refused with the same words as a missing permission.
    SuperuserPermission(Permission, AuthResource),
}

/// Keyspaces every logged-in role may read: what drivers read on connect.
const READABLE_BY_ALL: [&str; 3] = ["system", "system_schema", "system_virtual_schema"];

/// Tables of the `system` keyspace that hold other tables' data (hinted
/// mutations, Paxos proposals and commits): readable by superusers only, even
/// by a role granted SELECT on all keyspaces, since they would show rows of
/// tables it may not read.
pub const INTERNAL_TABLES: [&str; 2] = ["hints", "paxos"];

/// Why an operator (`NODETOOL`) statement is refused to any other role.
const OPERATOR_ONLY: &str = "Only superusers can run NODETOOL statements";

fn table(session_ks: Option<&str>, name: &QualifiedName) -> Result<AuthResource, QueryError> {
    Ok(AuthResource::Table(keyspace_of(session_ks, name)?, name.name.clone()))
}

fn keyspace(session_ks: Option<&str>, name: &QualifiedName) -> Result<AuthResource, QueryError> {
    Ok(AuthResource::Keyspace(keyspace_of(session_ks, name)?))
}

fn role_options(options: &RoleOptions, out: &mut Vec<Requirement>) {
    if options.superuser.is_some() {
        out.push(Requirement::Superuser(
            "Only superusers can create a role with superuser status or change it",
        ));
    }
}

/// MODIFY on the table; a conditional write reads it too, so SELECT as well
/// (as Cassandra asks).
fn modify(resource: AuthResource, conditional: bool) -> Result<Vec<Requirement>, QueryError> {
    let mut out = vec![Requirement::Permission(Permission::Modify, resource.clone())];
    if conditional {
        out.push(Requirement::Permission(Permission::Select, resource));
    }
    Ok(out)
}

/// What `user` needs to run `statement` in a session on keyspace `session_ks`.
pub fn required(statement: &Statement, session_ks: Option<&str>, user: &str) -> Result<Vec<Requirement>, QueryError> {
    use Permission::*;
    let p = |permission, resource| Ok(vec![Requirement::Permission(permission, resource)]);
    match statement {
        Statement::Use(_) | Statement::Describe(_) | Statement::ListRoles(_) => Ok(Vec::new()),
        Statement::NodeTool(_) => Ok(vec![Requirement::Superuser(OPERATOR_ONLY)]),
        Statement::Select(s) => {
            let resource = table(session_ks, &s.table)?;
            match &resource {
                AuthResource::Table(k, t) if k == "system" && INTERNAL_TABLES.contains(&t.as_str()) => {
                    Ok(vec![Requirement::SuperuserPermission(Select, resource)])
                }
                AuthResource::Table(k, _) if READABLE_BY_ALL.contains(&k.as_str()) => Ok(Vec::new()),
                _ => p(Select, resource),
            }
        }
        Statement::Insert(s) => modify(table(session_ks, &s.table)?, s.if_not_exists),
        Statement::Update(s) => modify(table(session_ks, &s.table)?, s.if_exists || !s.conditions.is_empty()),
        Statement::Delete(s) => modify(table(session_ks, &s.table)?, s.if_exists || !s.conditions.is_empty()),
        Statement::Truncate(s) => p(Modify, table(session_ks, &s.name)?),
        Statement::Batch(b) => {
            let mut out = Vec::new();
            for s in &b.statements {
                let conditional = match s {
                    BatchStatement::Insert(i) => i.if_not_exists,
                    BatchStatement::Update(u) => u.if_exists || !u.conditions.is_empty(),
                    BatchStatement::Delete(d) => d.if_exists || !d.conditions.is_empty(),
                };
                out.extend(modify(table(session_ks, s.table())?, conditional)?);
            }
            Ok(out)
        }
        Statement::CreateKeyspace(_) => p(Create, AuthResource::AllKeyspaces),
        Statement::AlterKeyspace(k) => p(Alter, AuthResource::Keyspace(k.name.clone())),
        Statement::DropKeyspace(k) => p(Drop, AuthResource::Keyspace(k.name.clone())),
        Statement::CreateTable(t) => p(Create, keyspace(session_ks, &t.name)?),
        Statement::AlterTable(t) => p(Alter, table(session_ks, &t.name)?),
        Statement::DropTable(t) => p(Drop, table(session_ks, &t.name)?),
        Statement::CreateType(t) => p(Create, keyspace(session_ks, &t.name)?),
        Statement::DropType(t) => p(Drop, keyspace(session_ks, &t.name)?),
        Statement::CreateIndex(i) => p(Alter, table(session_ks, &i.table)?),
        Statement::DropIndex(i) => p(Alter, keyspace(session_ks, &i.name)?),
        Statement::CreateRole(r) => {
            let mut out = vec![Requirement::Permission(Create, AuthResource::AllRoles)];
            role_options(&r.options, &mut out);
            Ok(out)
        }
        Statement::AlterRole(r) => {
            let own_password = r.name == user && r.options.login.is_none() && r.options.superuser.is_none();
            let mut out = Vec::new();
            if !own_password {
                out.push(Requirement::Permission(Alter, AuthResource::Role(r.name.clone())));
            }
            role_options(&r.options, &mut out);
            Ok(out)
        }
        Statement::DropRole(r) => p(Drop, AuthResource::Role(r.name.clone())),
        // AUTHORIZE on the resource, and every permission given or taken away:
        // a role cannot hand out (or strip) more than it holds.
        Statement::Grant(g) | Statement::Revoke(g) => {
            let resource = AuthResource::resolve(&g.resource, session_ks).map_err(QueryError::invalid)?;
            let changed = resource
                .grantable(&g.permissions)
                .map_err(|message| QueryError::Syntax { message })?;
            let mut out = vec![Requirement::Permission(Authorize, resource.clone())];
            out.extend(changed.into_iter().map(|p| Requirement::Permission(p, resource.clone())));
            Ok(out)
        }
        Statement::ListPermissions(l) => match &l.role {
            Some(role) if role != user => Ok(vec![Requirement::Superuser(
                "You are not authorized to view other roles' permissions",
            )]),
            _ => Ok(Vec::new()),
        },
    }
}

/// Without a login (AllowAllAuthenticator) no client can be a superuser, so an
/// operator statement is taken only from the node's own host: a loopback
/// address or `node`'s own. The error is the Unauthorized message.
pub fn operator_without_login(client: Option<IpAddr>, node: IpAddr) -> Result<(), String> {
    match client.map(|ip| ip.to_canonical()) {
        Some(ip) if ip.is_loopback() || ip == node.to_canonical() => Ok(()),
        Some(ip) => Err(format!(
            "{OPERATOR_ONLY}; without authentication (AllowAllAuthenticator) they are taken only from \
             this node's own address or a loopback address, not from {ip}"
        )),
        None => Err(format!(
            "{OPERATOR_ONLY}; without authentication (AllowAllAuthenticator) they are taken only from \
             this node's own address or a loopback address, and this client's address is unknown"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cql_protocol::cql::parse_statement;

    fn needs(text: &str, user: &str) -> Vec<Requirement> {
        required(&parse_statement(text).unwrap(), Some("ks"), user).unwrap()
    }

    fn perm(p: Permission, r: AuthResource) -> Vec<Requirement> {
        vec![Requirement::Permission(p, r)]
    }

    fn t(k: &str, n: &str) -> AuthResource {
        AuthResource::Table(k.into(), n.into())
    }

    #[test]
    fn reads_need_select_and_writes_need_modify_on_the_table() {
        assert_eq!(needs("SELECT * FROM t", "a"), perm(Permission::Select, t("ks", "t")));
        assert_eq!(
            needs("INSERT INTO other.t (k) VALUES (1)", "a"),
            perm(Permission::Modify, t("other", "t"))
        );
        assert_eq!(needs("UPDATE t SET v = 1 WHERE k = 1", "a"), perm(Permission::Modify, t("ks", "t")));
        assert_eq!(needs("DELETE FROM t WHERE k = 1", "a"), perm(Permission::Modify, t("ks", "t")));
        let both = [perm(Permission::Modify, t("ks", "t")), perm(Permission::Select, t("ks", "t"))].concat();
        assert_eq!(
            needs("UPDATE t SET v = 1 WHERE k = 1 IF v = 0", "a"),
            both,
            "a conditional write reads too"
        );
        assert_eq!(needs("INSERT INTO t (k) VALUES (1) IF NOT EXISTS", "a"), both);
        assert_eq!(needs("TRUNCATE t", "a"), perm(Permission::Modify, t("ks", "t")));
        assert_eq!(
            needs(
                "BEGIN BATCH INSERT INTO t (k) VALUES (1); DELETE FROM u WHERE k = 1; APPLY BATCH",
                "a"
            ),
            [perm(Permission::Modify, t("ks", "t")), perm(Permission::Modify, t("ks", "u"))].concat()
        );
    }

    #[test]
    fn the_tables_drivers_read_on_connect_need_nothing_but_system_auth_does() {
        assert_eq!(needs("SELECT * FROM system.local", "a"), Vec::new());
        assert_eq!(needs("SELECT * FROM system_schema.tables", "a"), Vec::new());
        assert_eq!(
            needs("SELECT * FROM system_auth.roles", "a"),
            perm(Permission::Select, t("system_auth", "roles"))
        );
    }

    #[test]
    fn ddl_needs_create_alter_or_drop_on_the_parent_or_the_object() {
        assert_eq!(
            needs(
                "CREATE KEYSPACE k2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
                "a"
            ),
            perm(Permission::Create, AuthResource::AllKeyspaces)
        );
        assert_eq!(
            needs("CREATE TABLE t2 (k int PRIMARY KEY)", "a"),
            perm(Permission::Create, AuthResource::Keyspace("ks".into()))
        );
        assert_eq!(needs("ALTER TABLE t ADD v int", "a"), perm(Permission::Alter, t("ks", "t")));
        assert_eq!(
            needs("DROP KEYSPACE ks", "a"),
            perm(Permission::Drop, AuthResource::Keyspace("ks".into()))
        );
    }

    #[test]
    fn a_role_may_change_its_own_password_but_not_its_superuser_status() {
        assert_eq!(needs("ALTER ROLE a WITH PASSWORD = 'x'", "a"), Vec::new());
        assert_eq!(
            needs("ALTER ROLE b WITH PASSWORD = 'x'", "a"),
            perm(Permission::Alter, AuthResource::Role("b".into()))
        );
        assert!(needs("ALTER ROLE a WITH SUPERUSER = true", "a")
            .iter()
            .any(|r| matches!(r, Requirement::Superuser(_))));
        assert!(needs("CREATE ROLE b WITH SUPERUSER = true", "a").contains(&Requirement::Superuser(
            "Only superusers can create a role with superuser status or change it"
        )));
    }

    #[test]
    fn the_internal_tables_need_a_superuser_even_with_select_on_all_keyspaces() {
        for name in INTERNAL_TABLES {
            assert_eq!(
                needs(&format!("SELECT * FROM system.{name}"), "a"),
                vec![Requirement::SuperuserPermission(Permission::Select, t("system", name))]
            );
        }
        assert_eq!(needs("SELECT * FROM system.peers_v2", "a"), Vec::new());
        assert_eq!(
            needs("SELECT * FROM ks.hints", "a"),
            perm(Permission::Select, t("ks", "hints")),
            "a user table of the same name is an ordinary table"
        );
    }

    #[test]
    fn granting_or_revoking_needs_authorize_and_the_permissions_themselves() {
        let ks = AuthResource::Keyspace("ks".into());
        let authorize_and_modify = [perm(Permission::Authorize, ks.clone()), perm(Permission::Modify, ks.clone())].concat();
        assert_eq!(needs("GRANT MODIFY ON KEYSPACE ks TO b", "a"), authorize_and_modify);
        assert_eq!(needs("REVOKE MODIFY ON KEYSPACE ks FROM b", "a"), authorize_and_modify);
        let role = AuthResource::Role("r".into());
        assert_eq!(
            needs("GRANT ALL ON ROLE r TO b", "a"),
            [
                perm(Permission::Authorize, role.clone()),
                perm(Permission::Alter, role.clone()),
                perm(Permission::Drop, role.clone()),
                perm(Permission::Authorize, role.clone()),
            ]
            .concat(),
            "ALL is the permissions that apply to the resource"
        );
        let refused = required(&parse_statement("GRANT CREATE ON TABLE t TO b").unwrap(), Some("ks"), "a");
        assert_eq!(
            refused,
            Err(QueryError::Syntax {
                message: "Resource type DataResource does not support any of the requested permissions".into()
            })
        );
        assert_eq!(needs("LIST ALL PERMISSIONS OF a", "a"), Vec::new());
        assert_eq!(needs("LIST ALL PERMISSIONS OF b", "a").len(), 1);
    }

    #[test]
    fn without_a_login_nodetool_is_taken_from_loopback_or_the_nodes_own_address_only() {
        let node: IpAddr = "10.0.0.1".parse().unwrap();
        for ok in ["127.0.0.1", "127.0.3.4", "::1", "::ffff:127.0.0.1", "10.0.0.1", "::ffff:10.0.0.1"] {
            assert_eq!(operator_without_login(Some(ok.parse().unwrap()), node), Ok(()), "{ok}");
        }
        let refused = operator_without_login(Some("10.0.0.2".parse().unwrap()), node).unwrap_err();
        assert!(
            refused.starts_with("Only superusers can run NODETOOL statements; without authentication")
                && refused.ends_with("not from 10.0.0.2"),
            "{refused}"
        );
        assert!(operator_without_login(None, node).is_err(), "an unknown client is refused");
        assert!(operator_without_login(Some("192.168.1.1".parse().unwrap()), node).is_err());
    }
}
