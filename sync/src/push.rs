//! Push (sync rule 4, F-X-2): each connection keeps a subscription at its provider — a Google
//! watch channel, a Graph subscription, an EWS push subscription — that POSTs to
//! `<public URL>/hooks/<provider>` when the calendar changes. A notification only says
//! "something changed"; it queues an incremental sync (coalesced), which reads the changes
//! itself. What a notification can prove is checked: the subscription id must be one of ours,
//! and its secret (Google channel token, Graph clientState) must match; EWS sends no secret, so
//! the subscription id — random, never shown — is the proof. Polling covers calendars whose
//! provider cannot reach the server.

use base64::Engine as _;
use chrono::Utc;
use providers::{Notification, NotificationEvent, ProviderKind, Subscription};
use rand::RngCore;
use sha2::{Digest, Sha256};
use store::Connection;

use crate::engine::{Engine, Fail, LiveEvent, Run};

/// What became of an incoming notification (the webhook answers accordingly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A sync was queued (or nothing needed doing, e.g. a channel's hello).
    Accepted,
    /// No subscription of ours has this id: the sender should stop.
    Unknown,
    /// The secret did not match: ignored.
    Refused,
}

impl Engine {
    /// The connection's current subscription, opened (it is sealed because it holds a secret).
    pub(crate) fn subscription(&self, conn: &Connection) -> Option<Subscription> {
        let sealed = conn.push_sealed.as_deref()?;
        let plain = self.connections().keyring().open(sealed).ok()?;
        serde_json::from_str(&plain).ok()
    }

    /// Where a provider's notifications go.
    pub fn callback_url(&self, kind: ProviderKind) -> Option<String> {
        let base = self.config().public_url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/hooks/{}", kind.as_str()))
    }

    /// The `push` job: subscribe, or renew a subscription that expires soon.
    pub(crate) async fn keep_subscription(&self, run: &mut Run) -> Result<(), Fail> {
        let conn = run.conn.clone();
        let store = self.store().clone();
        let Some(callback) = self.callback_url(run.kind) else {
            store.set_push(&conn.tenant_id, &conn.id, None, "push is off: the server has no public address (CRMCAL_PUBLIC_URL); polling instead").await?;
            return Ok(());
        };
        let now = Utc::now();
        let cfg = self.config();
        let current = self.subscription(&conn);
        if let (Some(sub), Some(expires)) = (&current, conn.push_expires_at) {
            if sub.callback_url == callback && expires - cfg.push_renew_before > now {
                return Ok(());
            }
        }
        let client = self.client(run).await?;
        let renewed = match &current {
            Some(sub) if sub.callback_url == callback => client.renew(sub, cfg.push_ttl).await.ok(),
            _ => None,
        };
        let sub = match renewed {
            Some(s) => s,
            None => {
                if let Some(old) = &current {
                    // Moved address or failed renewal: a fresh one replaces it.
                    let _ = client.unsubscribe(old).await;
                }
                let mut secret = [0u8; 32];
                rand::rng().fill_bytes(&mut secret);
                let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
                match client.subscribe(&callback, &secret, cfg.push_ttl).await {
                    Ok(s) => s,
                    Err(e) => {
                        store.set_push(&conn.tenant_id, &conn.id, None, &format!("push subscription failed ({e}); polling instead")).await?;
                        return Err(e.into());
                    }
                }
            }
        };
        let sealed = self.connections().keyring().seal(&serde_json::to_string(&sub).expect("subscriptions serialise"));
        store.set_push(&conn.tenant_id, &conn.id, Some((&sub.id, &sealed, sub.expires_at)), "").await?;
        tracing::info!(connection = %conn.id, subscription = %sub.id, expires = %sub.expires_at, "push subscription ready");
        Ok(())
    }

    /// An incoming notification from `kind`'s push service.
    pub async fn heard(&self, kind: ProviderKind, n: &Notification) -> Result<Heard, store::StoreError> {
        tracing::debug!(provider = kind.as_str(), subscription = %n.subscription_id, event = ?n.event, "push notification");
        let Some(conn) = self.store().connection_by_push_id(&n.subscription_id).await? else {
            // A subscription's first message (EWS status, Google "sync") can arrive while the
            // subscribe call is still being answered, before we have stored its id: no reason
            // to have the provider end it. Real changes for unknown ids end it.
            return Ok(if n.event == NotificationEvent::Hello { Heard::Accepted } else { Heard::Unknown });
        };
        if conn.provider != kind {
            return Ok(Heard::Unknown);
        }
        let Some(sub) = self.subscription(&conn) else { return Ok(Heard::Unknown) };
        if kind != ProviderKind::Ews && !same_secret(n.secret.as_deref().unwrap_or(""), &sub.secret) {
            tracing::warn!(connection = %conn.id, "push notification with a wrong secret ignored");
            return Ok(Heard::Refused);
        }
        match n.event {
            NotificationEvent::Hello => {}
            NotificationEvent::Changed | NotificationEvent::Missed => {
                self.request_sync(&conn.tenant_id, &conn.id, false).await?;
            }
            NotificationEvent::SubscriptionEnded => {
                self.store().set_push(&conn.tenant_id, &conn.id, None, "the provider ended the push subscription; renewing").await?;
                self.request_push(&conn, true).await?;
                self.request_sync(&conn.tenant_id, &conn.id, false).await?;
            }
        }
        self.publish(LiveEvent::Jobs);
        Ok(Heard::Accepted)
    }
}

/// Compares secrets in constant time (through their hashes, so lengths leak nothing either).
fn same_secret(a: &str, b: &str) -> bool {
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    ha.iter().zip(hb.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0 && !b.is_empty()
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_exactly() {
        assert!(super::same_secret("abc", "abc"));
        assert!(!super::same_secret("abd", "abc"));
        assert!(!super::same_secret("", ""));
    }
}
