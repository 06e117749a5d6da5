//! A real S3-compatible server for the tests: `s3s-fs` (`.ci/run` installs it; another
//! binary may be named in `TEST_S3_BIN`) on a free loopback port, with its own folder,
//! bucket and keys. Stopping it (kill) or freezing it (SIGSTOP) is how tests take the
//! object store down.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wxa_backend::config::{Settings, StorageBackend};

use crate::helpers::say_skipped;

pub const BUCKET: &str = "codes";
const ACCESS_KEY: &str = "test-access-key";
const SECRET_KEY: &str = "test-secret-key-for-s3s";

pub struct S3Server {
    child: Option<Child>,
    port: u16,
    root: tempfile::TempDir,
}

fn binary() -> String {
    std::env::var("TEST_S3_BIN")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "s3s-fs".into())
}

impl S3Server {
    /// `None` (after saying so) when the binary is missing; under CI that fails instead.
    pub async fn start(test: &str) -> Option<S3Server> {
        let bin = binary();
        if Command::new(&bin).arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{bin} is missing (cargo install s3s-fs@0.14.1 --features binary --locked)"
            );
            say_skipped(test, &format!("{bin} is not installed"));
            return None;
        }
        let root = tempfile::tempdir().expect("s3 root");
        // s3s-fs keeps each bucket as a folder under its root.
        std::fs::create_dir(root.path().join(BUCKET)).expect("bucket folder");
        let mut server = S3Server {
            child: None,
            port: 0,
            root,
        };
        // A free port can be taken between our probe and the server's bind: try again.
        for _ in 0..5 {
            server.port = free_port();
            if server.launch().await {
                return Some(server);
            }
        }
        panic!("{bin} did not start");
    }

    /// Starts the server on `self.port`; false when it exited (the port was taken).
    async fn launch(&mut self) -> bool {
        let mut child = Command::new(binary())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(self.root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the S3 server");
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if child.try_wait().expect("poll the S3 server").is_some() {
                return false;
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                self.child = Some(child);
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the S3 server did not listen within 10 s");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points `settings` at this server's bucket, under `prefix`.
    pub fn configure(&self, settings: &mut Settings, prefix: &str) {
        let storage = &mut settings.storage;
        storage.backend = StorageBackend::S3;
        storage.bucket = BUCKET.into();
        storage.endpoint = self.endpoint();
        storage.access_key_id = ACCESS_KEY.into();
        storage.secret_access_key = SECRET_KEY.into();
        storage.prefix = prefix.into();
    }

    /// Where the server keeps the object `key` on disk.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.root.path().join(BUCKET).join(key)
    }

    /// The object `key` as stored, read behind the product's back.
    pub fn object(&self, key: &str) -> Option<Vec<u8>> {
        std::fs::read(self.object_path(key)).ok()
    }

    /// Object keys under `prefix` (a folder of the bucket), sorted.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        crate::codes::files_in(&self.root.path().join(BUCKET).join(prefix))
            .into_iter()
            .map(|name| format!("{prefix}{name}"))
            .collect()
    }

    /// Kills the server: connections are refused from now on.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and folder.
    pub async fn restart(&mut self) {
        self.stop();
        assert!(
            self.launch().await,
            "port {} was taken meanwhile",
            self.port
        );
    }

    /// SIGSTOP (`freeze = true`) or SIGCONT: a frozen server accepts connections (the
    /// kernel does) but never answers, the slow kind of outage.
    pub fn freeze(&self, freeze: bool) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let signal = if freeze { "-STOP" } else { "-CONT" };
        let sent = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(sent.success());
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A frozen process dies of SIGKILL as well.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
