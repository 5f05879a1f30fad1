//! The login gate of one client connection: which requests may run in which phase.
//! With a password authenticator nothing but OPTIONS, STARTUP and AUTH_RESPONSE is
//! admitted until AUTH_SUCCESS, so no statement reaches the query processor before login.
//! Without one, every request is admitted, as before any STARTUP.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Options,
    Startup,
    AuthResponse,
    Register,
    Query,
    Prepare,
    Execute,
    Batch,
}

impl RequestKind {
    fn name(self) -> &'static str {
        match self {
            RequestKind::Options => "OPTIONS",
            RequestKind::Startup => "STARTUP",
            RequestKind::AuthResponse => "AUTH_RESPONSE",
            RequestKind::Register => "REGISTER",
            RequestKind::Query => "QUERY",
            RequestKind::Prepare => "PREPARE",
            RequestKind::Execute => "EXECUTE",
            RequestKind::Batch => "BATCH",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Unstarted,
    Authenticating,
    Ready,
}

#[derive(Debug, Clone)]
pub struct Gate {
    login_required: bool,
    phase: Phase,
}

impl Gate {
    pub fn new(login_required: bool) -> Gate {
        Gate {
            login_required,
            phase: Phase::Unstarted,
        }
    }

    pub fn login_required(&self) -> bool {
        self.login_required
    }

    /// Whether `kind` may run now; the error is the protocol error's message.
    pub fn admit(&self, kind: RequestKind) -> Result<(), String> {
        if !self.login_required || kind == RequestKind::Options {
            return Ok(());
        }
        let ok = match self.phase {
            Phase::Unstarted => kind == RequestKind::Startup,
            Phase::Authenticating => kind == RequestKind::AuthResponse,
            Phase::Ready => !matches!(kind, RequestKind::Startup | RequestKind::AuthResponse),
        };
        if ok {
            return Ok(());
        }
        Err(match self.phase {
            Phase::Unstarted => format!("Unexpected message {}, expecting STARTUP or OPTIONS", kind.name()),
            Phase::Authenticating => format!("Unexpected message {}, expecting AUTH_RESPONSE", kind.name()),
            Phase::Ready => format!("Unexpected message {}, the connection is already authenticated", kind.name()),
        })
    }

    /// STARTUP was answered: AUTHENTICATE when a login is required, else READY.
    pub fn started(&mut self) {
        self.phase = if self.login_required { Phase::Authenticating } else { Phase::Ready };
    }

    /// AUTH_SUCCESS was sent.
    pub fn authenticated(&mut self) {
        self.phase = Phase::Ready;
    }

    pub fn is_authenticated(&self) -> bool {
        !self.login_required || self.phase == Phase::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KINDS: [RequestKind; 8] = [
        RequestKind::Options,
        RequestKind::Startup,
        RequestKind::AuthResponse,
        RequestKind::Register,
        RequestKind::Query,
        RequestKind::Prepare,
        RequestKind::Execute,
        RequestKind::Batch,
    ];

    fn is_statement(kind: RequestKind) -> bool {
        !matches!(kind, RequestKind::Options | RequestKind::Startup | RequestKind::AuthResponse)
    }

    #[test]
    fn a_login_connection_runs_statements_only_after_auth_success() {
        let mut gate = Gate::new(true);
        assert!(gate.admit(RequestKind::Options).is_ok());
        assert_eq!(
            gate.admit(RequestKind::Query),
            Err("Unexpected message QUERY, expecting STARTUP or OPTIONS".to_string())
        );
        assert!(gate.admit(RequestKind::Startup).is_ok());
        gate.started();
        assert_eq!(
            gate.admit(RequestKind::Execute),
            Err("Unexpected message EXECUTE, expecting AUTH_RESPONSE".to_string())
        );
        assert!(gate.admit(RequestKind::AuthResponse).is_ok());
        gate.authenticated();
        assert!(gate.admit(RequestKind::Query).is_ok());
        assert!(gate.admit(RequestKind::Startup).is_err());
    }

    #[test]
    fn without_an_authenticator_everything_is_admitted() {
        let gate = Gate::new(false);
        assert!(KINDS.iter().all(|k| gate.admit(*k).is_ok()));
        assert!(gate.is_authenticated());
    }

    proptest! {
        /// Random request sequences, each AUTH_RESPONSE succeeding or not: no
        /// statement is ever admitted before a successful AUTH_RESPONSE.
        #[test]
        fn nothing_reaches_the_query_processor_before_auth_success(
            steps in proptest::collection::vec((0usize..KINDS.len(), any::<bool>()), 0..40)
        ) {
            let mut gate = Gate::new(true);
            let mut logged_in = false;
            for (k, password_ok) in steps {
                let kind = KINDS[k];
                if gate.admit(kind).is_err() {
                    continue;
                }
                prop_assert!(!is_statement(kind) || logged_in, "{kind:?} admitted before login");
                match kind {
                    RequestKind::Startup => gate.started(),
                    RequestKind::AuthResponse if password_ok => {
                        gate.authenticated();
                        logged_in = true;
                    }
                    _ => {}
                }
            }
        }
    }
}
