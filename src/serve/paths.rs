//! Paths in requests, confined to the server's root: `..`, absolute paths and symbolic
//! links that lead out of the root are refused before anything is read.

use std::path::{Component, Path, PathBuf};

use super::error::ApiError;

/// A path a request named, checked.
#[derive(Debug, Clone)]
pub struct Confined {
    /// The real path (symbolic links resolved as far as the file exists).
    pub real: PathBuf,
    /// The path relative to the root, `/`-separated, as the request should see it.
    pub relative: String,
}

/// Checks `requested` (relative to `root`, which is canonical): no absolute path, no
/// `..`, and, once links are followed, still under the root. `must_exist` makes a
/// missing file a 404; otherwise its folder must exist (a file to write).
pub fn confine(root: &Path, requested: &str, must_exist: bool) -> Result<Confined, ApiError> {
    if requested.is_empty() {
        return Err(ApiError::bad_request("the path is empty"));
    }
    if requested.contains('\0') {
        return Err(ApiError::bad_request("the path holds a NUL character"));
    }
    let path = Path::new(requested);
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ApiError::forbidden(format!("`{requested}`: `..` is not allowed in paths"))
                    .with_hint("give the path relative to the server's root, inside it"))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ApiError::forbidden(format!("`{requested}`: absolute paths are not allowed"))
                    .with_hint("give the path relative to the server's root"))
            }
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(ApiError::bad_request(format!("`{requested}` names the root itself, not a file")));
    }
    let joined = root.join(&relative);
    let outside =
        || ApiError::forbidden(format!("`{requested}` leads outside the server's root (through a symbolic link)"));
    let real = match std::fs::canonicalize(&joined) {
        Ok(real) => real,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Where it would be: its folder, resolved, must be inside the root.
            let parent = joined.parent().unwrap_or(root);
            let folder = match std::fs::canonicalize(parent) {
                Ok(f) => f,
                Err(_) if must_exist => return Err(ApiError::not_found(format!("`{requested}` does not exist"))),
                Err(_) => return Err(ApiError::not_found(format!("the folder of `{requested}` does not exist"))),
            };
            if !folder.starts_with(root) {
                return Err(outside());
            }
            if must_exist {
                return Err(ApiError::not_found(format!("`{requested}` does not exist")));
            }
            // A dangling symbolic link would be written through to wherever it points.
            if std::fs::symlink_metadata(&joined).is_ok() {
                return Err(outside());
            }
            folder.join(joined.file_name().unwrap_or_default())
        }
        Err(e) => return Err(ApiError::forbidden(format!("`{requested}`: {e}"))),
    };
    if !real.starts_with(root) {
        return Err(outside());
    }
    let relative = relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
    Ok(Confined { real, relative })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_root_pass() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.ipynb"), "{}").unwrap();
        std::fs::write(base.path().join("secret.ipynb"), "{}").unwrap();
        std::os::unix::fs::symlink(base.path().join("secret.ipynb"), root.join("link.ipynb")).unwrap();
        std::os::unix::fs::symlink(base.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/a.ipynb"), root.join("inside.ipynb")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();

        let ok = confine(&root, "sub/a.ipynb", true).unwrap();
        assert_eq!(ok.relative, "sub/a.ipynb");
        assert_eq!(confine(&root, "./sub//a.ipynb", true).unwrap().relative, "sub/a.ipynb");
        assert!(confine(&root, "inside.ipynb", true).is_ok(), "a link inside the root is fine");
        let status = |p: &str, exist: bool| confine(&root, p, exist).unwrap_err().status.as_u16();
        assert_eq!(status("../secret.ipynb", true), 403);
        assert_eq!(status("sub/../../secret.ipynb", true), 403);
        assert_eq!(status("/etc/passwd", true), 403);
        assert_eq!(status("link.ipynb", true), 403);
        assert_eq!(status("out/secret.ipynb", true), 403);
        assert_eq!(status("out/new.yaml", false), 403);
        assert_eq!(status("missing.ipynb", true), 404);
        assert_eq!(status("", true), 400);
        assert_eq!(status(".", true), 400);
        assert_eq!(status("a\0b", true), 400);
        // A new file in an existing folder may be written.
        assert_eq!(confine(&root, "sub/new.yaml", false).unwrap().real, root.join("sub/new.yaml"));
        assert_eq!(status("nofolder/new.yaml", false), 404);
    }
}
