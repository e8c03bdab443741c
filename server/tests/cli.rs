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
    store
        .create_user(&tenant.id, NewUser { email: "anna@nordlys.example", display_name: "Anna", password_hash: "x", role: domain::Role::User, time_zone: "Europe/Copenhagen", week_start: 0 })
        .await
        .unwrap();
    store.close().await;
    Setup { dir, ews_url: format!("http://{addr}/ews/EWS/Exchange.asmx") }
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
}
