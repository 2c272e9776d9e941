//! Files that hold personal data or secrets — the register, the audit log and its SQLite
//! sidecars, exports, the audit witness, the signing key — are made readable by the service's
//! user only (0600), and the directories made for them 0700, whatever the umask the service
//! was started with. Files that exist already are tightened when opened.
//!
//! SQLite creates a database's `-wal` and `-shm` files with the main file's mode, so making
//! the main file 0600 before SQLite opens it covers them; existing ones are tightened too.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Only the owner may read or write.
pub const FILE_MODE: u32 = 0o600;
/// Only the owner may list, enter or change.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and missing parents) with mode 0700. An existing directory is left as it
/// is (it may be shared on purpose), but a warning names it when others may enter it.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    let existed = dir.is_dir();
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if !existed && mode != DIR_MODE {
            // The umask can only remove bits, but an ACL default or a setgid parent may add some.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(DIR_MODE))?;
        } else if existed && mode & 0o077 != 0 {
            tracing::warn!(directory = %dir.display(), mode = format!("{mode:o}"), "a directory holding personal data is open to other users; make it 0700");
        }
    }
    Ok(())
}

/// Makes sure `path` exists with mode 0600: created so if absent, tightened if present.
/// Call before SQLite opens (or creates) a database there.
pub fn ensure_file(path: &Path) -> io::Result<()> {
    open_options().append(true).open(path)?;
    tighten(path)
}

/// Creates (or truncates) `path` for writing, mode 0600.
pub fn create(path: &Path) -> io::Result<File> {
    let file = open_options().write(true).truncate(true).open(path)?;
    tighten(path)?;
    Ok(file)
}

/// Opens `path` for appending, creating it 0600; an existing file is tightened.
pub fn append(path: &Path) -> io::Result<File> {
    let file = open_options().append(true).open(path)?;
    tighten(path)?;
    Ok(file)
}

/// Tightens an existing SQLite database and its sidecar files to 0600.
pub fn tighten_database(path: &Path) -> io::Result<()> {
    for file in std::iter::once(path.to_path_buf()).chain(["-wal", "-shm", "-journal"].map(|suffix| sidecar(path, suffix))) {
        match tighten(&file) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// `<path><suffix>`, as SQLite names its sidecar files.
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes every permission of group and others from an existing file. A file of another
/// user's, which only its owner may change, is left with a warning rather than refused.
pub fn tighten(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            match std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700)) {
                Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
                    tracing::warn!(file = %path.display(), mode = format!("{:o}", mode & 0o777), "a file holding personal data is open to other users and not ours to change; make it 0600");
                }
                other => other?,
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn open_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_are_made_and_tightened_to_the_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        assert_eq!((mode(&dir.path().join("a")), mode(&nested)), (0o700, 0o700));
        let new = nested.join("new");
        ensure_file(&new).unwrap();
        assert_eq!(mode(&new), 0o600);
        let old = nested.join("old.sqlite3");
        for file in [old.clone(), sidecar(&old, "-wal")] {
            std::fs::write(&file, b"x").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        tighten_database(&old).unwrap();
        assert_eq!((mode(&old), mode(&sidecar(&old, "-wal"))), (0o600, 0o600));
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o666)).unwrap();
        append(&new).unwrap();
        assert_eq!(mode(&new), 0o600);
        assert_eq!(std::fs::read(&old).unwrap(), b"x", "tightening keeps the content");
    }
}
