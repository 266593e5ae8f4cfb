"""plex.tv, driven with python-plexapi's MyPlexAccount and, for the v2 routes boxoffice uses
that plexapi has no method for, with requests and plexapi's headers."""

import xml.etree.ElementTree as ET

from plexapi.exceptions import BadRequest

from harness import check, expect_raises, step

PA_MY = "pkkid/python-plexapi plexapi/myplex.py"
GO_PLEX = "jrudio/go-plex-client plex.go (CheckUsernameOrEmail)"
WIZARR = "wizarrrr/wizarr app/services/media/plex.py"
WIZARR_V2 = "wizarrrr/wizarr app/services/media/plex_custom.py"
CANTINARR = "windoze95/cantinarr server/internal/plex/client.go"
SVC = "plex.tv"


def xml_root(r):
    return ET.fromstring(r.text)


@step(SVC, "MyPlexAccount(token=…) → GET /api/v2/user",
      "the owner's account: username, e-mail and Plex Pass (subscriptionActive)",
      f"{PA_MY} (MyPlexAccount.key, _loadData)")
def account_reads_the_owner(ctx):
    a = ctx.account()
    t = ctx.plex_tv
    check((a.username, a.email) == (t["username"], t["email"]), f"account {a.username!r} {a.email!r}")
    check(a.subscriptionActive is True, f"subscriptionActive {a.subscriptionActive!r}")
    check("plexpass" in a.roles, f"roles {a.roles!r}")


@step(SVC, "account.ping() → GET /api/v2/ping", "<pong>true</pong>, read as True", f"{PA_MY} (ping)")
def ping_is_true(ctx):
    check(ctx.account().ping() is True, "ping() did not return True")


@step(SVC, "account.resources() → GET /api/v2/resources (XML)",
      "both servers, provides=server, owned, with their machine identifiers",
      f"{PA_MY} (MyPlexResource)")
def resources_list_the_servers(ctx):
    res = {r.name: r for r in ctx.account().resources()}
    for s in ctx.world["plex_servers"]:
        r = res.get(s["name"])
        check(r is not None, f"resources {sorted(res)}")
        check(r.clientIdentifier == s["machine_identifier"] and "server" in r.provides and r.owned,
              f"{r.name}: {r.clientIdentifier} provides={r.provides} owned={r.owned}")


@step(SVC, "account.resource('Plex Alpha').connect()",
      "a PlexServer reached through the resource's connection URI",
      f"{PA_MY} (MyPlexResource.connect)")
def resource_connects(ctx):
    srv = ctx.account().resource("Plex Alpha").connect(timeout=5)
    check(srv.friendlyName == "Plex Alpha", f"friendlyName {srv.friendlyName!r}")


@step(SVC, "GET /api/v2/resources with Accept: application/json (boxoffice: list servers)",
      "a JSON array; each server has clientIdentifier, accessToken and connections[].uri",
      f"{WIZARR}; {CANTINARR}")
def resources_json_for_boxoffice(ctx):
    r = ctx.plex_tv_raw("GET", "/api/v2/resources?includeHttps=1&includeRelay=1")
    check(r.status_code == 200, f"{r.status_code} {r.text[:200]}")
    by_id = {x["clientIdentifier"]: x for x in r.json()}
    for s in ctx.world["plex_servers"]:
        x = by_id.get(s["machine_identifier"])
        check(x and x["accessToken"] and x["connections"][0]["uri"] == s["url"], f"resource {x}")


@step(SVC, "account.users() → GET /api/users/ (trailing slash)",
      "the friends alice_plex, bob_plex, carol_plex, each with the servers shared with them",
      f"{PA_MY} (MyPlexUser.key = 'https://plex.tv/api/users/')")
def users_lists_friends(ctx):
    users = {u.username: u for u in ctx.account().users()}
    check({"alice_plex", "bob_plex", "carol_plex"} <= set(users), f"users {sorted(users)}")
    bob = users["bob_plex"]
    check(sorted(s.name for s in bob.servers) == ["Plex Alpha", "Plex Beta"],
          f"bob's servers {[s.name for s in bob.servers]}")
    check(bob.allowSync is True, f"bob allowSync {bob.allowSync!r}")


@step(SVC, "account.devices() → GET /devices.xml",
      "the devices signed in to the account, the servers among them (provides=server)",
      f"{PA_MY} (MyPlexDevice.key = 'https://plex.tv/devices.xml')")
def devices_list_the_servers(ctx):
    devices = ctx.account().devices()
    ids = {d.clientIdentifier for d in devices if "server" in (d.provides or "")}
    want = {s["machine_identifier"] for s in ctx.world["plex_servers"]}
    check(want <= ids, f"server devices {ids}")


@step(SVC, "/users/account (v1 XML)", "<user> with authToken and <subscription active=\"1\">",
      "Tautulli/Tautulli plexpy/plextv.py (get_plexpass_status)")
def v1_account_xml(ctx):
    r = ctx.plex_tv_raw("GET", "/users/account", json_=False)
    root = xml_root(r)
    check(r.status_code == 200 and root.tag == "user", f"{r.status_code} <{root.tag}>")
    check(root.find("subscription").get("active") == "1", "subscription not active")


