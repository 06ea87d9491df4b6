//! The cluster routes, through the code of `nbkf submit` and `nbkf kube`: KFP's health and
//! experiments, submitting a notebook and following its run; the namespace and volume
//! claims an editor offers. The server reaches KFP as the CLI does (its `--profile`, the
//! `KF_PIPELINES_*` environment, the configuration file) and the cluster by its kubeconfig.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::model::{diagnostic_out, notebook_request, ConvertFlags, NamesNotebook};
use super::notebooks::{convert, load, options};
use super::state::AppState;
use crate::emit::file::PipelineFile;
use crate::k8s::cluster::{NamespaceInfo, PvcInfo};
use crate::k8s::{ClusterConfig, Connection as KubeConnection, KubeOptions};
use crate::submit::api::{items, Kfp, KfpError};
use crate::submit::connection::{self, process_environment};
use crate::submit::submission::{self, Submission, Submitted};
use crate::submit::wait::task_states;

fn kfp_error(e: KfpError) -> ApiError {
    let status = match e.status() {
        Some(s @ (400 | 401 | 403 | 404 | 409)) => StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_GATEWAY),
        _ => StatusCode::BAD_GATEWAY,
    };
    let mut err = ApiError::new(status, "kfp", e.to_string());
    if let Some(h) = e.hint() {
        err = err.with_hint(h);
    }
    err
}

/// The KFP client the server's settings describe.
fn client(state: &AppState) -> Result<(Kfp, connection::Connection), ApiError> {
    let conn = connection::resolve(&state.kfp, &process_environment(None))
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "kfp-not-configured", e.to_string()))?;
    let kfp = conn.client().map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "kfp-not-configured", e))?;
    Ok((kfp, conn))
}

/// KFP's answer to its health check, and where it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct KfpHealth {
    /// The API's address (secrets never included).
    pub endpoint: String,
    /// The UI's address, for links, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ui: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `{commit_sha, tag_name, multi_user, pipeline_store}` as KFP answers.
    #[schema(value_type = Object)]
    pub healthz: Value,
}

/// Whether KFP answers (Kale's `kfp.ping` and `kfp.get_ui_host`).
#[utoipa::path(get, path = "/api/v1/kfp/health", tag = "cluster",
    responses((status = 200, body = KfpHealth), (status = 502, description = "KFP did not answer", body = ErrorBody),
              (status = 503, description = "no KFP configured", body = ErrorBody)))]
pub async fn kfp_health(State(state): State<Arc<AppState>>) -> Result<Json<KfpHealth>, ApiError> {
    let out = tokio::task::spawn_blocking(move || -> Result<KfpHealth, ApiError> {
        let (kfp, conn) = client(&state)?;
        let healthz = kfp.healthz().map_err(kfp_error)?;
        Ok(KfpHealth { endpoint: kfp.endpoint(), ui: conn.ui.clone(), namespace: conn.namespace.clone(), healthz })
    })
    .await??;
    Ok(Json(out))
}

/// The experiments (Kale's `kfp.list_experiments`), as KFP gives them.
#[utoipa::path(get, path = "/api/v1/kfp/experiments", tag = "cluster",
    responses((status = 200, description = "KFP's experiment objects", body = [Object]), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn kfp_experiments(State(state): State<Arc<AppState>>) -> Result<Json<Vec<Value>>, ApiError> {
    let out = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, ApiError> {
        let (kfp, _) = client(&state)?;
        Ok(items(&kfp.list_experiments(200).map_err(kfp_error)?, "experiments"))
    })
    .await??;
    Ok(Json(out))
}

notebook_request! {
    /// A submission.
    SubmitRequest {
        #[serde(default)]
        options: ConvertFlags,
        /// Parameter values, checked against the parameters' types.
        #[serde(default)]
        #[schema(value_type = Object)]
        parameters: BTreeMap<String, Value>,
        /// The start of the run's name (default: the pipeline's).
        #[serde(default)]
        run_name: Option<String>,
    }
}

