//! What every request shares: the root, who may call, the analysis cache, the local runs,
//! and how to reach a cluster.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Mutex;

use lru::LruCache;

use super::model::Analysis;
use super::runs::Runs;
use super::security::Access;
use crate::submit::connection::Flags;

/// How many analyses the cache keeps.
pub const CACHE_ENTRIES: usize = 256;

/// An analysis, with the notebooks its `notebook:` cells run and the SHA-256 of each (a
/// changed one makes the entry stale).
pub type CachedAnalysis = (Analysis, Vec<(PathBuf, [u8; 32])>);

/// The server's shared state.
pub struct AppState {
    /// The canonical root: every path a request names is under it.
    pub root: PathBuf,
    pub access: Access,
    /// Analyses by a hash of the notebook's bytes, its folder and the options.
    pub cache: Mutex<LruCache<[u8; 32], CachedAnalysis>>,
    /// Analyses that are not in the cache run one per core, first come first served: more
    /// at once only share the cores, so each would take longer and none finish sooner.
    pub analyses: tokio::sync::Semaphore,
    pub runs: Runs,
    /// Where local runs keep their files (`<root>/.nbkf` by default).
    pub workdir: PathBuf,
    /// The Python that runs steps.
    pub python: PathBuf,
    /// How to reach KFP (the profile, ...), as the CLI's connection flags.
    pub kfp: Flags,
}

impl AppState {
    pub fn new(root: PathBuf, access: Access, workdir: PathBuf, python: PathBuf, kfp: Flags) -> Self {
        AppState {
            root,
            access,
            cache: Mutex::new(LruCache::new(NonZeroUsize::new(CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN))),
            analyses: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            runs: Runs::default(),
            workdir,
            python,
            kfp,
        }
    }
}
