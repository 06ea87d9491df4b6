//! The notebook routes: list, analyse, compile, tag. Each takes the notebook by path
//! (under the root) or inline, with the options `nbkf convert` takes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorBody};
use super::model::*;
use super::paths::{confine, Confined};
use super::state::AppState;
use crate::config::Overrides;
use crate::diagnostics::Diagnostic;
use crate::notebook::Notebook;
use crate::{ConvertOptions, PreambleMode, SplitMode};

/// A notebook read for a request.
pub struct Loaded {
    pub notebook: Notebook,
    pub parse_diagnostics: Vec<Diagnostic>,
    /// Its file name (messages, default pipeline name).
    pub file: String,
    /// Its folder (local modules, data files; steps run there).
    pub dir: PathBuf,
    /// The JSON as read or given.
    pub bytes: Vec<u8>,
    /// The file, when the request named one.
    pub path: Option<Confined>,
}

/// The bytes of the notebook a request names or holds, not yet parsed.
pub struct Read {
    pub file: String,
    pub dir: PathBuf,
    pub bytes: Vec<u8>,
    pub path: Option<Confined>,
}

/// Reads the notebook a request names or holds.
pub fn load(root: &Path, source: &NotebookSource) -> Result<Loaded, ApiError> {
    parse(read(root, source)?)
}

/// Reads the bytes of the notebook a request names or holds (without parsing them: a
/// cached analysis needs only the bytes).
pub fn read(root: &Path, source: &NotebookSource) -> Result<Read, ApiError> {
    let path = match &source.path {
        Some(p) => Some(confine(root, p, source.notebook.is_none())?),
        None => None,
    };
    let bytes = match (&source.notebook, &path) {
        (Some(json), _) => json.get().as_bytes().to_vec(),
        (None, Some(p)) => {
            if p.real.is_dir() {
                return Err(ApiError::bad_request(format!("`{}` is a folder, not a notebook", p.relative)));
            }
            std::fs::read(&p.real).map_err(|e| ApiError::not_found(format!("cannot read `{}`: {e}", p.relative)))?
        }
        (None, None) => {
            return Err(ApiError::bad_request("give the notebook's `path` (under the root) or the `notebook` itself"))
        }
    };
    let file = path
        .as_ref()
        .and_then(|p| p.real.file_name().map(|f| f.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "notebook.ipynb".to_string());
    let dir = path.as_ref().and_then(|p| p.real.parent().map(Path::to_path_buf)).unwrap_or_else(|| root.to_path_buf());
    Ok(Read { file, dir, bytes, path })
}

/// Parses the notebook read.
pub fn parse(read: Read) -> Result<Loaded, ApiError> {
    let Read { file, dir, bytes, path } = read;
    let (notebook, parse_diagnostics) = Notebook::from_slice(&bytes, &file)
        .map_err(|e| ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "not-a-notebook", e.to_string()))?;
    Ok(Loaded { notebook, parse_diagnostics, file, dir, bytes, path })
}

/// The conversion options of the flags (module folders confined to the root).
pub fn options(root: &Path, flags: &ConvertFlags) -> Result<ConvertOptions, ApiError> {
    if let Some(name) = &flags.pipeline_name {
        if !crate::config::is_pipeline_name(name) {
            return Err(ApiError::bad_request(format!(
                "invalid pipeline name `{name}`: lower-case letters, digits and `-` (e.g. `{}`)",
                crate::config::pipeline_name_from(name)
            )));
        }
    }
    let split = match flags.split.as_deref() {
        None | Some("auto") => SplitMode::Auto,
        Some("headings") => SplitMode::Headings,
        Some("cells") => SplitMode::Cells,
        Some("none") => SplitMode::None,
        Some(other) => {
            return Err(ApiError::bad_request(format!("split `{other}`: use auto, headings, cells or none")))
        }
    };
    let preamble = match flags.packages.as_deref() {
        None | Some("pip") => PreambleMode::Pip,
        Some("image") => PreambleMode::Image,
        Some(other) => return Err(ApiError::bad_request(format!("packages `{other}`: use pip or image"))),
    };
    let mut module_paths = Vec::new();
    for m in &flags.module_path {
        let c = confine(root, m, true)?;
        if !c.real.is_dir() {
            return Err(ApiError::bad_request(format!("module path `{m}` is not a folder")));
        }
        module_paths.push(c.real);
    }
    Ok(ConvertOptions {
        overrides: Overrides {
            pipeline_name: flags.pipeline_name.clone(),
            experiment: flags.experiment.clone(),
            base_image: flags.image.clone(),
            description: flags.description.clone(),
            ipython: flags.ipython,
        },
        preamble,
        split,
        module_paths,
        notebook_root: Some(root.canonicalize().unwrap_or_else(|_| root.to_path_buf())),
    })
}

