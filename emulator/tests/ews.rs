//! The EWS emulator over real HTTP: hand-written SOAP requests (different prefixes, as
//! exchangelib, ews-javascript-api and our own client write them) posted to an emulator on
//! port 0, answers read with the namespace-aware reader.

use std::time::Duration;

use domain::xml::{Element, Limits};
use emulator::model::{Fault, FaultKind, Mailbox, MessageKind, Provider};
use emulator::{Config, Emulator};
use reqwest::StatusCode;

/// A guard against hangs, far above the milliseconds these take: not a performance claim.
const HANG: Duration = Duration::from_secs(60);

const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";

struct Ews {
    emu: Emulator,
    url: String,
    http: reqwest::Client,
}

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Answer {
    fn xml(&self) -> Element {
        domain::xml::parse(self.text.as_bytes(), Limits::default()).unwrap_or_else(|e| panic!("bad XML ({e}): {}", self.text))
    }
}

/// Every element with this local name, depth first.
fn all<'a>(e: &'a Element, name: &str) -> Vec<&'a Element> {
    let mut out = Vec::new();
    fn walk<'a>(e: &'a Element, name: &str, out: &mut Vec<&'a Element>) {
        if e.name == name {
            out.push(e);
        }
        for c in &e.children {
            walk(c, name, out);
        }
    }
    walk(e, name, &mut out);
    out
}

fn texts(e: &Element, name: &str) -> Vec<String> {
    all(e, name).iter().map(|x| x.text.trim().to_string()).collect()
}

fn text(e: &Element, name: &str) -> String {
    texts(e, name).into_iter().next().unwrap_or_else(|| panic!("no {name}"))
}

fn response_codes(e: &Element) -> Vec<String> {
    texts(e, "ResponseCode")
}

/// The `s:` envelope exchangelib writes.
fn envelope(header: &str, body: &str) -> String {
    format!(
        r#"<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="{M}" xmlns:t="{T}"><s:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"#
    )
}

fn impersonate(email: &str) -> String {
    format!("<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{email}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>")
}

fn mailbox(email: &str, provider: Provider, can_impersonate: bool) -> Mailbox {
    Mailbox {
        email: email.into(),
        display_name: email.split('@').next().unwrap_or_default().to_string(),
        provider,
        password: Some(format!("{}-pw", email.split('@').next().unwrap_or_default())),
        time_zone: "Europe/Copenhagen".into(),
        can_impersonate,
        uid: String::new(),
    }
}

async fn setup() -> Ews {
    let emu = Emulator::new(Config::default());
    let addr = emu.clone().spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    emu.with_state(|s| {
        for (email, provider, imp) in [
            ("alice@corp.test", Provider::Ews, false),
            ("bob@corp.test", Provider::Ews, false),
            ("svc@corp.test", Provider::Ews, true),
            ("gina@gmail.test", Provider::Google, false),
        ] {
            s.add_mailbox(mailbox(email, provider, imp)).unwrap();
        }
    });
    Ews { emu, url: format!("http://{addr}/ews/EWS/Exchange.asmx"), http: reqwest::Client::new() }
}

