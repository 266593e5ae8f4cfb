"""Every injectable fault, set through the control API exactly as docs/sandbox.md shows, and
what the provider's client sees when it fires. A rule that could never fire is refused when
it is set."""

import time
import xml.etree.ElementTree as ET

import requests
from jellyfin_apiclient_python.exceptions import HTTPException
from plexapi.exceptions import BadRequest

from harness import check, expect_raises, step

PA_MY = "pkkid/python-plexapi plexapi/myplex.py"
PA_SRV = "pkkid/python-plexapi plexapi/server.py"
JF_HTTP = "jellyfin/jellyfin-apiclient-python jellyfin_apiclient_python/http.py"
SANDBOX = "docs/sandbox.md (Fault injection)"


# plex.tv ---------------------------------------------------------------------------------

@step("plex.tv fault", "rate_limit on POST /api/v2/shared_servers, then the invite boxoffice sends",
      "429 with Retry-After and the v2 JSON error body {\"errors\": [{code, message, status}]}",
      "NAStool/nas-tools#2605 (plex.tv 429 too_many_requests); windoze95/cantinarr server/internal/plex/client.go")
def plex_tv_rate_limit(ctx):
    ctx.control("plex.tv").fault({"path": "/api/v2/shared_servers", "method": "POST", "remaining": 1,
                                  "action": {"type": "rate_limit", "retry_after": 30}})
    beta = ctx.plex_server_info("Plex Beta")
    r = ctx.plex_tv_raw("POST", "/api/v2/shared_servers",
                        json={"machineIdentifier": beta["machine_identifier"], "invitedEmail": "rl@example.com",
                              "librarySectionIds": []})
    check(r.status_code == 429 and r.headers.get("Retry-After") == "30", f"{r.status_code} {dict(r.headers)}")
    check(r.json()["errors"][0]["status"] == 429, f"body {r.text[:200]}")


@step("plex.tv fault", "already_shared on POST /api/servers/{id}/shared_servers, then account.inviteFriend(…)",
      "plexapi raises BadRequest whose message holds \"already sharing\" (v1 XML Response body)",
      f"{PA_MY} (inviteFriend); wizarrrr/wizarr#1168")
def plex_tv_already_shared_v1(ctx):
    alpha = ctx.plex_server_info()
    ctx.control("plex.tv").fault({"path": f"/api/servers/{alpha['machine_identifier']}/shared_servers",
                                  "method": "POST", "remaining": 1, "action": {"type": "already_shared"}})
    e = expect_raises(BadRequest, lambda: ctx.account().inviteFriend("nia@example.com", alpha["machine_identifier"]),
                      "inviteFriend")
    check("already sharing" in str(e), f"{e}")


@step("plex.tv fault", "empty_sections on GET /api/servers/{id} (the v1 route boxoffice reads)",
      "the server answers with no Section once; inviteFriend(sections=['Movies']) cannot map the title",
      "wizarrrr/wizarr app/services/media/plex.py (guards against a transient empty list); "
      f"{PA_MY} (_getSectionIds)")
def plex_tv_empty_sections_v1(ctx):
    alpha = ctx.plex_server_info()
    mid = alpha["machine_identifier"]
    ctx.control("plex.tv").fault({"path": f"/api/servers/{mid}", "remaining": 1,
                                  "action": {"type": "empty_sections"}})
    r = ctx.plex_tv_raw("GET", f"/api/servers/{mid}", json_=False)
    secs = list(ET.fromstring(r.text).iter("Section"))
    check(r.status_code == 200 and secs == [], f"{r.status_code} with {len(secs)} sections")
    r = ctx.plex_tv_raw("GET", f"/api/servers/{mid}", json_=False)
    check(len(list(ET.fromstring(r.text).iter("Section"))) == len(alpha["libraries"]), "the fault fired twice")


