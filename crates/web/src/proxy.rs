//! Behind a reverse proxy: which peers' forwarded headers are believed (`web.trusted_proxies`,
//! IP addresses or CIDR ranges separated by commas), what they say about the client (its
//! address, the host and scheme it asked for), and refusing requests for a host other than the
//! Site URI's once that setting is filled in (a custom domain: product §20).

use crate::WebState;
use crate::pages::simple_page;
use crate::session::ClientIp;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// One address range: the address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl ProxyNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// What the request says about where it came from, once forwarded headers from a trusted
/// proxy are taken into account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestOrigin {
    pub client_ip: String,
    /// The host (and port, if any) the browser asked for, lower-case.
    pub host: Option<String>,
    /// `http` or `https` as the browser used it, when known.
    pub proto: Option<String>,
}

/// One element of a `Forwarded` header (RFC 7239), its parameters by lower-case name.
fn forwarded_elements(headers: &HeaderMap) -> Vec<Vec<(String, String)>> {
    headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| {
                    (
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

fn param<'a>(element: &'a [(String, String)], name: &str) -> Option<&'a str> {
    element
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An address as a `Forwarded` `for=` or `X-Forwarded-For` entry writes it: `1.2.3.4`,
/// `1.2.3.4:5678`, `[2001:db8::1]:443` or `2001:db8::1`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim();
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.rsplit_once(':').and_then(|(ip, _)| ip.parse().ok())
}

fn first_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Reads the request's origin. A peer that is not a trusted proxy is the client, and its
/// forwarded headers are ignored. Through trusted proxies, the client is the nearest address
/// in the chain that is not itself a trusted proxy (or, with `trust_all`, the first listed).
pub fn origin(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &[ProxyNet],
    trust_all: bool,
) -> RequestOrigin {
    let own_host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|h| h.trim().to_ascii_lowercase());
    let peer_text = peer.map_or_else(|| "unknown".to_string(), |p| p.to_string());
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !(trust_all || peer.is_some_and(is_trusted)) {
        return RequestOrigin {
            client_ip: peer_text,
            host: own_host,
            proto: None,
        };
    }
    let elements = forwarded_elements(headers);
    let (chain, host, proto): (Vec<String>, Option<String>, Option<String>) = if elements.is_empty()
    {
        let chain = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        (
            chain,
            first_value(headers, "x-forwarded-host"),
            first_value(headers, "x-forwarded-proto"),
        )
    } else {
        let chain = elements
            .iter()
            .filter_map(|e| param(e, "for").map(str::to_string))
            .collect();
        let first = &elements[0];
        (
            chain,
            param(first, "host").map(str::to_string),
            param(first, "proto").map(str::to_string),
        )
    };
    let client = if trust_all {
        chain.first().and_then(|n| parse_node(n))
    } else {
        chain
            .iter()
            .rev()
            .filter_map(|n| parse_node(n))
            .find(|ip| !is_trusted(*ip))
            .or_else(|| chain.first().and_then(|n| parse_node(n)))
    };
    RequestOrigin {
        client_ip: client.map_or(peer_text, |c| c.to_string()),
        host: host.map(|h| h.to_ascii_lowercase()).or(own_host),
        proto: proto.map(|p| p.to_ascii_lowercase()),
    }
}

/// The host part of an absolute URL with its port, lower-case, without a default port.
fn authority_of(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    let scheme = scheme.to_ascii_lowercase();
    Some((scheme.clone(), without_default_port(&authority, &scheme)))
}

fn without_default_port(authority: &str, scheme: &str) -> String {
    let default = match scheme {
        "https" => ":443",
        _ => ":80",
    };
    authority
        .strip_suffix(default)
        .unwrap_or(authority)
        .to_string()
}

