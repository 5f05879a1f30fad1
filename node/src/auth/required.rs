//! What a statement needs from the authorizer (CassandraAuthorizer's rules): a
//! permission on a resource, or being a superuser. Pure: the store answers
//! whether a role has it.

use cql_protocol::cql::ast::{BatchStatement, Permission, QualifiedName, RoleOptions, Statement};

use super::resource::AuthResource;
use crate::error::QueryError;
use crate::query::keyspace_of;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Permission(Permission, AuthResource),
    /// Only a superuser may do this; the text says what.
    Superuser(&'static str),
}

/// Keyspaces every logged-in role may read: what drivers read on connect.
const READABLE_BY_ALL: [&str; 3] = ["system", "system_schema", "system_virtual_schema"];

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
        Statement::NodeTool(_) => Ok(vec![Requirement::Superuser(
            "Only superusers can decommission, remove or clean up nodes",
        )]),
        Statement::Select(s) => {
            let resource = table(session_ks, &s.table)?;
            match &resource {
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
        Statement::Grant(g) | Statement::Revoke(g) => {
            let resource = AuthResource::resolve(&g.resource, session_ks).map_err(QueryError::invalid)?;
            p(Authorize, resource)
        }
        Statement::ListPermissions(l) => match &l.role {
            Some(role) if role != user => Ok(vec![Requirement::Superuser(
                "You are not authorized to view other roles' permissions",
            )]),
            _ => Ok(Vec::new()),
        },
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
    fn granting_needs_authorize_on_the_resource() {
        assert_eq!(
            needs("GRANT MODIFY ON KEYSPACE ks TO b", "a"),
            perm(Permission::Authorize, AuthResource::Keyspace("ks".into()))
        );
        assert_eq!(needs("LIST ALL PERMISSIONS OF a", "a"), Vec::new());
        assert_eq!(needs("LIST ALL PERMISSIONS OF b", "a").len(), 1);
    }
}
