//! Plisio's `verify_hash` (docs/payments.md, "Plisio"): lowercase hex HMAC-SHA1, keyed with the
//! shop's secret key, over a canonical form of the callback without `verify_hash`. The form
//! depends on how the callback came:
//!
//! * JSON (`json=true` on the callback URL): the object in received key order, compact, as
//!   JavaScript's `JSON.stringify` writes it (Plisio's Node sample). Plisio's Python SDK writes
//!   non-ASCII as `\uXXXX` instead; which one Plisio signs with for such text is not
//!   documented, so either form is accepted.
//! * form-encoded (the default): the fields sorted by key (byte order), written with PHP's
//!   `serialize()` as an array of strings (Plisio's PHP library and plugins); `tx_urls` is
//!   HTML-entity-decoded first.

use hmac::{Hmac, KeyInit, Mac};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use sha1::Sha1;

use crate::error::SignatureError;

type HmacSha1 = Hmac<Sha1>;

/// A JSON object with its keys in received order (serde_json's map sorts them).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderedObject(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OrderedObject, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(OrderedObject(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl OrderedObject {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v)
    }

    /// `JSON.stringify` of the object without `verify_hash`.
    pub fn canonical_js(&self) -> String {
        let mut out = String::from("{");
        for (i, (k, v)) in self
            .0
            .iter()
            .filter(|(k, _)| k != "verify_hash")
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&Value::String(k.clone()).to_string());
            out.push(':');
            out.push_str(&v.to_string());
        }
        out.push('}');
        out
    }
}

