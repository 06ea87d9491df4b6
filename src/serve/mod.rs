//! `nbkf serve`: a local HTTP service for editors (a JupyterLab extension,
//! `jupyter-server-proxy`, any tool) and a pipeline page of its own. The JSON API under
//! `/api/v1` analyses, compiles and tags notebooks, runs and checks them locally with live
//! events, and reaches a cluster through the code of `nbkf submit` and `nbkf kube`. Its
//! OpenAPI document (`/api/openapi.json`) is generated from the handlers below.
//!
//! Security follows Jupyter's own server: loopback by default, a token on every request,
//! `Host` and `Origin` checked, CORS closed unless an origin is allowed, paths confined
//! to the root, request bodies limited, every request timed out.

mod cluster;
mod error;
pub mod model;
mod notebooks;
mod page;
mod paths;
mod runs;
mod security;
mod state;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub use security::new_token;
use state::AppState;

use crate::submit::connection::Flags;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Notebooks are read (and written) under this folder only.
    pub root: PathBuf,
    pub host: IpAddr,
    /// 0 for any free port.
    pub port: u16,
    /// The token requests must carry (a new random one when `None`).
    pub token: Option<String>,
    /// Browser origins allowed to call the API besides the server's own page.
    pub allow_origins: Vec<String>,
    /// Host names requests may be addressed to besides loopback and the bound address.
    pub allow_hosts: Vec<String>,
    /// Where local runs keep their files (default `<root>/.nbkf`).
    pub workdir: Option<PathBuf>,
    /// The Python that runs steps of local runs.
    pub python: PathBuf,
    /// The largest request body.
    pub max_body: usize,
    /// The longest a request may take (event streams excepted).
    pub timeout: Duration,
    /// How the cluster routes reach KFP.
    pub kfp: Flags,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

/// The OpenAPI document's frame; paths and schemas come from the handlers.
#[derive(OpenApi)]
#[openapi(
    info(title = "nbkf serve", description = "Notebooks to Kubeflow Pipelines: analyse, compile, tag, run and check notebooks, and submit them to a cluster. Every request needs the server's token (`Authorization: token <TOKEN>`)."),
    tags(
        (name = "server", description = "The server itself"),
        (name = "notebooks", description = "Analyse, compile and tag notebooks"),
        (name = "local runs", description = "Run and check pipelines on this machine, with live events"),
        (name = "cluster", description = "Kubeflow Pipelines and Kubernetes"),
    )
)]
struct ApiDoc;

/// The API routes (with their OpenAPI description) and the document.
fn api() -> (Router<Arc<AppState>>, Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    let (timed, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(notebooks::health))
        .routes(routes!(notebooks::notebooks))
        .routes(routes!(notebooks::analyze))
        .routes(routes!(notebooks::graph))
        .routes(routes!(notebooks::compile))
        .routes(routes!(notebooks::tag))
        .routes(routes!(runs::list_runs, runs::start_run))
        .routes(routes!(runs::start_check))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::cancel_run))
        .routes(routes!(cluster::kfp_health))
        .routes(routes!(cluster::kfp_experiments))
        .routes(routes!(cluster::kfp_submit))
        .routes(routes!(cluster::kfp_run))
        .routes(routes!(cluster::kube_namespace))
        .routes(routes!(cluster::kube_pvcs))
        .split_for_parts();
    // Event streams last as long as their run.
    let (streams, stream_doc) = OpenApiRouter::new().routes(routes!(runs::events)).split_for_parts();
    doc.merge(stream_doc);
    (timed, streams, doc)
}

/// The OpenAPI document of the API.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().2
}

async fn not_found() -> impl IntoResponse {
    ApiError::not_found("no such route; the API is described at /api/openapi.json")
}

/// The whole application.
fn app(state: Arc<AppState>, max_body: usize, timeout: Duration) -> Router {
    let (timed, streams, doc) = api();
    let document = doc.to_json().unwrap_or_default();
    let timed = timed
        .route("/api/openapi.json", get(move || async move { ([("content-type", "application/json")], document) }))
        .merge(page::routes())
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout));
    Router::new()
        .merge(timed)
        .merge(streams)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), security::guard))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .with_state(state)
}

/// A server bound to its address, not yet serving.
pub struct Bound {
    listener: tokio::net::TcpListener,
    app: Router,
    state: Arc<AppState>,
    /// The address to open, token included (`http://127.0.0.1:8765/?token=…`).
    pub url: String,
    pub address: SocketAddr,
}

/// Checks the options and binds the address.
pub async fn bind(options: ServeOptions) -> Result<Bound, ServeError> {
    if !options.host.is_loopback() && options.token.is_none() {
        return Err(ServeError::Usage(format!(
            "{} is reachable from other machines: give the token they must present with `--token` (nbkf makes one only for loopback addresses)",
            options.host
        )));
    }
    let token = match options.token.clone() {
        Some(t) if t.len() < 16 || t.chars().any(|c| !c.is_ascii_graphic()) => {
            return Err(ServeError::Usage("the token must be at least 16 printable characters, without spaces".into()))
        }
        Some(t) => t,
        None => new_token().map_err(ServeError::Io)?,
    };
    let root = std::fs::canonicalize(&options.root)
        .map_err(|e| ServeError::Usage(format!("the root {}: {e}", options.root.display())))?;
    if !root.is_dir() {
        return Err(ServeError::Usage(format!("the root {} is not a folder", root.display())));
    }
    let listener = tokio::net::TcpListener::bind((options.host, options.port))
        .await
        .map_err(|e| ServeError::Io(format!("cannot listen on {}:{}: {e}", options.host, options.port)))?;
    let address = listener.local_addr().map_err(|e| ServeError::Io(e.to_string()))?;
    let shown_host = match options.host {
        IpAddr::V6(h) => format!("[{h}]"),
        IpAddr::V4(h) => h.to_string(),
    };
    let access = security::Access::new(token.clone(), &shown_host, &options.allow_hosts, &options.allow_origins);
    let workdir = options.workdir.clone().unwrap_or_else(|| root.join(".nbkf"));
    let state = Arc::new(AppState::new(root, access, workdir, options.python.clone(), options.kfp.clone()));
    let app = app(state.clone(), options.max_body, options.timeout);
    let url = format!("http://{shown_host}:{}/?token={token}", address.port());
    Ok(Bound { listener, app, state, url, address })
}

impl Bound {
    /// Serves until `shutdown` completes; then stops the local runs still going.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let state = self.state.clone();
        let result = axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| ServeError::Io(e.to_string()));
        state.runs.cancel_all();
        result
    }
}