/// Converts the notebook and submits it as `nbkf submit` does (Kale's `kfp.upload_pipeline`
/// and `kfp.run_pipeline`): the pipeline found or created, a version per content, the
/// experiment (`options.experiment`, else the notebook's, else `Default`), a run of the
/// version.
#[utoipa::path(post, path = "/api/v1/kfp/submit", tag = "cluster", request_body = SubmitRequest,
    responses((status = 200, body = Submitted), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn kfp_submit(
    State(state): State<Arc<AppState>>,
    Json(request): Json<SubmitRequest>,
) -> Result<Json<Submitted>, ApiError> {
    let out = tokio::task::spawn_blocking(move || -> Result<Submitted, ApiError> {
        let loaded = load(&state.root, &request.source())?;
        let options = options(&state.root, &request.options)?;
        let (conversion, path, _) = convert(loaded, &options)?;
        let Some(yaml) = conversion.yaml.clone() else {
            let d = conversion.diagnostics.iter().map(|d| diagnostic_out(d, &conversion.notebook)).collect();
            return Err(ApiError::notebook_errors(d));
        };
        let file = PipelineFile::parse(&yaml).map_err(|e| ApiError::internal(e.to_string()))?;
        let defs = crate::run::parameter_defs(&file.spec).map_err(|e| ApiError::internal(e.to_string()))?;
        let given: Vec<(String, String)> = request
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect();
        let resolved = crate::run::resolve_parameters(&defs, &given).map_err(|e| ApiError::bad_request(e.join("; ")))?;
        let parameters = resolved.into_iter().filter(|(k, _)| request.parameters.contains_key(k)).collect();
        let (kfp, conn) = client(&state)?;
        if kfp.needs_namespace() {
            return Err(ApiError::bad_request(
                "the KFP API is multi-user Kubeflow: start the server with the profile namespace (`--namespace`, KF_PIPELINES_NAMESPACE or the profile's)",
            ));
        }
        let source = path.map(|p| p.relative).unwrap_or_else(|| conversion.plan.notebook_file.clone());
        let origin = format!("converted by nbkf from {source}");
        let submission = Submission {
            file: &file,
            yaml: yaml.as_bytes(),
            origin: &origin,
            experiment: request.options.experiment.clone(),
            run_name: request.run_name.clone(),
            parameters,
        };
        submission::submit(&kfp, &submission, conn.ui.as_deref()).map_err(kfp_error)
    })
    .await??;
    Ok(Json(out))
}

/// A KFP run as KFP gives it, and its tasks' states.
#[derive(Debug, Serialize, ToSchema)]
pub struct KfpRun {
    #[schema(value_type = Object)]
    pub run: Value,
    /// Task → `{state, error}`, KFP's own internal entries left out.
    #[schema(value_type = Object)]
    pub tasks: Value,
}

/// A run on KFP (Kale's `kfp.get_run`).
#[utoipa::path(get, path = "/api/v1/kfp/runs/{id}", tag = "cluster",
    params(("id" = String, Path, description = "the KFP run id")),
    responses((status = 200, body = KfpRun), (status = 404, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn kfp_run(
    State(state): State<Arc<AppState>>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<KfpRun>, ApiError> {
    let out = tokio::task::spawn_blocking(move || -> Result<KfpRun, ApiError> {
        let (kfp, _) = client(&state)?;
        let run = kfp.get_run(&id).map_err(kfp_error)?;
        let tasks = task_states(&run, &[])
            .into_iter()
            .map(|(task, (state, error))| (task, serde_json::json!({"state": state, "error": error})))
            .collect::<serde_json::Map<_, _>>();
        Ok(KfpRun { run, tasks: Value::Object(tasks) })
    })
    .await??;
    Ok(Json(out))
}

fn kube_error(e: crate::k8s::K8sError) -> ApiError {
    use crate::k8s::K8sError as E;
    let status = match &e {
        _ if e.is_usage() => StatusCode::SERVICE_UNAVAILABLE,
        E::Forbidden { .. } => StatusCode::FORBIDDEN,
        E::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
        E::NoNamespace { .. } => StatusCode::NOT_FOUND,
        _ => StatusCode::BAD_GATEWAY,
    };
    let mut err = ApiError::new(status, "kube", e.to_string());
    if let Some(h) = e.hint() {
        err = err.with_hint(h);
    }
    err
}

/// The namespace in use (Kale's `nb.get_namespace`): the context's, else the pod's.
#[utoipa::path(get, path = "/api/v1/kube/namespace", tag = "cluster",
    responses((status = 200, body = NamespaceInfo), (status = 503, description = "no kubeconfig", body = ErrorBody)))]
pub async fn kube_namespace() -> Result<Json<NamespaceInfo>, ApiError> {
    let out = tokio::task::spawn_blocking(|| -> Result<NamespaceInfo, ApiError> {
        let cluster = ClusterConfig::load(&KubeOptions::default()).map_err(kube_error)?;
        Ok(crate::k8s::cluster::namespace(&cluster))
    })
    .await??;
    Ok(Json(out))
}

/// Which namespace to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NamespaceQuery {
    /// Default: the namespace in use.
    pub namespace: Option<String>,
}

/// The namespace's persistent volume claims (Kale's `nb.list_pvcs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Pvcs {
    pub namespace: String,
    pub pvcs: Vec<PvcInfo>,
}

/// The persistent volume claims steps can mount.
#[utoipa::path(get, path = "/api/v1/kube/pvcs", tag = "cluster", params(NamespaceQuery),
    responses((status = 200, body = Pvcs), (status = 403, body = ErrorBody), (status = 502, body = ErrorBody),
              (status = 503, body = ErrorBody)))]
pub async fn kube_pvcs(Query(q): Query<NamespaceQuery>) -> Result<Json<Pvcs>, ApiError> {
    let out = tokio::task::spawn_blocking(move || -> Result<Pvcs, ApiError> {
        let conn = KubeConnection::connect(&KubeOptions { namespace: q.namespace, ..Default::default() }, None)
            .map_err(kube_error)?;
        let pvcs = crate::k8s::cluster::pvcs(&conn).map_err(kube_error)?;
        Ok(Pvcs { namespace: conn.namespace().to_string(), pvcs })
    })
    .await??;
    Ok(Json(out))
}
