//! Password hashes as Cassandra keeps them in `system_auth.roles.salted_hash`:
//! bcrypt (`$2a$<cost>$<salt><hash>`), salted and slow on purpose. A plain
//! password is never stored.

/// Cassandra's default work factor (`auth_bcrypt_gensalt_log2_rounds`).
pub const DEFAULT_COST: u32 = 10;

#[derive(Debug, thiserror::Error)]
#[error("cannot hash the password: {message}")]
pub struct HashError {
    message: String,
}

pub fn hash(password: &str, cost: u32) -> Result<String, HashError> {
    bcrypt::hash(password, cost).map_err(|e| HashError { message: e.to_string() })
}

/// Whether `password` matches `salted_hash`; a malformed hash matches nothing.
pub fn verify(password: &str, salted_hash: &str) -> bool {
    bcrypt::verify(password, salted_hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only_and_is_salted() {
        let a = hash("cassandra", 4).unwrap();
        let b = hash("cassandra", 4).unwrap();
        assert_ne!(a, b, "two hashes of one password differ by their salt");
        assert!(!a.contains("cassandra"));
        assert!(verify("cassandra", &a) && verify("cassandra", &b));
        assert!(!verify("Cassandra", &a));
        assert!(!verify("cassandra", "not a hash"));
    }
}