@step("plex.tv fault", "empty_sections on GET /api/v2/servers/{id}",
      "librarySections is [] once, then whole again", "wizarrrr/wizarr app/services/media/plex.py")
def plex_tv_empty_sections_v2(ctx):
    mid = ctx.plex_server_info()["machine_identifier"]
    ctx.control("plex.tv").fault({"path": "/api/v2/servers", "remaining": 1, "action": {"type": "empty_sections"}})
    first = ctx.plex_tv_raw("GET", f"/api/v2/servers/{mid}").json()["librarySections"]
    second = ctx.plex_tv_raw("GET", f"/api/v2/servers/{mid}").json()["librarySections"]
    check(first == [] and len(second) == 4, f"{len(first)} then {len(second)} sections")


@step("plex.tv fault", "empty_sections on GET /api/v2/user (a route that lists no sections)",
      "refused when it is set (422): it could never apply to the route it names", SANDBOX)
def plex_tv_empty_sections_on_wrong_route_is_refused(ctx):
    r = ctx.control("plex.tv").add_fault({"path": "/api/v2/user", "action": {"type": "empty_sections"}})
    check(r.status_code == 422, f"{r.status_code} {r.text}")
    account_reads_fine = ctx.plex_tv_raw("GET", "/api/v2/user").status_code == 200
    check(account_reads_fine, "the account no longer reads")


@step("plex.tv fault", "status 503 on /api/users, then account.users()",
      "plexapi raises BadRequest (503); the v1 body is XML <Response code=\"503\" status=…/>",
      f"{PA_MY} (query); Wizarr/Tautulli read Response@status")
def plex_tv_status_v1(ctx):
    ctx.control("plex.tv").fault({"path": "/api/users", "remaining": 2, "action": {"type": "status", "status": 503}})
    e = expect_raises(BadRequest, ctx.account().users, "users()")
    check("(503)" in str(e), f"{e}")
    r = ctx.plex_tv_raw("GET", "/api/users/", json_=False)
    check(r.status_code == 503 and ET.fromstring(r.text).get("code") == "503", f"{r.status_code} {r.text[:200]}")


@step("plex.tv fault", "status 401 on /api/v2/user, then MyPlexAccount(token=…)",
      "plexapi raises Unauthorized; the v2 body is {\"errors\": [{\"code\": 1001, …}]}",
      f"{PA_MY} (query: 401 → Unauthorized)")
def plex_tv_status_v2_unauthorized(ctx):
    from plexapi.exceptions import Unauthorized
    from plexapi.myplex import MyPlexAccount

    ctx.control("plex.tv").fault({"path": "/api/v2/user", "remaining": 2, "action": {"type": "status", "status": 401}})
    expect_raises(Unauthorized, lambda: MyPlexAccount(token=ctx.plex_tv["token"], session=ctx.plex_session()),
                  "MyPlexAccount")
    r = ctx.plex_tv_raw("GET", "/api/v2/user")
    check(r.status_code == 401 and r.json()["errors"][0]["code"] == 1001, f"{r.status_code} {r.text[:200]}")


@step("plex.tv fault", "already_shared set on Emby",
      "refused when it is set (422): the action exists only on plex.tv's share routes", SANDBOX)
def already_shared_elsewhere_is_refused(ctx):
    r = ctx.control("Emby").add_fault({"action": {"type": "already_shared"}})
    check(r.status_code == 422, f"{r.status_code} {r.text}")


# Plex Media Server -----------------------------------------------------------------------

@step("Plex Media Server fault", "status 500 on /library/sections, then plex.query('/library/sections')",
      "plexapi raises BadRequest (500); the body is PMS's HTML error page",
      f"{PA_SRV} (query); Hellowlol/bw_plex#8 (PMS HTML error bodies)")
