"""Plex Media Server, driven with python-plexapi's PlexServer."""

from harness import check, step

PA_SRV = "pkkid/python-plexapi plexapi/server.py"
PA_LIB = "pkkid/python-plexapi plexapi/library.py"
PA_VIDEO = "pkkid/python-plexapi plexapi/video.py"
PA_BASE = "pkkid/python-plexapi plexapi/base.py"
SVC = "Plex Media Server"


def start_session(ctx, body, server="Plex Alpha"):
    r = ctx.control(server).post("/sessions", body)
    check(r.status_code == 201, f"control POST /sessions: {r.status_code} {r.text}")
    return r.json()["id"]


@step(SVC, "PlexServer(url, token) → GET /",
      "the server's root: friendlyName, machineIdentifier, myPlexSubscription",
      f"{PA_SRV} (PlexServer._loadData)")
def server_root(ctx):
    plex = ctx.server()
    info = ctx.plex_server_info()
    check(plex.friendlyName == "Plex Alpha" and plex.machineIdentifier == info["machine_identifier"],
          f"{plex.friendlyName!r} {plex.machineIdentifier!r}")
    check(plex.myPlexSubscription is True, f"myPlexSubscription {plex.myPlexSubscription!r}")


@step(SVC, "GET /identity without a token",
      "200 with machineIdentifier and version: the one route that needs no token",
      f"{PA_SRV} (identity)")
def identity_needs_no_token(ctx):
    import requests

    r = requests.get(ctx.plex_server_info()["url"] + "/identity", timeout=10)
    check(r.status_code == 200 and ctx.plex_server_info()["machine_identifier"] in r.text,
          f"{r.status_code} {r.text[:200]}")


@step(SVC, "plex.library.sections() → GET /library, GET /library/sections",
      "the owner reads the library root, then its four sections with their types",
      f"{PA_SRV} (library); {PA_LIB} (Library.key = '/library', _loadSections)")
def library_sections(ctx):
    secs = {s.title: s.type for s in ctx.server().library.sections()}
    want = {l["title"]: l["type"] for l in ctx.plex_server_info()["libraries"]}
    check(secs == want, f"sections {secs}")


@step(SVC, "plex.library.section('Movies').totalSize → /library/sections/{key}/all?X-Plex-Container-Size=0",
      "totalSize of the section's items on an empty page",
      f"{PA_LIB} (LibrarySection.totalViewSize)")
def section_total_size(ctx):
    n = ctx.server().library.section("Movies").totalSize
    check(n == 1843, f"totalSize {n}")


@step(SVC, "a shared user's plex.library.sections() → GET /library (403), GET /library/sections/",
      "only the owner reads /library; plexapi then reads /library/sections/ (one trailing "
      "slash) and sees just the sections shared with that user",
      f"{PA_SRV} (library: 'Only the owner has access to /library')")
def shared_user_library(ctx):
    mid = ctx.plex_server_info()["machine_identifier"]
    bob = ctx.account().user("bob_plex")
    token = bob.get_token(mid)
    check(token, "no server token for bob_plex")
    titles = sorted(s.title for s in ctx.server(token=token).library.sections())
    check(titles == ["Movies", "Movies 4K", "TV Shows"], f"bob sees {titles}")


@step(SVC, "plex.library.section('TV Shows').all() → /library/sections/{key}/all",
      "Show items (Directory type=show) with childCount (seasons) and leafCount (episodes)",
      f"{PA_VIDEO} (Show._loadData)")
def shows_have_child_and_leaf_counts(ctx):
    shows = ctx.server().library.section("TV Shows").all(container_size=50, maxresults=3)
    check(shows, "no shows")
    s = shows[0]
    check(s.type == "show" and (s.childCount or 0) > 0 and (s.leafCount or 0) > 0,
          f"{s.type} childCount={s.childCount!r} leafCount={s.leafCount!r}")
    ctx.notes["show"] = s.ratingKey


@step(SVC, "plex.fetchItem(show.ratingKey) → GET /library/metadata/{ratingKey}",
      "the one item with that ratingKey",
      f"{PA_BASE} (fetchItem: an int is /library/metadata/<key>)")
def metadata_by_rating_key(ctx):
    key = next(l["key"] for l in ctx.plex_server_info()["libraries"] if l["title"] == "TV Shows")
    page = ctx.pms_raw("GET", f"/library/sections/{key}/all?type=2&X-Plex-Container-Start=0&X-Plex-Container-Size=1")
    rk = int(page.json()["MediaContainer"]["Metadata"][0]["ratingKey"])
    item = ctx.server().fetchItem(rk)
    check(item.ratingKey == rk and item.type == "show", f"{item.type} {item.ratingKey}")


