//! The server under concurrent load, in a process of its own and on a multi-threaded runtime
//! as in production: many pages rendered at once all come out whole. (F-CAL-4)

mod common;

use reqwest::StatusCode;

/// A page title read after its signals were disposed used to panic the rendering task now and
/// then under load, and the browser got a cut connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_whole_under_concurrent_load() {
    let s = common::in_process(false).await;
    let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = c
        .post(format!("{}/api/login", s.base))
        .form(&[("email", "anna@nordlys.example"), ("password", crmcal::demo::DEMO_PASSWORD), ("next", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let pages = (0..60).map(|i| {
        let (c, url) = (c.clone(), format!("{}/calendar?view={}", s.base, ["week", "month", "schedule", "agenda"][i % 4]));
        tokio::spawn(async move {
            let r = c.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
            let status = r.status();
            let body = r.text().await.map_err(|e| format!("{url}: {e}"))?;
            if status != StatusCode::OK || !body.contains(" · CRM Calendar</title>") || !body.contains("</html>") {
                return Err(format!("{url}: {status}, {} bytes", body.len()));
            }
            Ok(())
        })
    });
    for page in pages.collect::<Vec<_>>() {
        page.await.unwrap().unwrap();
    }
}
