//! The `crmcal` command line: `crmcal [serve]` runs the server; `crmcal connections …` manages
//! calendar connections for operators and scripts, through the same sync engine and the same
//! validations as the web forms (checked with the provider before storing, secrets sealed).
//! Passwords are read from standard input, never from the command line (where `ps` and shell
//! history would show them). Help is answered before anything is opened.

use std::io::BufRead;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::audit::Actor;
use sync::connections::Credentials;
use sync::secrets::Keyring;

use crate::config::Config;

/// CRM Calendar: the calendar of a CRM, synchronised both ways with Google Calendar,
/// Microsoft 365 and Exchange.
///
/// Configured by environment variables (CRMCAL_DATABASE_URL, CRMCAL_SECRET_KEY_FILE, …; see
/// the README). Without a command it runs the server.
#[derive(Debug, Parser)]
#[command(name = "crmcal", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server, the sync workers and the scheduler (the default).
    Serve,
    /// Calendar connections: connect an Exchange mailbox, list, remove, sync, re-seal secrets.
    #[command(subcommand)]
    Connections(ConnectionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCommand {
    /// Connect a user's Exchange (EWS) mailbox, checked with the server before it is stored.
    ///
    /// With the user's own account (--email defaults to the user's address), or, with
    /// --impersonation-email, as the service account --email acting for that mailbox.
    /// Google and Microsoft 365 connect through OAuth in the browser (Settings → Calendar).
    Add(AddArgs),
    /// List the calendar connections with their status and last sync.
    List {
        #[command(flatten)]
        tenant: TenantArg,
    },
    /// Disconnect a user's calendar (push stopped, credentials deleted; CRM meetings kept).
    Remove {
        #[command(flatten)]
        user: UserArg,
    },
    /// Queue a sync of a user's calendar now.
    Sync {
        #[command(flatten)]
        user: UserArg,
        /// A full round that reconciles the whole window, instead of the changes since the last sync.
        #[arg(long)]
        full: bool,
    },
    /// Re-seal every stored secret with the current key (after rotating CRMCAL_SECRET_KEY).
    Rekey,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Ews,
    Google,
    Graph,
}

#[derive(Debug, Args)]
pub struct TenantArg {
    /// Only this company (its name or id).
    #[arg(long, value_name = "NAME|ID")]
    tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserArg {
    /// The CRM user (their sign-in e-mail address).
    #[arg(long, value_name = "EMAIL")]
    user: String,
    #[command(flatten)]
    tenant: TenantArg,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    user: UserArg,
    /// The calendar provider (only ews here; the others connect through OAuth in the browser).
    #[arg(long, value_enum)]
    provider: ProviderArg,
    /// The Exchange Web Services address, https://…/EWS/Exchange.asmx.
    #[arg(long, value_name = "URL")]
    ews_url: String,
    /// The account that signs in (default: the user's address); with
    /// --impersonation-email, the service account.
    #[arg(long, value_name = "ACCOUNT")]
    email: Option<String>,
    /// Sign in as the service account --email, acting for this mailbox.
    #[arg(long, value_name = "MAILBOX")]
    impersonation_email: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Sign in with an OAuth access token for EWS (Exchange Online) instead of a password,
    /// read from the first line of standard input. It is not renewed: when it expires, the
    /// calendar says it must be connected again.
    #[arg(long, conflicts_with_all = ["password_stdin", "impersonation_email"])]
    bearer_token_stdin: bool,
    /// Not accepted: a password on the command line shows in `ps` and the shell's history.
    #[arg(long, hide = true, value_name = "PASSWORD")]
    password: Option<String>,
}

/// Runs one `connections` command; returns what to print.
pub async fn connections(command: ConnectionsCommand, config: &Config, stdin: &mut dyn BufRead) -> anyhow::Result<String> {
    // Checked before anything is opened: a refused command leaves no key file behind.
    if let ConnectionsCommand::Add(a) = &command {
        if a.password.is_some() {
            bail!("passwords are not accepted on the command line; use --password-stdin");
        }
        match a.provider {
            ProviderArg::Ews => {}
            ProviderArg::Google | ProviderArg::Graph => bail!("Google and Microsoft 365 connect through OAuth in the browser (Settings → Calendar)"),
        }
        if !a.password_stdin && !a.bearer_token_stdin {
            bail!("give the password on standard input with --password-stdin (or an access token with --bearer-token-stdin)");
        }
    }
    let store = crate::open_store(&config.database_url).await?;
    let keyring = Keyring::load(&config.secret_key_file)?;
    let public = config.public_url.clone().unwrap_or_else(|| "http://127.0.0.1".into());
    let engine = crate::engine(config, &store, keyring, config.endpoints.for_sync(&public), config.public_url.clone(), std::sync::Arc::new(sync::Silent), sync::engine::Metrics::none());
    let conns = engine.connections();
    match command {
        ConnectionsCommand::Add(a) => {
            let user = find_user(&store, &a.user).await?;
            let what = if a.bearer_token_stdin { "access token" } else { "password" };
            let mut secret = String::new();
            stdin.read_line(&mut secret).with_context(|| format!("reading the {what}"))?;
            let secret = secret.trim_end_matches(['\r', '\n']).to_string();
            if secret.is_empty() {
                bail!("the {what} on standard input is empty");
            }
            let account = a.email.unwrap_or_else(|| user.email.clone());
            let (mailbox, credentials) = match a.impersonation_email {
                Some(mailbox) => (mailbox, Credentials::EwsImpersonation { url: a.ews_url, service_account: account, password: secret }),
                None if a.bearer_token_stdin => (account, Credentials::EwsBearer { url: a.ews_url, token: secret }),
                None => (account.clone(), Credentials::EwsBasic { url: a.ews_url, username: account, password: secret }),
            };
            if store.connection_of_user(&user.tenant_id, &user.id).await?.is_some() {
                bail!("{} already has a calendar connection; remove it first", user.email);
            }
            let conn = engine.connect(&user.tenant_id, &user.id, &mailbox, credentials, &Actor::operator()).await?;
            // An operator connecting from the command line wants it working: Synchronise too.
            engine.synchronise(&conn).await?;
            Ok(format!("connected {} to {} ({} via {}); the first sync is queued\n", user.email, conn.mailbox, conn.provider.as_str(), conn.auth_kind.as_str()))
        }
        ConnectionsCommand::List { tenant } => {
            let mut out = String::new();
            for tenant_id in tenants(&store, &tenant).await? {
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
        ConnectionsCommand::Remove { user } => {
            let user = find_user(&store, &user).await?;
            let conn = store.connection_of_user(&user.tenant_id, &user.id).await?.ok_or_else(|| anyhow!("{} has no calendar connection", user.email))?;
            engine.disconnect(&user.tenant_id, &conn.id, &Actor::operator()).await?;
            Ok(format!("removed the calendar connection of {}\n", user.email))
        }
        ConnectionsCommand::Sync { user, full } => {
            let user = find_user(&store, &user).await?;
            let conn = store.connection_of_user(&user.tenant_id, &user.id).await?.ok_or_else(|| anyhow!("{} has no calendar connection", user.email))?;
            engine.request_sync(&user.tenant_id, &conn.id, full).await?;
            Ok(format!("queued a {}sync of {}'s calendar\n", if full { "full " } else { "" }, user.email))
        }
        ConnectionsCommand::Rekey => Ok(format!("re-sealed {} secret(s) with the current key\n", conns.rekey().await?)),
    }
}

/// The user `--user` names, in the company `--tenant` names (when given).
async fn find_user(store: &store::Store, arg: &UserArg) -> anyhow::Result<store::User> {
    let (user, _) = store.user_for_sign_in(&arg.user).await?.ok_or_else(|| anyhow!("no user {}", arg.user))?;
    if let Some(wanted) = &arg.tenant.tenant {
        if !tenants(store, &arg.tenant).await?.iter().any(|t| *t == user.tenant_id) {
            bail!("the user is not in tenant {wanted:?}");
        }
    }
    Ok(user)
}

/// The tenant ids `--tenant` names (by id or name), or all.
async fn tenants(store: &store::Store, arg: &TenantArg) -> anyhow::Result<Vec<String>> {
    let all = store.tenants().await?;
    Ok(match &arg.tenant {
        None => all.into_iter().map(|t| t.id).collect(),
        Some(key) => {
            let found: Vec<String> = all.into_iter().filter(|t| t.id == *key || t.name.eq_ignore_ascii_case(key)).map(|t| t.id).collect();
            if found.is_empty() {
                bail!("no tenant {key:?}");
            }
            found
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }
}
