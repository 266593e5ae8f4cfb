//! Custom content (product §8.1, §8.12): the owner's Markdown on the home page and the FAQ,
//! sanitised; the logo and wallpaper uploads under the reference's rules, served from the site
//! with their type and `nosniff`; theme colours and custom CSS as stylesheets of the site; the
//! library statistics section from the synced counts.

use crate::bulk_invite::exec;
use crate::helpers::*;

/// A PNG signature, IHDR and IEND: enough for the upload checks, which read no pixels.
fn png(w: u32, h: u32, colour_type: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, colour_type, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(b"IEND");
    b.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
    b
}

/// Posts a file as the upload form on Settings → Custom content does.
async fn upload(t: &TestApp, what: &str, bytes: &[u8]) -> reqwest::Response {
    let csrf = csrf_from(&t.get_html("/admin/settings/custom-content").await);
    let b = "custom-content-boundary";
    let mut body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    t.client
        .post(t.url(&format!("/admin/content/{what}")))
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .expect("upload")
}

async fn owner() -> TestApp {
    let t = spawn_app().await;
    t.create_admin().await;
    t.login_admin().await;
    t
}

async fn save(t: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    t.post_form(
        "/admin/settings/custom-content",
        "/admin/settings/custom-content",
        fields,
    )
    .await
}

#[tokio::test]
async fn home_sections_render_the_owners_markdown_without_scripts() {
    let t = owner().await;
    let r = save(
        &t,
        &[
            ("content.home_section1_title", "Welcome"),
            (
                "content.home_section1_body",
                "We stream **4K** films.\n\n- one\n- two\n\n[Rules](https://example.com/rules) \
                 [bad](javascript:alert(1))\n\n<script>alert(2)</script>\
                 <img src=\"https://example.com/x.png\" onerror=\"alert(3)\">",
            ),
        ],
    )
    .await;
    assert_eq!(location(&r), "/admin/settings/custom-content?saved=1");
    let visitor = client();
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("<strong>4K</strong>"), "{home}");
    assert!(home.contains("<li>one</li>"));
    assert!(home.contains("href=\"https://example.com/rules\""));
    for bad in ["alert(", "javascript:", "onerror", "<script>alert"] {
        assert!(!home.contains(bad), "{bad} on the home page");
    }
}

#[tokio::test]
async fn the_faq_shows_the_owners_markdown_and_is_linked_from_the_portal() {
    let t = owner().await;
    let visitor = client();
    let before = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !before.contains("href=\"/faq\""),
        "no FAQ link while the FAQ is empty"
    );
    save(
        &t,
        &[(
            "content.faq_body",
            "## How do I watch?\n\nAccept the invite.<a href=\"#\" onclick=\"steal()\">x</a>",
        )],
    )
    .await;
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(home.contains("href=\"/faq\""), "{home}");
    let faq = visitor.get(t.url("/faq")).send().await.unwrap();
    assert_eq!(faq.status(), 200);
    let faq = faq.text().await.unwrap();
    assert!(faq.contains("<h2>How do I watch?</h2>"), "{faq}");
    assert!(faq.contains("Frequently asked questions"));
    assert!(!faq.contains("onclick") && !faq.contains("steal()"));
    // Login-only when the owner says so.
    t.post_form(
        "/admin/settings/general",
        "/admin/settings/general",
        &[("general.faq_page_public", "false")],
    )
    .await;
    let r = visitor.get(t.url("/faq")).send().await.unwrap();
    assert_eq!(location(&r), "/login");
}

#[tokio::test]
async fn a_logo_outside_the_size_rules_is_refused_with_the_rule_it_breaks() {
    let t = owner().await;
    for (bytes, says) in [
        (
            png(300, 40, 6),
            "300 pixels wide; it must be 64 to 250 pixels wide",
        ),
        (
            png(200, 80, 6),
            "80 pixels tall; it must be at most 64 pixels tall",
        ),
        (png(200, 40, 2), "transparent background"),
        (b"GIF89a not a png".to_vec(), "not a PNG"),
    ] {
        let r = upload(&t, "logo", &bytes).await;
        assert_eq!(r.status(), 422, "{says}");
        let page = r.text().await.unwrap();
        assert!(page.contains(says), "{says} missing");
    }
    let r = upload(&t, "logo", &vec![0u8; 5 * 1024 * 1024 + 10]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("under 5 MB"));
    assert_eq!(
        t.get("/site/logo.png").await.status(),
        404,
        "nothing stored"
    );
    assert!(!t.data_dir.join("uploads/logo.png").exists());
}