/// Converts a loaded notebook.
pub fn convert(
    loaded: Loaded,
    options: &ConvertOptions,
) -> Result<(crate::Conversion, Option<Confined>, Vec<u8>), ApiError> {
    let Loaded { notebook, parse_diagnostics, file, dir, bytes, path } = loaded;
    let conversion = crate::convert(notebook, parse_diagnostics, &file, Some(&dir), options)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((conversion, path, bytes))
}

/// The cache key of a notebook's bytes, folder and options. It is computed before the
/// notebook is parsed: only bytes that parsed are ever cached, and the same bytes parse
/// the same way.
fn cache_key(read: &Read, flags: &ConvertFlags) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(&read.bytes);
    h.update(read.dir.to_string_lossy().as_bytes());
    h.update(serde_json::to_vec(flags).unwrap_or_default());
    h.finalize().into()
}

/// Is the server there, and which.
#[utoipa::path(get, path = "/api/v1/health", tag = "server",
    responses((status = 200, description = "the server's version and root", body = Health)))]
pub async fn health(State(state): State<Arc<AppState>>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        root: state.root.display().to_string(),
    })
}

/// The notebooks under the root (folders and files `.gitignore` leaves out are skipped).
#[utoipa::path(get, path = "/api/v1/notebooks", tag = "notebooks",
    responses((status = 200, description = "notebooks, by path", body = [NotebookEntry])))]
pub async fn notebooks(State(state): State<Arc<AppState>>) -> Result<Json<Vec<NotebookEntry>>, ApiError> {
    let root = state.root.clone();
    let list = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        let walk = ignore::WalkBuilder::new(&root).hidden(true).follow_links(false).build();
        for entry in walk.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "ipynb") && entry.file_type().is_some_and(|t| t.is_file()) {
                let Ok(rel) = p.strip_prefix(&root) else { continue };
                if rel.components().any(|c| c.as_os_str() == ".ipynb_checkpoints") {
                    continue;
                }
                let bytes = entry.metadata().map(|m| m.len()).unwrap_or(0);
                let path = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                out.push(NotebookEntry { path, bytes });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        out
    })
    .await?;
    Ok(Json(list))
}

/// The plan of a notebook (steps, each cell's part, the DAG with the variables each edge
/// carries, parameters, metrics, packages) and every diagnostic with its cell id and
/// range. Answers from a cache when the same notebook comes with the same options.
#[utoipa::path(post, path = "/api/v1/analyze", tag = "notebooks", request_body = NotebookRequest,
    responses((status = 200, description = "the analysis (also when the notebook has errors: see `ok`)", body = Analysis),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "not a notebook", body = ErrorBody)))]
pub async fn analyze(
    State(state): State<Arc<AppState>>,
    Json(request): Json<NotebookRequest>,
) -> Result<Json<Analysis>, ApiError> {
    let analysis = tokio::task::spawn_blocking(move || {
        // The request's notebook is moved, not copied.
        let NotebookRequest { path, notebook, options } = request;
        analyse_cached(&state, &NotebookSource { path, notebook }, &options)
    })
    .await??;
    Ok(Json(analysis))
}

