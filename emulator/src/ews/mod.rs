//! Exchange Web Services front-end: `POST /ews/EWS/Exchange.asmx`, SOAP 1.1, behaving like
//! on-premises Exchange 2013/2016.
//!
//! A request is authenticated first (Basic with the mailbox password, or a Bearer token; a
//! failure is a bare HTTP 401), then its body is read with a size cap and parsed with the
//! safe namespace-aware reader (any prefix). The SOAP header may carry RequestServerVersion,
//! ExchangeImpersonation (only for service accounts allowed to impersonate) and
//! TimeZoneContext. Request-level failures are SOAP faults at HTTP 500; per-item failures are
//! `ResponseClass="Error"` messages at HTTP 200, as Exchange answers.
//!
//! | module | what |
//! |---|---|
//! | `soap` | namespaces, XML writer, envelopes, faults, date-times |
//! | `ids` | item, occurrence and folder ids, watermarks |
//! | `items` | CalendarItem rendering and parsing, recurrence ↔ RRULE |
//! | `ops` | folder and item operations, SyncFolderItems, ResolveNames |
//! | `notify` | subscriptions, GetEvents, streaming, push notifications |
//! | `avail` | GetUserAvailability |

mod avail;
mod ids;
mod items;
mod notify;
mod ops;
mod soap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::xml::{Element, Limits, XmlError};

use crate::model::{ChangeNote, FaultKind, Mailbox, Provider, Subscription};
use crate::push::PushRequest;
use crate::Emulator;
use soap::{envelope, xml_response, Fault, M, SOAP, T};

/// Largest request body accepted (Exchange's default EWS request limit is far larger, but
/// calendar requests are small; a bigger body is refused without being buffered).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Who a request acts as.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The authenticated account.
    pub auth: String,
    /// The mailbox the request works on (the impersonated one, if any).
    pub mailbox: String,
    /// Zone of the TimeZoneContext header, for times without an offset.
    pub tz: Option<chrono_tz::Tz>,
}

pub fn router() -> Router<Emulator> {
    Router::new().route("/EWS/Exchange.asmx", post(handle).get(handle_get))
}

fn unauthorized() -> Response {
    let mut resp = StatusCode::UNAUTHORIZED.into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"emulated-exchange\""));
    resp
}

/// The mailbox the Authorization header speaks for.
fn authenticate(emu: &Emulator, headers: &HeaderMap) -> Option<Mailbox> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = String::from_utf8(STANDARD.decode(rest).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        // DOMAIN\user and user@domain both name the mailbox.
        let user = user.rsplit('\\').next().unwrap_or(user);
        emu.with_state(|s| s.check_password(Provider::Ews, user, password).cloned())
    } else if scheme.eq_ignore_ascii_case("bearer") {
        emu.with_state(|s| s.bearer(Provider::Ews, rest).cloned())
    } else {
        None
    }
}

/// A GET of the endpoint: authenticated browsers get a short page (as IIS serves for EWS),
/// others the 401 challenge.
async fn handle_get(State(emu): State<Emulator>, headers: HeaderMap) -> Response {
    if authenticate(&emu, &headers).is_none() {
        return unauthorized();
    }
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], "<html><body>Exchange Web Services (emulated)</body></html>").into_response()
}

async fn handle(State(emu): State<Emulator>, headers: HeaderMap, body: Body) -> Response {
    let Some(me) = authenticate(&emu, &headers) else { return unauthorized() };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return too_big();
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return too_big(),
    };
    match run(&emu, &me, &bytes).await {
        Ok(resp) => resp,
        Err(fault) => fault.into_response(),
    }
}

