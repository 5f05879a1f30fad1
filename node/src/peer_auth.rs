//! How nodes prove to each other that they belong to one cluster, on the
//! internode port (7000) and the gossip port (9044), TLS or not (see
//! `docs/security.md`):
//!
//! - **The cluster secret** (`cluster_secret` / `cluster_secret_file`): an
//!   HMAC-SHA256 key every node of the cluster shares. An internode connection
//!   opens with a challenge–response (each side signs both hellos, each hello
//!   carrying a fresh nonce) and every gossip frame carries a MAC.
//! - **Mutual TLS** (`[internode_encryption]`): the peer's certificate must be a
//!   node certificate (one that may also serve, `serverAuth`, which the client
//!   certificates `rustica certs` makes do not carry) and must name the address
//!   the peer claims, as an IP address or as a host name that resolves to it.
//!
//! Pure: keys, tags and certificate names. Sockets are the callers'.

use std::net::IpAddr;
use std::sync::Arc;

use ::ring::hmac;

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// A tag's length (HMAC-SHA256).
pub const TAG_LEN: usize = 32;

/// The nonce each internode hello carries.
pub const NONCE_LEN: usize = 32;

/// What a tag is for: a tag made for one purpose never verifies for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The connecting side's proof in an internode handshake.
    Dial,
    /// The accepting side's proof in an internode handshake.
    Accept,
    /// A gossip-port frame.
    Gossip,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Dial => b"rustica internode dial v1",
            Purpose::Accept => b"rustica internode accept v1",
            Purpose::Gossip => b"rustica gossip frame v1",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("the cluster secret is {length} bytes long; it must be at least {MIN_SECRET_BYTES} (e.g. `head -c 32 /dev/urandom | base64`)")]
    TooShort { length: usize },
}

/// The key every member of the cluster holds.
pub struct ClusterSecret {
    key: hmac::Key,
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClusterSecret(..)")
    }
}

impl ClusterSecret {
    /// A secret from its text (surrounding whitespace is not part of it, so a
    /// file may end with a newline).
    pub fn new(text: &str) -> Result<ClusterSecret, SecretError> {
        let text = text.trim();
        if text.len() < MIN_SECRET_BYTES {
            return Err(SecretError::TooShort { length: text.len() });
        }
        Ok(ClusterSecret {
            key: hmac::Key::new(hmac::HMAC_SHA256, text.as_bytes()),
        })
    }

    /// The tag of `parts` for `purpose`.
    pub fn tag(&self, purpose: Purpose, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut out = [0; TAG_LEN];
        out.copy_from_slice(hmac::sign(&self.key, &signed_bytes(purpose, parts)).as_ref());
        out
    }

    /// Whether `tag` is the tag of `parts` for `purpose` (in constant time).
    pub fn verify(&self, purpose: Purpose, parts: &[&[u8]], tag: &[u8]) -> bool {
        hmac::verify(&self.key, &signed_bytes(purpose, parts), tag).is_ok()
    }
}

/// What a tag signs: the purpose's label, then each part, every one
/// length-prefixed, so no two different lists of parts sign the same bytes.
fn signed_bytes(purpose: Purpose, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + parts.iter().map(|p| p.len() + 8).sum::<usize>());
    for part in std::iter::once(purpose.label()).chain(parts.iter().copied()) {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// What this node shows its peers and asks of them, besides TLS: the cluster
/// name and, when there is one, the secret. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PeerAuth {
    pub cluster_name: String,
    pub secret: Option<Arc<ClusterSecret>>,
}

impl PeerAuth {
    pub fn new(cluster_name: impl Into<String>, secret: Option<ClusterSecret>) -> PeerAuth {
        PeerAuth {
            cluster_name: cluster_name.into(),
            secret: secret.map(Arc::new),
        }
    }

    /// The tag this node sends: zeros when it has no secret.
    pub fn tag(&self, purpose: Purpose, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        match &self.secret {
            Some(secret) => secret.tag(purpose, parts),
            None => [0; TAG_LEN],
        }
    }

    /// Whether a peer's tag proves it holds the secret; always true when this
    /// node has none (membership is then TLS's business, or nobody's).
    pub fn accepts(&self, purpose: Purpose, parts: &[&[u8]], tag: &[u8]) -> bool {
        match &self.secret {
            Some(secret) => secret.verify(purpose, parts, tag),
            None => true,
        }
    }
}

/// A fresh nonce for a hello.
pub fn nonce() -> [u8; NONCE_LEN] {
    rand::random()
}

/// The names a node certificate carries, for checking the address its holder
/// claims.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateNames {
    pub addresses: Vec<IpAddr>,
    pub hosts: Vec<String>,
}

impl CertificateNames {
    /// Whether `claimed` is named directly; `resolved` are the addresses the
    /// certificate's host names resolve to now.
    pub fn names(&self, claimed: IpAddr, resolved: &[IpAddr]) -> bool {
        self.addresses.contains(&claimed) || resolved.contains(&claimed)
    }
}

