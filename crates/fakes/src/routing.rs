//! The routes a fake serves, recorded as they are registered, and the one path normaliser
//! every fake uses.
//!
//! A [`Routes`] builder registers each handler on an axum router and remembers its method
//! and path template in a [`RouteTable`]. The table is what lets a fake:
//! * read a request path the way the real server does before routing it (one trailing
//!   slash accepted; Emby's optional `/emby` root; case-insensitive segments on the
//!   ASP.NET/ServiceStack servers), see [`RouteTable::normalise`];
//! * tell which route a request reached, so a fault that only makes sense on some routes
//!   fires on those and nowhere else;
//! * refuse, when it is set, a fault rule whose path could never match a route it serves.

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};

/// One segment of a route template: a literal, or `{name}` matching any one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(String),
    Param,
}

/// A registered route: method (`None` = any) and path template.
#[derive(Debug, Clone)]
pub(crate) struct RouteSpec {
    pub method: Option<Method>,
    pub template: String,
    segs: Vec<Seg>,
}

impl RouteSpec {
    fn new(method: Option<Method>, template: &str) -> Self {
        let segs = split(template)
            .map(|s| {
                if s.starts_with('{') && s.ends_with('}') {
                    Seg::Param
                } else {
                    Seg::Lit(s.to_string())
                }
            })
            .collect();
        RouteSpec {
            method,
            template: template.to_string(),
            segs,
        }
    }

    fn method_ok(&self, method: Option<&str>) -> bool {
        match (&self.method, method) {
            (None, _) | (_, None) => true,
            (Some(m), Some(want)) => m.as_str().eq_ignore_ascii_case(want),
        }
    }

    /// Whether a (normalised) request path is this route.
    fn matches(&self, path: &str) -> bool {
        let parts: Vec<&str> = split(path).collect();
        parts.len() == self.segs.len()
            && self.segs.iter().zip(&parts).all(|(s, p)| match s {
                Seg::Lit(l) => l == p,
                Seg::Param => !p.is_empty(),
            })
    }

    /// Whether some path this route serves starts with `prefix` (a normalised path).
    fn admits_prefix(&self, prefix: &str) -> bool {
        let parts: Vec<&str> = split(prefix).collect();
        if parts.is_empty() {
            return true;
        }
        let open_end = prefix.ends_with('/');
        if parts.len() > self.segs.len() {
            return false;
        }
        let last = parts.len() - 1;
        for (i, (seg, part)) in self.segs.iter().zip(&parts).enumerate() {
            // The prefix's last segment may stop inside a literal (`/api/v2/shared` admits
            // `/api/v2/shared_servers`) unless the prefix ends with a slash.
            let partial = i == last && !open_end;
            let ok = match seg {
                Seg::Param => true,
                Seg::Lit(l) if partial => l.starts_with(part),
                Seg::Lit(l) => l == part,
            };
            if !ok {
                return false;
            }
        }
        !(open_end && parts.len() == self.segs.len())
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

/// How the real server reads a path before routing it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathStyle {
    /// Optional root every route is also served under (Emby's documented `/emby`, ref §3.1).
    pub optional_root: Option<&'static str>,
    /// Literal segments match whatever their case (ASP.NET Core and ServiceStack routing).
    pub case_insensitive: bool,
}

/// Every route one fake serves, and how it reads paths.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteTable {
    pub style: PathStyle,
    specs: Vec<RouteSpec>,
}

