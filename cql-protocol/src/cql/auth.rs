//! The statements of roles and permissions (CREATE / ALTER / DROP ROLE, LIST ROLES,
//! GRANT / REVOKE / LIST PERMISSIONS, and the legacy USER forms), and how each
//! prints back as CQL. Parsing lives in `parser::auth`; what they do is the
//! server's business.

use std::fmt::{self, Display, Formatter};

use super::ast::QualifiedName;

/// `WITH PASSWORD = '..' AND LOGIN = true AND SUPERUSER = false`; an option not
/// given is `None` (CREATE takes Cassandra's defaults, ALTER keeps the old value).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoleOptions {
    pub password: Option<String>,
    pub login: Option<bool>,
    pub superuser: Option<bool>,
}

impl RoleOptions {
    pub fn is_empty(&self) -> bool {
        self.password.is_none() && self.login.is_none() && self.superuser.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateRole {
    pub name: String,
    pub if_not_exists: bool,
    pub options: RoleOptions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlterRole {
    pub name: String,
    pub options: RoleOptions,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropRole {
    pub name: String,
    pub if_exists: bool,
}

/// `LIST ROLES [OF role]`, `LIST USERS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRoles {
    pub of: Option<String>,
    /// `LIST USERS`: the legacy form, with its own columns.
    pub users: bool,
}

/// What a permission is granted on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Resource {
    AllKeyspaces,
    Keyspace(String),
    /// A table; the keyspace is the session's when not written.
    Table(QualifiedName),
    AllRoles,
    Role(String),
}

/// The permissions of Cassandra's authorizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    Create,
    Alter,
    Drop,
    Select,
    Modify,
    Authorize,
    Describe,
    Execute,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::Create,
        Permission::Alter,
        Permission::Drop,
        Permission::Select,
        Permission::Modify,
        Permission::Authorize,
        Permission::Describe,
        Permission::Execute,
    ];

    /// The upper-case name Cassandra stores and prints.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Create => "CREATE",
            Permission::Alter => "ALTER",
            Permission::Drop => "DROP",
            Permission::Select => "SELECT",
            Permission::Modify => "MODIFY",
            Permission::Authorize => "AUTHORIZE",
            Permission::Describe => "DESCRIBE",
            Permission::Execute => "EXECUTE",
        }
    }

    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

/// `GRANT p ON r TO role` / `REVOKE p ON r FROM role`; `permissions` holds every
/// permission for `ALL [PERMISSIONS]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPermissions {
    pub permissions: Vec<Permission>,
    pub resource: Resource,
    pub role: String,
}

/// `LIST ALL|p [ON r] [OF role] [NORECURSIVE]`; `permission` is `None` for ALL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPermissions {
    pub permission: Option<Permission>,
    pub resource: Option<Resource>,
    pub role: Option<String>,
}

struct RoleName<'a>(&'a str);

impl Display for RoleName<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&super::quote_identifier(self.0))
    }
}

impl Display for RoleOptions {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(p) = &self.password {
            parts.push(format!("PASSWORD = '{}'", p.replace('\'', "''")));
        }
        if let Some(l) = self.login {
            parts.push(format!("LOGIN = {l}"));
        }
        if let Some(s) = self.superuser {
            parts.push(format!("SUPERUSER = {s}"));
        }
        if parts.is_empty() {
            return Ok(());
        }
        write!(f, " WITH {}", parts.join(" AND "))
    }
}

impl Display for CreateRole {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ROLE ")?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        write!(f, "{}{}", RoleName(&self.name), self.options)
    }
}

impl Display for AlterRole {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "ALTER ROLE {}{}", RoleName(&self.name), self.options)
    }
}

impl Display for DropRole {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("DROP ROLE ")?;
        if self.if_exists {
            f.write_str("IF EXISTS ")?;
        }
        RoleName(&self.name).fmt(f)
    }
}

impl Display for ListRoles {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.users {
            return f.write_str("LIST USERS");
        }
        f.write_str("LIST ROLES")?;
        match &self.of {
            Some(role) => write!(f, " OF {}", RoleName(role)),
            None => Ok(()),
        }
    }
}

impl Display for Resource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Resource::AllKeyspaces => f.write_str("ALL KEYSPACES"),
            Resource::Keyspace(k) => write!(f, "KEYSPACE {}", super::quote_identifier(k)),
            Resource::Table(t) => write!(f, "TABLE {t}"),
            Resource::AllRoles => f.write_str("ALL ROLES"),
            Resource::Role(r) => write!(f, "ROLE {}", RoleName(r)),
        }
    }
}

fn write_permissions(f: &mut Formatter<'_>, permissions: &[Permission]) -> fmt::Result {
    if permissions.len() == Permission::ALL.len() {
        return f.write_str("ALL PERMISSIONS");
    }
    let names: Vec<&str> = permissions.iter().map(|p| p.name()).collect();
    f.write_str(&names.join(", "))
}

/// Prints as GRANT; `Revoke` wraps the same fields.
impl Display for GrantPermissions {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("GRANT ")?;
        write_permissions(f, &self.permissions)?;
        write!(f, " ON {} TO {}", self.resource, RoleName(&self.role))
    }
}

/// A REVOKE, for printing.
pub struct Revoke<'a>(pub &'a GrantPermissions);

impl Display for Revoke<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("REVOKE ")?;
        write_permissions(f, &self.0.permissions)?;
        write!(f, " ON {} FROM {}", self.0.resource, RoleName(&self.0.role))
    }
}

impl Display for ListPermissions {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.permission {
            Some(p) => write!(f, "LIST {}", p.name())?,
            None => f.write_str("LIST ALL PERMISSIONS")?,
        }
        if let Some(r) = &self.resource {
            write!(f, " ON {r}")?;
        }
        if let Some(role) = &self.role {
            write!(f, " OF {}", RoleName(role))?;
        }
        Ok(())
    }
}
