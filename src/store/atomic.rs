//! Crash-safe file writes: write a temporary file beside the target, fsync it, rename it over
//! the target and fsync the folder, so a reader sees the old file or the new one, never half
//! of either. Private keys are created with mode 0600 from the first byte.

use super::error::{Result, StoreError};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// File mode for files anyone on the machine may read (certificates, settings).
pub const PUBLIC: u32 = 0o644;
/// File mode for private keys.
pub const PRIVATE: u32 = 0o600;

/// How the temporary file of an atomic write ends (`.<name>.<pid>.<n>.tmp`).
const TEMP_SUFFIX: &str = ".tmp";

/// Whether a file name is a temporary file of [`write_atomic`] (left over by a crash).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(TEMP_SUFFIX)
}

/// An exclusive lock on a data directory's `admin.lock` file, released when dropped: one process at
/// a time checks and replaces the settings or the certificate index.
#[derive(Debug)]
pub struct DirLock(#[allow(dead_code)] File);

/// Waits for the data directory's lock.
pub fn lock_dir(root: &Path) -> Result<DirLock> {
    let path = root.join("admin.lock");
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(PRIVATE)
        .open(&path)
        .map_err(|e| StoreError::io(&path, e))?;
    f.lock().map_err(|e| StoreError::io(&path, e))?;
    Ok(DirLock(f))
}

/// The current bytes of a file, `None` when it does not exist.
pub fn read_if_exists(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

/// Refuses with [`StoreError::ChangedElsewhere`] unless `path` still holds `expected` (`None`:
/// the file must not exist).
pub fn ensure_unchanged(path: &Path, expected: Option<&[u8]>) -> Result<()> {
    if read_if_exists(path)?.as_deref() == expected {
        Ok(())
    } else {
        Err(StoreError::ChangedElsewhere {
            path: path.to_path_buf(),
        })
    }
}

/// Atomically replaces `path` with `bytes`, creating it with `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per process and per write, created new: never shared with another writer, never
    // a leftover with another mode.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!(
        ".{name}.{}.{}{TEMP_SUFFIX}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    Ok(())
}

/// Atomically replaces `path`, first keeping the current content as `<path>.bak`.
pub fn write_with_backup(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if path.exists() {
        let bak = backup_path(path);
        let old = fs::read(path).map_err(|e| StoreError::io(path, e))?;
        write_atomic(&bak, &old, mode)?;
    }
    write_atomic(path, bytes, mode)
}

pub fn backup_path(path: &Path) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".bak");
    s.into()
}

/// fsyncs a folder so a rename or a new file in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a folder (and missing parents) with the given mode; each new folder's entry in its
/// parent is fsynced, so the folder survives a crash before anything is acknowledged inside it.
/// Says whether anything was created.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<bool> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(false);
    }
    let mut missing = Vec::new();
    let mut p = dir;
    while !p.is_dir() {
        missing.push(p);
        match p.parent() {
            Some(q) if !q.as_os_str().is_empty() => p = q,
            _ => break,
        }
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| StoreError::io(dir, e))?;
    for m in missing.iter().rev() {
        let parent = m
            .parent()
            .filter(|q| !q.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(parent).map_err(|e| StoreError::io(parent, e))?;
    }
    Ok(true)
}

/// Removes a file if it exists.
pub fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_replace_and_keep_one_backup() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.ron");
        write_with_backup(&p, b"one", PUBLIC).unwrap();
        write_with_backup(&p, b"two", PUBLIC).unwrap();
        write_with_backup(&p, b"three", PUBLIC).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"three");
        assert_eq!(fs::read(backup_path(&p)).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    }

    #[test]
    fn private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.key");
        write_atomic(&p, b"secret", PRIVATE).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing-folder").join("f");
        assert!(write_atomic(&p, b"x", PUBLIC).is_err());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
