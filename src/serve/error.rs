//! The one shape of every error the API answers: a status and
//! `{"error": {"code", "message", "hint"?, "cell"?, "cell_id"?, "range"?}}`, plus the
//! notebook's diagnostics when it has errors.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::{DiagnosticOut, Range};

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// Every diagnostic of the notebook, when the error is that it has errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<DiagnosticOut>>,
}

/// What went wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable code: `unauthorized`, `forbidden`, `not-found`, `bad-request`,
    /// `too-large`, `timeout`, `notebook-errors`, `conflict`, `kfp`, `kube`, `internal`,
    /// or a diagnostic's code.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The cell it applies to (1-based, as `nbkf plan` counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<usize>,
    /// The id of that cell (nbformat 4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
}

/// An error to answer with.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: Box<ErrorDetail>,
    pub diagnostics: Option<Vec<DiagnosticOut>>,
}

impl ApiError {
    /// An error of this status and code.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            detail: Box::new(ErrorDetail {
                code: code.into(),
                message: message.into(),
                hint: None,
                cell: None,
                cell_id: None,
                range: None,
            }),
            diagnostics: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.detail.hint = Some(hint.into());
        self
    }

    /// The notebook has errors: 422, located at the first, with all diagnostics.
    pub fn notebook_errors(diagnostics: Vec<DiagnosticOut>) -> Self {
        let errors: Vec<&DiagnosticOut> = diagnostics.iter().filter(|d| d.severity == "error").collect();
        let first = errors.first().cloned().cloned();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "notebook-errors",
            format!(
                "the notebook has {} error{}{}",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                first.as_ref().map(|d| format!("; the first: {}", d.message)).unwrap_or_default()
            ),
        );
        if let Some(d) = first {
            e.detail.cell = d.cell;
            e.detail.cell_id = d.cell_id;
            e.detail.range = d.range;
            e.detail.hint = d.hint;
        }
        e.diagnostics = Some(diagnostics);
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: *self.detail, diagnostics: self.diagnostics })).into_response()
    }
}

/// A blocking task that panicked or was cancelled.
impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::internal(format!("the request's work stopped: {e}"))
    }
}
