//! Who a client is and what it may do: Cassandra's PasswordAuthenticator (SASL
//! PLAIN, bcrypt hashes in `system_auth.roles`) and CassandraAuthorizer
//! (permissions in `system_auth.role_permissions`), or AllowAll for both, the
//! default. Pure parts: `sasl`, `gate`, `resource`, `required`, `throttle`,
//! `password`; `store` reads and writes the auth tables through the coordinator;
//! `statements` runs the role and permission statements. Sockets and TLS are not
//! here.

pub mod gate;
pub mod password;
pub mod required;
pub mod resource;
pub mod sasl;
pub mod statements;
pub mod store;
pub mod throttle;

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cql_protocol::cql::ast::Permission;
use serde::Deserialize;

use self::required::Requirement;
use self::resource::AuthResource;
use crate::error::QueryError;

/// The class name drivers are told in AUTHENTICATE.
pub const PASSWORD_AUTHENTICATOR: &str = "org.apache.cassandra.auth.PasswordAuthenticator";
/// The superuser a new cluster gets when it needs logins, as in Cassandra.
pub const DEFAULT_SUPERUSER: &str = "cassandra";
/// How long a role or its permissions are trusted before being read again
/// (Cassandra's `roles_validity` / `permissions_validity`).
const VALIDITY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum AuthenticatorKind {
    #[default]
    #[serde(alias = "org.apache.cassandra.auth.AllowAllAuthenticator")]
    AllowAllAuthenticator,
    #[serde(alias = "org.apache.cassandra.auth.PasswordAuthenticator")]
    PasswordAuthenticator,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum AuthorizerKind {
    #[default]
    #[serde(alias = "org.apache.cassandra.auth.AllowAllAuthorizer")]
    AllowAllAuthorizer,
    #[serde(alias = "org.apache.cassandra.auth.CassandraAuthorizer")]
    CassandraAuthorizer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub authenticator: AuthenticatorKind,
    pub authorizer: AuthorizerKind,
    /// bcrypt work factor of new password hashes.
    pub password_hash_cost: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            authenticator: AuthenticatorKind::AllowAllAuthenticator,
            authorizer: AuthorizerKind::AllowAllAuthorizer,
            password_hash_cost: password::DEFAULT_COST,
        }
    }
}

/// A row of `system_auth.roles`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub can_login: bool,
    pub is_superuser: bool,
    pub salted_hash: Option<String>,
}

/// The role a connection logged in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatedUser {
    pub name: String,
}

type Cached<T> = Mutex<HashMap<String, (Instant, T)>>;

fn fresh<T: Clone>(cache: &Cached<T>, key: &str) -> Option<T> {
    match cache.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
        Some((at, value)) if at.elapsed() < VALIDITY => Some(value.clone()),
        _ => None,
    }
}

/// What `cache` holds for `key` if it is younger than `VALIDITY`, else `fetch`ed anew.
async fn cached<T: Clone>(
    cache: &Cached<T>,
    key: &str,
    fetch: impl std::future::Future<Output = Result<T, QueryError>>,
) -> Result<T, QueryError> {
    if let Some(value) = fresh(cache, key) {
        return Ok(value);
    }
    let value = fetch.await?;
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_string(), (Instant::now(), value.clone()));
    Ok(value)
}

/// The node's authenticator and authorizer, with short-lived caches of roles and
/// permissions (other nodes' changes are seen within `VALIDITY`).
#[derive(Debug)]
pub struct Auth {
    pub config: AuthConfig,
    pub store: store::RoleStore,
    /// This node's address: operator statements without a login are taken from it.
    node_address: std::net::IpAddr,
    roles: Cached<Option<Role>>,
    permissions: Cached<HashMap<AuthResource, BTreeSet<Permission>>>,
    throttle: Mutex<throttle::LoginThrottle>,
}

fn bad_credentials(user: &str) -> QueryError {
    QueryError::BadCredentials {
        message: format!("Provided username {user} and/or password are incorrect"),
    }
}

impl Auth {
    pub fn new(config: AuthConfig, store: store::RoleStore, node_address: std::net::IpAddr) -> Auth {
        Auth {
            config,
            store,
            node_address,
            roles: Cached::default(),
            permissions: Cached::default(),
            throttle: Mutex::default(),
        }
    }

    pub fn login_required(&self) -> bool {
        self.config.authenticator == AuthenticatorKind::PasswordAuthenticator
    }

    fn authorizes(&self) -> bool {
        self.config.authorizer == AuthorizerKind::CassandraAuthorizer
    }