/// The analysis of a notebook, from the cache when the same notebook came with the same
/// options before.
fn analyse_cached(state: &AppState, source: &NotebookSource, flags: &ConvertFlags) -> Result<Analysis, ApiError> {
    // The key is the bytes' hash: a cached answer needs no parsing.
    let read = read(&state.root, source)?;
    let key = cache_key(&read, flags);
    if let Some((hit, files)) = state.cache.lock().ok().and_then(|mut c| c.get(&key).cloned()) {
        // The notebooks its `notebook:` cells run are read again: unchanged, the answer stands.
        if files.iter().all(|(path, hash)| file_hash(path).as_ref() == Some(hash)) {
            return Ok(Analysis { cached: true, ..hit });
        }
    }
    // This runs on a blocking thread (never a runtime worker), where waiting is allowed.
    let _turn = tokio::runtime::Handle::current().block_on(state.analyses.acquire());
    let Loaded { notebook, parse_diagnostics, file, dir, .. } = parse(read)?;
    let options = options(&state.root, flags)?;
    // The plan and the diagnostics are the analysis; the YAML is not needed for it.
    let conversion = crate::plan_only(notebook, parse_diagnostics, &file, Some(&dir), &options);
    let a = analysis(&conversion.notebook, &conversion.plan, &conversion.diagnostics);
    let subs = conversion.notebook.composition.as_ref().map(|c| c.subs.as_slice()).unwrap_or_default();
    let files: Option<Vec<(PathBuf, [u8; 32])>> =
        subs.iter().map(|s| file_hash(&s.file).map(|h| (s.file.clone(), h))).collect();
    if let (Ok(mut c), Some(files)) = (state.cache.lock(), files) {
        c.put(key, (a.clone(), files));
    }
    Ok(a)
}

/// The SHA-256 of a file's bytes, if it can be read.
fn file_hash(path: &Path) -> Option<[u8; 32]> {
    std::fs::read(path).ok().map(|bytes| Sha256::digest(&bytes).into())
}

/// The drawing of a notebook's pipeline, by the code of `nbkf graph`: steps as boxes
/// (cells, packages, metrics), the pipeline parameters as a box above the steps that read
/// them, an arrow per producer→consumer pair labelled with the variables it carries.
/// Made from the same (cached) analysis as `analyze`.
#[utoipa::path(post, path = "/api/v1/graph", tag = "notebooks", request_body = GraphRequest,
    responses((status = 200, description = "the drawing (also when the notebook has errors: see `ok`)", body = Drawing),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 422, description = "not a notebook", body = ErrorBody)))]
pub async fn graph(
    State(state): State<Arc<AppState>>,
    Json(request): Json<GraphRequest>,
) -> Result<Json<Drawing>, ApiError> {
    let format = match request.format.as_deref() {
        None | Some("svg") => crate::graph::Format::Svg,
        Some("dot") => crate::graph::Format::Dot,
        Some("mermaid") => crate::graph::Format::Mermaid,
        Some(other) => return Err(ApiError::bad_request(format!("format `{other}`: use svg, dot or mermaid"))),
    };
    let drawing = tokio::task::spawn_blocking(move || -> Result<Drawing, ApiError> {
        let analysis = analyse_cached(&state, &request.source(), &request.options)?;
        Ok(Drawing {
            format: format.extension().replace("mmd", "mermaid"),
            pipeline: analysis.plan.pipeline.clone(),
            drawing: crate::graph::draw(&analysis.plan, format),
            ok: analysis.ok,
        })
    })
    .await??;
    Ok(Json(drawing))
}

/// The pipeline YAML of a notebook (KFP IR, or with `format: k8s` the Kubernetes-native
/// manifests), written under the root when `output` says where.
#[utoipa::path(post, path = "/api/v1/compile", tag = "notebooks", request_body = CompileRequest,
    responses((status = 200, body = Compiled), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, description = "the notebook has errors", body = ErrorBody)))]
