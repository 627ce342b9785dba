//! What can go wrong serving a request, and how it is shown: as JSON under `/api/v1`, as a
//! page elsewhere (the guard turns one into the other by the route's surface).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your roles in the IR plan do not allow this ({0} needed)")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    #[error("the form has expired or did not come from this site: reload the page and try again")]
    Csrf,
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Upstream(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

impl Failure {
    pub fn bad(field: &str, message: impl Into<String>) -> Failure {
        Failure::BadRequest {
            field: field.to_string(),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Failure::Unauthenticated => StatusCode::UNAUTHORIZED,
            Failure::Forbidden(_) | Failure::Csrf => StatusCode::FORBIDDEN,
            Failure::NotFound(_) => StatusCode::NOT_FOUND,
            Failure::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Failure::Refused(_) => StatusCode::CONFLICT,
            Failure::Upstream(_) => StatusCode::BAD_GATEWAY,
            Failure::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::Unauthenticated => "unauthenticated",
            Failure::Forbidden(_) => "forbidden",
            Failure::NotFound(_) => "not-found",
            Failure::BadRequest { .. } => "bad-request",
            Failure::Csrf => "csrf",
            Failure::Refused(_) => "refused",
            Failure::Upstream(_) => "aws-failed",
            Failure::Internal(_) => "internal",
        }
    }
}

impl From<app::Error> for Failure {
    fn from(e: app::Error) -> Failure {
        use app::Error as E;
        use store::StoreError as S;
        match &e {
            E::Store(S::NoCase(id)) => Failure::NotFound(format!("case {id}")),
            E::Store(S::NoTask { .. }) => Failure::NotFound(e.to_string()),
            E::Store(S::Merged { .. } | S::Transition { .. } | S::TaskClosed(..)) => {
                Failure::Refused(e.to_string())
            }
            E::Store(S::Invalid(m)) => Failure::Refused(m.clone()),
            E::Access(app::people::AccessRefusal::BadCredentials) => Failure::Unauthenticated,
            E::Access(_) | E::Approval(_) | E::Response(_) | E::Ledger(_) | E::Collection(_) => {
                Failure::Refused(e.to_string())
            }
            E::Playbook(_) | E::InvalidPlaybook(_) => Failure::Refused(e.to_string()),
            E::Aws(_) | E::Respond(_) => Failure::Upstream(e.to_string()),
            E::Ingest(_) => Failure::bad("files", e.to_string()),
            _ => Failure::Internal(e.to_string()),
        }
    }
}

impl From<store::StoreError> for Failure {
    fn from(e: store::StoreError) -> Failure {
        app::Error::from(e).into()
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut r = (self.status(), axum::Json(body)).into_response();
        r.extensions_mut().insert(self);
        r
    }
}
