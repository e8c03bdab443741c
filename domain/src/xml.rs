//! A small namespace-aware XML tree read with quick-xml, for SOAP (EWS) on both sides of the
//! wire. Safe on hostile input: a DOCTYPE is refused (so no entity declarations, no entity
//! bombs, no external entities), only the five predefined entities and character references
//! are expanded, and depth, element count and size are capped. Elements are matched by
//! namespace URI and local name, so any prefix (`s:`, `soap:`, `m:`, `t:`, a default
//! namespace) reads the same.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    /// Attributes on one element (EWS elements carry a handful).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_bytes: 16 * 1024 * 1024, max_depth: 64, max_elements: 500_000, max_attributes: 64 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlError {
    TooLarge(usize),
    TooDeep(usize),
    TooManyElements(usize),
    TooManyAttributes(usize),
    /// A DOCTYPE (and with it any entity declaration) is not accepted.
    Dtd,
    UnknownEntity(String),
    Malformed(String),
    Empty,
}

impl std::fmt::Display for XmlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge(n) => write!(f, "XML document larger than {n} bytes"),
            Self::TooDeep(n) => write!(f, "XML nested deeper than {n} levels"),
            Self::TooManyElements(n) => write!(f, "XML has more than {n} elements"),
            Self::TooManyAttributes(n) => write!(f, "an XML element has more than {n} attributes"),
            Self::Dtd => write!(f, "XML with a DOCTYPE is not accepted"),
            Self::UnknownEntity(e) => write!(f, "unknown XML entity &{e};"),
            Self::Malformed(e) => write!(f, "malformed XML: {e}"),
            Self::Empty => write!(f, "no XML root element"),
        }
    }
}

impl std::error::Error for XmlError {}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI of a prefixed attribute; unprefixed attributes have none.
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub ns: Option<String>,
    pub name: String,
    pub attrs: Vec<Attribute>,
    pub children: Vec<Element>,
    /// The element's own text (CDATA included), entity references resolved.
    pub text: String,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// First child with this namespace and local name.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(&'a self, ns: &'a str, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Follows a path of (namespace, local name) steps through first matches.
    pub fn path(&self, steps: &[(&str, &str)]) -> Option<&Element> {
        steps.iter().try_fold(self, |e, (ns, name)| e.child(ns, name))
    }

    /// Text of the child, trimmed; None when the child is missing.
    pub fn child_text(&self, ns: &str, name: &str) -> Option<&str> {
        self.child(ns, name).map(|c| c.text.trim())
    }

    /// Unprefixed attribute by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns.is_none() && a.name == name).map(|a| a.value.as_str())
    }

    /// Depth-first search for the first descendant (or self) with this name.
    pub fn find(&self, ns: &str, name: &str) -> Option<&Element> {
        if self.is(ns, name) {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(ns, name))
    }
}

/// Parses a whole document into its root element.
pub fn parse(bytes: &[u8], limits: Limits) -> Result<Element, XmlError> {
    if bytes.len() > limits.max_bytes {
        return Err(XmlError::TooLarge(limits.max_bytes));
    }
    let mut reader = NsReader::from_reader(bytes);
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let (resolved, event) = reader
            .read_resolved_event_into(&mut buf)
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                if root.is_some() && stack.is_empty() {
                    return Err(XmlError::Malformed("content after the root element".into()));
                }
                let mut el = Element {
                    ns: namespace(&resolved),
                    name: String::from_utf8_lossy(start.local_name().as_ref()).into_owned(),
                    ..Element::default()
                };
                // quick-xml's own duplicate check compares every attribute with all before it
                // (quadratic in a hostile tag with 100,000 attributes): count first, then check
                // duplicates ourselves on the few an element may have.
                let mut names: Vec<Vec<u8>> = Vec::new();
                for attr in start.attributes().with_checks(false) {
                    let attr = attr.map_err(|e| XmlError::Malformed(e.to_string()))?;
                    if names.len() >= limits.max_attributes {
                        return Err(XmlError::TooManyAttributes(limits.max_attributes));
                    }
                    if names.iter().any(|n| n.as_slice() == attr.key.as_ref()) {
                        return Err(XmlError::Malformed("duplicate attribute".into()));
                    }
                    names.push(attr.key.as_ref().to_vec());
                    if attr.key.as_ref() == b"xmlns" || attr.key.as_ref().starts_with(b"xmlns:") {
                        continue;
                    }
                    let (ans, local) = reader.resolver().resolve_attribute(attr.key);
                    let value = attr
                        .decode_and_unescape_value(reader.decoder())
                        .map_err(|e| XmlError::Malformed(e.to_string()))?;
                    el.attrs.push(Attribute {
                        ns: namespace(&ans),
                        name: String::from_utf8_lossy(local.as_ref()).into_owned(),
                        value: value.into_owned(),
                    });
                }
                stack.push(el);
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| XmlError::Malformed("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                push_text(&mut stack, &text, &limits)?;
            }
            Event::CData(c) => {
                let text = c.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                push_text(&mut stack, &text, &limits)?;
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| XmlError::Malformed(e.to_string()))?;
                let ch = match r.resolve_char_ref().map_err(|e| XmlError::Malformed(e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => match &*name {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(XmlError::UnknownEntity(other.to_string())),
                    },
                };
                push_text(&mut stack, &ch, &limits)?;
            }
            Event::DocType(_) => return Err(XmlError::Dtd),
            Event::Eof => break,
            Event::Empty(_) => unreachable!("expand_empty_elements is on"),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Malformed("unexpected end of document".into()));
    }
    root.ok_or(XmlError::Empty)
}