pub async fn compile(
    State(state): State<Arc<AppState>>,
    Json(request): Json<CompileRequest>,
) -> Result<Json<Compiled>, ApiError> {
    let compiled = tokio::task::spawn_blocking(move || -> Result<Compiled, ApiError> {
        let format = match request.format.as_deref() {
            None | Some("ir") => "ir",
            Some(f @ ("k8s" | "dsl")) => f,
            Some(other) => return Err(ApiError::bad_request(format!("format `{other}`: use ir, k8s or dsl"))),
        };
        let output = match &request.output {
            Some(o) => Some(confine(&state.root, o, false)?),
            None => None,
        };
        let loaded = load(&state.root, &request.source())?;
        let options = options(&state.root, &request.options)?;
        let (conversion, _, _) = convert(loaded, &options)?;
        let diagnostics: Vec<DiagnosticOut> =
            conversion.diagnostics.iter().map(|d| diagnostic_out(d, &conversion.notebook)).collect();
        let Some(ir) = conversion.yaml else { return Err(ApiError::notebook_errors(diagnostics)) };
        let name = &conversion.plan.settings.name;
        let yaml = match format {
            "k8s" => manifests(&ir)?,
            "dsl" => {
                // The script names its own file (as `nbkf convert --format dsl` does).
                let file = output
                    .as_ref()
                    .and_then(|o| o.real.file_name().map(|f| f.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| format!("{}_pipeline.py", name.replace('-', "_")));
                crate::emit::kfp_dsl(&conversion.plan, options.preamble, &file, &format!("{name}.pipeline.yaml"))
                    .map_err(|e| ApiError::bad_request(e.to_string()))?
            }
            _ => ir,
        };
        let written = match output {
            Some(o) => {
                crate::output::write_atomically(&o.real, yaml.as_bytes())
                    .map_err(|e| ApiError::internal(format!("cannot write `{}`: {e}", o.relative)))?;
                Some(o.relative)
            }
            None => None,
        };
        Ok(Compiled { pipeline_name: conversion.plan.settings.name.clone(), yaml, written, diagnostics })
    })
    .await??;
    Ok(Json(compiled))
}

fn manifests(ir: &str) -> Result<String, ApiError> {
    let file = crate::emit::file::PipelineFile::parse(ir).map_err(|e| ApiError::internal(e.to_string()))?;
    let m = crate::k8s::Manifests::build(&file, None).map_err(|e| ApiError::bad_request(e.to_string()))?;
    m.to_yaml().map_err(|e| ApiError::internal(e.to_string()))
}

/// The notebook with the Kale tags of its plan (`step:`, `prev:`, `imports`), as
/// `nbkf tag` writes them; everything else as it was. `write` writes it back.
#[utoipa::path(post, path = "/api/v1/tag", tag = "notebooks", request_body = TagRequest,
    responses((status = 200, body = Tagged), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, description = "the notebook has errors", body = ErrorBody)))]
pub async fn tag(
    State(state): State<Arc<AppState>>,
    Json(request): Json<TagRequest>,
) -> Result<Json<Tagged>, ApiError> {
    let tagged = tokio::task::spawn_blocking(move || -> Result<Tagged, ApiError> {
        if request.write && request.path.is_none() {
            return Err(ApiError::bad_request("`write` needs the notebook's `path`"));
        }
        let loaded = load(&state.root, &request.source())?;
        let flags = ConvertFlags { split: request.split.clone(), ..Default::default() };
        let options = options(&state.root, &flags)?;
        let (conversion, path, bytes) = convert(loaded, &options)?;
        if conversion.has_errors() {
            let d = conversion.diagnostics.iter().map(|d| diagnostic_out(d, &conversion.notebook)).collect();
            return Err(ApiError::notebook_errors(d));
        }
        let changes =
            crate::plan::kale_tags(&conversion.plan, &conversion.notebook, conversion.inferred_tags.as_deref());
        let raw = String::from_utf8(bytes).map_err(|_| ApiError::bad_request("the notebook is not UTF-8"))?;
        let text =
            crate::notebook::edit::set_cell_tags(&raw, &changes).map_err(|e| ApiError::internal(e.to_string()))?;
        let written = match (&path, request.write) {
            (Some(p), true) => {
                crate::output::write_atomically(&p.real, text.as_bytes())
                    .map_err(|e| ApiError::internal(format!("cannot write `{}`: {e}", p.relative)))?;
                Some(p.relative.clone())
            }
            _ => None,
        };
        let notebook = serde_json::from_str(&text).map_err(|e| ApiError::internal(e.to_string()))?;
        let changes = changes
            .into_iter()
            .map(|(cell, tags)| CellTags {
                cell: cell + 1,
                cell_id: conversion.notebook.own_cell(cell).and_then(|c| c.id.clone()),
                tags,
            })
            .collect();
        Ok(Tagged { notebook, changes, written })
    })
    .await??;
    Ok(Json(tagged))
}