@step(SVC, "section.all(libtype='episode') next to section.all()",
      "every item has its own ratingKey: no episode shares one with a show",
      f"{PA_LIB} (LibrarySection.all, libtype); {PA_BASE} (ratingKey)")
def episodes_have_their_own_rating_keys(ctx):
    sec = ctx.server().library.section("TV Shows")
    shows = {s.ratingKey for s in sec.all(container_size=50, maxresults=50)}
    eps = {e.ratingKey for e in sec.all(libtype="episode", container_size=50, maxresults=50)}
    check(eps and not (shows & eps), f"shared ratingKeys {sorted(shows & eps)[:5]}")


@step(SVC, "plex.sessions() → GET /status/sessions",
      "one item per stream with its User, Player and Session (id distinct from sessionKey)",
      f"{PA_SRV} (sessions); {PA_BASE} (PlexSession)")
def sessions_are_listed(ctx):
    sid = start_session(ctx, {"user": "bob_plex", "title": "Dune", "library": "Movies 4K",
                              "resolution": "4k", "device": "Shield"})
    sessions = ctx.server().sessions()
    mine = [s for s in sessions if s.session and s.session.id == sid]
    check(mine, f"sessions {[(s.title, s.session.id if s.session else None) for s in sessions]}")
    s = mine[0]
    check(s.usernames == ["bob_plex"] and s.player.title == "Shield", f"{s.usernames} {s.player.title}")
    item = ctx.server().fetchItem(int(s.ratingKey))
    check(item.ratingKey == s.ratingKey, f"the playing item {s.ratingKey} does not resolve")
    ctx.notes["pms_session"] = sid


@step(SVC, "session.stop(reason='…') → GET /status/sessions/terminate?sessionId=&reason=",
      "200; the stream ends and the viewer is shown the reason (owner has Plex Pass)",
      f"{PA_BASE} (PlexSession.stop)")
def session_stop(ctx):
    sid = start_session(ctx, {"user": "alice_plex", "title": "Alien", "device": "Roku"})
    s = next(x for x in ctx.server().sessions() if x.session and x.session.id == sid)
    s.stop(reason="Your plan has ended")
    stopped = ctx.control("Plex Alpha").get("/sessions")["stopped"]
    check(any(x["id"] == sid and x["message"] == "Your plan has ended" for x in stopped), f"stopped {stopped}")


@step(SVC, "plex.transcodeSessions() → GET /transcode/sessions",
      "a TranscodeSession for each transcoding stream with its video decision",
      f"{PA_SRV} (transcodeSessions)")
def transcode_sessions(ctx):
    start_session(ctx, {"user": "alice_plex", "title": "Heat", "video_decision": "transcode"})
    ts = ctx.server().transcodeSessions()
    check(any(t.videoDecision == "transcode" for t in ts), f"{[t.videoDecision for t in ts]}")


@step(SVC, "plex.account() → GET /myplex/account",
      "how the server is signed in to plex.tv: username, signInState, subscriptionActive",
      f"{PA_SRV} (Account.key = '/myplex/account')")
def myplex_account(ctx):
    a = ctx.server().account()
    check(a.signInState == "ok" and a.subscriptionActive is True, f"{a.signInState} {a.subscriptionActive}")


@step(SVC, "plex.clients() → GET /clients", "a MediaContainer of players (none here)",
      f"{PA_SRV} (clients)")
def clients(ctx):
    check(ctx.server().clients() == [], "clients() did not return an empty list")


@step(SVC, "plex.myPlexAccount()", "the plex.tv account of the server's token",
      f"{PA_SRV} (myPlexAccount)")
def server_my_plex_account(ctx):
    check(ctx.server().myPlexAccount().username == ctx.plex_tv["username"], "another account")


@step(SVC, "GET /library/sections with Accept: application/json (boxoffice: libraries)",
      "{\"MediaContainer\": {\"Directory\": [...]}} with key, title, type",
      f"{PA_LIB}; wizarrrr/wizarr app/services/media/plex.py")
def sections_json_for_boxoffice(ctx):
    r = ctx.pms_raw("GET", "/library/sections")
    dirs = r.json()["MediaContainer"]["Directory"]
    check(sorted(d["title"] for d in dirs) == sorted(l["title"] for l in ctx.plex_server_info()["libraries"]),
          f"{[d['title'] for d in dirs]}")


@step(SVC, "GET /status/sessions with a shared user's token",
      "403: since PMS 1.41.7 only the owner reads live sessions",
      "Taxel/PlexTraktSync#2255; phin05/discord-rich-presence-plex#122")
def sessions_are_owner_only(ctx):
    mid = ctx.plex_server_info()["machine_identifier"]
    token = ctx.account().user("bob_plex").get_token(mid)
    r = ctx.pms_raw("GET", "/status/sessions", token=token)
    check(r.status_code == 403, f"{r.status_code}")
