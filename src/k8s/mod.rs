//! Kubernetes: Kubernetes-native KFP objects ([`manifests`]), a client configured by kube's
//! conventions ([`client`]), server-side apply of a pipeline ([`apply`]), the KFP REST API
//! reached through the API server's service proxy ([`proxy`]), and what an editor asks a
//! cluster for: the namespace and its volume claims ([`cluster`]).
//!
//! Everything here is blocking: each [`client::Connection`] runs kube's async client on its
//! own current-thread tokio runtime, so the rest of nbkf stays synchronous. Call it from a
//! plain thread; from async code, through `tokio::task::spawn_blocking` (blocking on a
//! runtime inside another one panics).

pub mod apply;
pub mod client;
pub mod cluster;
pub mod manifests;
pub mod proxy;

pub use client::{ClusterConfig, Connection, KubeOptions, NamespaceSource};
pub use manifests::Manifests;

/// What one request was about, for messages: `patch pipelineversions.pipelines.kubeflow.org
/// in namespace ns`.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The RBAC verb (`get`, `list`, `create`, `patch`).
    pub verb: &'static str,
    /// `plural.group`, or the plural alone for the core group (`persistentvolumeclaims`).
    pub resource: String,
    pub namespace: String,
    /// The object's name, for requests about one object.
    pub name: Option<String>,
}

/// What went wrong talking to a cluster.
#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    /// No usable configuration: no kubeconfig, an unknown context, a bad flag value.
    #[error("{message}")]
    Config { message: String, hint: Option<String> },
    /// The API server could not be reached (or did not answer in time).
    #[error("cannot reach the Kubernetes API server at {server}: {message}")]
    Connection { server: String, message: String },
    /// The API server refused the credentials (401).
    #[error("the Kubernetes API server at {server} refused the credentials of {user}: {message}")]
    Unauthorized { server: String, user: String, message: String },
    /// RBAC refused the request (403).
    #[error("forbidden: {user} cannot {} {} in namespace `{}`", .operation.verb, .operation.resource, .operation.namespace)]
    Forbidden { operation: Box<Operation>, user: String, message: String },
    /// The cluster does not serve `pipelines.kubeflow.org/v2beta1`.
    #[error("the cluster at {server} has no Kubernetes-native KFP CRDs (pipelines.kubeflow.org/v2beta1)")]
    NoCrds { server: String },
    /// The namespace does not exist.
    #[error("namespace `{namespace}` does not exist on {server}")]
    NoNamespace { namespace: String, server: String },
    /// Another field manager owns fields that a server-side apply would change (409).
    #[error("conflict applying {} `{}` in namespace `{}`: {message}", .operation.resource, .operation.name.as_deref().unwrap_or(""), .operation.namespace)]
    Conflict { operation: Box<Operation>, message: String },
    /// A `PipelineVersion` of that name exists with another spec; versions are immutable.
    #[error("PipelineVersion `{name}` in namespace `{namespace}` already exists with a different spec; versions are immutable, so nbkf leaves it as it is")]
    VersionExists { name: String, namespace: String },
    /// Any other refusal or failure the API server reported.
    #[error("{} {} in namespace `{}` failed ({status}): {message}", .operation.verb, .operation.resource, .operation.namespace)]
    Api { operation: Box<Operation>, status: u16, message: String },
    /// The pipeline cannot become manifests.
    #[error(transparent)]
    Manifest(#[from] manifests::ManifestError),
}

