//! `boxoffice sandbox`, run as the real binary: its first stdout line must be enough to reach
//! every fake through its real API and its control API.

use crate::cli::bin;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};

/// A running `boxoffice sandbox` and the JSON object it printed first.
struct Sandbox {
    child: Child,
    world: Value,
}

impl Sandbox {
    fn start(args: &[&str]) -> Self {
        Self::start_with(bin().arg("sandbox").args(args))
    }

    fn start_with(cmd: &mut Command) -> Self {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sandbox starts");
        let mut first = String::new();
        // Readiness: the line is printed only once every fake listens.
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        let world: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {first:?}"));
        assert!(world.is_object(), "{first}");
        assert!(!first.trim_end().contains('\n'), "one compact line");
        Sandbox { child, world }
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
        self.child.wait().expect("wait")
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // A failed assertion must not leave the process behind.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
}

fn mb_auth(key: &str) -> String {
    format!(
        "MediaBrowser Client=\"boxoffice-test\", Device=\"it\", DeviceId=\"it-1\", Version=\"1.0\", Token=\"{key}\""
    )
}

async fn get_json(req: reqwest::RequestBuilder) -> Value {
    let r = req
        .header("Accept", "application/json")
        .send()
        .await
        .expect("request");
    assert!(r.status().is_success(), "{} {}", r.url(), r.status());
    r.json().await.expect("json body")
}

fn plex_titles(sections: &Value) -> Vec<String> {
    sections["MediaContainer"]["Directory"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["title"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .filter_map(|x| x[key].as_str().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn sandbox_describes_every_fake_on_its_first_line_and_each_answers_with_those_credentials() {
    let dir = crate::helpers::temp_dir();
    let data_dir = dir.join("never-created");
    // No configuration, database or data directory is needed: an unreachable database and a
    // missing data directory do not stop it, and nothing is written there.
    let sb = Sandbox::start_with(
        bin()
            .arg("sandbox")
            .current_dir(&dir)
            .env("BOXOFFICE_DATA_DIR", &data_dir)
            .env("BOXOFFICE_DATABASE_URL", "postgres://bo:x@127.0.0.1:1/bo"),
    );
    let w = sb.world.clone();
    let c = crate::helpers::client();

    // plex.tv: the owner with Plex Pass, and both servers in its resources.
    let tv = &w["plex_tv"];
    for key in ["url", "token", "control", "username", "email"] {
        assert!(!s(tv, key).is_empty(), "plex_tv.{key}");
    }
    assert!(s(tv, "url").starts_with("http://127.0.0.1:"), "{tv}");
    assert_eq!(tv["plex_pass"], true);
    let user = get_json(
        c.get(format!("{}/api/v2/user", s(tv, "url")))
            .header("X-Plex-Token", s(tv, "token")),
    )
    .await;
    assert_eq!(user["username"], tv["username"]);
    let resources = get_json(
        c.get(format!("{}/api/v2/resources", s(tv, "url")))
            .header("X-Plex-Token", s(tv, "token")),
    )
    .await;
    let listed = names(&resources, "clientIdentifier");
    let state = get_json(c.get(format!("{}/state", s(tv, "control")))).await;
    assert_eq!(
        state["access"].as_array().map(Vec::len),
        Some(4),
        "three friends' shares: {}",
        state["access"]
    );

    // Each Plex Media Server: identity, libraries, control state.
    let servers = w["plex_servers"].as_array().expect("plex_servers list");
    let expected = [
        (
            "Plex Alpha",
            ["Movies", "TV Shows", "Movies 4K", "Home Videos"],
        ),
        ("Plex Beta", ["Movies", "TV Shows", "Movies 4K", "Music"]),
    ];
    assert_eq!(servers.len(), expected.len());
    for (srv, (name, libs)) in servers.iter().zip(expected) {
        assert_eq!(s(srv, "name"), name);
        for key in ["url", "token", "control", "machine_identifier"] {
            assert!(!s(srv, key).is_empty(), "{name}.{key}");
        }
        let mid = s(srv, "machine_identifier");
        assert!(listed.iter().any(|l| l == mid), "{mid} in {listed:?}");
        let ident = get_json(c.get(format!("{}/identity", s(srv, "url")))).await;
        assert_eq!(ident["MediaContainer"]["machineIdentifier"], mid);
        let sections = get_json(
            c.get(format!("{}/library/sections", s(srv, "url")))
                .header("X-Plex-Token", s(srv, "token")),
        )
        .await;
        assert_eq!(plex_titles(&sections), libs);
        assert_eq!(names(&srv["libraries"], "title"), libs);
        let st = get_json(c.get(format!("{}/state", s(srv, "control")))).await;
        assert!(st.is_object(), "{st}");
    }

    // Jellyfin: /System/Info and /Users with the api key; control state.
    let jf = &w["jellyfin"];
    assert_eq!(s(jf, "name"), "Jelly One");
    let info = get_json(
        c.get(format!("{}/System/Info", s(jf, "url")))
            .header("Authorization", mb_auth(s(jf, "api_key"))),
    )
    .await;
    assert_eq!(info["Id"], jf["server_id"]);
    let users = get_json(
        c.get(format!("{}/Users", s(jf, "url")))
            .header("Authorization", mb_auth(s(jf, "api_key"))),
    )
    .await;
    let mut user_names = names(&users, "Name");
    user_names.sort();
    assert_eq!(user_names, ["admin", "erin_jf", "frank_jf"]);
    assert_eq!(names(&jf["libraries"], "name"), ["Movies", "Shows"]);
    let st = get_json(c.get(format!("{}/state", s(jf, "control")))).await;
    assert_eq!(st["server_name"], "Jelly One");

    // Emby: /emby/System/Info with X-Emby-Token; control state.
    let emby = &w["emby"];
    assert_eq!(s(emby, "name"), "Emby One");
    let info = get_json(
        c.get(format!("{}/emby/System/Info", s(emby, "url")))
            .header("X-Emby-Token", s(emby, "api_key")),
    )
    .await;
    assert_eq!(info["Id"], emby["server_id"]);
    let st = get_json(c.get(format!("{}/state", s(emby, "control")))).await;
    let mut emby_users = names(&st["access"], "name");
    emby_users.sort();
    assert_eq!(emby_users, ["admin", "gina_emby", "hank_emby"]);

    // The SMTP catcher: a real SMTP listener at host:port, what it keeps at its control API.
    let smtp = &w["smtp"];
    assert_eq!(s(smtp, "host"), "127.0.0.1");
    let port = smtp["port"].as_u64().expect("smtp port");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port as u16)).expect("smtp listens");
    let mut greeting = String::new();
    BufReader::new(&mut conn)
        .read_line(&mut greeting)
        .expect("greeting");
    assert!(greeting.starts_with("220 "), "{greeting}");
    let messages = get_json(c.get(format!("{}/messages", s(smtp, "control")))).await;
    assert_eq!(messages, serde_json::json!([]));

    // The payment gateways answer with the keys the line gives.
    let stripe = &w["stripe"];
    let prices = get_json(
        c.get(format!("{}/v1/prices", s(stripe, "url")))
            .bearer_auth(s(stripe, "secret_key")),
    )
    .await;
    assert_eq!(prices["data"][0]["id"], stripe["prices"][0]["id"]);
    let paypal = &w["paypal"];
    let token = get_json(
        c.post(format!("{}/v1/oauth2/token", s(paypal, "url")))
            .basic_auth(s(paypal, "client_id"), Some(s(paypal, "client_secret")))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(token["token_type"], "Bearer");
    let plisio = &w["plisio"];
    let ops = get_json(c.get(format!(
        "{}/operations?api_key={}",
        s(plisio, "url"),
        s(plisio, "api_key")
    )))
    .await;
    assert_eq!(ops["status"], "success");

    let status = sb.terminate();
    assert_eq!(status.code(), Some(0), "SIGTERM ends it with exit 0");
    assert!(!data_dir.exists(), "the data directory is not touched");
}

#[tokio::test]
async fn sandbox_seed_none_starts_the_same_fakes_empty() {
    let sb = Sandbox::start(&["--seed", "none", "--bind", "127.0.0.1"]);
    let w = sb.world.clone();
    let c = crate::helpers::client();
    let tv = &w["plex_tv"];
    let state = get_json(c.get(format!("{}/state", s(tv, "control")))).await;
    assert_eq!(state["access"], serde_json::json!([]));
    for srv in w["plex_servers"].as_array().expect("plex_servers") {
        assert_eq!(srv["libraries"], serde_json::json!([]));
        let sections = get_json(
            c.get(format!("{}/library/sections", s(srv, "url")))
                .header("X-Plex-Token", s(srv, "token")),
        )
        .await;
        assert!(plex_titles(&sections).is_empty(), "{sections}");
    }
    for key in ["jellyfin", "emby"] {
        let st = get_json(c.get(format!("{}/state", s(&w[key], "control")))).await;
        assert_eq!(names(&st["access"], "name"), ["admin"], "{key}");
        assert_eq!(st["libraries"], serde_json::json!([]), "{key}");
    }
    assert_eq!(sb.terminate().code(), Some(0));
}

#[tokio::test]
async fn sandbox_gives_the_settings_for_its_gateways_and_sends_their_webhooks_where_told() {
    let sb = Sandbox::start(&["--webhooks-to", "http://127.0.0.1:8080/"]);
    let w = sb.world.clone();
    let settings = &w["boxoffice_settings"];
    assert_eq!(settings["payments.stripe.api_base"], w["stripe"]["url"]);
    assert_eq!(
        settings["payments.stripe.webhook_secret"],
        w["stripe"]["webhook_secret"]
    );
    assert_eq!(
        settings["payments.paypal.webhook_id"],
        w["paypal"]["webhook_id"]
    );
    assert_eq!(
        settings["payments.paypal.secondary_nvp_username"],
        w["paypal"]["accounts"]["secondary"]["nvp_username"]
    );
    assert_eq!(settings["payments.plisio.api_base"], w["plisio"]["url"]);
    let c = crate::helpers::client();
    for (gateway, route) in [("stripe", "stripe"), ("paypal", "paypal")] {
        let hook = get_json(c.get(format!("{}/webhook", s(&w[gateway], "control")))).await;
        assert_eq!(
            hook["url"],
            serde_json::json!(format!("http://127.0.0.1:8080/webhooks/{route}"))
        );
    }
    assert_eq!(sb.terminate().code(), Some(0));
}

#[test]
fn sandbox_refuses_to_listen_beyond_loopback() {
    let out = bin()
        .args(["sandbox", "--bind", "0.0.0.0"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a loopback address"), "{err}");
}

#[test]
fn sandbox_can_be_driven_from_a_script_in_another_language_using_only_its_json_line() {
    let required = std::env::var("BOXOFFICE_REQUIRE_PYTHON").is_ok_and(|v| v == "1");
    let has_python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        assert!(
            !required,
            "python3 is missing and BOXOFFICE_REQUIRE_PYTHON=1"
        );
        eprintln!("skipped: python3 is not installed (set BOXOFFICE_REQUIRE_PYTHON=1 to fail)");
        return;
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/sandbox_smoke.py");
    let mut cmd = Command::new("python3");
    // The script starts the binary itself; keep the tests' BOXOFFICE_* settings out of it.
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("BOXOFFICE_")) {
        cmd.env_remove(k);
    }
    let out = cmd
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_boxoffice"))
        .env("BOXOFFICE_LOG", "warn")
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "sandbox_smoke.py failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("OK: boxoffice sandbox driven from Python"),
        "{stdout}"
    );
    assert!(stdout.contains("plex server Plex Alpha: Movies, TV Shows, Movies 4K, Home Videos"));
}
