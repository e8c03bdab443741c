//! SOAP 1.1 plumbing: namespaces, a small XML writer, response envelopes, faults, and the
//! date-time formats EWS reads and writes.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use domain::xml::escape;

pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
pub const E: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

/// Exchange 2016 CU-level build, as on-premises servers report it.
pub const SERVER_VERSION_INFO: &str = r#"<h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types" xmlns="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>"#;

/// Versions a 2016 server accepts in `RequestServerVersion` (schema enumeration plus the
/// dated versions later servers report).
pub const VERSIONS: &[&str] = &[
    "Exchange2007",
    "Exchange2007_SP1",
    "Exchange2009",
    "Exchange2010",
    "Exchange2010_SP1",
    "Exchange2010_SP2",
    "Exchange2012",
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2016",
    "V2015_10_05",
    "V2016_01_06",
    "V2016_04_13",
    "V2016_07_13",
    "V2016_10_10",
    "V2017_01_07",
    "V2017_04_14",
    "V2017_07_11",
];

/// Append-only XML text. Tags are written with their prefix (`m:`, `t:`); the envelope
/// declares both namespaces.
#[derive(Default)]
pub struct W {
    pub s: String,
}

impl W {
    pub fn new() -> Self {
        Self { s: String::with_capacity(2048) }
    }
    pub fn open(&mut self, tag: &str) {
        let _ = write!(self.s, "<{tag}>");
    }
    pub fn open_a(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.s.push('<');
        self.s.push_str(tag);
        self.attrs(attrs);
        self.s.push('>');
    }
    pub fn close(&mut self, tag: &str) {
        let _ = write!(self.s, "</{tag}>");
    }
    pub fn empty(&mut self, tag: &str, attrs: &[(&str, &str)]) {
        self.s.push('<');
        self.s.push_str(tag);
        self.attrs(attrs);
        self.s.push_str("/>");
    }
    /// `<tag>text</tag>`, text escaped.
    pub fn leaf(&mut self, tag: &str, text: impl std::fmt::Display) {
        let text = text.to_string();
        let _ = write!(self.s, "<{tag}>{}</{tag}>", escape(&text));
    }
    pub fn leaf_a(&mut self, tag: &str, attrs: &[(&str, &str)], text: &str) {
        self.open_a(tag, attrs);
        self.s.push_str(&escape(text));
        self.close(tag);
    }
    pub fn raw(&mut self, xml: &str) {
        self.s.push_str(xml);
    }
    fn attrs(&mut self, attrs: &[(&str, &str)]) {
        for (k, v) in attrs {
            let _ = write!(self.s, " {k}=\"{}\"", escape(v));
        }
    }
}

/// A whole response envelope around `body` (the `m:…Response` element).
pub fn envelope(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Header>{SERVER_VERSION_INFO}</s:Header><s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">{body}</s:Body></s:Envelope>"#
    )
}

/// The opening tag of an `m:` response element with the namespaces declared.
pub fn response_open(name: &str) -> String {
    format!(r#"<m:{name} xmlns:m="{M}" xmlns:t="{T}">"#)
}

pub fn xml_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml; charset=utf-8"));
    resp
}

/// A request-level failure: HTTP 500 with a SOAP fault, as Exchange answers.
#[derive(Debug, Clone)]
pub struct Fault {
    pub code: &'static str,
    pub message: String,
    /// Inner XML of `t:MessageXml`.
    pub message_xml: Option<String>,
    pub status: StatusCode,
}

impl Fault {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), message_xml: None, status: StatusCode::INTERNAL_SERVER_ERROR }
    }

    pub fn schema(message: impl Into<String>) -> Self {
        let message = message.into();
        let violation = format!("<t:Violation>{}</t:Violation>", escape(&message));
        Self {
            message_xml: Some(format!("<t:LineNumber>1</t:LineNumber><t:LinePosition>1</t:LinePosition>{violation}")),
            ..Self::new("ErrorSchemaValidation", format!("The request failed schema validation: {message}"))
        }
    }

    pub fn body(&self) -> String {
        let mut w = W::new();
        let _ = write!(
            w.s,
            r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault><faultcode xmlns:a="{T}">a:{code}</faultcode><faultstring xml:lang="en-US">{msg}</faultstring><detail><e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode><e:Message xmlns:e="{E}">{msg}</e:Message>"#,
            code = self.code,
            msg = escape(&self.message),
        );
        if let Some(inner) = &self.message_xml {
            let _ = write!(w.s, r#"<t:MessageXml xmlns:t="{T}">{inner}</t:MessageXml>"#);
        }
        w.raw("</detail></s:Fault></s:Body></s:Envelope>");
        w.s
    }

    pub fn into_response(self) -> Response {
        xml_response(self.status, self.body())
    }
}

// ---- date-times ------------------------------------------------------------------------

/// `2026-01-05T09:00:00Z`, as Exchange writes instants.
pub fn fmt_dt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// An `xs:dateTime` from the wire: with `Z` or an offset it is that instant; without one it
/// is a wall-clock time in `zone` (UTC when none). Fractional seconds are accepted.
pub fn parse_dt(text: &str, zone: Option<chrono_tz::Tz>) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| parse_date(text).and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    Some(match zone {
        Some(tz) => domain::tz::local_to_utc(naive, tz),
        None => naive.and_utc(),
    })
}

/// An `xs:date`, tolerating a trailing zone designator (`2026-01-05Z`, `2026-01-05+01:00`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let head = t.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// The IANA zone for a Windows zone id (or an IANA name, which some clients send).
pub fn zone_from_windows(id: &str) -> Option<chrono_tz::Tz> {
    let id = id.trim();
    domain::windows_zones::windows_to_iana(id).and_then(|z| z.parse().ok()).or_else(|| id.parse().ok())
}

/// The Windows zone id Exchange would show for an IANA zone.
pub fn windows_zone(iana: &str) -> &'static str {
    domain::windows_zones::iana_to_windows(iana).unwrap_or("UTC")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::utc;

    #[test]
    fn date_times_with_and_without_offsets() {
        let cph: chrono_tz::Tz = "Europe/Copenhagen".parse().unwrap();
        assert_eq!(parse_dt("2026-01-05T09:00:00Z", None), Some(utc(2026, 1, 5, 9, 0)));
        assert_eq!(parse_dt("2026-01-05T09:00:00.000Z", None), Some(utc(2026, 1, 5, 9, 0)));
        assert_eq!(parse_dt("2026-01-05T10:00:00+01:00", None), Some(utc(2026, 1, 5, 9, 0)));
        assert_eq!(parse_dt("2026-01-05T10:00:00", Some(cph)), Some(utc(2026, 1, 5, 9, 0)));
        assert_eq!(parse_dt("2026-01-05T09:00:00.1234567", None), Some(utc(2026, 1, 5, 9, 0) + chrono::Duration::nanoseconds(123_456_700)));
        assert_eq!(parse_dt("garbage", None), None);
        assert_eq!(fmt_dt(utc(2026, 1, 5, 9, 0)), "2026-01-05T09:00:00Z");
        assert_eq!(zone_from_windows("Romance Standard Time"), Some(chrono_tz::Europe::Paris));
    }

    #[test]
    fn fault_shape() {
        let f = Fault::schema("bad <thing>");
        let body = f.body();
        let root = domain::xml::parse(body.as_bytes(), Default::default()).unwrap();
        let fault = root.find(SOAP, "Fault").unwrap();
        assert_eq!(fault.child_text("", "faultcode"), None);
        assert!(body.contains("a:ErrorSchemaValidation"));
        assert!(body.contains("bad &lt;thing&gt;"));
    }
}
