//! `crmcal connections add|list|remove|sync|rekey`: calendar connections for operators and
//! scripts, through the same sync engine the web UI uses (validated before storing, secrets
//! sealed, first sync queued for the server's workers). Passwords are read from standard
//! input, never from the command line (where `ps` and shell history would show them).

use std::io::BufRead;

use anyhow::{anyhow, bail, Context};
use sync::connections::Credentials;
use sync::secrets::Keyring;

use crate::config::Config;

pub const USAGE: &str = "\
usage:
  crmcal connections add --user EMAIL --provider ews --ews-url URL [--email ACCOUNT]
                         [--impersonation-email MAILBOX] --password-stdin [--tenant NAME|ID]
      EWS with the user's own account (--email defaults to the user's address), or, with
      --impersonation-email, as the service account --email acting for MAILBOX.
  crmcal connections list [--tenant NAME|ID]
  crmcal connections remove --user EMAIL
  crmcal connections sync --user EMAIL [--full]
      queue a sync now (--full: a full round that reconciles the whole window)
  crmcal connections rekey      re-seal every secret with the current key (after rotation)
";

/// Runs one `connections` command; returns what to print.
pub async fn connections(args: &[String], config: &Config, stdin: &mut dyn BufRead) -> anyhow::Result<String> {
    let (command, flags) = args.split_first().ok_or_else(|| anyhow!("missing command\n{USAGE}"))?;
    let flags = Flags::parse(flags)?;
    let store = crate::open_store(&config.database_url).await?;
    let keyring = Keyring::load(&config.secret_key_file)?;
    let public = config.public_url.clone().unwrap_or_else(|| "http://127.0.0.1".into());
    let engine = crate::engine(config, &store, keyring, config.endpoints.for_sync(&public), config.public_url.clone(), std::sync::Arc::new(sync::Silent));
    let conns = engine.connections();
    match command.as_str() {
        "add" => {
            let user_email = flags.required("user")?;
            let (user, _) = store.user_for_sign_in(user_email).await?.ok_or_else(|| anyhow!("no user {user_email}"))?;
            check_tenant(&store, &flags, &user.tenant_id).await?;
            match flags.required("provider")? {
                "ews" => {}
                "google" | "graph" => bail!("Google and Microsoft 365 connect through OAuth in the browser (Settings → Calendar)"),
                other => bail!("unknown provider {other:?} (google, graph or ews)"),
            }
            if !flags.has("password-stdin") {
                bail!("give the password on standard input with --password-stdin");
            }
            let mut password = String::new();
            stdin.read_line(&mut password).context("reading the password")?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            if password.is_empty() {
                bail!("the password on standard input is empty");
            }
            let url = flags.required("ews-url")?.to_string();
            let account = flags.get("email").unwrap_or(&user.email).to_string();
            let (mailbox, credentials) = match flags.get("impersonation-email") {
                Some(mailbox) => (mailbox.to_string(), Credentials::EwsImpersonation { url, service_account: account, password }),
                None => (account.clone(), Credentials::EwsBasic { url, username: account, password }),
            };
            if store.connection_of_user(&user.tenant_id, &user.id).await?.is_some() {
                bail!("{} already has a calendar connection; remove it first", user.email);
            }
            let conn = engine.connect(&user.tenant_id, &user.id, &mailbox, credentials).await?;
            Ok(format!("connected {} to {} ({} via {}); the first sync is queued\n", user.email, conn.mailbox, conn.provider.as_str(), conn.auth_kind.as_str()))
        }
        "list" => {
            let mut out = String::new();
            for tenant_id in tenants(&store, &flags).await? {
                for c in conns.list(&tenant_id).await? {
                    let user = store.user(&tenant_id, &c.user_id).await?;
                    let synced = c.last_synced_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "never".into());
                    // Operators read the reason's code and the provider's own words.
                    let reason = match &c.status_reason {
                        domain::StatusReason::None => String::new(),
                        r => format!(" ({})", serde_json::to_string(r).unwrap_or_default()),
                    };
                    out.push_str(&format!(
                        "{}\t{}\t{}/{}\t{}\t{}{}\tlast sync {}\n",
                        user.email,
                        c.mailbox,
                        c.provider.as_str(),
                        c.auth_kind.as_str(),
                        c.ews_url,
                        c.status.as_str(),
                        reason,
                        synced
                    ));
                }
            }
            if out.is_empty() {
                out.push_str("no calendar connections\n");
            }
            Ok(out)
        }
        "remove" => {
            let user_email = flags.required("user")?;
            let (user, _) = store.user_for_sign_in(user_email).await?.ok_or_else(|| anyhow!("no user {user_email}"))?;
            check_tenant(&store, &flags, &user.tenant_id).await?;
            let conn = store.connection_of_user(&user.tenant_id, &user.id).await?.ok_or_else(|| anyhow!("{} has no calendar connection", user.email))?;
            engine.disconnect(&user.tenant_id, &conn.id).await?;
            Ok(format!("removed the calendar connection of {}\n", user.email))
        }
        "sync" => {
            let user_email = flags.required("user")?;
            let (user, _) = store.user_for_sign_in(user_email).await?.ok_or_else(|| anyhow!("no user {user_email}"))?;
            check_tenant(&store, &flags, &user.tenant_id).await?;
            let conn = store.connection_of_user(&user.tenant_id, &user.id).await?.ok_or_else(|| anyhow!("{} has no calendar connection", user.email))?;
            engine.request_sync(&user.tenant_id, &conn.id, flags.has("full")).await?;
            Ok(format!("queued a {}sync of {}'s calendar\n", if flags.has("full") { "full " } else { "" }, user.email))
        }
        "rekey" => Ok(format!("re-sealed {} secret(s) with the current key\n", conns.rekey().await?)),
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

/// `--name value` pairs and bare `--switch`es.
struct Flags(Vec<(String, Option<String>)>);

impl Flags {
    fn parse(args: &[String]) -> anyhow::Result<Flags> {
        let mut out = Vec::new();
        let mut it = args.iter().peekable();
        while let Some(arg) = it.next() {
            let name = arg.strip_prefix("--").ok_or_else(|| anyhow!("unexpected argument {arg:?}\n{USAGE}"))?;
            if name == "password" {
                bail!("passwords are not accepted on the command line; use --password-stdin");
            }
            let value = match it.peek() {
                Some(v) if !v.starts_with("--") => it.next().cloned(),
                _ => None,
            };
            out.push((name.to_string(), value));
        }
        Ok(Flags(out))
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
    fn required(&self, name: &str) -> anyhow::Result<&str> {
        self.get(name).ok_or_else(|| anyhow!("--{name} is required\n{USAGE}"))
    }
}

async fn check_tenant(store: &store::Store, flags: &Flags, tenant_id: &str) -> anyhow::Result<()> {
    if let Some(wanted) = flags.get("tenant") {
        let tenants = tenants(store, flags).await?;
        if !tenants.iter().any(|t| t == tenant_id) {
            bail!("the user is not in tenant {wanted:?}");
        }
    }
    Ok(())
}

/// The tenant ids `--tenant` names (by id or name), or all.
async fn tenants(store: &store::Store, flags: &Flags) -> anyhow::Result<Vec<String>> {
    let all = store.tenants().await?;
    Ok(match flags.get("tenant") {
        None => all.into_iter().map(|t| t.id).collect(),
        Some(key) => {
            let found: Vec<String> = all.into_iter().filter(|t| t.id == key || t.name.eq_ignore_ascii_case(key)).map(|t| t.id).collect();
            if found.is_empty() {
                bail!("no tenant {key:?}");
            }
            found
        }
    })
}
