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

/// Salt and digest of a fixed, well-formed bcrypt hash that no password is
/// expected to match.
const DUMMY_SALT_AND_DIGEST: &str = "N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy";

/// A well-formed hash of work factor `cost` to check a password against when the
/// role has none (it does not exist, or has no password): the check then costs
/// what a real one does, so the answer's timing does not tell which roles exist.
pub fn dummy_hash(cost: u32) -> String {
    format!("$2b${cost:02}${DUMMY_SALT_AND_DIGEST}")
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

    #[test]
    fn the_dummy_hash_is_checked_as_slowly_as_a_real_one_and_matches_nothing() {
        let cost = 8;
        let real: bcrypt::HashParts = hash("secret", cost).unwrap().parse().unwrap();
        let dummy = dummy_hash(cost);
        // Parsed and run (Ok), not refused as malformed at once (Err): bcrypt's
        // work is set by the cost alone, so the same cost takes the same time
        // (no wall clock here: tests never assert on it).
        assert_eq!(bcrypt::verify("secret", &dummy).ok(), Some(false), "{dummy}");
        let parsed: bcrypt::HashParts = dummy.parse().unwrap();
        assert_eq!(parsed.get_cost(), real.get_cost());
        assert!(!verify("", &dummy));
    }
}
