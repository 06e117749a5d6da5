//! Codes across three instances: one WeChat call however the requests are spread, any
//! instance serving any code byte for byte, and a quota ledger the cluster cannot pass.

use serde_json::{Value, json};

use super::{Cluster, PREFIX};
use crate::codes::{LIMITED, UNLIMIT, image_path};

fn file_of(data: &Value) -> String {
    image_path(data).trim_start_matches("/image/").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_identical_requests_over_three_cold_instances_make_one_call_and_all_serve_it() {
    let test = "cluster::codes::thirty_identical_requests_over_three_cold_instances_make_one_call_and_all_serve_it";
    let Some(cluster) = Cluster::start(test, |_| {}).await else {
        return;
    };
    let urls = cluster.urls();
    let body = json!({"scene": "cluster-burst", "width": 430});
    let answers =
        futures_util::future::join_all((0..30).map(|i| cluster.code(&urls[i % 3], &body))).await;
    let answers: Vec<Value> = answers
        .into_iter()
        .map(|a| {
            let (status, body) = a.expect("every instance answers");
            assert_eq!(status, 200, "{body}");
            body
        })
        .collect();
    let first = &answers[0]["data"];
    for a in &answers {
        assert_eq!(
            (&a["data"]["id"], &a["data"]["url"]),
            (&first["id"], &first["url"])
        );
    }
    let made = answers
        .iter()
        .filter(|a| a["data"]["cached"] == false)
        .count();
    assert_eq!(
        made, 1,
        "one request made it, the others were answered from it"
    );
    assert_eq!(cluster.calls(UNLIMIT).await, 1);
    assert_eq!(
        cluster.app.stable_token_calls().await,
        1,
        "one token call for the whole cluster"
    );

    // Every instance serves the image from the bucket, byte for byte.
    let file = file_of(first);
    let stored = cluster
        .s3
        .object(&format!("{PREFIX}{file}"))
        .expect("in the bucket");
    for base in &urls {
        let (status, bytes) = cluster.image(base, &file).await;
        assert_eq!(status, 200, "{base}");
        assert_eq!(&bytes[..], &stored[..], "{base}");
        let (status, again) = cluster.code(base, &body).await.unwrap();
        assert_eq!((status, &again["data"]["cached"]), (200, &json!(true)));
        assert_eq!(again["data"]["url"], first["url"]);
    }
    assert_eq!(cluster.calls(UNLIMIT).await, 1);
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_never_lets_the_cluster_make_a_sixth_limited_code() {
    let test = "cluster::codes::the_ledger_never_lets_the_cluster_make_a_sixth_limited_code";
    let Some(cluster) = Cluster::start(test, |s| s.codes.limited_quota = 5).await else {
        return;
    };
    let urls = cluster.urls();
    let bodies: Vec<Value> = (0..15)
        .map(|i| json!({"kind": "limited", "path": format!("pages/cluster/index?i={i}")}))
        .collect();
    // Each code asked on two instances at once, so both the claims and the ledger work.
    let answers = futures_util::future::join_all(
        (0..30).map(|i| cluster.code(&urls[i % 3], &bodies[i % 15])),
    )
    .await;
    let mut made = Vec::new();
    for (i, a) in answers.into_iter().enumerate() {
        let (status, body) = a.expect("every instance answers");
        match status {
            200 => made.push(i % 15),
            429 => assert!(body["msg"].as_str().unwrap().contains('5'), "{body}"),
            other => panic!("{other}: {body}"),
        }
    }
    made.sort_unstable();
    made.dedup();
    assert_eq!(made.len(), 5, "five codes made: {made:?}");
    assert_eq!(cluster.calls(LIMITED).await, 5, "WeChat made exactly five");
    let (used,): (i64,) = sqlx::query_as("SELECT used FROM code_quota")
        .fetch_one(cluster.app.context.db.pool())
        .await
        .unwrap();
    assert_eq!(used, 5, "the ledger counts what WeChat made");
    // The five are answered by every instance from the record; a sixth is still refused.
    for (n, i) in made.iter().enumerate() {
        let (status, body) = cluster.code(&urls[n % 3], &bodies[*i]).await.unwrap();
        assert_eq!(
            (status, &body["data"]["cached"]),
            (200, &json!(true)),
            "{body}"
        );
    }
    let sixth = json!({"kind": "limited", "path": "pages/cluster/sixth"});
    for base in &urls {
        let (status, body) = cluster.code(base, &sixth).await.unwrap();
        assert_eq!(status, 429, "{body}");
    }
    assert_eq!(cluster.calls(LIMITED).await, 5);
    cluster.finish().await;
}