def pms_status(ctx):
    from plexapi.server import PlexServer

    info = ctx.plex_server_info("Plex Beta")
    ctx.control("Plex Beta").fault({"path": "/library/sections", "remaining": 2,
                                    "action": {"type": "status", "status": 500}})
    plex = PlexServer(info["url"], info["token"], session=ctx.plex_session())
    e = expect_raises(BadRequest, lambda: plex.query("/library/sections"), "query('/library/sections')")
    check("(500)" in str(e), f"{e}")
    r = ctx.pms_raw("GET", "/library/sections", name="Plex Beta", json_=False)
    check(r.status_code == 500 and "<h1>500" in r.text, f"{r.status_code} {r.text[:200]}")


@step("Plex Media Server fault", "delay 300 ms on /status/sessions, then plex.sessions()",
      "the answer is normal, only late", SANDBOX)
def pms_delay(ctx):
    ctx.control("Plex Alpha").fault({"path": "/status/sessions", "remaining": 1,
                                     "action": {"type": "delay", "ms": 300}})
    t = time.monotonic()
    ctx.server().sessions()
    check(time.monotonic() - t >= 0.3, f"answered after {time.monotonic() - t:.2f}s")


@step("Plex Media Server fault", "hang on /status/sessions, then PlexServer(…, timeout=1).sessions()",
      "no answer: the client's own timeout fires (requests ReadTimeout)", SANDBOX)
def pms_hang(ctx):
    plex = ctx.server(timeout=1)
    ctx.control("Plex Alpha").fault({"path": "/status/sessions", "remaining": 1, "action": {"type": "hang"}})
    expect_raises(requests.exceptions.ReadTimeout, plex.sessions, "sessions()")


@step("Plex Media Server fault", "status 503 on \"/library/sections/\" (trailing slash), then GET /library/sections",
      "the rule fires: rules and requests are read with the same path normaliser", SANDBOX)
def pms_rule_path_is_normalised(ctx):
    ctx.control("Plex Alpha").fault({"path": "/library/sections/", "remaining": 1,
                                     "action": {"type": "status", "status": 503}})
    r = ctx.pms_raw("GET", "/library/sections")
    check(r.status_code == 503, f"{r.status_code}")


# Jellyfin --------------------------------------------------------------------------------

@step("Jellyfin fault", "status 401 on /Users, then get_users()",
      "401 with an empty body; the library raises HTTPException('Unauthorized')",
      f"{JF_HTTP} (request); jellyfin/jellyfin Jellyfin.Api/Auth/CustomAuthenticationHandler.cs")
def jellyfin_401_has_no_body(ctx):
    ctx.control("Jellyfin").fault({"path": "/Users", "method": "GET", "remaining": 1,
                                   "action": {"type": "status", "status": 401}})
    r = ctx.jf_raw("GET", "/Users")
    check(r.status_code == 401 and r.content == b"", f"{r.status_code} body {r.content[:100]!r}")
    ctx.control("Jellyfin").fault({"path": "/Users", "method": "GET", "remaining": 1,
                                   "action": {"type": "status", "status": 401}})
    e = expect_raises(HTTPException, ctx.jellyfin().get_users, "get_users()")
    check(e.status == "Unauthorized", f"{e.status}")


@step("Jellyfin fault", "status 500 on /Sessions, then sessions()",
      "text/plain \"Error processing request.\"; the library logs a 500 and returns None",
      f"{JF_HTTP} (request: 500 is logged and ignored); jellyfin/jellyfin Jellyfin.Api/Middleware/ExceptionMiddleware.cs")
def jellyfin_500(ctx):
    ctx.control("Jellyfin").fault({"path": "/Sessions", "remaining": 2, "action": {"type": "status", "status": 500}})
    check(ctx.jellyfin().sessions() is None, "sessions() did not return None")
    r = ctx.jf_raw("GET", "/Sessions")
    check(r.status_code == 500 and r.text == "Error processing request.", f"{r.status_code} {r.text[:100]!r}")