    /// Forgets what was cached, after this node changed roles or permissions.
    pub fn invalidate(&self) {
        self.roles.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.permissions.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub async fn role(&self, name: &str) -> Result<Option<Role>, QueryError> {
        cached(&self.roles, name, self.store.role(name)).await
    }

    async fn permissions_of(&self, role: &str) -> Result<HashMap<AuthResource, BTreeSet<Permission>>, QueryError> {
        cached(&self.permissions, role, self.store.permissions(role)).await
    }

    /// Checks a SASL PLAIN token against `system_auth.roles`. Slow on purpose
    /// (bcrypt, run on the blocking pool), and as slow for a role that does not
    /// exist. The attempt is counted by the throttle before it is checked.
    pub async fn login(&self, peer: Option<std::net::IpAddr>, token: Option<&[u8]>) -> Result<AuthenticatedUser, QueryError> {
        let (user, password) = sasl::parse_plain(token).map_err(|e| QueryError::BadCredentials { message: e.to_string() })?;
        if let Some(ip) = peer {
            let reserved = self
                .throttle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reserve(ip, &user, Instant::now());
            if let Err(wait) = reserved {
                return Err(QueryError::BadCredentials {
                    message: format!(
                        "Too many failed login attempts for {user} from {ip}; try again in {} s",
                        wait.as_secs().max(1)
                    ),
                });
            }
        }
        // A client that hangs up mid-check leaves its attempt counted, as a failure.
        let result = self.check_password(&user, &password).await;
        if let Some(ip) = peer {
            let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
            match &result {
                Ok(_) => throttle.succeeded(ip, &user),
                Err(QueryError::BadCredentials { .. }) => {}
                Err(_) => throttle.release(ip, &user),
            }
        }
        result
    }

    async fn check_password(&self, user: &str, password: &str) -> Result<AuthenticatedUser, QueryError> {
        let role = self.store.role(user).await?;
        // Without a role or a hash, check against a dummy hash of the same cost
        // anyway, and fail with the words of a wrong password: neither the time
        // nor the answer tells which roles exist.
        let hash = match role.as_ref().and_then(|r| r.salted_hash.clone()) {
            Some(hash) => hash,
            None => password::dummy_hash(self.config.password_hash_cost),
        };
        let password = password.to_string();
        let verified = tokio::task::spawn_blocking(move || password::verify(&password, &hash))
            .await
            .map_err(|e| QueryError::Server {
                message: format!("the password check failed: {e}"),
            })?;
        let role = match role {
            Some(role) if verified && role.salted_hash.is_some() => role,
            _ => return Err(bad_credentials(user)),
        };
        if !role.can_login {
            return Err(QueryError::BadCredentials {
                message: format!("{user} is not permitted to log in"),
            });
        }
        Ok(AuthenticatedUser { name: user.to_string() })
    }

    pub async fn is_superuser(&self, user: &str) -> Result<bool, QueryError> {
        Ok(self.role(user).await?.is_some_and(|r| r.is_superuser))
    }

    /// Refuses the statement with Unauthorized when the logged-in role lacks what
    /// it needs. Without a login only operator statements are checked: they are
    /// taken from the node's own host only (`client` is the client's address).
    /// Permissions are checked only with the authorizer.
    pub async fn authorize(
        &self,
        user: Option<&AuthenticatedUser>,
        client: Option<std::net::IpAddr>,
        statement: &cql_protocol::cql::ast::Statement,
        session_ks: Option<&str>,
    ) -> Result<(), QueryError> {
        let Some(user) = user else {
            if let cql_protocol::cql::ast::Statement::NodeTool(_) = statement {
                required::operator_without_login(client, self.node_address).map_err(|message| QueryError::Unauthorized { message })?;
            }
            return Ok(());
        };
        let needed = required::required(statement, session_ks, &user.name)?;
        if needed.is_empty() || self.is_superuser(&user.name).await? {
            return Ok(());
        }
        let missing = |permission: Permission, resource: &AuthResource| QueryError::Unauthorized {
            message: format!(
                "User {} has no {} permission on {} or any of its parents",
                user.name,
                permission.name(),
                resource.display()
            ),
        };
        for requirement in needed {
            match requirement {
                Requirement::Superuser(message) => return Err(QueryError::Unauthorized { message: message.into() }),
                Requirement::Permission(_, _) | Requirement::SuperuserPermission(_, _) if !self.authorizes() => {}
                Requirement::SuperuserPermission(permission, resource) => return Err(missing(permission, &resource)),
                Requirement::Permission(permission, resource) => {
                    let granted = self.permissions_of(&user.name).await?;
                    let has = resource
                        .chain()
                        .iter()
                        .any(|r| granted.get(r).is_some_and(|set| set.contains(&permission)));
                    if !has {
                        return Err(missing(permission, &resource));
                    }
                }
            }
        }
        Ok(())
    }
}