/// Addresses an operator reaches the site by on the machine itself; never refused, so a wrong
/// Site URI cannot lock the owner out.
fn is_local(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name == "localhost" || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether a request for `host` (as the browser asked, over `proto` when known) belongs to the
/// site at `site_uri`. An empty Site URI admits every host.
pub fn host_allowed(site_uri: &str, host: Option<&str>, proto: Option<&str>) -> bool {
    let Some((scheme, site)) = authority_of(site_uri) else {
        return true;
    };
    let Some(host) = host else {
        return false;
    };
    if is_local(host) {
        return true;
    }
    let asked = without_default_port(host, proto.unwrap_or(&scheme));
    asked == site
}

/// Paths a load balancer or monitor calls by address: never refused for their host.
const ANY_HOST: &[&str] = &["/healthz", "/metrics"];

/// The outermost layer of the site: records the request's origin (the client address every
/// handler sees) and, once a Site URI is set, answers 421 with a short page to a request for
/// another host.
pub async fn admit(State(st): State<WebState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let o = origin(
        req.headers(),
        peer,
        &st.opts.trusted_proxies,
        st.opts.trust_forwarded_for,
    );
    req.extensions_mut().insert(ClientIp(o.client_ip.clone()));
    if !ANY_HOST.contains(&req.uri().path()) {
        let site = match st.app.site_uri().await {
            Ok(s) => s,
            Err(e) => return crate::pages::app_error_page(&st, e),
        };
        if !host_allowed(&site, o.host.as_deref(), o.proto.as_deref()) {
            let site = site.trim_end_matches('/');
            let body = simple_page(
                "Wrong address",
                &format!(
                    "This site answers at {site} only. Open {site} instead, or check the address you typed or the link you followed."
                ),
            );
            return (StatusCode::MISDIRECTED_REQUEST, Html(body)).into_response();
        }
    }
    req.extensions_mut().insert(o);
    next.run(req).await
}

/// Parses the comma-separated list; the error names the entry that is not an address or range.
pub fn parse(list: &str) -> Result<Vec<ProxyNet>, String> {
    let mut out = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let bad = || format!("{entry:?} is not an IP address or a CIDR range such as 10.0.0.0/8");
        let (addr, prefix) = match entry.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (entry, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        out.push(ProxyNet { addr, prefix });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ranges_match_what_they_cover() {
        let nets = parse("127.0.0.1, 10.0.0.0/8, ::1, fd00::/8").expect("parses");
        let has = |ip: &str| nets.iter().any(|n| n.contains(ip.parse().expect("ip")));
        assert!(has("127.0.0.1") && has("10.20.30.40") && has("::1") && has("fd12::1"));
        assert!(has("::ffff:10.1.2.3"), "an IPv4 peer seen over IPv6");
        assert!(!has("127.0.0.2") && !has("11.0.0.1") && !has("fe80::1"));
        assert!(parse("0.0.0.0/0").expect("all")[0].contains("8.8.8.8".parse().expect("ip")));
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().expect("value"));
        }
        h
    }

    #[test]
    fn forwarded_headers_count_only_from_a_trusted_proxy() {
        let proxy = parse("10.0.0.2").expect("parses");
        let h = headers(&[
            ("host", "127.0.0.1:8080"),
            ("x-forwarded-for", "203.0.113.7, 10.0.0.9"),
            ("x-forwarded-host", "TV.example.com"),
            ("x-forwarded-proto", "https"),
        ]);
        let o = origin(&h, Some("10.0.0.2".parse().expect("ip")), &proxy, false);
        assert_eq!(o.client_ip, "10.0.0.9", "the nearest untrusted address");
        assert_eq!(o.host.as_deref(), Some("tv.example.com"));
        assert_eq!(o.proto.as_deref(), Some("https"));
        let o = origin(&h, Some("198.51.100.1".parse().expect("ip")), &proxy, false);
        assert_eq!(o.client_ip, "198.51.100.1");
        assert_eq!(o.host.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(o.proto, None);
    }

    #[test]
    fn the_forwarded_header_is_read_as_rfc_7239_writes_it() {
        let proxy = parse("::1").expect("parses");
        let h = headers(&[(
            "forwarded",
            "for=\"[2001:db8::5]:4711\";proto=https;host=tv.example.com, for=192.0.2.60",
        )]);
        let o = origin(&h, Some("::1".parse().expect("ip")), &proxy, false);
        assert_eq!(o.client_ip, "192.0.2.60");
        assert_eq!(o.host.as_deref(), Some("tv.example.com"));
        assert_eq!(o.proto.as_deref(), Some("https"));
    }

    #[test]
    fn only_the_site_uris_host_is_admitted_once_it_is_set() {
        let site = "https://tv.example.com/";
        assert!(host_allowed("", Some("anything.test"), None));
        assert!(host_allowed(site, Some("tv.example.com"), None));
        assert!(host_allowed(
            site,
            Some("tv.example.com:443"),
            Some("https")
        ));
        assert!(!host_allowed(
            site,
            Some("tv.example.com:8443"),
            Some("https")
        ));
        assert!(!host_allowed(site, Some("other.example.com"), None));
        assert!(!host_allowed(site, None, None));
        assert!(
            host_allowed(site, Some("localhost:8080"), None),
            "the owner's way in"
        );
        assert!(host_allowed(site, Some("127.0.0.1:8080"), None));
        assert!(host_allowed(site, Some("[::1]:8080"), None));
        assert!(host_allowed(
            "http://tv.example.com:8080",
            Some("tv.example.com:8080"),
            None
        ));
    }

    #[test]
    fn a_bad_entry_is_named() {
        assert!(parse("10.0.0.0/33").unwrap_err().contains("10.0.0.0/33"));
        assert!(parse("proxy.local").unwrap_err().contains("proxy.local"));
        assert_eq!(parse(" , ").expect("empty"), vec![]);
    }
}
