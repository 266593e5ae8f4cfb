//! Reading a received message the way a mail client shows it: headers unfolded and their
//! encoded words (RFC 2047) decoded, and the first plain-text and HTML parts of a (possibly
//! nested) multipart body decoded from quoted-printable or base64 into text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A message split into its readable parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// Header names in lower case, values unfolded and decoded, in the order received.
    pub headers: Vec<(String, String)>,
    pub text: Option<String>,
    pub html: Option<String>,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn parse(raw: &str) -> Parsed {
    let (head, body) = split_head(raw);
    let headers = headers(head);
    let mut out = Parsed {
        headers: headers
            .iter()
            .map(|(k, v)| (k.clone(), decode_words(v)))
            .collect(),
        ..Parsed::default()
    };
    collect_parts(&headers, body, &mut out, 0);
    out
}

/// Headers and body, split at the first empty line (CRLF or bare LF).
fn split_head(raw: &str) -> (&str, &str) {
    for sep in ["\r\n\r\n", "\n\n"] {
        if let Some(i) = raw.find(sep) {
            return (&raw[..i], &raw[i + sep.len()..]);
        }
    }
    (raw, "")
}

/// Raw header lines, continuation lines joined to the one before.
fn headers(head: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    out
}

fn raw_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `text/plain; charset="utf-8"` → ("text/plain", [("charset", "utf-8")]).
fn content_type(value: &str) -> (String, Vec<(String, String)>) {
    let mut parts = value.split(';');
    let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let params = parts
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_string(),
            )
        })
        .collect();
    (kind, params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn collect_parts(headers: &[(String, String)], body: &str, out: &mut Parsed, depth: usize) {
    let (kind, params) = content_type(raw_header(headers, "content-type").unwrap_or("text/plain"));
    if kind.starts_with("multipart/") {
        let Some(boundary) = param(&params, "boundary") else {
            return;
        };
        if depth > 8 {
            return;
        }
        for part in multipart(body, boundary) {
            let (h, b) = split_head(part);
            collect_parts(&self::headers(h), b, out, depth + 1);
        }
        return;
    }
    let attachment = raw_header(headers, "content-disposition")
        .is_some_and(|d| d.trim().to_ascii_lowercase().starts_with("attachment"));
    if attachment {
        return;
    }
    let slot = match kind.as_str() {
        "text/plain" => &mut out.text,
        "text/html" => &mut out.html,
        _ => return,
    };
    if slot.is_some() {
        return;
    }
    let encoding = raw_header(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .trim()
        .to_ascii_lowercase();
    let bytes = match encoding.as_str() {
        "quoted-printable" => quoted_printable(body),
        "base64" => {
            let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            STANDARD
                .decode(clean)
                .unwrap_or_else(|_| body.as_bytes().to_vec())
        }
        _ => body.as_bytes().to_vec(),
    };
    *slot = Some(charset_text(
        &bytes,
        param(&params, "charset").unwrap_or("utf-8"),
    ));
}

/// The parts between `--boundary` lines, up to the closing `--boundary--`.
fn multipart<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let closing = format!("{delimiter}--");
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        let trimmed = line.trim_end_matches(['\r', '\n']);
        if trimmed == delimiter || trimmed == closing {
            if let Some(s) = start {
                // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
                let end = body[..pos]
                    .strip_suffix("\r\n")
                    .or_else(|| body[..pos].strip_suffix('\n'))
                    .map_or(pos, str::len);
                parts.push(&body[s..end.max(s)]);
            }
            if trimmed == closing {
                return parts;
            }
            start = Some(pos + line.len());
        }
        pos += line.len();
    }
    parts
}

/// RFC 2045 §6.7: `=XX` is a byte, `=` at the end of a line is a soft break.
fn quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn charset_text(bytes: &[u8], charset: &str) -> String {
    match charset.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin1" | "windows-1252" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// Decodes every `=?charset?B|Q?text?=` in a header value; whitespace between two encoded words
/// is dropped (RFC 2047 §6.2).
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        let decoded = encoded_word(after);
        match decoded {
            Some((text, used)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &after[used..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &after[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// One encoded word at the start of `s`: its text and how many bytes it took.
fn encoded_word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (enc, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let bytes = match enc.to_ascii_lowercase().as_str() {
        "b" => STANDARD.decode(text).ok()?,
        "q" => quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    let used = 2 + charset.len() + 1 + enc.len() + 1 + end + 2;
    Some((charset_text(&bytes, charset), used))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_soft_breaks_and_bytes() {
        assert_eq!(
            String::from_utf8(quoted_printable("caf=C3=A9 and a long=\r\n line")).unwrap(),
            "café and a long line"
        );
    }

    #[test]
    fn encoded_words_in_a_subject() {
        assert_eq!(
            decode_words("=?utf-8?b?WW91J3JlIGludml0ZWQ=?= =?utf-8?q?_to_Jelly_One?="),
            "You're invited to Jelly One"
        );
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn a_multipart_alternative_gives_both_parts() {
        let raw = "Subject: Hi\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello =E2=9C=93\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPHA+SGVsbG88L3A+\r\n--b1--\r\n";
        let p = parse(raw);
        assert_eq!(p.header("subject"), Some("Hi"));
        assert_eq!(p.text.as_deref(), Some("Hello ✓"));
        assert_eq!(p.html.as_deref(), Some("<p>Hello</p>"));
    }
}
