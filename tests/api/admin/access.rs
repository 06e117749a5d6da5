//! Who may read `/admin`: the bearer, the disabled API, and the page that needs none.

use super::{ADMIN_TOKEN, Admin};
use crate::helpers::envelope;
use crate::on_every_database;

const JSON_ROUTES: [&str; 5] = [
    "/admin/codes",
    "/admin/codes/1",
    "/admin/links",
    "/admin/users",
    "/admin/stats",
];

on_every_database! {
    async fn every_admin_json_route_needs_the_admin_bearer(app: &TestApp) {
        let admin = Admin::start(app).await;
        let wrong = format!("Bearer {ADMIN_TOKEN}x");
        let short = format!("Bearer {}", &ADMIN_TOKEN[..10]);
        let basic = format!("Basic {ADMIN_TOKEN}");
        let internal = format!("Bearer {}", crate::helpers::INTERNAL_KEY);
        for path in JSON_ROUTES.iter().copied().chain(["/admin/nope"]) {
            for auth in [None, Some(wrong.as_str()), Some(short.as_str()), Some(basic.as_str()),
                         Some(internal.as_str()), Some("Bearer ")] {
                let (status, body) = admin.get_with(path, auth).await;
                assert_eq!((status, &body["code"]), (401, &401.into()), "{path} {auth:?}: {body}");
            }
        }
        for path in ["/admin/codes", "/admin/links", "/admin/users", "/admin/stats"] {
            let (status, body) = admin.get(path).await;
            assert_eq!((status, &body["code"]), (200, &200.into()), "{path}: {body}");
        }
        // The scheme is case-insensitive, as HTTP says.
        let (status, _) = admin.get_with("/admin/stats", Some(&format!("bearer {ADMIN_TOKEN}"))).await;
        assert_eq!(status, 200);
        admin.stop().await;
    }

    async fn with_an_empty_admin_token_the_json_api_answers_404(app: &TestApp) {
        // The TestApp itself runs with admin.token = "".
        assert!(secrecy::ExposeSecret::expose_secret(&app.context.settings.admin.token).is_empty());
        for path in JSON_ROUTES {
            for auth in [None, Some("Bearer "), Some("Bearer anything")] {
                let mut req = app.client.get(app.url(path));
                if let Some(a) = auth {
                    req = req.header("authorization", a);
                }
                let (status, body) = envelope(req.send().await.unwrap()).await;
                assert_eq!((status, &body["code"]), (404, &404.into()), "{path}: {body}");
            }
        }
    }

    async fn the_admin_page_and_its_assets_need_no_bearer(app: &TestApp) {
        let admin = Admin::start(app).await;
        // On the instance with admin off too: the page holds no data.
        for base in [admin.address.clone(), app.address.clone()] {
            for (path, kind) in [("/admin/", "text/html"), ("/admin/index.html", "text/html"),
                                 ("/admin/admin.css", "text/css"), ("/admin/admin.js", "javascript")] {
                let res = app.client.get(format!("{base}{path}")).send().await.unwrap();
                assert_eq!(res.status(), 200, "{base}{path}");
                let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
                assert!(ct.contains(kind), "{path}: {ct}");
                let text = res.text().await.unwrap();
                assert!(!text.contains(ADMIN_TOKEN), "{path}");
            }
        }
        let page = admin.get_raw("/admin/").await.text().await.unwrap();
        assert!(page.contains("id=\"login\"") && page.contains("/admin/admin.js"), "{page}");
        // `/admin` leads to the page.
        let no_redirect = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = no_redirect.get(admin.url("/admin")).send().await.unwrap();
        assert_eq!(res.status(), 308);
        assert_eq!(res.headers()["location"], "/admin/");
        admin.stop().await;
    }
}
