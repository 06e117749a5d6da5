//! The `fs` backend: the image folder (`storage.dir`, served at `/image/`). Files are named by content hash
//! and written atomically: into `.tmp/` first (a name unique to this process and hash),
//! synced, then renamed into place. So every file under `storage.dir` is complete, and a
//! crash leaves at most a temp file, which the server clears at start and `wxa pregen`
//! clears when its writer is gone.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::services::codes::hot::Stamp;

pub struct ImageDir {
    dir: PathBuf,
    tmp: PathBuf,
}

impl ImageDir {
    pub fn new(dir: &Path) -> Self {
        ImageDir {
            dir: dir.to_path_buf(),
            tmp: dir.join(".tmp"),
        }
    }

    pub fn root(&self) -> &Path {
        &self.dir
    }

    /// Writes `bytes` as `file`, all or nothing. One writer per file and process (the
    /// service's single flight), so the temp name needs only the pid to be unique.
    pub async fn write(&self, file: &str, bytes: Bytes) -> io::Result<()> {
        let target = self.dir.join(file);
        let tmp_dir = self.tmp.clone();
        let tmp = self.tmp.join(format!("{}-{file}", std::process::id()));
        let written = tokio::task::spawn_blocking(move || {
            let write = |tmp: &Path| -> io::Result<()> {
                let mut f = std::fs::File::create(tmp)?;
                f.write_all(&bytes)?;
                f.sync_data()?;
                std::fs::rename(tmp, &target)
            };
            let result = match write(&tmp) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    // The folder was removed under us; make it again, once.
                    std::fs::create_dir_all(&tmp_dir)?;
                    write(&tmp)
                }
                other => other,
            };
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result
        })
        .await;
        written.map_err(io::Error::other)?
    }

    pub async fn exists(&self, file: &str) -> io::Result<bool> {
        tokio::fs::try_exists(self.dir.join(file)).await
    }

    /// The file's inode, length and modification time; `None` when it is missing.
    pub fn stamp(&self, file: &str) -> Option<Stamp> {
        let md = std::fs::metadata(self.dir.join(file)).ok()?;
        #[cfg(unix)]
        let ino = std::os::unix::fs::MetadataExt::ino(&md);
        #[cfg(not(unix))]
        let ino = 0;
        Some(Stamp {
            ino,
            len: md.len(),
            modified: md.modified().ok()?,
        })
    }

    pub async fn read(&self, file: &str) -> io::Result<Vec<u8>> {
        tokio::fs::read(self.dir.join(file)).await
    }

    pub async fn remove(&self, file: &str) -> io::Result<()> {
        tokio::fs::remove_file(self.dir.join(file)).await
    }

    /// Creates the folders; removes temp files whose writing process is gone (a crash or
    /// a kill in the middle of a write). Returns how many it removed.
    pub fn prepare(&self) -> io::Result<usize> {
        std::fs::create_dir_all(&self.tmp)?;
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.tmp)? {
            let entry = entry?;
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split_once('-'))
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            let stale = match pid {
                Some(pid) => pid != std::process::id() && !process_alive(pid),
                None => false,
            };
            if stale && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Without /proc, leave temp files to the server's start-up clean-up.
#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_are_whole_and_prepare_removes_only_dead_writers_temp_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let images = ImageDir::new(&dir.path().join("image"));
        images.prepare().expect("folders");
        let tmp = dir.path().join("image/.tmp");
        let dead = tmp.join("4000000000-aa.jpg");
        let ours = tmp.join(format!("{}-bb.jpg", std::process::id()));
        std::fs::write(&dead, b"half").expect("write");
        std::fs::write(&ours, b"in progress").expect("write");
        assert_eq!(images.prepare().expect("prepare"), 1);
        assert!(!dead.exists() && ours.exists());
        std::fs::remove_file(&ours).expect("remove");

        images
            .write("cc.jpg", Bytes::from_static(b"\xFF\xD8\xFFimage"))
            .await
            .expect("write");
        assert!(images.exists("cc.jpg").await.expect("exists"));
        assert_eq!(
            images.read("cc.jpg").await.expect("read"),
            b"\xFF\xD8\xFFimage"
        );
        assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0);
    }
}
