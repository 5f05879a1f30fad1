//! Resources as Cassandra names them in `system_auth.role_permissions`:
//! `data`, `data/<ks>`, `data/<ks>/<table>`, `roles`, `roles/<role>`. A permission
//! on a resource covers everything under it, so a check walks up the chain.

use cql_protocol::cql::ast::{Permission, Resource};

/// A resource with its keyspace resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthResource {
    AllKeyspaces,
    Keyspace(String),
    Table(String, String),
    AllRoles,
    Role(String),
}

impl AuthResource {
    /// Resolves a parsed resource; a table without keyspace is in the session's.
    pub fn resolve(resource: &Resource, session_keyspace: Option<&str>) -> Result<AuthResource, String> {
        Ok(match resource {
            Resource::AllKeyspaces => AuthResource::AllKeyspaces,
            Resource::Keyspace(k) => AuthResource::Keyspace(k.clone()),
            Resource::Table(t) => {
                let ks = t.keyspace.as_deref().or(session_keyspace).ok_or_else(|| {
                    "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename".to_string()
                })?;
                AuthResource::Table(ks.to_string(), t.name.clone())
            }
            Resource::AllRoles => AuthResource::AllRoles,
            Resource::Role(r) => AuthResource::Role(r.clone()),
        })
    }

    /// The stored name, as Cassandra writes it.
    pub fn name(&self) -> String {
        match self {
            AuthResource::AllKeyspaces => "data".into(),
            AuthResource::Keyspace(k) => format!("data/{k}"),
            AuthResource::Table(k, t) => format!("data/{k}/{t}"),
            AuthResource::AllRoles => "roles".into(),
            AuthResource::Role(r) => format!("roles/{r}"),
        }
    }

    pub fn from_name(name: &str) -> Option<AuthResource> {
        let mut parts = name.splitn(3, '/');
        Some(match (parts.next()?, parts.next(), parts.next()) {
            ("data", None, None) => AuthResource::AllKeyspaces,
            ("data", Some(k), None) => AuthResource::Keyspace(k.into()),
            ("data", Some(k), Some(t)) => AuthResource::Table(k.into(), t.into()),
            ("roles", None, None) => AuthResource::AllRoles,
            ("roles", Some(r), None) => AuthResource::Role(r.into()),
            _ => return None,
        })
    }

    /// This resource and every one above it, nearest first.
    pub fn chain(&self) -> Vec<AuthResource> {
        match self {
            AuthResource::AllKeyspaces | AuthResource::AllRoles => vec![self.clone()],
            AuthResource::Keyspace(_) => vec![self.clone(), AuthResource::AllKeyspaces],
            AuthResource::Table(k, _) => vec![self.clone(), AuthResource::Keyspace(k.clone()), AuthResource::AllKeyspaces],
            AuthResource::Role(_) => vec![self.clone(), AuthResource::AllRoles],
        }
    }

    /// The permissions that mean something on this resource, as Cassandra's
    /// `applicablePermissions`: a table cannot be CREATEd in, a role is not SELECTed.
    pub fn applicable_permissions(&self) -> &'static [Permission] {
        use Permission::*;
        match self {
            AuthResource::AllKeyspaces | AuthResource::Keyspace(_) => &[Create, Alter, Drop, Select, Modify, Authorize],
            AuthResource::Table(_, _) => &[Alter, Drop, Select, Modify, Authorize],
            AuthResource::AllRoles => &[Create, Alter, Drop, Authorize, Describe],
            AuthResource::Role(_) => &[Alter, Drop, Authorize],
        }
    }

    /// What GRANT or REVOKE of `requested` on this resource changes: the
    /// applicable ones (so `ALL` is every applicable one). None of them applying
    /// is refused with Cassandra's message (a syntax error there).
    pub fn grantable(&self, requested: &[Permission]) -> Result<Vec<Permission>, String> {
        let applicable = self.applicable_permissions();
        let granted: Vec<Permission> = Permission::ALL
            .into_iter()
            .filter(|p| requested.contains(p) && applicable.contains(p))
            .collect();
        if granted.is_empty() {
            let kind = match self {
                AuthResource::AllRoles | AuthResource::Role(_) => "RoleResource",
                _ => "DataResource",
            };
            return Err(format!("Resource type {kind} does not support any of the requested permissions"));
        }
        Ok(granted)
    }

    /// How LIST PERMISSIONS shows it: `<all keyspaces>`, `<keyspace ks>`, `<table ks.t>`.
    pub fn display(&self) -> String {
        match self {
            AuthResource::AllKeyspaces => "<all keyspaces>".into(),
            AuthResource::Keyspace(k) => format!("<keyspace {k}>"),
            AuthResource::Table(k, t) => format!("<table {k}.{t}>"),
            AuthResource::AllRoles => "<all roles>".into(),
            AuthResource::Role(r) => format!("<role {r}>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_chains_climb_to_the_root() {
        for r in [
            AuthResource::AllKeyspaces,
            AuthResource::Keyspace("ks".into()),
            AuthResource::Table("ks".into(), "t".into()),
            AuthResource::AllRoles,
            AuthResource::Role("alice".into()),
        ] {
            assert_eq!(AuthResource::from_name(&r.name()), Some(r.clone()));
        }
        assert_eq!(
            AuthResource::from_name("data/ks/t").unwrap().chain().last(),
            Some(&AuthResource::AllKeyspaces)
        );
        assert_eq!(AuthResource::from_name("functions"), None);
    }

    #[test]
    fn a_table_without_keyspace_takes_the_sessions_or_is_refused() {
        let t = Resource::Table(cql_protocol::cql::ast::QualifiedName {
            keyspace: None,
            name: "t".into(),
        });
        assert_eq!(
            AuthResource::resolve(&t, Some("ks")),
            Ok(AuthResource::Table("ks".into(), "t".into()))
        );
        assert!(AuthResource::resolve(&t, None).is_err());
    }

    #[test]
    fn all_permissions_are_the_applicable_ones_and_an_inapplicable_one_is_refused() {
        let table = AuthResource::Table("ks".into(), "t".into());
        assert_eq!(
            table.grantable(&Permission::ALL),
            Ok(vec![
                Permission::Alter,
                Permission::Drop,
                Permission::Select,
                Permission::Modify,
                Permission::Authorize
            ])
        );
        assert_eq!(
            AuthResource::Role("r".into()).grantable(&Permission::ALL),
            Ok(vec![Permission::Alter, Permission::Drop, Permission::Authorize])
        );
        assert_eq!(
            AuthResource::AllRoles.grantable(&Permission::ALL),
            Ok(vec![
                Permission::Create,
                Permission::Alter,
                Permission::Drop,
                Permission::Authorize,
                Permission::Describe
            ])
        );
        assert_eq!(
            table.grantable(&[Permission::Create]),
            Err("Resource type DataResource does not support any of the requested permissions".to_string())
        );
        assert_eq!(
            AuthResource::Role("r".into()).grantable(&[Permission::Select]),
            Err("Resource type RoleResource does not support any of the requested permissions".to_string())
        );
    }
}
