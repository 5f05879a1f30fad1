//! Turns driver errors into the one-line messages cqlsh prints, e.g.
//! `InvalidRequest: Error from server: code=2200 [Invalid query] message="..."`.
//!
//! The error class names and summaries are those of the Python driver, which cqlsh
//! prints; errors the driver raises itself get a short class-like prefix and the
//! driver's own explanation. No I/O here.
use scylla::errors::{
    ConnectionError, ConnectionPoolError, ConnectionSetupRequestErrorKind, DbError, ExecutionError, MetadataError, NewSessionError,
    PrepareError, RequestAttemptError, UseKeyspaceError,
};
use scylla::statement::Consistency;

use super::command::consistency_name;

/// The Python driver's exception name and summary for a server error code.
fn class_and_summary(error: &DbError) -> (&'static str, &'static str) {
    match error {
        DbError::ServerError => ("ServerError", "Server error"),
        DbError::ProtocolError => ("ProtocolException", "Protocol error"),
        DbError::AuthenticationError => ("AuthenticationFailed", "Bad credentials"),
        DbError::Unavailable { .. } => ("Unavailable", "Unavailable exception"),
        DbError::Overloaded => ("OverloadedErrorMessage", "Coordinator node overloaded"),
        DbError::IsBootstrapping => ("IsBootstrappingErrorMessage", "Coordinator node is bootstrapping"),
        DbError::TruncateError => ("TruncateError", "Error during truncate"),
        DbError::WriteTimeout { .. } => ("WriteTimeout", "Coordinator node timed out waiting for replica nodes' responses"),
        DbError::ReadTimeout { .. } => ("ReadTimeout", "Coordinator node timed out waiting for replica nodes' responses"),
        DbError::ReadFailure { .. } => ("ReadFailure", "Replica(s) failed to execute read"),
        DbError::FunctionFailure { .. } => ("FunctionFailure", "User Defined Function failure"),
        DbError::WriteFailure { .. } => ("WriteFailure", "Replica(s) failed to execute write"),
        DbError::SyntaxError => ("SyntaxException", "Syntax error in CQL query"),
        DbError::Unauthorized => ("Unauthorized", "Unauthorized"),
        DbError::Invalid => ("InvalidRequest", "Invalid query"),
        DbError::ConfigError => ("ConfigurationException", "Query invalid because of configuration issue"),
        DbError::AlreadyExists { .. } => ("AlreadyExists", "Already exists"),
        DbError::Unprepared { .. } => ("Unprepared", "Query not prepared"),
        DbError::RateLimitReached { .. } => ("RateLimitReached", "Rate limit reached"),
        _ => ("ServerError", "Unknown error"),
    }
}

fn code(error: &DbError) -> i32 {
    error.code(&Default::default())
}

fn quoted_level(level: &Consistency) -> String {
    format!("'{}'", consistency_name(*level))
}

/// The `info={...}` the Python driver appends for errors that carry numbers.
fn info(error: &DbError) -> Option<String> {
    let text = match error {
        DbError::Unavailable {
            consistency,
            required,
            alive,
        } => format!(
            "{{'consistency': {}, 'required_replicas': {required}, 'alive_replicas': {alive}}}",
            quoted_level(consistency)
        ),
        DbError::ReadTimeout {
            consistency,
            received,
            required,
            ..
        } => format!(
            "{{'consistency': {}, 'required_responses': {required}, 'received_responses': {received}}}",
            quoted_level(consistency)
        ),
        DbError::WriteTimeout {
            consistency,
            received,
            required,
            write_type,
        } => format!(
            "{{'consistency': {}, 'required_responses': {required}, 'received_responses': {received}, \
             'write_type': '{}'}}",
            quoted_level(consistency),
            write_type.as_str()
        ),
        DbError::ReadFailure {
            consistency,
            received,
            required,
            numfailures,
            ..
        }
        | DbError::WriteFailure {
            consistency,
            received,
            required,
            numfailures,
            ..
        } => format!(
            "{{'consistency': {}, 'required_responses': {required}, 'received_responses': {received}, \
             'failures': {numfailures}}}",
            quoted_level(consistency)
        ),
        _ => return None,
    };
    Some(text)
}