impl Ews {
    async fn post_raw(&self, user: Option<&str>, body: impl Into<reqwest::Body>) -> Answer {
        let mut req = self.http.post(&self.url).header("content-type", "text/xml; charset=utf-8").body(body);
        if let Some(user) = user {
            let name = user.split('@').next().unwrap();
            req = req.basic_auth(user, Some(format!("{name}-pw")));
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        Answer { status, headers, text: resp.text().await.unwrap_or_default() }
    }

    async fn call(&self, user: &str, header: &str, body: &str) -> Answer {
        self.post_raw(Some(user), envelope(header, body)).await
    }

    /// Calls and expects HTTP 200.
    async fn ok(&self, user: &str, header: &str, body: &str) -> Element {
        let a = self.call(user, header, body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a.xml()
    }

    async fn create(&self, user: &str, send: &str, item: &str) -> (String, String) {
        let x = self
            .ok(
                user,
                "",
                &format!(r#"<m:CreateItem SendMeetingInvitations="{send}"><m:SavedItemFolderId><t:DistinguishedFolderId Id="calendar"/></m:SavedItemFolderId><m:Items><t:CalendarItem>{item}</t:CalendarItem></m:Items></m:CreateItem>"#),
            )
            .await;
        assert_eq!(response_codes(&x), vec!["NoError"], "{x:?}");
        let id = all(&x, "ItemId")[0];
        (id.attr("Id").unwrap().to_string(), id.attr("ChangeKey").unwrap().to_string())
    }

    async fn get_item(&self, user: &str, id_xml: &str) -> Element {
        self.ok(user, "", &format!(r#"<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape></m:ItemShape><m:ItemIds>{id_xml}</m:ItemIds></m:GetItem>"#)).await
    }

    async fn calendar_view(&self, user: &str, start: &str, end: &str, max: Option<usize>) -> Element {
        let max = max.map(|m| format!(r#" MaxEntriesReturned="{m}""#)).unwrap_or_default();
        self.ok(
            user,
            "",
            &format!(
                r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/><t:FieldURI FieldURI="calendar:Start"/><t:FieldURI FieldURI="calendar:CalendarItemType"/></t:AdditionalProperties></m:ItemShape><m:CalendarView{max} StartDate="{start}" EndDate="{end}"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>"#
            ),
        )
        .await
    }

    async fn sync(&self, user: &str, state: Option<&str>, max: usize) -> Element {
        let state = state.map(|s| format!("<m:SyncState>{s}</m:SyncState>")).unwrap_or_default();
        self.ok(
            user,
            "",
            &format!(r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId>{state}<m:MaxChangesReturned>{max}</m:MaxChangesReturned><m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>"#),
        )
        .await
    }
}

fn single(subject: &str, start: &str, end: &str) -> String {
    format!("<t:Subject>{subject}</t:Subject><t:Start>{start}</t:Start><t:End>{end}</t:End>")
}

fn fault_code(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.text);
    text(&a.xml(), "faultcode")
}

const GET_FOLDERS: &str = r#"<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id="root"/><t:DistinguishedFolderId Id="msgfolderroot"/><t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>alice@corp.test</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>"#;

#[tokio::test]
async fn any_soap_prefix_reads_the_same() {
    let ews = setup().await;
    let ns = format!(r#"xmlns:t="{T}""#);
    let bodies = [
        envelope("", GET_FOLDERS),
        // ews-javascript-api style: soap: prefix, messages in a default namespace.
        format!(
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" {ns}><soap:Header><t:RequestServerVersion Version="Exchange2013"/></soap:Header><soap:Body><GetFolder xmlns="{M}"><FolderShape><t:BaseShape>IdOnly</t:BaseShape></FolderShape><FolderIds><t:DistinguishedFolderId Id="root"/><t:DistinguishedFolderId Id="msgfolderroot"/><t:DistinguishedFolderId Id="calendar"/></FolderIds></GetFolder></soap:Body></soap:Envelope>"#
        ),
        // Everything in default namespaces, an unknown element thrown in, no header at all.
        format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><GetFolder xmlns="{M}"><Unknown>x</Unknown><FolderShape><BaseShape xmlns="{T}">Default</BaseShape></FolderShape><FolderIds><DistinguishedFolderId xmlns="{T}" Id="root"/><DistinguishedFolderId xmlns="{T}" Id="msgfolderroot"/><DistinguishedFolderId xmlns="{T}" Id="calendar"/></FolderIds></GetFolder></Body></Envelope>"#
        ),
    ];
    for body in bodies {
        let a = ews.post_raw(Some("alice@corp.test"), body).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert!(a.headers["content-type"].to_str().unwrap().starts_with("text/xml"));
        let x = a.xml();
        assert_eq!(all(&x, "ServerVersionInfo")[0].attr("MajorVersion"), Some("15"));
        assert_eq!(response_codes(&x), vec!["NoError"; 3]);
        assert_eq!(texts(&x, "DisplayName"), vec!["", "Top of Information Store", "Calendar"]);
        assert_eq!(all(&x, "CalendarFolder").len(), 1);
        assert_eq!(text(all(&x, "CalendarFolder")[0], "FolderClass"), "IPF.Appointment");
        assert!(all(&x, "FolderId").iter().all(|f| f.attr("ChangeKey").is_some()));
    }
}

#[tokio::test]
async fn wrong_or_missing_credentials_get_a_bare_401() {
    let ews = setup().await;
    let body = envelope("", GET_FOLDERS);
    let none = ews.post_raw(None, body.clone()).await;
    let wrong = ews.http.post(&ews.url).basic_auth("alice@corp.test", Some("nope")).body(body.clone()).send().await.unwrap();
    // A Google mailbox has no EWS password.
    let other = ews.http.post(&ews.url).basic_auth("gina@gmail.test", Some("gina-pw")).body(body.clone()).send().await.unwrap();
    for (status, headers, text) in [
        (none.status, none.headers, none.text),
        (wrong.status(), wrong.headers().clone(), wrong.text().await.unwrap()),
        (other.status(), other.headers().clone(), other.text().await.unwrap()),
    ] {
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic realm="));
        assert!(text.is_empty());
    }
    // DOMAIN\user form and bearer tokens work.
    let domain_user = ews.http.post(&ews.url).basic_auth("CORP\\alice@corp.test", Some("alice-pw")).body(body.clone()).send().await.unwrap();
    assert_eq!(domain_user.status(), StatusCode::OK);
    let token = ews.emu.with_state(|s| s.issue_tokens("alice@corp.test", Provider::Ews, chrono::Duration::hours(1))).unwrap().access_token;
    let bearer = ews.http.post(&ews.url).bearer_auth(&token).body(body.clone()).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let bad_bearer = ews.http.post(&ews.url).bearer_auth("ews.not-a-token").body(body).send().await.unwrap();
    assert_eq!(bad_bearer.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn impersonation_only_for_service_accounts() {
    let ews = setup().await;
    // The service account acts for alice: the item lands in alice's calendar.
    let header = impersonate("alice@corp.test");
    let x = ews.ok("svc@corp.test", &header, GET_FOLDERS).await;
    assert_eq!(response_codes(&x), vec!["NoError"; 3]);
    let x = ews
        .ok(
            "svc@corp.test",
            &header,
            &format!(r#"<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem>{}</t:CalendarItem></m:Items></m:CreateItem>"#, single("By svc", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")),
        )
        .await;
    assert_eq!(response_codes(&x), vec!["NoError"]);
    assert_eq!(ews.emu.with_state(|s| s.calendar("alice@corp.test").unwrap().events.len()), 1);
    assert_eq!(ews.emu.with_state(|s| s.calendar("svc@corp.test").unwrap().events.len()), 0);
    // ews-javascript-api's SmtpAddress form works too.
    let smtp = "<t:ExchangeImpersonation><t:ConnectingSID><t:SmtpAddress>alice@corp.test</t:SmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>";
    assert_eq!(response_codes(&ews.ok("svc@corp.test", smtp, GET_FOLDERS).await), vec!["NoError"; 3]);

    // Bob has no impersonation right.
    assert_eq!(fault_code(&ews.call("bob@corp.test", &header, GET_FOLDERS).await), "a:ErrorImpersonateUserDenied");
    // Unknown target, and a mailbox of another provider.
    assert_eq!(fault_code(&ews.call("svc@corp.test", &impersonate("nobody@corp.test"), GET_FOLDERS).await), "a:ErrorNonExistentMailbox");
    assert_eq!(fault_code(&ews.call("svc@corp.test", &impersonate("gina@gmail.test"), GET_FOLDERS).await), "a:ErrorImpersonateUserDenied");

    // Naming another mailbox under the folder id without impersonation: access denied.
    let x = ews.ok("bob@corp.test", "", GET_FOLDERS).await;
    assert_eq!(response_codes(&x), vec!["NoError", "NoError", "ErrorAccessDenied"]);
    let x = ews.ok("bob@corp.test", "", &GET_FOLDERS.replace("alice@corp.test", "ghost@corp.test")).await;
    assert_eq!(response_codes(&x)[2], "ErrorNonExistentMailbox");
}

const WEEKLY: &str = r#"<t:Subject>Stand-up</t:Subject><t:Body BodyType="Text">Daily sync</t:Body>
<t:Start>2026-01-05T09:00:00</t:Start><t:End>2026-01-05T09:30:00</t:End><t:Location>Room 1</t:Location>
<t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek></t:WeeklyRecurrence><t:NumberedRecurrence><t:StartDate>2026-01-05</t:StartDate><t:NumberOfOccurrences>5</t:NumberOfOccurrences></t:NumberedRecurrence></t:Recurrence>
<t:StartTimeZone Id="Romance Standard Time"/><t:EndTimeZone Id="Romance Standard Time"/>"#;

#[tokio::test]
async fn calendar_view_expands_series_with_exception_and_cancelled_occurrence() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    let (master, _) = ews.create(alice, "SendToNone", WEEKLY).await;
    ews.create(alice, "SendToNone", &single("Lunch", "2026-01-07T11:00:00Z", "2026-01-07T12:00:00Z")).await;
    // Outside the window.
    ews.create(alice, "SendToNone", &single("Later", "2026-03-07T11:00:00Z", "2026-03-07T12:00:00Z")).await;

    // Move the 2nd occurrence (an exception) and delete the 3rd.
    let x = ews
        .ok(
            alice,
            "",
            &format!(
                r#"<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="2"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>Stand-up (moved)</t:Subject></t:CalendarItem></t:SetItemField><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-01-13T14:00:00Z</t:Start></t:CalendarItem></t:SetItemField><t:SetItemField><t:FieldURI FieldURI="calendar:End"/><t:CalendarItem><t:End>2026-01-13T15:00:00Z</t:End></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#
            ),
        )
        .await;
    assert_eq!(response_codes(&x), vec!["NoError"], "{x:?}");
    let x = ews
        .ok(alice, "", &format!(r#"<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="3"/></m:ItemIds></m:DeleteItem>"#))
        .await;
    assert_eq!(response_codes(&x), vec!["NoError"]);

    // With milliseconds, as ews-javascript-api writes them.
    let x = ews.calendar_view(alice, "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z", None).await;
    let root = all(&x, "RootFolder")[0];
    assert_eq!(root.attr("TotalItemsInView"), Some("4"));
    assert_eq!(root.attr("IncludesLastItemInRange"), Some("true"));
    let listed: Vec<(String, String, String)> = all(&x, "CalendarItem").iter().map(|i| (text(i, "Subject"), text(i, "Start"), text(i, "CalendarItemType"))).collect();
    assert_eq!(
        listed,
        vec![
            ("Stand-up".to_string(), "2026-01-05T08:00:00Z".to_string(), "Occurrence".to_string()),
            ("Lunch".into(), "2026-01-07T11:00:00Z".into(), "Single".into()),
            ("Stand-up (moved)".into(), "2026-01-13T14:00:00Z".into(), "Exception".into()),
            // 19 January was deleted; 2 February is outside the window.
            ("Stand-up".into(), "2026-01-26T08:00:00Z".into(), "Occurrence".into()),
        ]
    );
    // Without milliseconds; a cap of two leaves the view incomplete.
    let x = ews.calendar_view(alice, "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", Some(2)).await;
    let root = all(&x, "RootFolder")[0];
    assert_eq!((root.attr("TotalItemsInView"), root.attr("IncludesLastItemInRange")), (Some("4"), Some("false")));
    assert_eq!(all(&x, "CalendarItem").len(), 2);
    // Over two years.
    let x = ews.calendar_view(alice, "2026-01-01T00:00:00Z", "2028-06-01T00:00:00Z", None).await;
    assert_eq!(response_codes(&x), vec!["ErrorCalendarViewRangeTooBig"]);

    // The occurrence's own id leads to it; it knows its master and original start.
    let x = ews.calendar_view(alice, "2026-01-05T00:00:00Z", "2026-01-06T00:00:00Z", None).await;
    let occ_id = all(&x, "ItemId")[0].attr("Id").unwrap().to_string();
    let x = ews.get_item(alice, &format!(r#"<t:ItemId Id="{occ_id}"/>"#)).await;
    assert_eq!(text(&x, "CalendarItemType"), "Occurrence");
    assert_eq!(text(&x, "OriginalStart"), "2026-01-05T08:00:00Z");
    assert_eq!(text(&x, "RecurrenceId"), "2026-01-05T08:00:00Z");
    assert_eq!(text(&x, "IsRecurring"), "true");
    let x = ews.get_item(alice, &format!(r#"<t:RecurringMasterItemId OccurrenceId="{occ_id}"/>"#)).await;
    assert_eq!(all(&x, "ItemId")[0].attr("Id"), Some(master.as_str()));

    // The master: pattern, range, zone, modified and deleted occurrences.
    let x = ews.get_item(alice, &format!(r#"<t:ItemId Id="{master}"/>"#)).await;
    assert_eq!(text(&x, "CalendarItemType"), "RecurringMaster");
    assert_eq!(text(&x, "DaysOfWeek"), "Monday");
    assert_eq!(text(&x, "NumberOfOccurrences"), "5");
    assert_eq!(all(&x, "StartTimeZone")[0].attr("Id"), Some("Romance Standard Time"));
    let modified = all(&x, "ModifiedOccurrences")[0];
    assert_eq!(text(modified, "OriginalStart"), "2026-01-12T08:00:00Z");
    assert_eq!(text(all(&x, "DeletedOccurrences")[0], "Start"), "2026-01-19T08:00:00Z");
    assert_eq!(text(all(&x, "LastOccurrence")[0], "Start"), "2026-02-02T08:00:00Z");
    assert_eq!(x.find(T, "Body").map(|b| b.text.as_str()), Some("Daily sync"));
    // Occurrence index out of range, and the deleted one.
    let x = ews.get_item(alice, &format!(r#"<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="9"/>"#)).await;
    assert_eq!(response_codes(&x), vec!["ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"]);
    let x = ews.get_item(alice, &format!(r#"<t:OccurrenceItemId RecurringMasterId="{master}" InstanceIndex="3"/>"#)).await;
    assert_eq!(response_codes(&x), vec!["ErrorCalendarOccurrenceIsDeletedFromRecurrence"]);

    // Without a CalendarView: singles and the master, unexpanded.
    let x = ews
        .ok(alice, "", r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="10" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>"#)
        .await;
    assert_eq!(texts(&x, "CalendarItemType"), vec!["RecurringMaster", "Single", "Single"]);
}

#[tokio::test]
async fn create_sends_invitations_only_when_asked() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    let attendees = r#"<t:RequiredAttendees><t:Attendee><t:Mailbox><t:EmailAddress>bob@corp.test</t:EmailAddress></t:Mailbox></t:Attendee><t:Attendee><t:Mailbox><t:Name>Carol</t:Name><t:EmailAddress>carol@else.test</t:EmailAddress></t:Mailbox></t:Attendee></t:RequiredAttendees>"#;
    let item = format!("{}{attendees}", single("Kick-off", "2026-02-02T09:00:00Z", "2026-02-02T10:00:00Z"));
    ews.create(alice, "SendToNone", &item).await;
    assert!(ews.emu.with_state(|s| s.outbox.clone()).is_empty());
    assert!(ews.emu.with_state(|s| s.calendar("bob@corp.test").unwrap().events.is_empty()));

    let (id, _) = ews.create(alice, "SendToAllAndSaveCopy", &item.replace("Kick-off", "Review")).await;
    let outbox = ews.emu.with_state(|s| s.outbox.clone());
    let mut to: Vec<_> = outbox.iter().map(|m| (m.to.clone(), m.kind)).collect();
    to.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(to, vec![("bob@corp.test".to_string(), MessageKind::Invite), ("carol@else.test".to_string(), MessageKind::Invite)]);
    // Bob's copy carries the same UID, and Bob has not answered yet.
    let uid = text(&ews.get_item(alice, &format!(r#"<t:ItemId Id="{id}"/>"#)).await, "UID");
    let x = ews
        .ok("bob@corp.test", "", r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="calendar:UID"/><t:FieldURI FieldURI="calendar:MyResponseType"/><t:FieldURI FieldURI="calendar:Organizer"/></t:AdditionalProperties></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>"#)
        .await;
    assert_eq!(texts(&x, "UID"), vec![uid]);
    assert_eq!(text(&x, "MyResponseType"), "NoResponseReceived");
    assert_eq!(text(&x, "EmailAddress"), "alice@corp.test");

    // SendMeetingInvitations is required for calendar items.
    let x = ews
        .ok(alice, "", &format!(r#"<m:CreateItem><m:Items><t:CalendarItem>{}</t:CalendarItem></m:Items></m:CreateItem>"#, single("No switch", "2026-02-03T09:00:00Z", "2026-02-03T10:00:00Z")))
        .await;
    let msg = all(&x, "CreateItemResponseMessage")[0];
    assert_eq!(msg.attr("ResponseClass"), Some("Error"));
    assert_eq!(text(msg, "ResponseCode"), "ErrorSendMeetingInvitationsRequired");
    // All-day items snap to midnights in their zone.
    let (id, _) = ews
        .create(alice, "SendToNone", r#"<t:Subject>Offsite</t:Subject><t:Start>2026-02-10T00:00:00</t:Start><t:End>2026-02-12T00:00:00</t:End><t:IsAllDayEvent>true</t:IsAllDayEvent><t:StartTimeZone Id="Romance Standard Time"/>"#)
        .await;
    let x = ews.get_item(alice, &format!(r#"<t:ItemId Id="{id}"/>"#)).await;
    assert_eq!((text(&x, "Start"), text(&x, "End"), text(&x, "IsAllDayEvent")), ("2026-02-09T23:00:00Z".into(), "2026-02-11T23:00:00Z".into(), "true".into()));
}

fn update(id_xml: &str, resolution: &str, send: Option<&str>, subject: &str) -> String {
    let send = send.map(|s| format!(r#" SendMeetingInvitationsOrCancellations="{s}""#)).unwrap_or_default();
    format!(
        r#"<m:UpdateItem ConflictResolution="{resolution}"{send}><m:ItemChanges><t:ItemChange>{id_xml}<t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:CalendarItem><t:Subject>{subject}</t:Subject></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#
    )
}

#[tokio::test]
async fn update_with_a_stale_change_key_conflicts_under_never_overwrite() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    let (id, first_key) = ews.create(alice, "SendToNone", &single("v1", "2026-02-02T09:00:00Z", "2026-02-02T10:00:00Z")).await;
    let x = ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{id}" ChangeKey="{first_key}"/>"#), "NeverOverwrite", Some("SendToNone"), "v2")).await;
    assert_eq!(response_codes(&x), vec!["NoError"]);
    let second_key = all(&x, "ItemId")[0].attr("ChangeKey").unwrap().to_string();
    assert_ne!(second_key, first_key, "every write changes the ChangeKey");
    let x = ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{id}" ChangeKey="{first_key}"/>"#), "NeverOverwrite", Some("SendToNone"), "v3")).await;
    assert_eq!(response_codes(&x), vec!["ErrorIrresolvableConflict"]);
    assert_eq!(text(&ews.get_item(alice, &format!(r#"<t:ItemId Id="{id}"/>"#)).await, "Subject"), "v2");
    let x = ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{id}" ChangeKey="{first_key}"/>"#), "AutoResolve", Some("SendToNone"), "v4")).await;
    assert_eq!(response_codes(&x), vec!["NoError"]);
    let x = ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{id}"/>"#), "AutoResolve", None, "v5")).await;
    assert_eq!(response_codes(&x), vec!["ErrorSendMeetingInvitationsOrCancellationsRequired"]);
    let x = ews.ok(alice, "", &update(r#"<t:ItemId Id="AAMkAGnope"/>"#, "AutoResolve", Some("SendToNone"), "v6")).await;
    assert_eq!(response_codes(&x), vec!["ErrorItemNotFound"]);
    let x = ews.ok(alice, "", r#"<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="AAMkAGnope"/></m:ItemIds></m:DeleteItem>"#).await;
    assert_eq!(response_codes(&x), vec!["ErrorItemNotFound"]);
}

fn changes(x: &Element) -> Vec<(String, String)> {
    let changes = all(x, "Changes")[0];
    changes.children.iter().map(|c| (c.name.clone(), all(c, "ItemId")[0].attr("Id").unwrap().to_string())).collect()
}

#[tokio::test]
async fn sync_folder_items_reports_exactly_the_changes_since() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    let x = ews.sync(alice, None, 10).await;
    assert!(changes(&x).is_empty());
    let state0 = text(&x, "SyncState");
    let (a, _) = ews.create(alice, "SendToNone", &single("A", "2026-02-02T09:00:00Z", "2026-02-02T10:00:00Z")).await;
    let (b, _) = ews.create(alice, "SendToNone", &single("B", "2026-02-03T09:00:00Z", "2026-02-03T10:00:00Z")).await;
    let (series, _) = ews.create(alice, "SendToNone", WEEKLY).await;

    let x = ews.sync(alice, Some(&state0), 2).await;
    assert_eq!(changes(&x), vec![("Create".into(), a.clone()), ("Create".into(), b.clone())]);
    assert_eq!(text(&x, "IncludesLastItemInRange"), "false");
    let x = ews.sync(alice, Some(&text(&x, "SyncState")), 2).await;
    assert_eq!(changes(&x), vec![("Create".into(), series.clone())]);
    assert_eq!(text(&x, "IncludesLastItemInRange"), "true");
    let state1 = text(&x, "SyncState");

    // An update, an occurrence change (an Update of its master), a delete.
    ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{a}"/>"#), "AutoResolve", Some("SendToNone"), "A2")).await;
    ews.ok(alice, "", &update(&format!(r#"<t:OccurrenceItemId RecurringMasterId="{series}" InstanceIndex="2"/>"#), "AutoResolve", Some("SendToNone"), "moved")).await;
    ews.ok(alice, "", &format!(r#"<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="{b}"/></m:ItemIds></m:DeleteItem>"#)).await;
    // Created and deleted between two syncs: never reported.
    let (c, _) = ews.create(alice, "SendToNone", &single("C", "2026-02-04T09:00:00Z", "2026-02-04T10:00:00Z")).await;
    ews.ok(alice, "", &format!(r#"<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="{c}"/></m:ItemIds></m:DeleteItem>"#)).await;

    let x = ews.sync(alice, Some(&state1), 512).await;
    assert_eq!(changes(&x), vec![("Update".into(), a.clone()), ("Update".into(), series.clone()), ("Delete".into(), b.clone())]);
    let x = ews.sync(alice, Some(&text(&x, "SyncState")), 512).await;
    assert!(changes(&x).is_empty());
    // A state may be replayed (a client retrying after a lost answer).
    assert_eq!(changes(&ews.sync(alice, Some(&state1), 512).await).len(), 3);

    // Bob cannot use Alice's state; garbage and expired states need a full resync.
    assert_eq!(response_codes(&ews.sync("bob@corp.test", Some(&state1), 10).await), vec!["ErrorInvalidSyncStateData"]);
    assert_eq!(response_codes(&ews.sync(alice, Some("H4sIAAAAAAAEAO29B2"), 10).await), vec!["ErrorInvalidSyncStateData"]);
    ews.emu.with_state(|s| s.expire_cursors(Provider::Ews));
    assert_eq!(response_codes(&ews.sync(alice, Some(&state1), 10).await), vec!["ErrorInvalidSyncStateData"]);
    // MaxChangesReturned outside 1..=512 fails schema validation.
    let a = ews.call(alice, "", r#"<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="calendar"/></m:SyncFolderId><m:MaxChangesReturned>513</m:MaxChangesReturned></m:SyncFolderItems>"#).await;
    assert_eq!(fault_code(&a), "a:ErrorSchemaValidation");
}

const CRM_URI: &str = r#"<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="crmId" PropertyType="String"/>"#;

#[tokio::test]
async fn find_item_restriction_on_the_crm_id() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    for (n, subject) in [(1, "First"), (2, "Second")] {
        let item = format!(
            "<t:Subject>{subject}</t:Subject><t:ExtendedProperty>{CRM_URI}<t:Value>MEET-{n}</t:Value></t:ExtendedProperty><t:Start>2026-02-0{n}T09:00:00Z</t:Start><t:End>2026-02-0{n}T10:00:00Z</t:End>"
        );
        ews.create(alice, "SendToNone", &item).await;
    }
    assert_eq!(ews.emu.with_state(|s| s.find_by_private_prop(alice, "crmId", "MEET-2").unwrap().len()), 1);
    let find = |restriction: String| {
        format!(
            r#"<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"/>{CRM_URI}</t:AdditionalProperties></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning"/><m:Restriction>{restriction}</m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds></m:FindItem>"#
        )
    };
    let x = ews.ok(alice, "", &find(format!(r#"<t:IsEqualTo>{CRM_URI}<t:FieldURIOrConstant><t:Constant Value="MEET-2"/></t:FieldURIOrConstant></t:IsEqualTo>"#))).await;
    assert_eq!(texts(&x, "Subject"), vec!["Second"]);
    let prop = all(&x, "ExtendedProperty")[0];
    assert_eq!(all(prop, "ExtendedFieldURI")[0].attr("PropertyName"), Some("crmId"));
    assert_eq!(text(prop, "Value"), "MEET-2");
    let x = ews.ok(alice, "", &find(format!(r#"<t:IsEqualTo>{CRM_URI}<t:FieldURIOrConstant><t:Constant Value="MEET-9"/></t:FieldURIOrConstant></t:IsEqualTo>"#))).await;
    assert!(all(&x, "CalendarItem").is_empty());
    let x = ews.ok(alice, "", &find(r#"<t:IsEqualTo><t:FieldURI FieldURI="item:Subject"/><t:FieldURIOrConstant><t:Constant Value="first"/></t:FieldURIOrConstant></t:IsEqualTo>"#.into())).await;
    assert_eq!(texts(&x, "Subject"), vec!["First"]);
    let x = ews
        .ok(alice, "", &find(r#"<t:And><t:IsGreaterThan><t:FieldURI FieldURI="calendar:Start"/><t:FieldURIOrConstant><t:Constant Value="2026-02-01T12:00:00Z"/></t:FieldURIOrConstant></t:IsGreaterThan><t:Exists><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="crmId" PropertyType="String"/></t:Exists></t:And>"#.into()))
        .await;
    assert_eq!(texts(&x, "Subject"), vec!["Second"]);
    // Set and delete the property with UpdateItem.
    let id = all(&x, "ItemId")[0].attr("Id").unwrap().to_string();
    let x = ews
        .ok(alice, "", &format!(r#"<m:UpdateItem ConflictResolution="AutoResolve" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="{id}"/><t:Updates><t:DeleteItemField>{CRM_URI}</t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>"#))
        .await;
    assert_eq!(response_codes(&x), vec!["NoError"]);
    assert!(ews.emu.with_state(|s| s.find_by_private_prop(alice, "crmId", "MEET-2").unwrap().is_empty()));
}

#[tokio::test]
async fn availability_for_several_mailboxes() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    ews.create(alice, "SendToNone", &single("Board", "2026-02-02T08:00:00Z", "2026-02-02T09:00:00Z")).await;
    ews.create(alice, "SendToNone", &format!("{}<t:Sensitivity>Private</t:Sensitivity>", single("Doctor", "2026-02-02T10:00:00Z", "2026-02-02T11:00:00Z")).replace("<t:Sensitivity>Private</t:Sensitivity>", "")).await;
    ews.create(alice, "SendToNone", r#"<t:Subject>Doctor</t:Subject><t:Sensitivity>Private</t:Sensitivity><t:Start>2026-02-02T12:00:00Z</t:Start><t:End>2026-02-02T12:30:00Z</t:End><t:LegacyFreeBusyStatus>OOF</t:LegacyFreeBusyStatus>"#).await;
    let body = r#"<m:GetUserAvailabilityRequest><t:TimeZone><t:Bias>0</t:Bias><t:StandardTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>0</t:DayOrder><t:Month>0</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:StandardTime><t:DaylightTime><t:Bias>0</t:Bias><t:Time>00:00:00</t:Time><t:DayOrder>0</t:DayOrder><t:Month>0</t:Month><t:DayOfWeek>Sunday</t:DayOfWeek></t:DaylightTime></t:TimeZone><m:MailboxDataArray><t:MailboxData><t:Email><t:Address>alice@corp.test</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData><t:MailboxData><t:Email><t:Address>ghost@corp.test</t:Address></t:Email><t:AttendeeType>Required</t:AttendeeType></t:MailboxData></m:MailboxDataArray><t:FreeBusyViewOptions><t:TimeWindow><t:StartTime>2026-02-02T08:00:00</t:StartTime><t:EndTime>2026-02-02T13:00:00</t:EndTime></t:TimeWindow><t:MergedFreeBusyIntervalInMinutes>60</t:MergedFreeBusyIntervalInMinutes><t:RequestedView>DetailedMerged</t:RequestedView></t:FreeBusyViewOptions></m:GetUserAvailabilityRequest>"#;
    let x = ews.ok("bob@corp.test", "", body).await;
    let responses = all(&x, "FreeBusyResponse");
    assert_eq!(responses.len(), 2);
    assert_eq!(response_codes(responses[0]), vec!["NoError"]);
    assert_eq!(texts(responses[0], "StartTime"), vec!["2026-02-02T08:00:00", "2026-02-02T10:00:00", "2026-02-02T12:00:00"]);
    assert_eq!(texts(responses[0], "BusyType"), vec!["Busy", "Busy", "OOF"]);
    // The private item's subject is not shown.
    assert_eq!(texts(responses[0], "Subject"), vec!["Board", "Doctor"]);
    assert_eq!(texts(responses[0], "IsPrivate"), vec!["false", "false", "true"]);
    assert_eq!(text(responses[0], "MergedFreeBusy"), "20203");
    assert_eq!(all(responses[1], "ResponseMessage")[0].attr("ResponseClass"), Some("Error"));
    assert_eq!(response_codes(responses[1]), vec!["ErrorMailRecipientNotFound"]);
}

#[tokio::test]
async fn push_subscription_delivers_notifications_until_the_listener_unsubscribes() {
    use axum::routing::post;
    let ews = setup().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let answer = std::sync::Arc::new(std::sync::Mutex::new("OK"));
    let answer2 = answer.clone();
    let listener = axum::Router::new().route(
        "/ews-push",
        post(move |body: String| {
            let tx = tx.clone();
            let status = *answer2.lock().unwrap();
            async move {
                let _ = tx.send(body);
                (
                    [("content-type", "text/xml")],
                    format!(r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:SendNotificationResult xmlns:m="{M}"><m:SubscriptionStatus>{status}</m:SubscriptionStatus></m:SendNotificationResult></s:Body></s:Envelope>"#),
                )
            }
        }),
    );
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(tcp, listener).await });
    let alice = "alice@corp.test";
    let x = ews
        .ok(alice, "", &format!(r#"<m:Subscribe><m:PushSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType></t:EventTypes><t:StatusFrequency>1</t:StatusFrequency><t:URL>http://127.0.0.1:{port}/ews-push</t:URL></m:PushSubscriptionRequest></m:Subscribe>"#))
        .await;
    assert_eq!(response_codes(&x), vec!["NoError"]);
    let sub_id = text(&x, "SubscriptionId");
    assert!(!text(&x, "Watermark").is_empty());
    // Exchange greets a new push subscriber with a status event.
    let first = domain::xml::parse(next(&mut rx).await.as_bytes(), Limits::default()).unwrap();
    assert!(first.find(M, "SendNotification").is_some());
    assert_eq!(all(&first, "StatusEvent").len(), 1);
    assert_eq!(text(&first, "SubscriptionId"), sub_id);

    let (id, _) = ews.create(alice, "SendToNone", &single("Pushed", "2026-02-02T09:00:00Z", "2026-02-02T10:00:00Z")).await;
    let created = domain::xml::parse(next(&mut rx).await.as_bytes(), Limits::default()).unwrap();
    let event = all(&created, "CreatedEvent")[0];
    assert_eq!(all(event, "ItemId")[0].attr("Id"), Some(id.as_str()));
    assert!(all(event, "ParentFolderId")[0].attr("Id").is_some());
    assert!(!text(&created, "PreviousWatermark").is_empty());

    // The listener answers Unsubscribe: the subscription ends.
    *answer.lock().unwrap() = "Unsubscribe";
    ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{id}"/>"#), "AutoResolve", Some("SendToNone"), "again")).await;
    let modified = domain::xml::parse(next(&mut rx).await.as_bytes(), Limits::default()).unwrap();
    assert_eq!(all(&modified, "ModifiedEvent").len(), 1);
    for _ in 0..100 {
        if ews.emu.with_state(|s| !s.subscriptions.contains_key(&sub_id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(ews.emu.with_state(|s| !s.subscriptions.contains_key(&sub_id)));
    ews.create(alice, "SendToNone", &single("Quiet", "2026-02-03T09:00:00Z", "2026-02-03T10:00:00Z")).await;
    assert!(tokio::time::timeout(Duration::from_millis(300), rx.recv()).await.is_err(), "no pushes after unsubscribing");
}

#[tokio::test]
async fn pull_and_streaming_subscriptions() {
    let ews = setup().await;
    let alice = "alice@corp.test";
    let events = "<t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType><t:EventType>DeletedEvent</t:EventType></t:EventTypes>";
    let x = ews
        .ok(alice, "", &format!(r#"<m:Subscribe><m:PullSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds>{events}<t:Timeout>10</t:Timeout></m:PullSubscriptionRequest></m:Subscribe>"#))
        .await;
    let (pull, wm0) = (text(&x, "SubscriptionId"), text(&x, "Watermark"));
    let get_events = |wm: &str| format!("<m:GetEvents><m:SubscriptionId>{pull}</m:SubscriptionId><m:Watermark>{wm}</m:Watermark></m:GetEvents>");
    let x = ews.ok(alice, "", &get_events(&wm0)).await;
    assert_eq!(all(&x, "StatusEvent").len(), 1);
    let (id, _) = ews.create(alice, "SendToNone", &single("Pulled", "2026-02-02T09:00:00Z", "2026-02-02T10:00:00Z")).await;
    ews.ok(alice, "", &update(&format!(r#"<t:ItemId Id="{id}"/>"#), "AutoResolve", Some("SendToNone"), "changed")).await;
    let x = ews.ok(alice, "", &get_events(&wm0)).await;
    let notification = all(&x, "Notification")[0];
    let kinds: Vec<&str> = notification.children.iter().map(|c| c.name.as_str()).filter(|n| n.ends_with("Event")).collect();
    // One item, created and then changed since the watermark: reported once, as created.
    assert_eq!(kinds, vec!["CreatedEvent"]);
    let wm1 = all(notification, "Watermark").last().unwrap().text.clone();
    let x = ews.ok(alice, "", &get_events(&wm1)).await;
    assert_eq!(all(&x, "StatusEvent").len(), 1);
    assert_eq!(response_codes(&ews.ok(alice, "", &get_events("bm90LWEtd2F0ZXJtYXJr")).await), vec!["ErrorInvalidWatermark"]);
    assert_eq!(response_codes(&ews.ok("bob@corp.test", "", &get_events(&wm1)).await), vec!["ErrorSubscriptionNotFound"]);
    let x = ews.ok(alice, "", &format!("<m:Unsubscribe><m:SubscriptionId>{pull}</m:SubscriptionId></m:Unsubscribe>")).await;
    assert_eq!(response_codes(&x), vec!["NoError"]);
    assert_eq!(response_codes(&ews.ok(alice, "", &get_events(&wm1)).await), vec!["ErrorSubscriptionNotFound"]);

    // Streaming: a chunked answer with envelopes as changes happen.
    let x = ews
        .ok(alice, "", &format!(r#"<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id="calendar"/></t:FolderIds>{events}</m:StreamingSubscriptionRequest></m:Subscribe>"#))
        .await;
    let stream_id = text(&x, "SubscriptionId");
    assert!(all(&x, "Watermark").is_empty());
    let mut resp = ews
        .http
        .post(&ews.url)
        .basic_auth(alice, Some("alice-pw"))
        .body(envelope("", &format!("<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>{stream_id}</t:SubscriptionId></m:SubscriptionIds><m:ConnectionTimeout>1</m:ConnectionTimeout></m:GetStreamingEvents>")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let first = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await.unwrap().unwrap().unwrap();
    let first = domain::xml::parse(&first, Limits::default()).unwrap();
    assert_eq!(text(&first, "ConnectionStatus"), "OK");
    let (id, _) = ews.create(alice, "SendToNone", &single("Streamed", "2026-02-03T09:00:00Z", "2026-02-03T10:00:00Z")).await;
    let chunk = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await.unwrap().unwrap().unwrap();
    let chunk = domain::xml::parse(&chunk, Limits::default()).unwrap();
    let created = all(&chunk, "CreatedEvent")[0];
    assert_eq!(all(created, "ItemId")[0].attr("Id"), Some(id.as_str()));
    assert_eq!(text(&chunk, "SubscriptionId"), stream_id);
}

#[tokio::test]
async fn injected_faults_in_exchange_shape() {
    let ews = setup().await;
    ews.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Ews, kind: FaultKind::Throttle { retry_after_ms: 1234 }, remaining: 1, only: None }));
    let a = ews.call("alice@corp.test", "", GET_FOLDERS).await;
    assert_eq!(fault_code(&a), "a:ErrorServerBusy");
    let x = a.xml();
    let value = all(&x, "Value")[0];
    assert_eq!((value.attr("Name"), value.text.trim()), (Some("BackOffMilliseconds"), "1234"));
    ews.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Ews, kind: FaultKind::Status { status: 503 }, remaining: 1, only: None }));
    let a = ews.call("alice@corp.test", "", GET_FOLDERS).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.headers.contains_key("retry-after"));
    ews.emu.with_state(|s| s.faults.push(Fault { provider: Provider::Ews, kind: FaultKind::Status { status: 500 }, remaining: 1, only: None }));
    assert_eq!(fault_code(&ews.call("alice@corp.test", "", GET_FOLDERS).await), "a:ErrorInternalServerTransientError");
    // The fault is used up.
    assert_eq!(ews.call("alice@corp.test", "", GET_FOLDERS).await.status, StatusCode::OK);
}

#[tokio::test]
async fn hostile_and_malformed_requests_get_faults_quickly() {
    let ews = setup().await;
    let alice = Some("alice@corp.test");
    let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol3;</s:Body></s:Envelope>"#;
    let external = r#"<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&x;</s:Body></s:Envelope>"#;
    let deep = format!("{}{}", "<a>".repeat(50_000), "</a>".repeat(50_000));
    let malformed = envelope("", "<m:GetFolder><m:FolderIds></m:GetFolder>");
    for body in [bomb.to_string(), external.to_string(), deep, malformed, "not xml at all".into(), String::new()] {
        let a = tokio::time::timeout(Duration::from_secs(10), ews.post_raw(alice, body)).await.expect("answered in time");
        assert_eq!(fault_code(&a), "a:ErrorSchemaValidation");
    }
    // A body over the cap is refused without being read to the end.
    let huge = vec![b'<'; 64 * 1024 * 1024];
    let started = std::time::Instant::now();
    let resp = ews.http.post(&ews.url).basic_auth("alice@corp.test", Some("alice-pw")).body(huge).send().await;
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(resp.text().await.unwrap().contains("ErrorRequestStreamTooBig"));
    }
    assert!(started.elapsed() < HANG);
    // Unknown operations, bad versions, non-SOAP documents.
    assert_eq!(fault_code(&ews.call("alice@corp.test", "", "<m:GetUserPhoto/>").await), "a:ErrorInvalidRequest");
    let bad_version = envelope("", GET_FOLDERS).replace("Exchange2016", "Exchange2099");
    assert_eq!(fault_code(&ews.post_raw(alice, bad_version).await), "a:ErrorInvalidServerVersion");
    assert_eq!(fault_code(&ews.post_raw(alice, "<html/>").await), "a:ErrorSchemaValidation");
}

async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("a push in time").expect("listener alive")
}
