//! Telling an HTML description from plain text. Outlook bodies are HTML documents; Google's
//! web calendar writes descriptions with a few inline tags (links, line breaks, bold) and its
//! apps and API clients write plain text — the field does not say which, so it is read from
//! the text: a known tag opening somewhere in it.

/// Tags that mark a description as HTML (a `<` before anything else is just a character).
const TAGS: &[&str] = &["html", "!doctype", "body", "div", "p", "br", "a", "b", "i", "u", "em", "strong", "span", "ul", "ol", "li", "table", "font"];

/// Whether `s` is an HTML description rather than plain text.
pub fn looks_like_html(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.match_indices('<').any(|(i, _)| {
        let rest = &lower[i + 1..];
        TAGS.iter().any(|t| {
            rest.strip_prefix(t).and_then(|after| after.chars().next()).is_some_and(|c| c == '>' || c == '/' || c.is_ascii_whitespace())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_told_from_text_that_happens_to_hold_angle_brackets() {
        assert!(looks_like_html("<html><body>Agenda</body></html>"));
        assert!(looks_like_html("Join: <a href=\"https://meet.example/abc\">meet.example/abc</a>"));
        assert!(looks_like_html("Line one<br>Line two"));
        assert!(looks_like_html("<P CLASS=x>Hi</P>"));
        assert!(!looks_like_html("Price < 100 EUR and > 50"));
        assert!(!looks_like_html("a <bc> is not <bold>"));
        assert!(!looks_like_html("mail <ida@fjord.example>"));
        assert!(!looks_like_html(""));
    }
}
