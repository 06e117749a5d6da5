//! A `redis-server` of our own on a free loopback port, for the tests that stop, hang or
//! kill Redis: never the machine's shared one.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::say_skipped;

/// A `redis-server` of our own on a free loopback port, to stop and start at will.
pub struct PrivateRedis {
    port: u16,
    child: Child,
}

impl PrivateRedis {
    /// `None` (said out loud) without `redis-server`; under CI that is a failure.
    pub fn start(test: &str) -> Option<PrivateRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        match Self::spawn(port) {
            Ok(child) => Some(PrivateRedis { port, child }),
            Err(e) if std::env::var_os("CI").is_none() => {
                say_skipped(test, &format!("redis-server cannot be started: {e}"));
                None
            }
            Err(e) => panic!("redis-server cannot be started (apt-get install redis-server): {e}"),
        }
    }

    fn spawn(port: u16) -> std::io::Result<Child> {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(child)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Killed outright, as a crashed server.
    pub fn kill(&mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    pub fn restart(&mut self) {
        self.child = Self::spawn(self.port).expect("redis-server restarts");
    }

    pub async fn keys(&self, pattern: &str) -> Vec<String> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("KEYS")
            .arg(pattern)
            .query_async(&mut conn)
            .await
            .unwrap()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
