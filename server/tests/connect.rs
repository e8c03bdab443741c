//! Connecting Google and Microsoft 365 calendars through OAuth, over real HTTP on loopback:
//! the CRM server, the emulated providers' consent pages and token endpoints (F-ADM-3,
//! F-ADM-4, F-X-4).

use reqwest::{redirect::Policy, Client, StatusCode};

mod common;

use common::signed_in;

fn location(r: &reqwest::Response) -> String {
    r.headers().get("location").unwrap().to_str().unwrap().to_string()
}

/// Follows the CRM's redirect to the provider's consent page and answers it as the mailbox
/// owner; returns where the provider sends the browser back to.
async fn consent(c: &Client, start: &str, email: &str, decision: &str) -> String {
    let to_provider = c.get(start).send().await.unwrap();
    assert_eq!(to_provider.status(), StatusCode::SEE_OTHER, "{:?}", to_provider.text().await);
    let auth = url::Url::parse(&location(&to_provider)).unwrap();
    let q: std::collections::HashMap<String, String> = auth.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q.get("login_hint").map(String::as_str), Some(email));
    let page = c.get(auth.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let mut form: Vec<(String, String)> = q.into_iter().collect();
    form.extend([("email".into(), email.into()), ("password".into(), crmcal::demo::DEMO_PASSWORD.into()), ("decision".into(), decision.into())]);
    let mut post = auth.clone();
    post.set_query(None);
    let back = c.post(post).form(&form).send().await.unwrap();
    assert!(back.status().is_redirection(), "{}", back.status());
    location(&back)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_google_and_microsoft_through_oauth() {
    let s = common::in_process(false).await;
    for (user, path, provider) in [("anna@nordlys.example", "google", "google"), ("ben@nordlys.example", "microsoft", "graph")] {
        let c = signed_in(&s.base, user).await;
        let callback = consent(&c, &format!("{}/connect/{path}", s.base), user, "allow").await;
        assert!(callback.starts_with(&format!("{}/connect/{path}/callback?code=", s.base)), "{callback}");
        let done = c.get(&callback).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        let (u, _) = s.store.user_for_sign_in(user).await.unwrap().unwrap();
        // The pop-up's last page tells the opening page (BroadcastChannel) and closes itself.
        let page = done.text().await.unwrap();
        assert!(page.contains("Calendar connected"), "{page}");
        assert!(page.contains(&format!(r#"postMessage({{"problem":null,"user":"{}"}})"#, u.id)), "{page}");
        assert!(page.contains("window.close()"), "{page}");
        let conn = s.store.connection_of_user(&u.tenant_id, &u.id).await.unwrap().expect("connected");
        assert_eq!((conn.provider.as_str(), conn.auth_kind.as_str(), conn.status.as_str()), (provider, "oauth", "active"));
        assert!(!conn.sealed_secret.contains("ya29") && !conn.sealed_secret.contains("refresh"), "tokens are sealed");
        // The code is used once: the same callback again is refused and changes nothing.
        let again = c.get(&callback).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::BAD_REQUEST);
        assert!(again.text().await.unwrap().contains("already used"));
        // Subscribed, not synchronised: the first sync waits for Synchronise (F-ADM-3).
        assert!(conn.last_synced_at.is_none() && conn.sync_cursor.is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn office_365_connects_the_address_asked_for_and_no_other_account() {
    // F-ADM-4
    let s = common::in_process(false).await;
    let ben = signed_in(&s.base, "ben@nordlys.example").await;
    let (b, _) = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap();
    let (emu, _) = s.running.emulator.clone().unwrap();
    emu.with_state(|st| {
        st.add_mailbox(emulator::model::Mailbox {
            email: "sales@nordlys.example".into(),
            display_name: "Sales".into(),
            provider: emulator::model::Provider::Graph,
            password: Some(crmcal::demo::DEMO_PASSWORD.into()),
            time_zone: "UTC".into(),
            can_impersonate: false,
            uid: String::new(),
        })
    })
    .unwrap();
    let start = format!("{}/connect/microsoft?email=Ben%40Nordlys.example", s.base);
    // Another account signs in on the consent screen: refused, nothing stored.
    let to_provider = ben.get(&start).send().await.unwrap();
    let auth = url::Url::parse(&location(&to_provider)).unwrap();
    let q: std::collections::HashMap<String, String> = auth.query_pairs().into_owned().collect();
    assert_eq!(q["login_hint"], "ben@nordlys.example", "the consent screen is asked for that address");
    let mut form: Vec<(String, String)> = q.into_iter().collect();
    form.extend([("email".into(), "sales@nordlys.example".into()), ("password".into(), crmcal::demo::DEMO_PASSWORD.into()), ("decision".into(), "allow".into())]);
    let mut post = auth.clone();
    post.set_query(None);
    let back = ben.post(post).form(&form).send().await.unwrap();
    let page = ben.get(location(&back)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("You signed in as sales@nordlys.example"), "{page}");
    assert!(page.contains(r#""wrong_account""#), "{page}");
    assert!(s.store.connection_of_user(&b.tenant_id, &b.id).await.unwrap().is_none());
    // The right one: connected as that address.
    let callback = consent(&ben, &start, "ben@nordlys.example", "allow").await;
    assert_eq!(ben.get(&callback).send().await.unwrap().status(), StatusCode::OK);
    let conn = s.store.connection_of_user(&b.tenant_id, &b.id).await.unwrap().expect("connected");
    assert_eq!(conn.mailbox, "ben@nordlys.example");
    // Not an address at all: refused before the provider is asked.
    let bad = ben.get(format!("{}/connect/microsoft?email=ben", s.base)).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_consent_or_another_session_connects_nothing() {
    let s = common::in_process(false).await;
    let anna = signed_in(&s.base, "anna@nordlys.example").await;
    let (u, _) = s.store.user_for_sign_in("anna@nordlys.example").await.unwrap().unwrap();

    let denied = consent(&anna, &format!("{}/connect/google", s.base), "anna@nordlys.example", "deny").await;
    let page = anna.get(&denied).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let text = page.text().await.unwrap();
    assert!(text.contains("Access was not given") && text.contains(r#""consent_denied""#), "{text}");
    assert!(s.store.connection_of_user(&u.tenant_id, &u.id).await.unwrap().is_none());

    // A callback carried to someone else's session (a link sent to a colleague, a CSRF
    // attempt) is refused: the authorisation is bound to the session that started it.
    let callback = consent(&anna, &format!("{}/connect/google", s.base), "anna@nordlys.example", "allow").await;
    let ben = signed_in(&s.base, "ben@nordlys.example").await;
    let stolen = ben.get(&callback).send().await.unwrap();
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST);
    let (b, _) = s.store.user_for_sign_in("ben@nordlys.example").await.unwrap().unwrap();
    assert!(s.store.connection_of_user(&b.tenant_id, &b.id).await.unwrap().is_none());
    assert!(s.store.connection_of_user(&u.tenant_id, &u.id).await.unwrap().is_none());

    // Signed out: to the sign-in page, nothing started.
    let anonymous = Client::builder().redirect(Policy::none()).build().unwrap();
    let r = anonymous.get(format!("{}/connect/google", s.base)).send().await.unwrap();
    assert!(location(&r).starts_with("/login"));
}