@step(SVC, "account.inviteFriend('dave_plex', <machineIdentifier>, sections=['Movies'])",
      "GET /api/servers/{id} maps the title to its global section id, then POST "
      "/api/servers/{id}/shared_servers creates a pending share of Movies",
      f"{PA_MY} (inviteFriend, _getSectionIds)")
def invite_existing_account_by_title(ctx):
    alpha = ctx.plex_server_info()
    ctx.account().inviteFriend("dave_plex", alpha["machine_identifier"], sections=["Movies"])
    state = ctx.control("Plex Alpha").state()
    dave = [u for u in state["shared_users"] if u["email"] == "dave@example.com"]
    check(dave and dave[0]["libraries"] == ["Movies"] and not dave[0]["accepted"], f"shares {dave}")


@step(SVC, "account.inviteFriend('ivy@example.com', plex, sections=[plex.library.section('TV Shows')])",
      "an e-mail without a Plex account gets a pending invite (no error); sections given as "
      "LibrarySection objects come from GET /library on the server",
      f"{PA_MY} (inviteFriend); pkkid/python-plexapi plexapi/library.py (Library.section)")
def invite_email_with_section_objects(ctx):
    plex = ctx.server()
    tv = plex.library.section("TV Shows")
    ctx.account().inviteFriend("ivy@example.com", plex, sections=[tv])
    state = ctx.control("Plex Alpha").state()
    ivy = [u for u in state["shared_users"] if u["email"] == "ivy@example.com"]
    check(ivy and ivy[0]["libraries"] == ["TV Shows"], f"shares {ivy}")


@step(SVC, "account.updateFriend('alice_plex', <machineIdentifier>, sections=['Movies'], allowSync=True)",
      "PUT /api/servers/{id}/shared_servers/{share} narrows the share to Movies, then "
      "PUT /api/v2/sharings/{user}?allowSync=1 allows downloads",
      f"{PA_MY} (updateFriend)")
def update_friend_sections_and_sync(ctx):
    alpha = ctx.plex_server_info()
    ctx.account().updateFriend("alice_plex", alpha["machine_identifier"], sections=["Movies"], allowSync=True)
    state = ctx.control("Plex Alpha").state()
    alice = [u for u in state["shared_users"] if u["email"] == "alice_plex@example.com"]
    check(alice and alice[0]["libraries"] == ["Movies"], f"alice's share {alice}")
    users = {u.username: u for u in ctx.account().users()}
    check(users["alice_plex"].allowSync is True, f"alice allowSync {users['alice_plex'].allowSync!r}")


@step(SVC, "account.pendingInvites() → GET /api/invites/requested",
      "410 Gone: plex.tv removed the v1 invite list; plexapi raises BadRequest (410)",
      "pushingkarmaorg/python-plexapi#1435")
def v1_pending_invites_are_gone(ctx):
    e = expect_raises(BadRequest, lambda: ctx.account().pendingInvites(), "pendingInvites()")
    check("(410)" in str(e), f"{e}")


@step(SVC, "GET /api/v2/shared_servers/invites/owned/pending (boxoffice: pending invites)",
      "JSON list of invites with sharedServers[], including the pending share of dave_plex",
      "pushingkarmaorg/python-plexapi#1435 (replacement route)")
def v2_pending_invites(ctx):
    r = ctx.plex_tv_raw("GET", "/api/v2/shared_servers/invites/owned/pending")
    check(r.status_code == 200, f"{r.status_code} {r.text[:200]}")
    emails = [ss.get("invitedEmail") for inv in r.json() for ss in inv.get("sharedServers", [])]
    check("dave@example.com" in emails, f"pending {emails}")


@step(SVC, "POST /api/v2/shared_servers (boxoffice: invite)",
      "a pending share for the invitee with the listed global section ids",
      f"{CANTINARR}; {WIZARR}")
def v2_invite(ctx):
    beta = ctx.plex_server_info("Plex Beta")
    movies = next(l["id"] for l in beta["libraries"] if l["title"] == "Movies")
    body = {"machineIdentifier": beta["machine_identifier"], "invitedEmail": "jay@example.com",
            "librarySectionIds": [movies], "settings": {"allowSync": False}}
    r = ctx.plex_tv_raw("POST", "/api/v2/shared_servers", json=body)
    check(r.status_code in (200, 201), f"{r.status_code} {r.text[:200]}")
    share = r.json()
    check(share["invitedEmail"] == "jay@example.com" and not share["accepted"], f"share {share}")
    ctx.notes["jay_share"] = share["id"]


@step(SVC, "POST /api/v2/shared_servers/{id} (boxoffice: change a share's libraries and settings)",
      "2xx; the share now lists the new sections and settings",
      WIZARR_V2)
