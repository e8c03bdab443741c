//! `crmcal connections …` as an operator runs it: the real binary, the password on standard
//! input, an EWS mailbox on the emulator over loopback (F-ADM-5).

use std::io::Write;
use std::process::{Command, Stdio};

use emulator::model::{Mailbox, Provider};
use emulator::{Config, Emulator};
use store::{NewUser, Store};

struct Setup {
    dir: tempfile::TempDir,
    ews_url: String,
    emu: Emulator,
}

async fn setup() -> Setup {
    let emu = Emulator::new(Config::default());
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    emu.with_state(|s| {
        s.add_mailbox(Mailbox {
            email: "anna@nordlys.example".into(),
            display_name: "Anna Berg".into(),
            provider: Provider::Ews,
            password: Some("Fjord-42".into()),
            time_zone: "Europe/Copenhagen".into(),
            can_impersonate: false,
            uid: String::new(),
        })
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("crm.db").display())).await.unwrap();
    let tenant = store.create_tenant("Nordlys").await.unwrap();
    store.set_calendar_integration(&tenant.id, true, &domain::audit::Actor::operator(), chrono::Utc::now()).await.unwrap();
    store
        .create_user(&tenant.id, NewUser { email: "anna@nordlys.example", display_name: "Anna", password_hash: "x", role: domain::Role::User, time_zone: "Europe/Copenhagen", week_start: 0 })
        .await
        .unwrap();
    store.close().await;
    Setup { dir, ews_url: format!("http://{addr}/ews/EWS/Exchange.asmx"), emu }
}

impl Setup {
    /// Runs `crmcal connections ARGS` with `stdin`; returns (success, stdout, stderr).
    fn run(&self, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crmcal"))
            .arg("connections")
            .args(args)
            .env("CRMCAL_DATABASE_URL", format!("sqlite:{}", self.dir.path().join("crm.db").display()))
            .env("CRMCAL_SECRET_KEY_FILE", self.dir.path().join("secret.key"))
            .env("CRMCAL_PROVIDER_HTTP_LOOPBACK", "1")
            .env("CRMCAL_DEMO", "0")
            .env_remove("CRMCAL_SECRET_KEY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
    }
}

// The emulator serves from this runtime's worker threads while the test blocks on the child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_list_remove_an_ews_connection_from_the_command_line() {
    let s = setup().await;
    let add = |password: &str| {
        s.run(&["add", "--tenant", "Nordlys", "--user", "anna@nordlys.example", "--provider", "ews", "--ews-url", &s.ews_url, "--password-stdin"], password)
    };
    // A wrong password is refused with the reason, and nothing is stored.
    let (ok, _, err) = add("wrong\n");
    assert!(!ok);
    assert!(err.contains("refused the credentials"), "{err}");
    let (ok, out, _) = s.run(&["list"], "");
    assert!(ok);
    assert_eq!(out, "no calendar connections\n");
    // Passwords never on the command line.
    let (ok, _, err) = s.run(&["add", "--user", "anna@nordlys.example", "--provider", "ews", "--ews-url", &s.ews_url, "--password", "Fjord-42"], "");
    assert!(!ok && err.contains("--password-stdin"), "{err}");

