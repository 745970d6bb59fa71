//! Where containers are: HDIMAGE user folders, the roots of mounted media (on Windows, of the
//! removable drives) and configured folders.
//!
//! The walk is shallow by design (a container sits at a known depth), lists at most
//! [`MAX_ENTRIES`] entries per folder and never descends through a symbolic link, so a huge or
//! looping mount cannot stall the scan.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

#[cfg(windows)]
use super::drives::removable_drives;
use crate::config::ScanConfig;
use crate::inventory::Media;

/// Entries read from one folder; a medium root with more is not a key carrier anyway.
pub(crate) const MAX_ENTRIES: usize = 4096;
/// Entries read over the whole walk: a medium full of folders costs one listing per folder.
const MAX_LISTED: usize = 100_000;
/// Containers reported at most, whatever the media hold.
const MAX_CONTAINERS: usize = 1024;
/// The six file names; a configured folder holding any of them is a container itself.
const CONTAINER_FILES: [&str; 6] = [
    "header.key",
    "name.key",
    "primary.key",
    "masks.key",
    "primary2.key",
    "masks2.key",
];

/// A container folder to read.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    pub(crate) media: Media,
    pub(crate) owner: Option<String>,
}

/// What the walk saw.
#[derive(Debug, Default)]
pub(crate) struct Walk {
    pub(crate) found: Vec<Found>,
    /// Folders that should have been listed but could not be, with the reason.
    pub(crate) unlistable: Vec<(PathBuf, io::Error)>,
    /// Limits hit and configured folders that are absent.
    pub(crate) notes: Vec<String>,
    /// Entries listed so far, against [`MAX_LISTED`].
    listed: usize,
}

struct Entry {
    name: String,
    path: PathBuf,
    /// A real folder, not a symbolic link to one.
    is_dir: bool,
    is_symlink: bool,
}