impl K8sError {
    /// What to try, when there is something useful to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            K8sError::Config { hint, .. } => hint.clone(),
            K8sError::Connection { .. } => Some(
                "check that the cluster is running and that the server of the kubeconfig's context is right (`kubectl cluster-info`)"
                    .into(),
            ),
            K8sError::Unauthorized { .. } => Some(
                "log in again (refresh the token, or check the exec plugin of the kubeconfig's user), or pick another context with `--context`"
                    .into(),
            ),
            K8sError::Forbidden { operation, .. } => Some(format!(
                "ask for a Role granting {} in namespace `{}` (check with `kubectl auth can-i {} {} -n {}`), or use another context or namespace",
                wanted_rights(operation),
                operation.namespace,
                operation.verb,
                operation.resource,
                operation.namespace
            )),
            K8sError::NoCrds { .. } => Some(
                "install KFP with its Kubernetes-native overlay (the pipeline store in Kubernetes, `platform-agnostic-k8s-native`), or use `nbkf submit` with the KFP REST API"
                    .into(),
            ),
            K8sError::NoNamespace { namespace, .. } => Some(format!(
                "create it (`kubectl create namespace {namespace}`), or pick another with -n or with the context's namespace"
            )),
            K8sError::Conflict { .. } => Some(
                "another tool or person set these fields to other values; run again with `--force-conflicts` to take them over"
                    .into(),
            ),
            K8sError::VersionExists { name, namespace } => Some(format!(
                "a version of this name and another content means the object was edited or made by something else: inspect it (`kubectl get pipelineversion {name} -n {namespace} -o yaml`) and delete it to let nbkf make it again"
            )),
            K8sError::Api { .. } | K8sError::Manifest(_) => None,
        }
    }

    /// Whether the problem is in what the user gave (flags, files, configuration) rather
    /// than an answer of the cluster: exit code 2 rather than 1.
    pub fn is_usage(&self) -> bool {
        matches!(self, K8sError::Config { .. } | K8sError::Manifest(_))
    }
}

/// The rights worth asking for, for the hint of a 403: all that `nbkf apply` needs for
/// KFP's objects, else the verb that was refused.
fn wanted_rights(operation: &Operation) -> String {
    if operation.resource.ends_with(manifests::GROUP) {
        format!("`get`, `create` and `patch` on `pipelines` and `pipelineversions` (API group {})", manifests::GROUP)
    } else {
        format!("`{}` on `{}`", operation.verb, operation.resource)
    }
}

/// The user named in an API server's refusal (`User "system:serviceaccount:ns:sa" cannot
/// ...`), if it names one.
fn user_in_message(message: &str) -> Option<String> {
    let rest = &message[message.find("User \"")? + 6..];
    Some(rest[..rest.find('"')?].to_string())
}

/// Turns a failed request into an error that names what was asked, of whom, and where.
pub(crate) fn api_error(error: kube::Error, operation: Operation, cluster: &ClusterConfig) -> K8sError {
    let operation = Box::new(operation);
    match error {
        kube::Error::Api(status) => {
            let message = status.message.clone();
            match status.code {
                401 => K8sError::Unauthorized { server: cluster.server(), user: cluster.user_description(), message },
                403 => K8sError::Forbidden {
                    user: user_in_message(&message)
                        .map(|u| format!("`{u}`"))
                        .unwrap_or_else(|| cluster.user_description()),
                    operation,
                    message,
                },
                // A missing object names itself in the details; a missing resource type
                // (no CRD) does not.
                404 if operation.resource.ends_with(manifests::GROUP)
                    && status.details.as_ref().is_none_or(|d| d.name.is_empty()) =>
                {
                    K8sError::NoCrds { server: cluster.server() }
                }
                404 if status.details.as_ref().is_some_and(|d| d.kind == "namespaces") => {
                    K8sError::NoNamespace { namespace: operation.namespace.clone(), server: cluster.server() }
                }
                409 => K8sError::Conflict { operation, message },
                code => K8sError::Api { operation, status: code, message },
            }
        }
        other => client::transport_error(other, cluster),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_is_read_from_a_refusal() {
        let m = r#"pipelines.pipelines.kubeflow.org "demo" is forbidden: User "system:serviceaccount:ns:nobody" cannot patch resource "pipelines""#;
        assert_eq!(user_in_message(m).as_deref(), Some("system:serviceaccount:ns:nobody"));
        assert_eq!(user_in_message("forbidden"), None);
    }
}