/// An error the server sent, as cqlsh prints it.
pub fn server_error_text(error: &DbError, message: &str) -> String {
    let (class, summary) = class_and_summary(error);
    if let DbError::AlreadyExists { keyspace, table } = error {
        // The Python driver turns this one into its own exception with its own words.
        return if table.is_empty() {
            format!("{class}: Keyspace '{keyspace}' already exists")
        } else {
            format!("{class}: Table '{keyspace}.{table}' already exists")
        };
    }
    let mut text = format!(
        "{class}: Error from server: code={:04x} [{summary}] message=\"{message}\"",
        code(error)
    );
    if let Some(info) = info(error) {
        text.push_str(" info=");
        text.push_str(&info);
    }
    text
}

fn attempt_error_text(error: &RequestAttemptError) -> String {
    match error {
        RequestAttemptError::DbError(db, message) => server_error_text(db, message),
        RequestAttemptError::BrokenConnectionError(e) => {
            format!("ConnectionException: the connection to the server broke: {e}")
        }
        other => format!("ProtocolException: {other}"),
    }
}

fn prepare_error_text(error: &PrepareError) -> String {
    match error {
        PrepareError::AllAttemptsFailed { first_attempt } => attempt_error_text(first_attempt),
        PrepareError::ConnectionPoolError(e) => no_host_text(e),
        other => format!("ProtocolException: {other}"),
    }
}

fn no_host_text(error: &ConnectionPoolError) -> String {
    format!("NoHostAvailable: Unable to complete the operation against any hosts: {error}")
}

/// An error running a statement, as cqlsh prints it.
pub fn execution_error_text(error: &ExecutionError) -> String {
    match error {
        ExecutionError::LastAttemptError(e) => attempt_error_text(e),
        ExecutionError::PrepareError(e) => prepare_error_text(e),
        ExecutionError::ConnectionPoolError(e) => no_host_text(e),
        ExecutionError::EmptyPlan => "NoHostAvailable: Unable to complete the operation against any hosts".to_string(),
        ExecutionError::RequestTimeout(d) => {
            format!("OperationTimedOut: no response from the server within {} ms", d.as_millis())
        }
        ExecutionError::UseKeyspaceError(UseKeyspaceError::RequestError(e)) => attempt_error_text(e),
        ExecutionError::BadQuery(e) => format!("InvalidRequest: {e}"),
        other => format!("DriverException: {other}"),
    }
}

/// Why one connection attempt failed, in cqlsh's `{'host:port': reason}` style.
fn connection_reason(error: &ConnectionError, node: &str) -> String {
    match error {
        ConnectionError::IoError(io) => format!("ConnectionError('{io}')"),
        ConnectionError::ConnectTimeout => {
            format!("OperationTimedOut('Timed out connecting to {node}')")
        }
        ConnectionError::ConnectionSetupRequestError(setup) => match setup.get_error() {
            ConnectionSetupRequestErrorKind::DbError(db, message) => format!(
                "AuthenticationFailed('Failed to authenticate to {node}: {}')",
                server_error_text(db, message)
                    .split_once(": ")
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or_default()
            ),
            ConnectionSetupRequestErrorKind::MissingAuthentication => {
                "AuthenticationFailed('Remote end requires authentication; use -u and -p')".to_string()
            }
            other => format!("ConnectionError('{other}')"),
        },
        other => format!("ConnectionError('{other}')"),
    }
}

