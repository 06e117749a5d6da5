//! Faults in a running cluster: an instance killed with SIGKILL mid-burst, Redis stopped
//! and started mid-burst.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Cluster, PREFIX};
use crate::codes::UNLIMIT;
use crate::helpers::envelope;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_burst_loses_no_recorded_code() {
    let test = "cluster::faults::an_instance_killed_mid_burst_loses_no_recorded_code";
    let Some(mut cluster) = Cluster::start(test, |_| {}).await else {
        return;
    };
    let urls = cluster.urls();
    let bodies: Vec<Value> = (0..24)
        .map(|i| json!({"scene": format!("kill-{i}")}))
        .collect();
    let answers = {
        let (cluster, urls, bodies) = (&cluster, &urls, &bodies);
        let burst = futures_util::future::join_all(
            (0..24).map(|i| async move { cluster.code(&urls[i % 3], &bodies[i]).await }),
        );
        let kill_when_some_are_recorded = async {
            let deadline = Instant::now() + Duration::from_secs(20);
            while recorded(cluster).await < 4 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::pin!(burst);
        tokio::select! {
            answers = &mut burst => answers,
            () = kill_when_some_are_recorded => {
                // By pid: the burst still borrows the cluster.
                let victim = cluster.peers[1].pid().to_string();
                let _ = std::process::Command::new("kill").args(["-KILL", &victim]).status();
                burst.await
            }
        }
    };
    cluster.peers[1].kill9();
    let survivors = &cluster.urls()[..2];

    // Every code answered before the kill is served by the survivors from its record.
    let mut answered = 0;
    for (i, answer) in answers.iter().enumerate() {
        let Ok((200, first)) = answer else { continue };
        answered += 1;
        for base in survivors {
            let (status, again) = cluster.code(base, &bodies[i]).await.unwrap();
            assert_eq!(
                (status, &again["data"]["cached"]),
                (200, &json!(true)),
                "{again}"
            );
            assert_eq!(again["data"]["url"], first["data"]["url"]);
        }
    }
    assert!(answered >= 16, "the survivors' share at least: {answered}");
    // The rest are made by the survivors, once a dead instance's claim has lapsed.
    for (i, body) in bodies.iter().enumerate() {
        let (status, again) = cluster.code(&survivors[i % 2], body).await.unwrap();
        assert_eq!(status, 200, "{again}");
    }
    // No record without its object, and no code made twice.
    let rows: Vec<(String,)> = sqlx::query_as("SELECT file FROM codes")
        .fetch_all(cluster.app.context.db.pool())
        .await
        .unwrap();
    assert_eq!(rows.len(), 24);
    for (file,) in &rows {
        assert!(
            cluster.s3.object(&format!("{PREFIX}{file}")).is_some(),
            "{file}"
        );
    }
    let calls = cluster.calls(UNLIMIT).await;
    eprintln!(
        "kill -9 mid-burst: {answered}/24 answered before the kill, {calls} upstream calls for 24 codes"
    );
    // At most the codes the killed instance was making when it died are made again.
    assert!((24..=32).contains(&calls), "{calls} upstream calls");
    cluster.finish().await;
}

async fn recorded(cluster: &Cluster) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM codes")
        .fetch_one(cluster.app.context.db.pool())
        .await
        .unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_started_mid_burst_fails_no_request() {
    let test = "cluster::faults::redis_stopped_and_started_mid_burst_fails_no_request";
    let Some(mut cluster) = Cluster::start(test, |_| {}).await else {
        return;
    };
    let urls = cluster.urls();
    let outage = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let counter = Arc::new(AtomicUsize::new(0));
    // One client per instance, each asking for new codes back to back.
    let workers: Vec<_> = urls
        .iter()
        .map(|base| {
            let (base, outage, stop, counter) =
                (base.clone(), outage.clone(), stop.clone(), counter.clone());
            let client = cluster.client.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let during = outage.load(Ordering::Relaxed);
                    let started = Instant::now();
                    let res = client
                        .get(format!("{base}/api/qr_code?scene=redis-{n}"))
                        .send()
                        .await
                        .expect("answered");
                    let status = res.status().as_u16();
                    seen.push((during, status, started.elapsed()));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.redis.kill();
    outage.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for base in &urls {
        assert_eq!(
            readiness_redis(cluster.client.get(format!("{base}/readyz"))).await,
            "down"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.redis.restart();
    outage.store(false, Ordering::Relaxed);
    // Each instance rejoins by itself once its breaker lets a probe through.
    for base in &urls {
        let deadline = Instant::now() + Duration::from_secs(10);
        while readiness_redis(cluster.client.get(format!("{base}/readyz"))).await != "up" {
            assert!(Instant::now() < deadline, "{base} did not rejoin Redis");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    for worker in workers {
        seen.extend(worker.await.unwrap());
    }
    let failed: Vec<_> = seen.iter().filter(|(_, s, _)| *s != 200).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let median = |during: bool| {
        let mut v: Vec<Duration> = seen
            .iter()
            .filter(|(d, _, _)| *d == during)
            .map(|(_, _, t)| *t)
            .collect();
        assert!(v.len() >= 3, "requests made during={during}: {}", v.len());
        v.sort();
        v[v.len() / 2]
    };
    let (normal, down) = (median(false), median(true));
    eprintln!(
        "new codes, median: {normal:?} with Redis, {down:?} without ({} requests)",
        seen.len()
    );
    assert!(
        down < normal + Duration::from_millis(100),
        "median with Redis down {down:?}, with it up {normal:?}"
    );
    cluster.finish().await;
}

async fn readiness_redis(req: reqwest::RequestBuilder) -> String {
    let (status, body) = envelope(req.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["redis"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
