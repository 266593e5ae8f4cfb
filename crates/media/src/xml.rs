//! A small XML element tree over quick-xml's event reader. Plex answers XML on plex.tv
//! v1 routes and by default on the PMS (ref §1.1 "Response format"); the documents are
//! small, so a tree is simpler than streaming and lets callers read attributes loosely
//! (`"0"`/`"1"` booleans, numbers as strings, ref §1.1 "XML conventions").

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Attribute as an owned string, empty when absent.
    pub fn s(&self, name: &str) -> String {
        self.attr(name).unwrap_or_default().to_string()
    }

    /// Non-empty attribute.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.attr(name)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// Plex booleans: `"1"`/`"0"`, also `true`/`false`.
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.attr(name), Some("1" | "true" | "True"))
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(|v| v.trim().parse().ok())
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn start(e: &BytesStart<'_>) -> Result<Element, String> {
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| err.to_string())?;
        let k = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let v = a
            .unescape_value()
            .map_err(|err| err.to_string())?
            .into_owned();
        attrs.push((k, v));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
    })
}

/// Parse a document into its root element.
pub fn parse(doc: &str) -> Result<Element, String> {
    let mut reader = Reader::from_str(doc);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("malformed XML: {e}"))?
        {
            Event::Start(e) => stack.push(start(&e)?),
            Event::Empty(e) => {
                let el = start(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = root.or(Some(el)),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err("unbalanced XML".into());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = root.or(Some(el)),
                }
            }
            Event::Text(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&t.decode().map_err(|e| e.to_string())?);
                }
            }
            Event::CData(t) => {
                if let Some(cur) = stack.last_mut() {
                    cur.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            // quick-xml ≥ 0.38 reports `&amp;` etc. in text as separate events.
            Event::GeneralRef(r) => {
                if let Some(cur) = stack.last_mut() {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => match r.as_ref() {
                            b"amp" => Some('&'),
                            b"lt" => Some('<'),
                            b"gt" => Some('>'),
                            b"quot" => Some('"'),
                            b"apos" => Some('\''),
                            _ => None,
                        },
                    };
                    if let Some(c) = resolved {
                        cur.text.push(c);
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| "empty XML document".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plex_shapes() {
        let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<MediaContainer size="1"><SharedServer id="5" allowSync="1" email="a&amp;b@x"><Section id="99" key="1" shared="1"/></SharedServer></MediaContainer>"#;
        let root = parse(doc).unwrap_or_default();
        assert_eq!(root.name, "MediaContainer");
        let ss = root.child("SharedServer").cloned().unwrap_or_default();
        assert!(ss.flag("allowSync"));
        assert_eq!(ss.s("email"), "a&b@x");
        assert_eq!(ss.child("Section").and_then(|s| s.int("id")), Some(99));
        let pong = parse("<pong>true</pong>").unwrap_or_default();
        assert_eq!(pong.text, "true");
        assert!(parse("<a><b></a>").is_err() || parse("").is_err());
    }
}