def v2_update_share(ctx):
    beta = ctx.plex_server_info("Plex Beta")
    ids = [l["id"] for l in beta["libraries"] if l["title"] in ("Movies", "TV Shows")]
    sid = ctx.notes.get("jay_share")
    check(sid is not None, "no share from the invite step")
    body = {"librarySectionIds": ids, "settings": {"allowSync": True, "allowChannels": False,
            "allowCameraUpload": False, "filterMovies": "", "filterTelevision": "", "filterMusic": ""}}
    r = ctx.plex_tv_raw("POST", f"/api/v2/shared_servers/{sid}", json=body)
    check(r.status_code in (200, 201, 204), f"{r.status_code} {r.text[:200]}")


@step(SVC, "DELETE /api/v2/shared_servers/{id} (boxoffice: cancel an invite, remove a share)",
      "2xx; the share is gone", f"{CANTINARR}")
def v2_delete_share(ctx):
    sid = ctx.notes.get("jay_share")
    check(sid is not None, "no share from the invite step")
    r = ctx.plex_tv_raw("DELETE", f"/api/v2/shared_servers/{sid}")
    check(r.status_code in (200, 204), f"{r.status_code} {r.text[:200]}")
    state = ctx.control("Plex Beta").state()
    check(all(u["email"] != "jay@example.com" for u in state["shared_users"]), "the share is still there")


@step(SVC, "GET /api/servers/{id} (boxoffice: global and local section ids)",
      "XML MediaContainer > Server > Section with id (global) and key (local) for every library",
      f"{PA_MY} (_getSectionIds)")
def v1_server_sections(ctx):
    alpha = ctx.plex_server_info()
    r = ctx.plex_tv_raw("GET", f"/api/servers/{alpha['machine_identifier']}", json_=False)
    secs = {s.get("title"): (int(s.get("id")), int(s.get("key"))) for s in xml_root(r).iter("Section")}
    want = {l["title"]: (l["id"], l["key"]) for l in alpha["libraries"]}
    check(secs == want, f"sections {secs}")


@step(SVC, "GET /api/servers/{id}/shared_servers (boxoffice: read shares)",
      "XML SharedServer elements with userID, accessToken and Section shared=\"1\"",
      "Tautulli/Tautulli plexpy/plextv.py")
def v1_list_shares(ctx):
    alpha = ctx.plex_server_info()
    r = ctx.plex_tv_raw("GET", f"/api/servers/{alpha['machine_identifier']}/shared_servers", json_=False)
    shares = {s.get("username"): s for s in xml_root(r).iter("SharedServer")}
    bob = shares.get("bob_plex")
    check(bob is not None and bob.get("accessToken"), f"shares {sorted(shares)}")
    shared = sorted(s.get("title") for s in bob.iter("Section") if s.get("shared") == "1")
    check(shared == ["Movies", "Movies 4K", "TV Shows"], f"bob's shared sections {shared}")


@step(SVC, "GET /api/home/users (boxoffice: headcount)", "XML MediaContainer of User elements",
      f"{PA_MY} (HOMEUSERS)")
def home_users(ctx):
    r = ctx.plex_tv_raw("GET", "/api/home/users", json_=False)
    check(r.status_code == 200 and xml_root(r).tag == "MediaContainer", f"{r.status_code} {r.text[:200]}")


@step(SVC, "POST /api/users/validate?invited_email=dave_plex (boxoffice: is this a Plex account?)",
      "200 <Response code=\"0\" status=\"Valid user\"/>; clients read Response@code",
      GO_PLEX)
def validate_known_account_by_post(ctx):
    r = ctx.plex_tv_raw("POST", "/api/users/validate", json_=False, params={"invited_email": "dave_plex"})
    check(r.status_code == 200, f"{r.status_code} {r.text[:200]}")
    check(xml_root(r).get("code") == "0", f"body {r.text[:200]}")


@step(SVC, "POST /api/users/validate?invited_email=nobody@example.com",
      "400 with a non-zero Response@code (\"Invalid user\"): an answer, not a failure",
      GO_PLEX)
def validate_unknown_account_by_post(ctx):
    r = ctx.plex_tv_raw("POST", "/api/users/validate", json_=False,
                        params={"invited_email": "nobody@example.com"})
    check(r.status_code == 400, f"{r.status_code} {r.text[:200]}")
    check(xml_root(r).get("code") not in (None, "0"), f"body {r.text[:200]}")


@step(SVC, "GET /api/users/validate?invited_email=dave_plex",
      "not a way to validate: every client that reads the answer sends POST, GET was never "
      "observed answering, so the sandbox answers it as an unknown route (404)",
      f"{GO_PLEX}; jrudio/go-plex-client README.md")
def validate_by_get_is_not_served(ctx):
    r = ctx.plex_tv_raw("GET", "/api/users/validate", json_=False, params={"invited_email": "dave_plex"})
    check(r.status_code == 404, f"{r.status_code} {r.text[:200]}")


@step(SVC, "account.removeFriend('carol_plex') → DELETE /api/v2/sharings/{id}",
      "2xx; carol and every share with her are gone",
      f"{PA_MY} (removeFriend); pushingkarmaorg/python-plexapi#1412")
def remove_friend(ctx):
    ctx.account().removeFriend("carol_plex")
    users = [u.username for u in ctx.account().users()]
    check("carol_plex" not in users, f"users {users}")