/// A failure to open the session, naming every host:port that was tried. The
/// driver keeps only the last connection error, so every node is shown with it.
pub fn connect_error_text(error: &NewSessionError, nodes: &[String]) -> String {
    let reason: Box<dyn Fn(&str) -> String> = match error {
        NewSessionError::FailedToResolveAnyHostname(hosts) => {
            return format!("Connection error: could not resolve any of the hosts {}", hosts.join(", "));
        }
        NewSessionError::EmptyKnownNodesList => return "Connection error: no host given".to_string(),
        NewSessionError::UseKeyspaceError(UseKeyspaceError::RequestError(e)) => {
            return attempt_error_text(e);
        }
        NewSessionError::MetadataError(MetadataError::ConnectionPoolError(ConnectionPoolError::Broken { last_connection_error })) => {
            Box::new(move |node| connection_reason(last_connection_error, node))
        }
        other => {
            let text = other.to_string();
            Box::new(move |_| format!("ConnectionError('{text}')"))
        }
    };
    let per_node: Vec<String> = nodes.iter().map(|n| format!("'{n}': {}", reason(n))).collect();
    format!(
        "Connection error: ('Unable to connect to any servers', {{{}}})",
        per_node.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use scylla::errors::WriteType;
    use std::sync::Arc;

    #[test]
    fn invalid_query_reads_like_cqlsh() {
        assert_eq!(
            server_error_text(&DbError::Invalid, "unconfigured table foo"),
            "InvalidRequest: Error from server: code=2200 [Invalid query] message=\"unconfigured table foo\""
        );
    }

    #[test]
    fn syntax_errors_name_their_class() {
        assert_eq!(
            server_error_text(&DbError::SyntaxError, "line 1:0 no viable alternative"),
            "SyntaxException: Error from server: code=2000 [Syntax error in CQL query] \
             message=\"line 1:0 no viable alternative\""
        );
    }

    #[test]
    fn unavailable_carries_its_numbers() {
        let e = DbError::Unavailable {
            consistency: Consistency::Quorum,
            required: 2,
            alive: 1,
        };
        assert_eq!(
            server_error_text(&e, "Cannot achieve consistency level QUORUM"),
            "Unavailable: Error from server: code=1000 [Unavailable exception] \
             message=\"Cannot achieve consistency level QUORUM\" \
             info={'consistency': 'QUORUM', 'required_replicas': 2, 'alive_replicas': 1}"
        );
    }

    #[test]
    fn write_timeout_names_the_write_type() {
        let e = DbError::WriteTimeout {
            consistency: Consistency::LocalOne,
            received: 0,
            required: 1,
            write_type: WriteType::Simple,
        };
        assert_eq!(
            server_error_text(&e, "Operation timed out"),
            "WriteTimeout: Error from server: code=1100 [Coordinator node timed out waiting for \
             replica nodes' responses] message=\"Operation timed out\" info={'consistency': \
             'LOCAL_ONE', 'required_responses': 1, 'received_responses': 0, 'write_type': 'SIMPLE'}"
        );
    }

    #[test]
    fn already_exists_names_the_table_or_keyspace() {
        let table = DbError::AlreadyExists {
            keyspace: "ks".into(),
            table: "t".into(),
        };
        assert_eq!(server_error_text(&table, "x"), "AlreadyExists: Table 'ks.t' already exists");
        let keyspace = DbError::AlreadyExists {
            keyspace: "ks".into(),
            table: String::new(),
        };
        assert_eq!(server_error_text(&keyspace, "x"), "AlreadyExists: Keyspace 'ks' already exists");
    }

    #[test]
    fn execution_errors_unwrap_to_the_server_error() {
        let e = ExecutionError::LastAttemptError(RequestAttemptError::DbError(DbError::Unauthorized, "no SELECT permission".into()));
        assert_eq!(
            execution_error_text(&e),
            "Unauthorized: Error from server: code=2100 [Unauthorized] message=\"no SELECT permission\""
        );
        let timeout = ExecutionError::RequestTimeout(std::time::Duration::from_secs(10));
        assert_eq!(
            execution_error_text(&timeout),
            "OperationTimedOut: no response from the server within 10000 ms"
        );
    }

    #[test]
    fn refused_connections_name_every_host_and_port() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let e = NewSessionError::MetadataError(MetadataError::ConnectionPoolError(ConnectionPoolError::Broken {
            last_connection_error: ConnectionError::IoError(Arc::new(io)),
        }));
        let nodes = vec!["127.0.0.1:9042".to_string(), "127.0.0.2:9042".to_string()];
        assert_eq!(
            connect_error_text(&e, &nodes),
            "Connection error: ('Unable to connect to any servers', {'127.0.0.1:9042': \
             ConnectionError('Connection refused'), '127.0.0.2:9042': ConnectionError('Connection refused')})"
        );
    }
}
