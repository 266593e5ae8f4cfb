//! Owner-written Markdown (home page sections, the FAQ) turned into HTML that is safe to put in a
//! page: pulldown-cmark renders it, then ammonia keeps only an allow-list of formatting elements
//! and attributes. Scripts, styles, frames, forms, event handlers and `javascript:`/`data:` links
//! are removed whatever the owner typed, so a stolen admin session cannot plant a script in the
//! portal through custom content.

use pulldown_cmark::{Options, Parser, html};
use std::collections::HashSet;

/// Elements an owner's text may use; everything else is dropped (its text kept where harmless).
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

/// Renders Markdown to sanitised HTML. A `#` heading becomes `h2`, so the page keeps its own
/// `h1` as the only top heading.
pub fn to_safe_html(markdown: &str) -> String {
    if markdown.trim().is_empty() {
        return String::new();
    }
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(markdown, opts).map(|ev| match ev {
        pulldown_cmark::Event::Start(pulldown_cmark::Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => pulldown_cmark::Event::Start(pulldown_cmark::Tag::Heading {
            level: demote(level),
            id,
            classes,
            attrs,
        }),
        pulldown_cmark::Event::End(pulldown_cmark::TagEnd::Heading(level)) => {
            pulldown_cmark::Event::End(pulldown_cmark::TagEnd::Heading(demote(level)))
        }
        other => other,
    });
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, events);
    ammonia::Builder::default()
        .tags(TAGS.iter().copied().collect::<HashSet<_>>())
        .generic_attributes(["title"].into_iter().collect())
        .tag_attributes(
            [
                ("a", ["href"].into_iter().collect()),
                (
                    "img",
                    ["src", "alt", "width", "height"].into_iter().collect(),
                ),
                ("td", ["align"].into_iter().collect()),
                ("th", ["align"].into_iter().collect()),
            ]
            .into_iter()
            .collect(),
        )
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

fn demote(level: pulldown_cmark::HeadingLevel) -> pulldown_cmark::HeadingLevel {
    use pulldown_cmark::HeadingLevel::*;
    match level {
        H1 => H2,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::to_safe_html;

    #[test]
    fn formatting_links_and_lists_are_kept() {
        let html = to_safe_html(
            "# Welcome\n\nWe have **4K** and _HDR_.\n\n- one\n- two\n\n[Join](https://example.com/join)",
        );
        assert!(html.contains("<h2>Welcome</h2>"), "{html}");
        assert!(html.contains("<strong>4K</strong>"), "{html}");
        assert!(html.contains("<em>HDR</em>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");
        assert!(
            html.contains(
                r#"<a href="https://example.com/join" rel="noopener noreferrer nofollow">Join</a>"#
            ),
            "{html}"
        );
    }

    #[test]
    fn scripts_handlers_and_script_links_are_removed() {
        let html = to_safe_html(
            "Hi <script>alert(1)</script>\n\n<img src=\"https://example.com/a.png\" onerror=\"alert(2)\">\n\n\
             [click](javascript:alert(3)) <a href=\"JaVaScRiPt:alert(4)\">x</a> \
             <a href=\"data:text/html,<script>alert(5)</script>\">y</a>\n\n\
             <iframe src=\"https://example.com\"></iframe><style>body{display:none}</style>\
             <p style=\"position:fixed\" onclick=\"alert(6)\">p</p><form action=\"/logout\"><button>go</button></form>",
        );
        for bad in [
            "<script",
            "alert(1)",
            "onerror",
            "javascript:",
            "JaVaScRiPt",
            "data:",
            "<iframe",
            "<style",
            "display:none",
            "style=",
            "onclick",
            "<form",
            "<button",
        ] {
            assert!(
                !html
                    .to_ascii_lowercase()
                    .contains(&bad.to_ascii_lowercase()),
                "{bad} kept in {html}"
            );
        }
        assert!(
            html.contains(r#"<img src="https://example.com/a.png">"#),
            "{html}"
        );
        assert!(
            html.contains(">click</a>") || html.contains("click"),
            "{html}"
        );
    }

    #[test]
    fn empty_text_renders_nothing() {
        assert_eq!(to_safe_html("  \n\n "), "");
    }
}
