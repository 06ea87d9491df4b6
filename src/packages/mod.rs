//! From what a notebook imports and installs to what a step needs: PyPI distributions
//! for imports ([`resolve_import`]), local modules that travel with the steps
//! ([`local`]), and requirement files named by `pip install -r` ([`requirements`]).

mod known;
pub mod local;
pub mod requirements;
mod stdlib;

pub use local::{LocalModule, ModuleFinder};

/// Modules installed by the KFP preamble itself or part of every step's runtime.
const PROVIDED: &[&str] = &["kfp"];

/// What installing an imported module takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    /// The standard library, a relative import, or `kfp` (installed by the preamble).
    Nothing,
    /// A PyPI distribution. `known` is false when nbkf only assumes the distribution has
    /// the module's name (`import fig_code` → `fig-code`).
    Distribution { name: String, known: bool },
    /// A module that exists only in one hosted environment (`google.colab`).
    HostedOnly { environment: &'static str },
}

/// Whether a top-level module name belongs to the standard library.
pub fn is_stdlib(top: &str) -> bool {
    stdlib::STDLIB.binary_search(&top).is_ok()
}

/// What provides an imported module (`sklearn.metrics`, `google.cloud.storage`, `.local`).
pub fn resolve_import(module: &str) -> ImportSource {
    let top = top_level(module);
    if top.is_empty() || module.starts_with('.') || is_stdlib(top) || PROVIDED.contains(&top) {
        return ImportSource::Nothing;
    }
    let within = |prefix: &str| module == prefix || module.starts_with(&format!("{prefix}."));
    if let Some((_, environment)) = known::HOSTED_ONLY.iter().find(|(m, _)| within(m)) {
        return ImportSource::HostedOnly { environment };
    }
    let distribution = |name: &str, known: bool| ImportSource::Distribution { name: name.to_string(), known };
    if let Some((_, d)) = known::DOTTED.iter().find(|(m, _)| within(m)) {
        return distribution(d, true);
    }
    for (prefix, parts) in known::NAMESPACES {
        if module.starts_with(&format!("{prefix}.")) {
            let name: Vec<&str> = module.split('.').take(*parts).collect();
            return distribution(&name.join("-").replace('_', "-"), true);
        }
    }
    if let Ok(i) = known::RENAMED.binary_search_by(|(m, _)| m.cmp(&top)) {
        return distribution(known::RENAMED[i].1, true);
    }
    let known = known::SAME_NAME.binary_search(&top).is_ok();
    distribution(&top.replace('_', "-"), known)
}

/// The PyPI distribution that provides an imported module, or `None` for the standard
/// library, relative imports, modules the runtime provides and hosted-only modules.
pub fn distribution_for(module: &str) -> Option<String> {
    match resolve_import(module) {
        ImportSource::Distribution { name, .. } => Some(name),
        _ => None,
    }
}

/// The top-level module of a dotted name.
pub fn top_level(module: &str) -> &str {
    module.split('.').next().unwrap_or(module)
}

/// A requirement's project name, normalised as PyPI compares names (`Scikit_Learn` →
/// `scikit-learn`), or `None` when the text names no project (a URL).
pub fn requirement_name(requirement: &str) -> Option<String> {
    use std::str::FromStr;
    if !crate::python::pip::valid_name_start(requirement) {
        return None;
    }
    pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(requirement).ok().map(|r| r.name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted() {
        assert!(stdlib::STDLIB.windows(2).all(|w| w[0] < w[1]), "keep STDLIB sorted");
        assert!(known::RENAMED.windows(2).all(|w| w[0].0 < w[1].0), "keep RENAMED sorted");
        assert!(known::SAME_NAME.windows(2).all(|w| w[0] < w[1]), "keep SAME_NAME sorted");
    }

    #[test]
    fn maps_import_names_to_distributions() {
        assert_eq!(distribution_for("sklearn.model_selection").as_deref(), Some("scikit-learn"));
        assert_eq!(distribution_for("numpy").as_deref(), Some("numpy"));
        assert_eq!(distribution_for("PIL.Image").as_deref(), Some("Pillow"));
        assert_eq!(distribution_for("os.path"), None);
        assert_eq!(distribution_for("__future__"), None);
        assert_eq!(distribution_for(".local"), None);
        assert_eq!(distribution_for("kfp.dsl"), None);
        assert_eq!(distribution_for("google.cloud.storage").as_deref(), Some("google-cloud-storage"));
        assert_eq!(distribution_for("azure.storage.blob").as_deref(), Some("azure-storage-blob"));
        assert_eq!(distribution_for("google.protobuf.json_format").as_deref(), Some("protobuf"));
    }

    #[test]
    fn unknown_and_hosted_modules() {
        assert_eq!(resolve_import("fig_code"), ImportSource::Distribution { name: "fig-code".into(), known: false });
        assert_eq!(resolve_import("pandas.io"), ImportSource::Distribution { name: "pandas".into(), known: true });
        assert_eq!(resolve_import("google.colab.drive"), ImportSource::HostedOnly { environment: "Google Colab" });
        assert_eq!(resolve_import("StringIO"), ImportSource::Distribution { name: "StringIO".into(), known: false });
    }

    #[test]
    fn requirement_names() {
        assert_eq!(requirement_name("Scikit_Learn>=1").as_deref(), Some("scikit-learn"));
        assert_eq!(requirement_name("git+https://x/y.git"), None);
    }
}
