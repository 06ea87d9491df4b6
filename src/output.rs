//! Writing the files nbkf produces: atomically (a reader sees the old content or the whole
//! new one, never a part) and with the permissions a user expects.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically. A new file gets the permissions of any file the
/// user creates (`0666` less the umask, usually `0644`); an existing file keeps its own.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".nbkf-").suffix(".tmp");
    let existing = std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.permissions());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The mode given to open(2) is reduced by the umask, as for any new file.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Some(permissions) = existing {
        tmp.as_file().set_permissions(permissions)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to `path` atomically, readable and writable by its owner only (`0600`),
/// whatever the umask and whatever the mode of a file it replaces: for files that hold
/// secrets.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    // tempfile creates its files 0600.
    let mut tmp = tempfile::Builder::new().prefix(".nbkf-").suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn new_files_follow_the_umask_and_existing_files_keep_their_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.yaml");
        write_atomically(&new, b"a").unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode() & 0o777;
        // Whatever the umask, a new file is readable by its owner and not executable, and is
        // not the 0600 of a temporary file unless the umask says so.
        let umask = 0o666 & !mode;
        assert_eq!(mode, 0o666 & !umask);
        assert_eq!(mode & 0o111, 0);

        let kept = dir.path().join("kept.ipynb");
        std::fs::write(&kept, b"old").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&kept, b"new").unwrap();
        assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read(&kept).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    }

    #[test]
    fn private_files_are_owner_only_even_when_replacing_an_open_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"token = 1").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"token = 1");
    }
}