/// Whether a folder name looks like a container: any name, a dot and three digits
/// (`le-09650.000`, `Sidorenk.001`).
pub fn is_container_folder_name(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, digits)) => {
            !stem.is_empty() && digits.len() == 3 && digits.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Every container location of this host, in a stable order.
pub(crate) fn discover(config: &ScanConfig) -> Walk {
    let mut walk = Walk::default();
    hdimage(&config.paths.hdimage(), &mut walk);
    let personal = [
        config.paths.resolve("/media"),
        config.paths.resolve("/run/media"),
    ];
    for root in config.paths.media_roots() {
        let per_user = personal.contains(&root);
        media_root(&root, per_user, &mut walk);
    }
    for drive in removable_drives() {
        containers_in(&drive, Media::Removable, None, &mut walk);
    }
    for dir in &config.keys_dirs {
        keys_dir(dir, &mut walk);
    }
    if walk.found.len() > MAX_CONTAINERS {
        walk.notes.push(format!(
            "{} container folders found; only the first {MAX_CONTAINERS} are reported",
            walk.found.len()
        ));
        walk.found.truncate(MAX_CONTAINERS);
    }
    walk
}

/// Linux finds its media under the mount folders above; only Windows has drive letters.
#[cfg(not(windows))]
fn removable_drives() -> Vec<PathBuf> {
    Vec::new()
}

/// `<hdimage>/<user>/<container>`.
fn hdimage(root: &Path, walk: &mut Walk) {
    let Some(users) = list_or_note(root, false, walk) else {
        return;
    };
    for user in users.into_iter().filter(|e| e.is_dir) {
        containers_in(&user.path, Media::Hdimage, Some(user.name), walk);
    }
}

/// `<root>/<mount>/<container>`, and `<root>/<user>/<mount>/<container>` under `/media` and
/// `/run/media`, where desktops mount a user's media. Nothing deeper: CSP's FLASH reader looks
/// only in a medium's root folder.
fn media_root(root: &Path, per_user: bool, walk: &mut Walk) {
    let Some(top) = list_or_note(root, false, walk) else {
        return;
    };
    for first in top.into_iter().filter(|e| e.is_dir) {
        let Some(entries) = list_or_note(&first.path, true, walk) else {
            continue;
        };
        let (containers, folders): (Vec<Entry>, Vec<Entry>) = entries
            .into_iter()
            .partition(|e| is_container_folder_name(&e.name));
        push_containers(containers, Media::Removable, None, walk);
        if !per_user {
            continue;
        }
        for second in folders.into_iter().filter(|e| e.is_dir) {
            containers_in(
                &second.path,
                Media::Removable,
                Some(first.name.clone()),
                walk,
            );
        }
    }
}

/// A configured folder: a container itself or a folder of containers.
fn keys_dir(dir: &Path, walk: &mut Walk) {
    if !dir.exists() && fs::symlink_metadata(dir).is_err() {
        walk.notes
            .push(format!("keys folder {} does not exist", dir.display()));
        return;
    }
    let Some(entries) = list_or_note(dir, true, walk) else {
        return;
    };
    let holds_key_files = entries
        .iter()
        .any(|e| CONTAINER_FILES.contains(&e.name.to_lowercase().as_str()));
    let named_like_one = dir
        .file_name()
        .is_some_and(|n| is_container_folder_name(&n.to_string_lossy()));
    if holds_key_files || named_like_one {
        walk.found.push(Found {
            path: dir.to_path_buf(),
            media: Media::Folder,
            owner: None,
        });
        return;
    }
    let containers = entries
        .into_iter()
        .filter(|e| is_container_folder_name(&e.name))
        .collect();
    push_containers(containers, Media::Folder, None, walk);
}

fn containers_in(dir: &Path, media: Media, owner: Option<String>, walk: &mut Walk) {
    let Some(entries) = list_or_note(dir, true, walk) else {
        return;
    };
    let containers = entries
        .into_iter()
        .filter(|e| is_container_folder_name(&e.name))
        .collect();
    push_containers(containers, media, owner, walk);
}

/// A container folder may be a symbolic link (an admin pointing HDIMAGE at a share): it is read,
/// never walked, so a loop only makes that one container unreadable.
fn push_containers(entries: Vec<Entry>, media: Media, owner: Option<String>, walk: &mut Walk) {
    for entry in entries.into_iter().filter(|e| e.is_dir || e.is_symlink) {
        walk.found.push(Found {
            path: entry.path,
            media,
            owner: owner.clone(),
        });
    }
}

/// List `dir` sorted by name. An absent folder is silently empty unless `must_exist`; one that
/// exists but cannot be listed is recorded.
fn list_or_note(dir: &Path, must_exist: bool, walk: &mut Walk) -> Option<Vec<Entry>> {
    let budget = MAX_LISTED.saturating_sub(walk.listed);
    if budget == 0 {
        walk.notes.push(format!(
            "{} not looked at: the search already read {MAX_LISTED} folder entries",
            dir.display()
        ));
        return None;
    }
    let limit = budget.min(MAX_ENTRIES);
    match list(dir, limit) {
        Ok((entries, truncated)) => {
            walk.listed += entries.len();
            if truncated {
                walk.notes.push(format!(
                    "{} has more than {limit} entries; the rest were not looked at",
                    dir.display()
                ));
            }
            Some(entries)
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound && !must_exist => None,
        Err(error) => {
            walk.unlistable.push((dir.to_path_buf(), error));
            None
        }
    }
}

fn list(dir: &Path, limit: usize) -> io::Result<(Vec<Entry>, bool)> {
    let mut entries = Vec::new();
    let mut truncated = false;
    for entry in fs::read_dir(dir)? {
        if entries.len() == limit {
            truncated = true;
            break;
        }
        let entry = entry?;
        // `DirEntry::file_type` does not follow symbolic links.
        let file_type = entry.file_type()?;
        entries.push(Entry {
            name: entry.file_name().to_string_lossy().into_owned(),
            path: entry.path(),
            is_dir: file_type.is_dir(),
            is_symlink: file_type.is_symlink(),
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((entries, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crowded_medium_is_cut_off_with_a_note() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mount = dir.path().join("mnt/BIG");
        for n in 0..=MAX_ENTRIES {
            std::fs::create_dir_all(mount.join(format!("f{n:05}"))).expect("folder");
        }
        let config = ScanConfig::new(crate::paths::Paths::new(dir.path()));
        let walk = discover(&config);
        assert!(walk.found.is_empty());
        assert!(walk.unlistable.is_empty());
        assert_eq!(walk.notes.len(), 1, "{:?}", walk.notes);
        assert!(
            walk.notes[0].contains("more than 4096 entries"),
            "{:?}",
            walk.notes
        );
    }

    #[test]
    fn mounts_are_searched_only_at_their_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        for path in [
            "mnt/USB/a.000",
            "mnt/USB/deeper/b.000",
            "media/USB/c.000",
            "media/alice/FLASH/d.000",
            "media/alice/FLASH/deeper/e.000",
            "run/media/bob/DISK/f.000",
        ] {
            std::fs::create_dir_all(dir.path().join(path)).expect("folder");
        }
        let config = ScanConfig::new(crate::paths::Paths::new(dir.path()));
        let walk = discover(&config);
        let found: Vec<(String, Option<String>)> = walk
            .found
            .iter()
            .map(|f| {
                let relative = f.path.strip_prefix(dir.path()).unwrap_or(&f.path);
                // Separators as on Linux, whose layout this is, on every platform.
                let relative = relative.display().to_string().replace('\\', "/");
                (relative, f.owner.clone())
            })
            .collect();
        let owner = |s: &str| Some(s.to_owned());
        assert_eq!(
            found,
            vec![
                ("media/USB/c.000".to_owned(), None),
                ("media/alice/FLASH/d.000".to_owned(), owner("alice")),
                ("run/media/bob/DISK/f.000".to_owned(), owner("bob")),
                ("mnt/USB/a.000".to_owned(), None),
            ]
        );
    }

    #[test]
    fn container_folder_names() {
        for name in [
            "le-09650.000",
            "e4ac4ef8.000",
            "Sidorenk.001",
            "Ключ.999",
            "a.b.000",
        ] {
            assert!(is_container_folder_name(name), "{name}");
        }
        for name in [".000", "abc", "abc.00", "abc.0000", "abc.00a", "abc."] {
            assert!(!is_container_folder_name(name), "{name}");
        }
    }
}