    let (ok, out, err) = add("Fjord-42\n");
    assert!(ok, "{err}");
    assert!(out.contains("connected anna@nordlys.example to anna@nordlys.example (ews via basic)"), "{out}");
    let key = s.dir.path().join("secret.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600, "generated key file is private");

    let (ok, out, _) = s.run(&["list", "--tenant", "Nordlys"], "");
    assert!(ok);
    assert!(out.starts_with("anna@nordlys.example\tanna@nordlys.example\tews/basic\t"), "{out}");
    assert!(out.contains("\tactive\t") && !out.contains("Fjord-42"), "{out}");

    let (ok, out, _) = s.run(&["remove", "--user", "anna@nordlys.example"], "");
    assert!(ok, "{out}");
    assert_eq!(s.run(&["list"], "").1, "no calendar connections\n");
    let (ok, _, err) = s.run(&["add", "--user", "nobody@nordlys.example", "--provider", "ews", "--ews-url", &s.ews_url, "--password-stdin"], "x\n");
    assert!(!ok && err.contains("no user"), "{err}");

    // The operator's other way in: an OAuth access token for EWS, on standard input; a token
    // the server does not know is refused like a wrong password, and it never pairs with
    // a password or impersonation.
    let bearer = |token: &str| s.run(&["add", "--user", "anna@nordlys.example", "--provider", "ews", "--ews-url", &s.ews_url, "--bearer-token-stdin"], token);
    let (ok, _, err) = bearer("not-a-token\n");
    assert!(!ok && err.contains("refused the credentials"), "{err}");
    let (ok, _, err) = s.run(&["add", "--user", "anna@nordlys.example", "--provider", "ews", "--ews-url", &s.ews_url, "--bearer-token-stdin", "--password-stdin"], "x\n");
    assert!(!ok && err.contains("cannot be used with"), "{err}");
    let token = s.emu.with_state(|st| st.issue_tokens("anna@nordlys.example", Provider::Ews, chrono::Duration::hours(1))).unwrap().access_token;
    let (ok, out, err) = bearer(&format!("{token}\n"));
    assert!(ok, "{err}");
    assert!(out.contains("connected anna@nordlys.example to anna@nordlys.example (ews via bearer)"), "{out}");
    let (_, out, _) = s.run(&["list"], "");
    assert!(out.contains("\tews/bearer\t") && !out.contains(&token), "{out}");
}

/// Runs `crmcal ARGS` with nothing behind it: a database path that does not exist and a key
/// file that must not be created. Returns (exit code, stdout, stderr).
fn bare(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crmcal"))
        .args(args)
        .env("CRMCAL_DATABASE_URL", format!("sqlite:{}", dir.join("absent/crm.db").display()))
        .env("CRMCAL_SECRET_KEY_FILE", dir.join("secret.key"))
        .env("CRMCAL_DEMO", "0")
        .env_remove("CRMCAL_SECRET_KEY")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn every_command_answers_help_without_opening_anything() {
    let dir = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 8] = [
        &[],
        &["serve"],
        &["connections"],
        &["connections", "add"],
        &["connections", "list"],
        &["connections", "remove"],
        &["connections", "sync"],
        &["connections", "rekey"],
    ];
    for command in commands {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let (code, out, err) = bare(dir.path(), &args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(out.contains("Usage: crmcal"), "{args:?} prints its usage:\n{out}");
        assert!(out.contains("--help"), "{args:?}:\n{out}");
    }
    let (_, out, _) = bare(dir.path(), &["connections", "add", "--help"]);
    for flag in ["--user", "--provider", "--ews-url", "--impersonation-email", "--password-stdin"] {
        assert!(out.contains(flag), "add's help names {flag}:\n{out}");
    }
    assert!(!out.contains("--password <"), "the refused --password is not offered:\n{out}");
    let (code, out, _) = bare(dir.path(), &["--version"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("crmcal "), "{out}");
    // Nothing was opened or created to answer.
    assert!(!dir.path().join("secret.key").exists() && !dir.path().join("absent").exists());

    // Mistakes: a usage error on standard error, a non-zero exit, nothing on standard output.
    for wrong in [&["bogus"][..], &["connections", "frobnicate"], &["connections", "add", "--user"], &["connections", "sync"]] {
        let (code, out, err) = bare(dir.path(), wrong);
        assert_ne!(code, 0, "{wrong:?}");
        assert!(out.is_empty(), "{wrong:?}: {out}");
        assert!(err.contains("error:") && (err.contains("Usage:") || err.contains("--help")), "{wrong:?}: {err}");
    }
    // A refused option says why (before anything is opened).
    let (code, _, err) = bare(dir.path(), &["connections", "add", "--user", "a@b.c", "--provider", "ews", "--ews-url", "https://x/EWS/Exchange.asmx", "--password", "hunter2"]);
    assert_ne!(code, 0);
    assert!(err.contains("use --password-stdin") && !err.contains("hunter2"), "{err}");
    assert!(!dir.path().join("secret.key").exists());
}