/// The names of a peer's certificate (DER), or why it is not a node
/// certificate: a certificate that may not serve (`serverAuth`) is a client's.
pub fn node_certificate_names(der: &[u8]) -> Result<CertificateNames, String> {
    use x509_parser::extensions::GeneralName;
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| format!("unreadable certificate: {e}"))?;
    let usage = cert
        .extended_key_usage()
        .map_err(|e| format!("unreadable extended key usage: {e}"))?;
    let serves = usage.is_some_and(|u| u.value.server_auth || u.value.any);
    if !serves {
        return Err(format!(
            "the certificate of {} is not a node certificate (no serverAuth usage): a client certificate cannot join the cluster",
            cert.subject()
        ));
    }
    let mut names = CertificateNames::default();
    let san = cert
        .subject_alternative_name()
        .map_err(|e| format!("unreadable subject alternative names: {e}"))?;
    for name in san.iter().flat_map(|san| san.value.general_names.iter()) {
        match name {
            GeneralName::IPAddress(bytes) => match bytes.len() {
                4 => {
                    let b: [u8; 4] = (*bytes).try_into().unwrap_or_default();
                    names.addresses.push(IpAddr::from(b));
                }
                16 => {
                    let b: [u8; 16] = (*bytes).try_into().unwrap_or_default();
                    names.addresses.push(IpAddr::from(b));
                }
                _ => {}
            },
            GeneralName::DNSName(host) => names.hosts.push((*host).to_string()),
            _ => {}
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> ClusterSecret {
        ClusterSecret::new(text).unwrap()
    }

    #[test]
    fn a_short_secret_is_refused_and_whitespace_around_one_is_not_part_of_it() {
        assert_eq!(ClusterSecret::new("short\n").unwrap_err(), SecretError::TooShort { length: 5 });
        let a = secret("0123456789abcdef\n");
        let b = secret("  0123456789abcdef");
        assert!(b.verify(Purpose::Gossip, &[b"x"], &a.tag(Purpose::Gossip, &[b"x"])));
    }

    #[test]
    fn a_tag_verifies_only_for_its_secret_purpose_and_parts() {
        let a = secret("the cluster secret of a");
        let other = secret("the cluster secret of b");
        let tag = a.tag(Purpose::Dial, &[b"hello one", b"hello two"]);
        assert!(a.verify(Purpose::Dial, &[b"hello one", b"hello two"], &tag));
        assert!(!other.verify(Purpose::Dial, &[b"hello one", b"hello two"], &tag), "another secret");
        assert!(
            !a.verify(Purpose::Accept, &[b"hello one", b"hello two"], &tag),
            "reflected as the other side's proof"
        );
        assert!(!a.verify(Purpose::Dial, &[b"hello two", b"hello one"], &tag), "hellos swapped");
        assert!(
            !a.verify(Purpose::Dial, &[b"hello on", b"ehello two"], &tag),
            "bytes moved between parts"
        );
        assert!(!a.verify(Purpose::Dial, &[b"hello one", b"hello two"], &tag[..31]), "truncated");
    }

    #[test]
    fn without_a_secret_tags_are_zeros_and_anything_is_accepted() {
        let open = PeerAuth::new("c", None);
        assert_eq!(open.tag(Purpose::Gossip, &[b"x"]), [0; TAG_LEN]);
        assert!(open.accepts(Purpose::Gossip, &[b"x"], &[1; TAG_LEN]));
        let closed = PeerAuth::new("c", Some(secret("0123456789abcdef")));
        assert!(!closed.accepts(Purpose::Gossip, &[b"x"], &[0; TAG_LEN]));
        assert!(closed.accepts(Purpose::Gossip, &[b"x"], &closed.tag(Purpose::Gossip, &[b"x"])));
    }

    fn certificate(usages: Vec<rcgen::ExtendedKeyUsagePurpose>, names: &[&str]) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.extended_key_usages = usages;
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_node_certificate_gives_its_names_and_a_client_certificate_is_refused() {
        use rcgen::ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        let node = certificate(vec![ServerAuth, ClientAuth], &["node1", "127.0.0.7", "::1"]);
        let names = node_certificate_names(&node).unwrap();
        assert_eq!(names.hosts, vec!["node1".to_string()]);
        assert_eq!(
            names.addresses,
            vec!["127.0.0.7".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]
        );
        assert!(names.names("127.0.0.7".parse().unwrap(), &[]));
        assert!(!names.names("127.0.0.8".parse().unwrap(), &[]));
        assert!(
            names.names("10.0.0.5".parse().unwrap(), &["10.0.0.5".parse().unwrap()]),
            "through its host name"
        );

        let client = certificate(vec![ClientAuth], &["client"]);
        let err = node_certificate_names(&client).unwrap_err();
        assert!(err.contains("not a node certificate"), "{err}");
        let no_usage = certificate(vec![], &["x"]);
        assert!(node_certificate_names(&no_usage).is_err());
        assert!(node_certificate_names(b"garbage").is_err());
    }
}
