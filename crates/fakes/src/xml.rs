//! Minimal XML element tree for Plex answers, convertible to Plex's JSON form.
//!
//! Plex XML conventions (ref §1.1): booleans are `"0"`/`"1"` attribute strings and
//! timestamps epoch seconds. The PMS JSON form (ref §1.1 "Response format, PMS") is
//! `{"MediaContainer": {attrs..., "Directory": [...], "Metadata": [...]}}`: attributes
//! become fields, children are grouped into arrays by element name.

use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub enum V {
    S(String),
    I(i64),
    B(bool),
}

impl From<&str> for V {
    fn from(s: &str) -> Self {
        V::S(s.to_string())
    }
}
impl From<String> for V {
    fn from(s: String) -> Self {
        V::S(s)
    }
}
impl From<&String> for V {
    fn from(s: &String) -> Self {
        V::S(s.clone())
    }
}
impl From<i64> for V {
    fn from(i: i64) -> Self {
        V::I(i)
    }
}
impl From<u64> for V {
    fn from(i: u64) -> Self {
        V::I(i as i64)
    }
}
impl From<usize> for V {
    fn from(i: usize) -> Self {
        V::I(i as i64)
    }
}
impl From<u32> for V {
    fn from(i: u32) -> Self {
        V::I(i64::from(i))
    }
}
impl From<bool> for V {
    fn from(b: bool) -> Self {
        V::B(b)
    }
}

#[derive(Debug, Clone)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, V)>,
    pub children: Vec<El>,
    pub text: Option<String>,
}

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

impl El {
    pub fn new(name: &str) -> Self {
        El {
            name: name.to_string(),
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        }
    }

    pub fn a(mut self, k: &str, v: impl Into<V>) -> Self {
        self.attrs.push((k.to_string(), v.into()));
        self
    }

    pub fn child(mut self, c: El) -> Self {
        self.children.push(c);
        self
    }

    pub fn kids(mut self, cs: impl IntoIterator<Item = El>) -> Self {
        self.children.extend(cs);
        self
    }

    pub fn text(mut self, t: &str) -> Self {
        self.text = Some(t.to_string());
        self
    }

    fn write(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            let v = match v {
                V::S(s) => esc(s),
                V::I(i) => i.to_string(),
                V::B(b) => if *b { "1" } else { "0" }.to_string(),
            };
            out.push_str(&format!(" {k}=\"{v}\""));
        }
        if self.children.is_empty() && self.text.is_none() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        if let Some(t) = &self.text {
            out.push_str(&esc(t));
        }
        for c in &self.children {
            c.write(out);
        }
        out.push_str(&format!("</{}>", self.name));
    }

    /// The document with the XML declaration, as plex.tv and PMS send it.
    pub fn to_xml(&self) -> String {
        let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        self.write(&mut s);
        s.push('\n');
        s
    }

    /// Plex JSON form of this element's body (attrs + grouped children).
    pub fn to_json_body(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in &self.attrs {
            let v = match v {
                V::S(s) => Value::String(s.clone()),
                V::I(i) => Value::from(*i),
                V::B(b) => Value::Bool(*b),
            };
            m.insert(k.clone(), v);
        }
        for c in &self.children {
            let entry = m
                .entry(c.name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(a) = entry {
                a.push(c.to_json_body());
            }
        }
        Value::Object(m)
    }

    /// `{"<Name>": body}` — PMS wraps everything in `MediaContainer` this way.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(self.name.clone(), self.to_json_body());
        Value::Object(m)
    }
}

/// Render a plex.tv v2 JSON document as the XML plex.tv sends without
/// `Accept: application/json` (ref §1.1): scalar fields become attributes, objects
/// become child elements, arrays become a wrapper element holding singular-named
/// children (`roles: ["plexpass"]` → `<roles><role id="plexpass"/></roles>`, the shape
/// plexapi parses).
pub fn json_to_xml_el(name: &str, v: &Value) -> El {
    let mut el = El::new(name);
    match v {
        Value::Object(m) => {
            for (k, fv) in m {
                match fv {
                    Value::Null => el = el.a(k, ""),
                    Value::Bool(b) => el = el.a(k, *b),
                    Value::Number(n) => el = el.a(k, n.to_string()),
                    Value::String(s) => el = el.a(k, s.as_str()),
                    Value::Object(_) => el = el.child(json_to_xml_el(k, fv)),
                    Value::Array(items) => {
                        let singular = k.strip_suffix('s').unwrap_or(k);
                        let mut wrap = El::new(k);
                        for it in items {
                            wrap = wrap.child(match it {
                                Value::Object(_) => json_to_xml_el(singular, it),
                                Value::String(s) => El::new(singular).a("id", s.as_str()),
                                other => El::new(singular).a("id", other.to_string()),
                            });
                        }
                        el = el.child(wrap);
                    }
                }
            }
        }
        Value::Array(items) => {
            let singular = name.strip_suffix('s').unwrap_or(name);
            for it in items {
                el = el.child(json_to_xml_el(singular, it));
            }
        }
        Value::Bool(b) => el = el.text(if *b { "1" } else { "0" }),
        other => el = el.text(&other.to_string()),
    }
    el
}
