//! Faults of the shared services (README "Running several instances"): Redis stopped or
//! hung, the database gone. A private `redis-server` is started for these tests, never the
//! machine's one.

use std::time::{Duration, Instant};

use crate::helpers::{DbKind, TestApp, envelope, say_skipped};
use crate::private_redis::PrivateRedis;

/// Makes a new code (a scene never asked before) and times the whole request.
async fn new_code(app: &TestApp, scene: &str) -> (u16, Duration) {
    let started = Instant::now();
    let res = app.get(&format!("/api/qr_code?scene={scene}")).await;
    let (status, body) = envelope(res).await;
    assert_eq!(status, 200, "{body}");
    (status, started.elapsed())
}

async fn readiness_redis(app: &TestApp) -> String {
    let (status, body) = envelope(app.get("/readyz").await).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["redis"].as_str().unwrap().to_owned()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::test]
async fn with_redis_hung_or_dead_each_instance_goes_on_alone_and_rejoins() {
    let test = "faults::with_redis_hung_or_dead_each_instance_goes_on_alone_and_rejoins";
    let Some(mut redis) = PrivateRedis::start(test) else {
        return;
    };
    let url = redis.url();
    let app = TestApp::spawn_with(DbKind::Sqlite, test, |s| {
        s.redis.url = url.into();
        s.redis.key_prefix = "wxa-fault".into();
    })
    .await
    .unwrap();

    // Hung from the start (a stopped process: connections open, nothing answers), so the
    // very first request also needs its token without Redis.
    redis.signal("-STOP");
    let cold = new_code(&app, "cold").await.1;
    let mut down = Vec::new();
    for i in 0..30 {
        down.push(new_code(&app, &format!("hung{i}")).await.1);
    }
    assert_eq!(readiness_redis(&app).await, "down");

    redis.signal("-CONT");
    // The breaker probes again after its pause; then the shared pace is back in Redis.
    let deadline = Instant::now() + Duration::from_secs(10);
    while readiness_redis(&app).await != "up" {
        assert!(Instant::now() < deadline, "did not rejoin Redis");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut up = Vec::new();
    for i in 0..30 {
        up.push(new_code(&app, &format!("up{i}")).await.1);
    }
    assert!(
        !redis.keys("wxa-fault:pace:*").await.is_empty(),
        "the pace is shared again"
    );

    // Dead: connections refused.
    redis.kill();
    for i in 0..10 {
        new_code(&app, &format!("dead{i}")).await;
    }
    assert_eq!(readiness_redis(&app).await, "down");
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while readiness_redis(&app).await != "up" {
        assert!(
            Instant::now() < deadline,
            "did not rejoin the restarted Redis"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    new_code(&app, "back").await;
    assert!(!redis.keys("wxa-fault:pace:*").await.is_empty());

    let (p50_up, p50_down) = (median(up.clone()), median(down.clone()));
    let max_up = up.iter().max().copied().unwrap();
    let max_down = down.iter().max().copied().unwrap();
    let p90 = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() * 9 / 10]
    };
    let (p90_up, p90_down) = (p90(up.clone()), p90(down.clone()));
    eprintln!(
        "redis hung: cold {cold:?}; p50 {p50_down:?} max {max_down:?}; redis up: p50 {p50_up:?} max {max_up:?}"
    );
    // Each request pays at most one command deadline (80 ms) for the outage: with the
    // breaker open most pay nothing. Before the breaker, a code took 9.4 s.
    assert!(
        p50_down < p50_up + Duration::from_millis(100),
        "{p50_down:?} vs {p50_up:?}"
    );
    // The slowest are at the mercy of a shared, loaded machine: the 90th percentile
    // says what the outage costs.
    assert!(
        p90_down < p90_up + Duration::from_millis(150),
        "{p90_down:?} vs {p90_up:?} (max {max_down:?} vs {max_up:?})"
    );
    assert!(cold < Duration::from_secs(1), "{cold:?}");
    app.finish().await;
}

/// A TCP proxy in front of the shared PostgreSQL that can be cut and restored: an outage
/// as the product sees it (connections reset, new ones refused), without touching the
/// machine's server.
struct CuttableProxy {
    addr: std::net::SocketAddr,
    upstream: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl CuttableProxy {
    async fn start(upstream: String) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = CuttableProxy {
            addr,
            upstream,
            task: None,
        };
        proxy.task = Some(tokio::spawn(Self::serve(listener, proxy.upstream.clone())));
        proxy
    }

    async fn serve(listener: tokio::net::TcpListener, upstream: String) {
        let mut links = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            links.spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
        // Dropping the set aborts every link when this task is aborted.
        drop(links);
    }

    /// Every open connection reset, new ones refused.
    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    async fn restore(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.task = Some(tokio::spawn(Self::serve(listener, self.upstream.clone())));
    }
}

#[tokio::test]
async fn with_the_database_down_cached_answers_are_served_and_the_rest_is_a_quick_503() {
    database_down(
        DbKind::Postgres,
        "TEST_DATABASE_URL",
        "faults::with_the_database_down_cached_answers_are_served_and_the_rest_is_a_quick_503",
    )
    .await;
}

#[tokio::test]
async fn with_mysql_down_cached_answers_are_served_and_the_rest_is_a_quick_503() {
    database_down(
        DbKind::Mysql,
        "TEST_MYSQL_URL",
        "faults::with_mysql_down_cached_answers_are_served_and_the_rest_is_a_quick_503",
    )
    .await;
}

/// The database behind a proxy that is cut, then restored.
async fn database_down(kind: DbKind, var: &str, test: &str) {
    let Some(base) = crate::helpers::test_url(var) else {
        say_skipped(test, &format!("{var} is not set"));
        return;
    };
    let upstream = url::Url::parse(&base).unwrap();
    let upstream = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(match kind {
            DbKind::Mysql => 3306,
            _ => 5432,
        })
    );
    let mut proxy = CuttableProxy::start(upstream.clone()).await;
    let via = proxy.addr.to_string();
    let app = TestApp::spawn_with(kind, test, move |s| {
        let url = secrecy::ExposeSecret::expose_secret(&s.database.url).replace(&upstream, &via);
        s.database.url = url.into();
    })
    .await
    .unwrap();
    assert_eq!(new_code(&app, "before").await.0, 200);
    let scheme = app.get("/api/scheme_code?path=pages/index/index").await;
    assert_eq!(scheme.status(), 200);

    proxy.cut();
    // Answers already cached are still served.
    let (status, body) = envelope(app.get("/api/qr_code?scene=before").await).await;
    assert_eq!(
        (status, body["data"]["cached"].as_bool()),
        (200, Some(true)),
        "{body}"
    );
    let again = app.get("/api/scheme_code?path=pages/index/index").await;
    assert_eq!(again.status(), 200);
    // What needs the database is a 503 the client may retry, quickly.
    for path in ["/api/qr_code?scene=during", "/readyz"] {
        let started = Instant::now();
        let res = app.get(path).await;
        let took = started.elapsed();
        let retry = res.headers().get("retry-after").cloned();
        let (status, body) = envelope(res).await;
        assert_eq!(
            (status, body["code"].as_u64()),
            (503, Some(503)),
            "{path}: {body}"
        );
        assert!(retry.is_some(), "{path}: Retry-After");
        assert!(took < Duration::from_secs(2), "{path}: {took:?}");
        assert!(!body["msg"].as_str().unwrap().contains("sqlx"), "{body}");
    }

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get("/readyz").await.status() != 200 {
        assert!(Instant::now() < deadline, "did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = envelope(app.get("/api/qr_code?scene=during").await).await;
    assert_eq!(
        (status, body["data"]["cached"].as_bool()),
        (200, Some(false)),
        "nothing half-recorded: {body}"
    );
    app.finish().await;
}