impl RouteTable {
    /// The path as the real server routes it: the optional root removed, literal segments in
    /// their registered case where matching ignores case, and one trailing slash dropped
    /// (ASP.NET Core endpoint routing and PMS both accept `/library/sections/`; plexapi and
    /// jellyfin-apiclient-python send such paths).
    pub fn normalise(&self, path: &str) -> String {
        let mut p = path;
        if let Some(root) = self.style.optional_root {
            let lower = p.to_ascii_lowercase();
            if lower == root || lower.starts_with(&format!("{root}/")) {
                p = &p[root.len()..];
            }
        }
        if p.len() > 1 && p.ends_with('/') && !p.ends_with("//") {
            p = &p[..p.len() - 1];
        }
        let p = if p.is_empty() { "/" } else { p };
        if !self.style.case_insensitive {
            return p.to_string();
        }
        p.split('/')
            .map(|seg| {
                self.literal(seg)
                    .map(str::to_string)
                    .unwrap_or_else(|| seg.to_string())
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The registered spelling of a literal segment, compared without case.
    fn literal(&self, seg: &str) -> Option<&str> {
        if seg.is_empty() {
            return None;
        }
        self.specs
            .iter()
            .flat_map(|s| &s.segs)
            .find_map(|s| match s {
                Seg::Lit(l) if l.eq_ignore_ascii_case(seg) => Some(l.as_str()),
                _ => None,
            })
    }

    /// The route a normalised request path reaches: literal segments win over parameters,
    /// as in axum's router.
    pub fn route_of(&self, method: &str, path: &str) -> Option<&RouteSpec> {
        self.specs
            .iter()
            .filter(|s| s.method_ok(Some(method)) && s.matches(path))
            .max_by_key(|s| s.segs.iter().filter(|x| matches!(x, Seg::Lit(_))).count())
    }

    /// Routes a fault rule for `method` and the normalised path `prefix` could fire on.
    pub fn reachable(&self, method: Option<&str>, prefix: &str) -> Vec<&RouteSpec> {
        self.specs
            .iter()
            .filter(|s| s.method_ok(method) && s.admits_prefix(prefix))
            .collect()
    }
}

/// Builds a fake's axum router and its [`RouteTable`] together, so the table cannot
/// drift from what is served.
pub(crate) struct Routes<S> {
    router: Router<S>,
    table: RouteTable,
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),*) => {$(
        pub fn $name<H, T>(self, path: &str, handler: H) -> Self
        where
            H: Handler<T, S>,
            T: 'static,
        {
            self.add(Some(Method::$method), path, on(MethodFilter::$method, handler))
        }
    )*};
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new(style: PathStyle) -> Self {
        Routes {
            router: Router::new(),
            table: RouteTable {
                style,
                specs: Vec::new(),
            },
        }
    }

    method_fns!(get => GET, post => POST, put => PUT, delete => DELETE);

    /// A route answering every method the same way (Plex's removed endpoints).
    pub fn any<H, T>(self, path: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.add(None, path, axum::routing::any(handler))
    }

    fn add(mut self, method: Option<Method>, path: &str, mr: MethodRouter<S>) -> Self {
        self.table.specs.push(RouteSpec::new(method, path));
        self.router = self.router.route(path, mr);
        self
    }

    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.router = self.router.fallback(handler);
        self
    }

    pub fn with_state<S2>(self, state: S) -> (Router<S2>, RouteTable) {
        (self.router.with_state(state), self.table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(style: PathStyle, routes: &[(&str, &str)]) -> RouteTable {
        RouteTable {
            style,
            specs: routes
                .iter()
                .map(|(m, p)| RouteSpec::new(m.parse().ok(), p))
                .collect(),
        }
    }

    #[test]
    fn emby_paths_read_the_same_with_or_without_the_root_and_in_any_case() {
        let t = table(
            PathStyle {
                optional_root: Some("/emby"),
                case_insensitive: true,
            },
            &[("POST", "/Users/New"), ("GET", "/Users/{id}")],
        );
        assert_eq!(t.normalise("/emby/Users/New"), "/Users/New");
        assert_eq!(t.normalise("/EMBY/users/new/"), "/Users/New");
        assert_eq!(t.normalise("/Users/New"), "/Users/New");
        assert_eq!(t.normalise("/embyx/Users"), "/embyx/Users");
        assert_eq!(t.normalise("/emby"), "/");
    }

    #[test]
    fn one_trailing_slash_is_accepted_not_two() {
        let t = table(PathStyle::default(), &[("GET", "/library/sections")]);
        assert_eq!(t.normalise("/library/sections/"), "/library/sections");
        assert_eq!(t.normalise("/library/sections//"), "/library/sections//");
        assert_eq!(t.normalise("/"), "/");
    }

    #[test]
    fn a_rule_path_is_reachable_only_through_a_served_route() {
        let t = table(
            PathStyle::default(),
            &[
                ("GET", "/api/servers/{mid}"),
                ("POST", "/api/v2/shared_servers"),
                ("DELETE", "/api/v2/shared_servers/{sid}"),
            ],
        );
        assert_eq!(t.reachable(None, "/api/v2/shared").len(), 2);
        assert_eq!(t.reachable(Some("POST"), "/api/v2/shared_servers").len(), 1);
        assert!(
            t.reachable(Some("GET"), "/api/v2/shared_servers")
                .is_empty()
        );
        assert_eq!(t.reachable(None, "/api/servers/abc").len(), 1);
        assert!(t.reachable(None, "/api/servers/abc/x").is_empty());
        assert!(t.reachable(None, "/nope").is_empty());
        assert_eq!(t.reachable(None, "/").len(), 3);
        let r = t.route_of("GET", "/api/servers/abc");
        assert_eq!(r.map(|r| r.template.as_str()), Some("/api/servers/{mid}"));
    }
}
