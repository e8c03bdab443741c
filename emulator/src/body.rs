//! Meeting bodies as the providers hand them out: Exchange keeps HTML (a text body is turned
//! into an HTML document) and converts to text when asked (Graph's `Prefer:
//! outlook.body-content-type="text"`, EWS's `BodyType` Text). The model keeps the body as
//! written; whether it is HTML is read from it.

/// Whether a stored body is HTML.
pub fn is_html(body: &str) -> bool {
    domain::html::looks_like_html(body)
}

/// The body as an HTML document, as Exchange stores a text body.
pub fn as_html(body: &str) -> String {
    if is_html(body) || body.is_empty() {
        return body.to_string();
    }
    format!(
        "<html><head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n{}\r\n</body>\r\n</html>\r\n",
        html_escape(body).replace('\n', "<br>\r\n")
    )
}

/// The body as text (tags dropped, line breaks kept, entities decoded).
pub fn as_text(body: &str) -> String {
    if is_html(body) {
        html_to_text(body)
    } else {
        body.to_string()
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    let bytes = html.as_bytes();
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'<' {
            if lower[i..].starts_with("<br") || lower[i..].starts_with("</p") || lower[i..].starts_with("</div") {
                out.push('\n');
            }
            in_tag = true;
        } else if c == b'>' && in_tag {
            in_tag = false;
        } else if !in_tag {
            let ch_len = html[i..].chars().next().map(char::len_utf8).unwrap_or(1);
            out.push_str(&html[i..i + ch_len]);
            i += ch_len;
            continue;
        }
        i += 1;
    }
    let text = out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&");
    text.trim().to_string()
}