fn push_text(stack: &mut [Element], text: &str, _limits: &Limits) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Malformed("text outside the root element".into())),
    }
}

fn namespace(r: &ResolveResult) -> Option<String> {
    match r {
        ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        _ => None,
    }
}

/// Escapes text for element content or a double-quoted attribute value.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    const T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";

    #[test]
    fn any_prefix_reads_the_same() {
        let a = format!(r#"<s:Envelope xmlns:s="{S}" xmlns:t="{T}"><s:Body><t:Subject a="1">Hi &amp; bye &#x41;</t:Subject></s:Body></s:Envelope>"#);
        let b = format!(r#"<Envelope xmlns="{S}"><Body><Subject xmlns="{T}" a="1"><![CDATA[Hi & bye A]]></Subject><Unknown/></Body></Envelope>"#);
        for doc in [a, b] {
            let root = parse(doc.as_bytes(), Limits::default()).unwrap();
            assert!(root.is(S, "Envelope"));
            let subject = root.path(&[(S, "Body"), (T, "Subject")]).unwrap();
            assert_eq!(subject.text, "Hi & bye A");
            assert_eq!(subject.attr("a"), Some("1"));
        }
    }

    #[test]
    fn hostile_inputs_are_refused() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><a>&lol2;</a>"#;
        assert_eq!(parse(bomb.as_bytes(), Limits::default()), Err(XmlError::Dtd));
        let external = r#"<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>"#;
        assert_eq!(parse(external.as_bytes(), Limits::default()), Err(XmlError::Dtd));
        assert_eq!(parse(b"<a>&x;</a>", Limits::default()), Err(XmlError::UnknownEntity("x".into())));
        let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
        assert_eq!(parse(deep.as_bytes(), Limits::default()), Err(XmlError::TooDeep(64)));
        let wide = format!("<a>{}</a>", "<b/>".repeat(600_000));
        assert_eq!(parse(wide.as_bytes(), Limits::default()), Err(XmlError::TooManyElements(500_000)));
        let limits = Limits { max_bytes: 1000, ..Limits::default() };
        assert_eq!(parse(&vec![b' '; 1001], limits), Err(XmlError::TooLarge(1000)));
        assert!(matches!(parse(b"<a><b></a>", Limits::default()), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(b"<a></a><b/>", Limits::default()), Err(XmlError::Malformed(_))));
        assert_eq!(parse(b"  ", Limits::default()), Err(XmlError::Empty));
        // One tag with 90,000 attributes is refused at the 65th, not compared pairwise.
        let many: String = (0..90_000).map(|i| format!(" a{i:05}=\"x\"")).collect();
        let doc = format!("<a{many}/>");
        assert_eq!(parse(doc.as_bytes(), Limits::default()), Err(XmlError::TooManyAttributes(64)));
        assert!(matches!(parse(br#"<a x="1" x="2"/>"#, Limits::default()), Err(XmlError::Malformed(_))));
    }
}