@step("Jellyfin fault", "status 503 on \"/users/new/\" (other case, trailing slash), then new_user(…)",
      "the rule fires for POST Users/New: case and one trailing slash do not matter to routing",
      f"{SANDBOX}; jellyfin/jellyfin-apiclient-python jellyfin_apiclient_python/api.py (new_user)")
def jellyfin_rule_matches_route_however_spelled(ctx):
    ctx.control("Jellyfin").fault({"path": "/users/new/", "remaining": 1,
                                   "action": {"type": "status", "status": 503}})
    e = expect_raises(HTTPException, lambda: ctx.jellyfin().new_user("oli_jf", "oli-pass"), "new_user")
    check(e.status == 503, f"{e.status}")


@step("Jellyfin fault", "rate_limit on /Items/Counts, then GET Items/Counts",
      "429 with Retry-After (Jellyfin itself never throttles; a proxy in front may)",
      SANDBOX)
def jellyfin_rate_limit(ctx):
    ctx.control("Jellyfin").fault({"path": "/Items/Counts", "remaining": 1,
                                   "action": {"type": "rate_limit", "retry_after": 5}})
    r = ctx.jf_raw("GET", "/Items/Counts")
    check(r.status_code == 429 and r.headers.get("Retry-After") == "5", f"{r.status_code}")


# Emby ------------------------------------------------------------------------------------

@step("Emby fault", "status 503 on \"/Users/New\" once, then POST /emby/Users/New twice (boxoffice's spelling)",
      "the first create answers 503, the retry creates the user: a rule matches the route "
      "however the request spells the /emby root",
      f"{SANDBOX}; MediaBrowser/Emby.SDK Resources/OpenApi/openapi_v3.json (servers: /emby)")
def emby_rule_matches_the_emby_root(ctx):
    ctx.control("Emby").fault({"path": "/Users/New", "method": "POST", "remaining": 1,
                               "action": {"type": "status", "status": 503}})
    first = ctx.emby_raw("POST", "/emby/Users/New", json={"Name": "ned_emby"})
    check(first.status_code == 503, f"first create answered {first.status_code}")
    second = ctx.emby_raw("POST", "/emby/Users/New", json={"Name": "ned_emby"})
    check(second.status_code == 200, f"retry answered {second.status_code} {second.text[:100]}")
    check(ctx.control("Emby").faults() == [], "the rule is still armed")


@step("Emby fault", "status 500 on \"/emby/Sessions\", then GET /Sessions at the bare root",
      "the rule fires: /emby/Sessions and /Sessions are one route", SANDBOX)
def emby_rule_with_root_matches_bare_path(ctx):
    ctx.control("Emby").fault({"path": "/emby/Sessions", "remaining": 1, "action": {"type": "status", "status": 500}})
    r = ctx.emby_raw("GET", "/Sessions")
    check(r.status_code == 500, f"{r.status_code}")
    check(not r.headers.get("content-type", "").startswith("application/problem+json"), "a ProblemDetails body")


@step("Emby fault", "status 503 on \"/Userz/New\" (a path Emby does not serve)",
      "refused when it is set (422): the rule could never fire", SANDBOX)
def emby_rule_that_never_matches_is_refused(ctx):
    r = ctx.control("Emby").add_fault({"path": "/Userz/New", "action": {"type": "status", "status": 503}})
    check(r.status_code == 422, f"{r.status_code} {r.text}")
    check(ctx.emby_raw("GET", "/emby/System/Info/Public").status_code == 200, "Emby stopped answering")


@step("Emby fault", "status 503 with method DELETE on /System/Info (served for GET only)",
      "refused when it is set (422): no DELETE route starts with that path", SANDBOX)
def emby_rule_with_wrong_method_is_refused(ctx):
    r = ctx.control("Emby").add_fault({"path": "/System/Info", "method": "DELETE",
                                       "action": {"type": "status", "status": 503}})
    check(r.status_code == 422, f"{r.status_code} {r.text}")