fn too_big() -> Response {
    let f = Fault::new("ErrorRequestStreamTooBig", format!("The request is larger than {MAX_BODY} bytes."));
    let mut resp = f.into_response();
    resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

fn parse(bytes: &[u8]) -> Result<Element, Fault> {
    let limits = Limits { max_bytes: MAX_BODY, max_depth: 48, max_elements: 100_000, ..Limits::default() };
    domain::xml::parse(bytes, limits).map_err(|e| match e {
        XmlError::Dtd => Fault::schema("DTDs are not allowed in requests"),
        other => Fault::schema(other.to_string()),
    })
}

async fn run(emu: &Emulator, me: &Mailbox, bytes: &[u8]) -> Result<Response, Fault> {
    let root = parse(bytes)?;
    if !root.is(SOAP, "Envelope") {
        return Err(Fault::schema("The root element must be a SOAP 1.1 Envelope"));
    }
    let body = root.child(SOAP, "Body").ok_or_else(|| Fault::schema("The Envelope has no Body"))?;
    let op = body.children.first().ok_or_else(|| Fault::schema("The Body is empty"))?;
    let ctx = context(emu, me, root.child(SOAP, "Header"))?;
    if op.ns.as_deref() != Some(M) {
        return Err(Fault::new("ErrorInvalidRequest", format!("The request is invalid: unknown operation {}", op.name)));
    }
    type Op = fn(&mut crate::model::State, &Ctx, &Element) -> Result<String, Fault>;
    let sync_op: Option<Op> = match op.name.as_str() {
        "GetFolder" => Some(ops::get_folder),
        "FindFolder" => Some(ops::find_folder),
        "FindItem" => Some(ops::find_item),
        "GetItem" => Some(ops::get_item),
        "CreateItem" => Some(ops::create_item),
        "UpdateItem" => Some(ops::update_item),
        "DeleteItem" => Some(ops::delete_item),
        "SyncFolderItems" => Some(ops::sync_folder_items),
        "ResolveNames" => Some(ops::resolve_names),
        "ConvertId" => Some(ops::convert_id),
        "GetUserAvailabilityRequest" => Some(avail::get_user_availability),
        "GetEvents" => Some(notify::get_events),
        "Unsubscribe" => Some(notify::unsubscribe),
        "GetServerTimeZones" => Some(server_time_zones),
        _ => None,
    };
    if let Some(f) = sync_op {
        let out = emu.with_state(|s| f(s, &ctx, op))?;
        return Ok(xml_response(StatusCode::OK, envelope(&out)));
    }
    match op.name.as_str() {
        "Subscribe" => {
            let (out, push) = emu.with_state(|s| notify::subscribe(s, &ctx, op))?;
            if let Some(sub) = push {
                let emu = emu.clone();
                tokio::spawn(async move {
                    let request = notify::push_status(&sub);
                    if !crate::push::deliver(&emu, &sub, request).await {
                        tracing::debug!("EWS push listener {:?} did not take the status event", sub.url);
                    }
                });
            }
            Ok(xml_response(StatusCode::OK, envelope(&out)))
        }
        "GetStreamingEvents" => notify::get_streaming_events(emu, &ctx, op),
        other => Err(Fault::new("ErrorInvalidRequest", format!("The request is invalid: the emulator does not implement {other}"))),
    }
}

/// Reads the SOAP header: version, impersonation, time-zone context.
fn context(emu: &Emulator, me: &Mailbox, header: Option<&Element>) -> Result<Ctx, Fault> {
    let mut ctx = Ctx { auth: me.email.clone(), mailbox: me.email.clone(), tz: None };
    let Some(header) = header else { return Ok(ctx) };
    if let Some(v) = header.child(T, "RequestServerVersion") {
        let version = v.attr("Version").unwrap_or("");
        if !soap::VERSIONS.contains(&version) {
            return Err(Fault::new("ErrorInvalidServerVersion", "The specified server version is invalid."));
        }
    }
    if let Some(tzc) = header.child(T, "TimeZoneContext") {
        if let Some(id) = tzc.child(T, "TimeZoneDefinition").and_then(|d| d.attr("Id")) {
            ctx.tz = Some(soap::zone_from_windows(id).ok_or_else(|| Fault::new("ErrorInvalidTimeZone", format!("Unknown time zone id: {id}")))?);
        }
    }
    if let Some(imp) = header.child(T, "ExchangeImpersonation") {
        let sid = imp.child(T, "ConnectingSID").ok_or_else(|| Fault::new("ErrorInvalidExchangeImpersonationHeaderData", "ConnectingSID is required."))?;
        let target = ["PrimarySmtpAddress", "SmtpAddress", "PrincipalName"]
            .iter()
            .find_map(|n| sid.child_text(T, n))
            .ok_or_else(|| Fault::new("ErrorInvalidExchangeImpersonationHeaderData", "ConnectingSID needs PrimarySmtpAddress, SmtpAddress or PrincipalName."))?
            .to_ascii_lowercase();
        if target != me.email {
            if !me.can_impersonate {
                return Err(Fault::new("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user."));
            }
            match emu.with_state(|s| s.mailbox(&target).cloned()) {
                None => return Err(Fault::new("ErrorNonExistentMailbox", format!("The SMTP address has no mailbox associated with it: {target}"))),
                Some(m) if m.provider != Provider::Ews => {
                    return Err(Fault::new("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user."))
                }
                Some(m) => ctx.mailbox = m.email,
            }
        }
    }
    Ok(ctx)
}

fn server_time_zones(_st: &mut crate::model::State, _ctx: &Ctx, req: &Element) -> Result<String, Fault> {
    let ids: Vec<String> = req.child(M, "Ids").map(|i| i.children_named(T, "Id").map(|e| e.text.trim().to_string()).collect()).unwrap_or_default();
    let ids = if ids.is_empty() { vec!["UTC".to_string()] } else { ids };
    let mut w = soap::W::new();
    ops::ok_open(&mut w, "GetServerTimeZonesResponseMessage");
    w.open("m:TimeZoneDefinitions");
    for id in ids.iter().filter(|id| soap::zone_from_windows(id).is_some() || *id == "UTC") {
        w.empty("t:TimeZoneDefinition", &[("Id", id), ("Name", id)]);
    }
    w.close("m:TimeZoneDefinitions");
    w.close("m:GetServerTimeZonesResponseMessage");
    Ok(format!("{}<m:ResponseMessages>{}</m:ResponseMessages></m:GetServerTimeZonesResponse>", soap::response_open("GetServerTimeZonesResponse"), w.s))
}

/// The provider's answer for an injected error status or throttling fault.
pub fn fault_response(kind: &FaultKind) -> Response {
    match kind {
        FaultKind::Throttle { retry_after_ms } => {
            let mut f = Fault::new("ErrorServerBusy", "The server cannot service this request right now. Try again later.");
            f.message_xml = Some(format!(r#"<t:Value Name="BackOffMilliseconds">{retry_after_ms}</t:Value>"#));
            f.into_response()
        }
        FaultKind::Status { status: 401 } => unauthorized(),
        FaultKind::Status { status: 503 } => {
            // IIS / the load balancer, not EWS, answers: no SOAP body.
            let mut resp = (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/html")], "<html><body>Service Unavailable</body></html>").into_response();
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
        // A request Exchange refuses (not a passing failure).
        FaultKind::Status { status } if *status < 500 => {
            let mut f = Fault::new("ErrorInvalidRequest", "The request is invalid.");
            f.status = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST);
            f.into_response()
        }
        FaultKind::Status { status } => {
            let mut f = Fault::new("ErrorInternalServerTransientError", "An internal server error occurred. Try again later.");
            f.status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            f.into_response()
        }
        // Timeouts and dropped connections are answered by the fault middleware itself.
        FaultKind::Timeout { .. } | FaultKind::Drop | FaultKind::LostAnswer => {
            Fault::new("ErrorInternalServerTransientError", "An internal server error occurred. Try again later.").into_response()
        }
    }
}

/// The push notification for a change, in this provider's format (None: nothing to send).
pub fn notification(sub: &Subscription, note: &ChangeNote) -> Option<PushRequest> {
    notify::push_notification(sub, note)
}

/// Whether the push listener's SendNotificationResult asked to unsubscribe.
pub fn push_answer_unsubscribes(body: &[u8]) -> bool {
    notify::answer_unsubscribes(body)
}
