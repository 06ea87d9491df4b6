//! Writing the files nbkf produces: atomically (a reader sees the old content or the whole
//! new one, never a part) and with the permissions a user expects. A target that is a
//! symbolic link is written through (the link stays); one that is not a regular file (a
//! device such as `/dev/null`, a FIFO) is written directly, as a shell redirection would:
//! replacing it with a file would break the device for every other program.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where to write and how: the file a path names, following links; or the special file.
enum Target {
    /// A regular file (or none yet) at this real path: write a temporary file beside it,
    /// then rename it over.
    File(PathBuf),
    /// A device, FIFO or socket: open it and write.
    Special(PathBuf),
}

fn target(path: &Path) -> std::io::Result<Target> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a folder")),
        Ok(m) if !m.is_file() => Ok(Target::Special(path.to_path_buf())),
        // A link to a file: write the file it names, so the link stays.
        Ok(_) => Ok(Target::File(std::fs::canonicalize(path)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling link: write where it points.
            match std::fs::read_link(path) {
                Ok(to) => Ok(Target::File(path.parent().unwrap_or(Path::new(".")).join(to))),
                Err(_) => Ok(Target::File(path.to_path_buf())),
            }
        }
        Err(e) => Err(e),
    }
}

fn write_special(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Writes `bytes` to `path` atomically. A new file gets the permissions of any file the
/// user creates (`0666` less the umask, usually `0644`); an existing file keeps its own.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, true)
}

/// [`write_atomically`] without flushing the file to the disk before it is renamed into
/// place: readers still see the old content or the whole new one, but a crash of the
/// machine may leave an empty file. For batches of many files (`nbkf migrate`), where a
/// flush per file costs more than the conversion.
pub fn write_atomically_unsynced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, false)
}

fn write_atomic(path: &Path, bytes: &[u8], flush: bool) -> std::io::Result<()> {
    let path = match target(path)? {
        Target::Special(p) => return write_special(&p, bytes),
        Target::File(p) => p,
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut builder = tempfile::Builder::new();
    builder.prefix(".nbkf-").suffix(".tmp");
    let existing = std::fs::metadata(&path).ok().filter(|m| m.is_file()).map(|m| m.permissions());
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
    if flush {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `bytes` to `path` atomically, readable and writable by its owner only (`0600`),
/// whatever the umask and whatever the mode of a file it replaces: for files that hold
/// secrets.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = match target(path)? {
        Target::Special(p) => return write_special(&p, bytes),
        Target::File(p) => p,
    };
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
    tmp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

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

    #[test]
    fn links_are_written_through_and_special_files_are_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let dangling = dir.path().join("dangling.yaml");
        std::os::unix::fs::symlink("made.yaml", &dangling).unwrap();
        write_atomically(&dangling, b"x").unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.yaml")).unwrap(), b"x");
        assert!(write_atomically(dir.path(), b"x").is_err(), "a folder is refused");

        // A FIFO (as /dev/null or /dev/stdout would be a device): written, not replaced.
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        write_atomically(&fifo, b"through the pipe").unwrap();
        assert_eq!(reader.join().unwrap(), b"through the pipe");
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
}