/// Python's `json.dumps` default: every non-ASCII character as `\uXXXX` (surrogate pairs above
/// the BMP).
pub fn ascii_escaped(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    for c in js.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// PHP `serialize()` of an array of string pairs.
pub fn php_serialize(pairs: &[(String, String)]) -> String {
    let mut out = format!("a:{}:{{", pairs.len());
    for (k, v) in pairs {
        out.push_str(&format!("s:{}:\"{k}\";s:{}:\"{v}\";", k.len(), v.len()));
    }
    out.push('}');
    out
}

/// PHP `html_entity_decode` for the entities a URL list can carry.
fn html_entity_decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(end) = tail.find(';').filter(|e| *e <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let ent = &tail[1..end];
        let decoded = match ent {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "lt" => Some('<'),
            "gt" => Some('>'),
            e if e.starts_with("#x") || e.starts_with("#X") => u32::from_str_radix(&e[2..], 16)
                .ok()
                .and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The form variant's canonical string: fields without `verify_hash`, sorted, serialised.
pub fn canonical_form(fields: &[(String, String)]) -> String {
    let mut m: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (k, v) in fields {
        if k == "verify_hash" {
            continue;
        }
        let v = if k == "tx_urls" {
            html_entity_decode(&v.replace('\\', ""))
        } else {
            v.clone()
        };
        // A repeated field keeps its last value, as PHP's $_POST does.
        m.insert(k.clone(), v);
    }
    let pairs: Vec<(String, String)> = m.into_iter().collect();
    php_serialize(&pairs)
}

pub fn hmac_hex(secret: &str, data: &str) -> String {
    let mut m = HmacSha1::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(data.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn matches(secret: &str, data: &str, given: &str) -> bool {
    let Ok(bytes) = hex::decode(given.trim()) else {
        return false;
    };
    let mut m = HmacSha1::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    m.update(data.as_bytes());
    m.verify_slice(&bytes).is_ok()
}

/// Decoded form fields, in order.
pub fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Which form a callback came in.
#[derive(Debug, Clone, PartialEq)]
pub enum Callback {
    Json(OrderedObject),
    Form(Vec<(String, String)>),
}

impl Callback {
    /// JSON when the body is a JSON object, else form fields.
    pub fn parse(body: &[u8]) -> Result<Self, SignatureError> {
        let trimmed = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map(|i| &body[i..])
            .unwrap_or(&[]);
        if trimmed.first() == Some(&b'{') {
            serde_json::from_slice::<OrderedObject>(body)
                .map(Callback::Json)
                .map_err(|e| SignatureError::Payload(format!("not a JSON object: {e}")))
        } else {
            Ok(Callback::Form(parse_form(body)))
        }
    }

    pub fn field(&self, k: &str) -> Option<String> {
        match self {
            Callback::Json(o) => match o.get(k)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            },
            Callback::Form(f) => f
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone()),
        }
        .filter(|v| !v.is_empty())
    }

    /// Checks `verify_hash` with the shop's secret key.
    pub fn verify(&self, secret: &str) -> Result<(), SignatureError> {
        if secret.is_empty() {
            return Err(SignatureError::NotConfigured);
        }
        let given = self
            .field("verify_hash")
            .ok_or(SignatureError::MissingHeader("verify_hash"))?;
        let ok = match self {
            Callback::Json(o) => {
                let js = o.canonical_js();
                matches(secret, &js, &given) || matches(secret, &ascii_escaped(&js), &given)
            }
            Callback::Form(f) => matches(secret, &canonical_form(f), &given),
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureError::NoMatch)
        }
    }
}

#[cfg(test)]
mod tests {
    //! The vectors of docs/payments.md ("Test vectors", Plisio).
    use super::*;

    const KEY: &str = "plisio_fake_secret_key_ABC123";
    const JSON_BODY: &str = r#"{"txn_id":"65a1b2c3d4e5f6a7b8c9d0e1","ipn_type":"invoice","merchant":"TestShop","merchant_id":"6500000000000000000000aa","amount":"0.00020000","currency":"BTC","order_number":"1001","order_name":"Plex 1 month","confirmations":"2","status":"completed","source_currency":"USD","source_amount":"10.00","source_rate":"0.00002000","comment":"","invoice_commission":"0.00000100","invoice_sum":"0.00020000","invoice_total_sum":"0.00020100","verify_hash":"1a5653a62b22a0640b77102363a379ea8e08cb31"}"#;
    const JSON_SIGNED: &str = r#"{"txn_id":"65a1b2c3d4e5f6a7b8c9d0e1","ipn_type":"invoice","merchant":"TestShop","merchant_id":"6500000000000000000000aa","amount":"0.00020000","currency":"BTC","order_number":"1001","order_name":"Plex 1 month","confirmations":"2","status":"completed","source_currency":"USD","source_amount":"10.00","source_rate":"0.00002000","comment":"","invoice_commission":"0.00000100","invoice_sum":"0.00020000","invoice_total_sum":"0.00020100"}"#;
    const FORM_SERIALIZED: &str = r#"a:17:{s:6:"amount";s:10:"0.00020000";s:7:"comment";s:0:"";s:13:"confirmations";s:1:"2";s:8:"currency";s:3:"BTC";s:18:"invoice_commission";s:10:"0.00000100";s:11:"invoice_sum";s:10:"0.00020000";s:17:"invoice_total_sum";s:10:"0.00020100";s:8:"ipn_type";s:7:"invoice";s:8:"merchant";s:8:"TestShop";s:11:"merchant_id";s:24:"6500000000000000000000aa";s:10:"order_name";s:12:"Plex 1 month";s:12:"order_number";s:4:"1001";s:13:"source_amount";s:5:"10.00";s:15:"source_currency";s:3:"USD";s:11:"source_rate";s:10:"0.00002000";s:6:"status";s:9:"completed";s:6:"txn_id";s:24:"65a1b2c3d4e5f6a7b8c9d0e1";}"#;
    const FORM_HASH: &str = "ba7a97cb96d35a3f000868856c8fdb333beb117a";

    fn form_body(hash: &str) -> String {
        let o: OrderedObject = serde_json::from_str(JSON_BODY).unwrap();
        let mut parts: Vec<String> =
            o.0.iter()
                .filter(|(k, _)| k != "verify_hash")
                .map(|(k, v)| {
                    format!(
                        "{k}={}",
                        percent_encoding::utf8_percent_encode(
                            v.as_str().unwrap(),
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    )
                })
                .collect();
        parts.push(format!("verify_hash={hash}"));
        parts.join("&")
    }

    #[test]
    fn the_json_vector_keeps_received_order() {
        let cb = Callback::parse(JSON_BODY.as_bytes()).unwrap();
        let Callback::Json(o) = &cb else { panic!() };
        assert_eq!(o.canonical_js(), JSON_SIGNED);
        assert_eq!(
            hmac_hex(KEY, JSON_SIGNED),
            "1a5653a62b22a0640b77102363a379ea8e08cb31"
        );
        assert_eq!(cb.verify(KEY), Ok(()));
    }

    #[test]
    fn the_form_vector_is_sorted_and_php_serialised() {
        let cb = Callback::parse(form_body(FORM_HASH).as_bytes()).unwrap();
        let Callback::Form(f) = &cb else { panic!() };
        assert_eq!(canonical_form(f), FORM_SERIALIZED);
        assert_eq!(hmac_hex(KEY, FORM_SERIALIZED), FORM_HASH);
        assert_eq!(cb.verify(KEY), Ok(()));
    }

    #[test]
    fn the_two_forms_are_not_interchangeable() {
        // The form hash on the JSON body, and the JSON hash on the form body, both fail.
        let json_with_form_hash =
            JSON_BODY.replace("1a5653a62b22a0640b77102363a379ea8e08cb31", FORM_HASH);
        assert_eq!(
            Callback::parse(json_with_form_hash.as_bytes())
                .unwrap()
                .verify(KEY),
            Err(SignatureError::NoMatch)
        );
        let form = form_body("1a5653a62b22a0640b77102363a379ea8e08cb31");
        assert_eq!(
            Callback::parse(form.as_bytes()).unwrap().verify(KEY),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn one_changed_byte_of_payload_key_or_hash_is_refused() {
        let tampered = JSON_BODY.replace("\"10.00\"", "\"10.01\"");
        assert_eq!(
            Callback::parse(tampered.as_bytes()).unwrap().verify(KEY),
            Err(SignatureError::NoMatch)
        );
        let cb = Callback::parse(JSON_BODY.as_bytes()).unwrap();
        assert_eq!(
            cb.verify("plisio_fake_secret_key_ABC124"),
            Err(SignatureError::NoMatch)
        );
        let bad_hash = JSON_BODY.replace(
            "1a5653a62b22a0640b77102363a379ea8e08cb31",
            "1a5653a62b22a0640b77102363a379ea8e08cb30",
        );
        assert_eq!(
            Callback::parse(bad_hash.as_bytes()).unwrap().verify(KEY),
            Err(SignatureError::NoMatch)
        );
        let form = form_body(FORM_HASH).replace("status=completed", "status=completes");
        assert_eq!(
            Callback::parse(form.as_bytes()).unwrap().verify(KEY),
            Err(SignatureError::NoMatch)
        );
        let form = form_body(FORM_HASH);
        assert_eq!(
            Callback::parse(form.as_bytes())
                .unwrap()
                .verify("plisio_fake_secret_key_ABC12"),
            Err(SignatureError::NoMatch)
        );
    }

    #[test]
    fn sorting_json_keys_first_would_give_another_hash() {
        let o: OrderedObject = serde_json::from_str(JSON_BODY).unwrap();
        let mut sorted = o.clone();
        sorted.0.sort_by(|a, b| a.0.cmp(&b.0));
        assert_ne!(
            hmac_hex(KEY, &sorted.canonical_js()),
            "1a5653a62b22a0640b77102363a379ea8e08cb31"
        );
    }

    #[test]
    fn non_ascii_text_verifies_in_either_json_form() {
        let signed = r#"{"txn_id":"t1","order_name":"Café €5 / month","status":"completed"}"#;
        for canonical in [signed.to_string(), ascii_escaped(signed)] {
            let hash = hmac_hex(KEY, &canonical);
            let body = signed.replace(
                "\"completed\"}",
                &format!("\"completed\",\"verify_hash\":\"{hash}\"}}"),
            );
            assert_eq!(
                Callback::parse(body.as_bytes()).unwrap().verify(KEY),
                Ok(()),
                "{canonical}"
            );
        }
        assert_eq!(ascii_escaped("é€😀"), "\\u00e9\\u20ac\\ud83d\\ude00");
    }

    #[test]
    fn tx_urls_are_entity_decoded_before_signing() {
        assert_eq!(
            html_entity_decode("a&amp;b&quot;&#039;&#x41;&bogus;"),
            "a&b\"'A&bogus;"
        );
    }
}