#[tokio::test]
async fn an_uploaded_logo_is_kept_in_the_data_directory_and_shown_on_every_page() {
    let t = owner().await;
    let logo = png(200, 64, 6);
    let r = upload(&t, "logo", &logo).await;
    assert_eq!(location(&r), "/admin/settings/custom-content?saved=1");
    assert_eq!(
        std::fs::read(t.data_dir.join("uploads/logo.png")).unwrap(),
        logo
    );
    let visitor = client();
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let src = home
        .split("<img src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a logo on the home page")
        .to_string();
    assert!(src.starts_with("/site/logo.png?v="), "{src}");
    let login = visitor
        .get(t.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(login.contains(&src), "the login page shows it too");
    let r = visitor.get(t.url(&src)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), logo);
    // Removed: the site name comes back.
    t.post_form(
        "/admin/settings/custom-content",
        "/admin/content/logo/remove",
        &[],
    )
    .await;
    assert_eq!(
        visitor
            .get(t.url("/site/logo.png"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn a_wallpaper_is_served_with_its_own_type_behind_the_portal_pages() {
    let t = owner().await;
    let r = upload(&t, "wallpaper", b"<svg onload=alert(1)></svg>").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("not a PNG, JPEG or WebP"));
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];
    let r = upload(&t, "wallpaper", &jpeg).await;
    assert_eq!(location(&r), "/admin/settings/custom-content?saved=1");
    let visitor = client();
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let href = home
        .split("href=\"/site/theme.css")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(|q| format!("/site/theme.css{q}"))
        .expect("the theme stylesheet is linked");
    let css = visitor.get(t.url(&href)).send().await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    let css = css.text().await.unwrap();
    let wallpaper = css
        .split("url(\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("the wallpaper in the theme")
        .to_string();
    let r = visitor.get(t.url(&wallpaper)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

#[tokio::test]
async fn theme_colours_are_validated_and_override_the_design_tokens() {
    let t = owner().await;
    let r = save(
        &t,
        &[("content.theme_accent", "red; } body { display: none")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("is not a colour written as #rrggbb"),
        "{page}"
    );
    assert!(
        t.app
            .settings()
            .await
            .unwrap()
            .get("content.theme_accent")
            .is_empty()
    );

    let r = save(
        &t,
        &[
            ("content.theme_accent", "#8A2BE2"),
            ("content.theme_surface_dark", "#111"),
            ("content.custom_css", ".hero { letter-spacing: 1px; }"),
        ],
    )
    .await;
    assert_eq!(location(&r), "/admin/settings/custom-content?saved=1");
    let visitor = client();
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = |name: &str| {
        home.split(&format!("href=\"/site/{name}"))
            .nth(1)
            .and_then(|s| s.split('"').next())
            .map(|q| format!("/site/{name}{q}"))
            .unwrap_or_else(|| panic!("{name} is not linked"))
    };
    let theme = visitor
        .get(t.url(&link("theme.css")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(theme.contains(":root { --accent: #8a2be2;"), "{theme}");
    assert!(theme.contains("--accent-text: #ffffff"), "{theme}");
    assert!(
        theme.contains(":root[data-theme=\"dark\"] {  --surface: #111111;"),
        "{theme}"
    );
    let custom = visitor
        .get(t.url(&link("custom.css")))
        .send()
        .await
        .unwrap();
    assert_eq!(custom.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(custom.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        custom.text().await.unwrap(),
        ".hero { letter-spacing: 1px; }"
    );
    // Both come after the design's stylesheet, so they win.
    let design = home.find("/static/app.css").unwrap();
    assert!(home.find("/site/theme.css").unwrap() > design);
    assert!(home.find("/site/custom.css").unwrap() > design);
}

#[tokio::test]
async fn library_statistics_list_the_synced_counts_outside_private_libraries() {
    let t = owner().await;
    let db = &t.app.db;
    exec(db, "INSERT INTO servers (id, platform, name, remote_id, url, enabled, allow_new_subscriptions, created_at, updated_at) VALUES (901, 'jellyfin', 'J', 'r901', 'http://127.0.0.1:1', TRUE, TRUE, 0, 0)").await;
    exec(db, "INSERT INTO servers (id, platform, name, remote_id, url, enabled, allow_new_subscriptions, created_at, updated_at) VALUES (902, 'plex', 'P', 'r902', 'http://127.0.0.1:2', TRUE, TRUE, 0, 0)").await;
    for (server, key, name, kind, items, children, group) in [
        (901, "a", "Movies", "movies", 1204, "NULL", "standard"),
        (902, "b", "Movies", "movie", 1100, "NULL", "standard"),
        (901, "c", "TV Shows", "tvshows", 87, "3112", "standard"),
        (902, "d", "Home Videos", "movie", 40, "NULL", "private"),
    ] {
        exec(db, &format!("INSERT INTO libraries (server_id, remote_key, global_id, name, kind, item_count, child_count, library_group_id, created_at, synced_at) VALUES ({server}, '{key}', '{key}', '{name}', '{kind}', {items}, {children}, (SELECT id FROM library_groups WHERE builtin = '{group}'), 1, 1)")).await;
    }
    let visitor = client();
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let section = home
        .split("id=\"home-libraries\"")
        .nth(1)
        .and_then(|s| s.split("</section>").next())
        .expect("the library statistics section");
    assert!(section.contains("Our libraries"));
    assert!(
        section.contains("Movies</span> <span class=\"library-counts\">1,204 movies"),
        "{section}"
    );
    assert!(section.contains("87 shows · 3,112 episodes"), "{section}");
    assert!(
        !section.contains("Home Videos"),
        "Private libraries are never listed"
    );
    save(&t, &[("content.show_library_stats", "false")]).await;
    let home = visitor
        .get(t.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!home.contains("id=\"home-libraries\""));
}
