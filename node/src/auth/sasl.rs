//! SASL PLAIN (RFC 4616), the mechanism of Cassandra's PasswordAuthenticator: the
//! client's AUTH_RESPONSE token is `[authzid] NUL authcid NUL password`.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("Authentication failed: the client sent no SASL token")]
    Missing,
    #[error("Authentication failed: the SASL PLAIN token must be [authzid] NUL username NUL password")]
    Malformed,
    #[error("Authentication failed: user name and password must be UTF-8")]
    NotUtf8,
    #[error("Authentication failed: user name and password must not be empty")]
    Empty,
}

/// The user name and password of a PLAIN token.
pub fn parse_plain(token: Option<&[u8]>) -> Result<(String, String), SaslError> {
    let token = token.ok_or(SaslError::Missing)?;
    let mut parts = token.split(|b| *b == 0);
    let (Some(_authzid), Some(user), Some(password), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(SaslError::Malformed);
    };
    let user = std::str::from_utf8(user).map_err(|_| SaslError::NotUtf8)?;
    let password = std::str::from_utf8(password).map_err(|_| SaslError::NotUtf8)?;
    if user.is_empty() || password.is_empty() {
        return Err(SaslError::Empty);
    }
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_plain_token_gives_the_user_and_password() {
        assert_eq!(
            parse_plain(Some(b"\0cassandra\0cassandra")),
            Ok(("cassandra".into(), "cassandra".into()))
        );
        assert_eq!(parse_plain(Some(b"admin\0bob\0s3cret")), Ok(("bob".into(), "s3cret".into())));
    }

    #[test]
    fn malformed_tokens_are_refused_with_a_reason() {
        assert_eq!(parse_plain(None), Err(SaslError::Missing));
        assert_eq!(parse_plain(Some(b"cassandra")), Err(SaslError::Malformed));
        assert_eq!(parse_plain(Some(b"\0a\0b\0c")), Err(SaslError::Malformed));
        assert_eq!(parse_plain(Some(b"\0\0pw")), Err(SaslError::Empty));
        assert_eq!(parse_plain(Some(b"\0u\xff\0pw")), Err(SaslError::NotUtf8));
    }

    proptest! {
        #[test]
        fn any_token_parses_or_is_refused_without_panicking(token in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_plain(Some(&token));
        }
    }
}
