"""Jellyfin 10.11, driven with jellyfin-apiclient-python (its named methods, and its own
request machinery `_get`/`_post`/`_delete` for routes it has no method for)."""

from jellyfin_apiclient_python.exceptions import HTTPException

from harness import check, expect_raises, new_jellyfin_client, step

API = "jellyfin/jellyfin-apiclient-python jellyfin_apiclient_python/api.py"
HTTP = "jellyfin/jellyfin-apiclient-python jellyfin_apiclient_python/http.py"
USERS = "jellyfin/jellyfin Jellyfin.Api/Controllers/UserController.cs"
SESSIONS = "jellyfin/jellyfin Jellyfin.Api/Controllers/SessionController.cs"
DEVICES = "jellyfin/jellyfin Jellyfin.Api/Controllers/DevicesController.cs"
LIBRARY = "jellyfin/jellyfin Jellyfin.Api/Controllers/LibraryController.cs"
JSON = "jellyfin/jellyfin src/Jellyfin.Extensions/Json/JsonDefaults.cs"
BINDING = ("jellyfin/jellyfin Jellyfin.Server/Extensions/ApiServiceCollectionExtensions.cs "
           "(AddJsonOptions keeps ASP.NET Core's web defaults: case-insensitive names)")
SVC = "Jellyfin"


def user_id(ctx, name):
    for u in ctx.jellyfin().get_users():
        if u["Name"] == name:
            return u["Id"]
    raise AssertionError(f"no user {name}")


def kim(ctx):
    """kim_jf's id: the user the new_user step creates, seeded through the control API when
    that step could not, so later steps test their own call only."""
    if "kim_jf" not in ctx.notes:
        try:
            ctx.notes["kim_jf"] = user_id(ctx, "kim_jf")
        except AssertionError:
            r = ctx.control("Jellyfin").post("/users", {"name": "kim_jf", "password": "kim-pass"})
            check(r.status_code == 201, f"control POST /users: {r.status_code} {r.text}")
            ctx.notes["kim_jf"] = r.json()["id"]
    return ctx.notes["kim_jf"]


def sign_in(ctx, name, pw):
    """AuthenticateByName with the library's headers and the DTO's own spelling, for steps
    that need a signed-in device and are not about name binding."""
    r = ctx.jf_raw("POST", "/Users/AuthenticateByName", json={"Username": name, "Pw": pw})
    check(r.status_code == 200, f"sign-in of {name}: {r.status_code} {r.text[:200]}")
    return r.json()["AccessToken"]


def nulls(v, path="$"):
    """Paths of properties whose value is null."""
    out = []
    if isinstance(v, dict):
        for k, x in v.items():
            out += [f"{path}.{k}"] if x is None else nulls(x, f"{path}.{k}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            out += nulls(x, f"{path}[{i}]")
    return out


@step(SVC, "get_public_info(url) → GET system/info/public (lower case)",
      "the public server info: routes match whatever their case (ASP.NET Core routing)",
      f"{API} (get_public_info)")
def public_info_lower_case(ctx):
    info = ctx.jellyfin().get_public_info(ctx.jf["url"])
    check(info.get("ServerName") == ctx.jf["name"] and info.get("Id") == ctx.jf["server_id"], f"{info}")


@step(SVC, "get_system_info_new() → GET System/Info with the api key",
      "SystemInfo with Version 10.11.x", f"{API} (get_system_info_new)")
def system_info(ctx):
    info = ctx.jellyfin().get_system_info_new()
    check(str(info.get("Version", "")).startswith("10.11"), f"Version {info.get('Version')!r}")


@step(SVC, "get_system_configuration() → GET System/Configuration",
      "the ServerConfiguration object (any signed-in caller may read it)",
      "jellyfin/jellyfin Jellyfin.Api/Controllers/ConfigurationController.cs (GetConfiguration)")
def system_configuration(ctx):
    cfg = ctx.jellyfin().get_system_configuration()
    check(isinstance(cfg, dict) and "EnableLegacyAuthorization" in cfg and cfg.get("UICulture"), f"{cfg}")


@step(SVC, "validate_authentication_token({address, AccessToken}) → GET system/info",
      "200 with the server info for a valid token", f"{API} (validate_authentication_token)")
def validate_token(ctx):
    info = ctx.jellyfin().validate_authentication_token(
        {"address": ctx.jf["url"], "AccessToken": ctx.jf["api_key"]})
    check(info.get("Id") == ctx.jf["server_id"], f"{info}")


@step(SVC, "get_users() → GET Users", "a bare array of every user, erin_jf and frank_jf among them",
      f"{API} (get_users); {USERS} (GetUsers)")
def users_list(ctx):
    names = {u["Name"] for u in ctx.jellyfin().get_users()}
    check({"admin", "erin_jf", "frank_jf"} <= names, f"users {sorted(names)}")


@step(SVC, "get_user(id) → GET Users/{id}",
      "a UserDto with no null properties: Jellyfin writes JSON with WhenWritingNull",
      f"{API} (get_user); {JSON} (DefaultIgnoreCondition = WhenWritingNull)")
def user_dto_omits_nulls(ctx):
    u = ctx.jellyfin().get_user(user_id(ctx, "frank_jf"))
    check(u["Name"] == "frank_jf", f"{u.get('Name')}")
    check(not nulls(u), f"null properties {nulls(u)}")


@step(SVC, "new_user('kim_jf', 'kim-pass') → POST Users/New {\"name\", \"Password\"}",
      "200 UserDto named kim_jf: JSON property names bind case-insensitively",
      f"{API} (new_user); {USERS} (CreateUserByName); {BINDING}")
def new_user_binds_names_case_insensitively(ctx):
    u = ctx.jellyfin().new_user("kim_jf", "kim-pass")
    check(isinstance(u, dict) and u.get("Name") == "kim_jf" and u.get("HasPassword") is True, f"{u}")
    ctx.notes["kim_jf"] = u["Id"]


@step(SVC, "login(url, 'kim_jf', 'kim-pass') → POST Users/AuthenticateByName {\"username\", \"Pw\"}",
      "200 with AccessToken and User: `username` binds to Username",
      f"{API} (login); {USERS} (AuthenticateUserByName); {BINDING}")
def login_binds_names_case_insensitively(ctx):
    kim(ctx)
    r = ctx.jellyfin().login(ctx.jf["url"], "kim_jf", "kim-pass")
    check(r.get("AccessToken") and r.get("User", {}).get("Name") == "kim_jf", f"login answered {r}")
    ctx.notes["kim_token"] = r["AccessToken"]


@step(SVC, "login(url, 'kim_jf', 'wrong')", "401: the library answers {} for a failed login",
      f"{API} (login); jellyfin/jellyfin Jellyfin.Server.Implementations/Users/UserManager.cs")
def login_with_wrong_password(ctx):
    check(ctx.jellyfin().login(ctx.jf["url"], "kim_jf", "wrong") == {}, "a wrong password signed in")


@step(SVC, "media_folders() → GET Library/MediaFolders/ (trailing slash)",
      "{Items, TotalRecordCount}: one trailing slash routes like none (ASP.NET Core routing)",
      f"{API} (media_folders); {LIBRARY} (GetMediaFolders)")
def media_folders_trailing_slash(ctx):
    r = ctx.jellyfin().media_folders()
    names = sorted(i["Name"] for i in r["Items"])
    check(names == ["Movies", "Shows"], f"folders {names}")


@step(SVC, "virtual_folders() → GET Library/VirtualFolders",
      "a bare array whose ItemId equals the MediaFolders Id",
      f"{API} (virtual_folders); jellyfin/jellyfin Jellyfin.Api/Controllers/LibraryStructureController.cs")
def virtual_folders(ctx):
    ids = {l["name"]: l["id"] for l in ctx.jf["libraries"]}
    got = {v["Name"]: v["ItemId"] for v in ctx.jellyfin().virtual_folders()}
    check(got == ids, f"{got}")


@step(SVC, "_get('Items/Counts')", "MovieCount, SeriesCount, EpisodeCount of the whole server",
      "jellyfin/jellyfin Jellyfin.Api/Controllers/LibraryController.cs (GetItemCounts)")
def item_counts(ctx):
    c = ctx.jellyfin()._get("Items/Counts")
    check((c["MovieCount"], c["SeriesCount"], c["EpisodeCount"]) == (1520, 286, 11204), f"{c}")


@step(SVC, "items(params={ParentId, Recursive, IncludeItemTypes: 'Movie', Limit: 0}) → GET Items",
      "{Items: [], TotalRecordCount} with the library's movie count",
      "jellyfin/jellyfin Jellyfin.Api/Controllers/ItemsController.cs")
def items_count_per_library(ctx):
    movies = next(l["id"] for l in ctx.jf["libraries"] if l["name"] == "Movies")
    r = ctx.jellyfin().items(params={"ParentId": movies, "Recursive": True,
                                     "IncludeItemTypes": "Movie", "Limit": 0})
    check(r["TotalRecordCount"] == 1520 and r["Items"] == [], f"{r}")


@step(SVC, "_post('Users/{id}/Policy', json=<whole policy, Movies only>)",
      "204; the policy is replaced: EnableAllFolders false, EnabledFolders = [Movies id]",
      f"{USERS} (UpdateUserPolicy)")
def policy_replace(ctx):
    api = ctx.jellyfin()
    uid = kim(ctx)
    policy = api.get_user(uid)["Policy"]
    movies = next(l["id"] for l in ctx.jf["libraries"] if l["name"] == "Movies")
    policy.update({"EnableAllFolders": False, "EnabledFolders": [movies], "EnableContentDownloading": False})
    api._post(f"Users/{uid}/Policy", json=policy)
    p = api.get_user(uid)["Policy"]
    check((p["EnableAllFolders"], p["EnabledFolders"], p["EnableContentDownloading"]) == (False, [movies], False),
          f"{p['EnableAllFolders']} {p['EnabledFolders']} {p['EnableContentDownloading']}")


@step(SVC, "_post('Users/{id}/Policy', json={'isDisabled': True, …}) with lower-case names",
      "the policy binds case-insensitively: the user is disabled and can no longer sign in",
      f"{USERS} (UpdateUserPolicy); {BINDING}")
def policy_binds_names_case_insensitively(ctx):
    api = ctx.jellyfin()
    uid = kim(ctx)
    policy = {k[0].lower() + k[1:]: v for k, v in api.get_user(uid)["Policy"].items()}
    policy["isDisabled"] = True
    api._post(f"Users/{uid}/Policy", json=policy)
    check(api.get_user(uid)["Policy"]["IsDisabled"] is True, "the user is not disabled")
    check(api.login(ctx.jf["url"], "kim_jf", "kim-pass") == {}, "a disabled user signed in")
    policy["isDisabled"] = False
    api._post(f"Users/{uid}/Policy", json=policy)


@step(SVC, "_post('Users/{id}/Policy', json={'IsDisabled': True}) without the provider ids",
      "400 ProblemDetails: since 10.9 AuthenticationProviderId and PasswordResetProviderId are required",
      f"{USERS} (UpdateUserPolicy); jellyfin/jellyfin MediaBrowser.Model/Users/UserPolicy.cs")
def partial_policy_is_refused(ctx):
    api = ctx.jellyfin()
    uid = kim(ctx)
    e = expect_raises(HTTPException, lambda: api._post(f"Users/{uid}/Policy", json={"IsDisabled": True}),
                      "partial policy")
    check(e.status == 400, f"{e.status}")


@step(SVC, "_post('Users/{id}/Password', json={'NewPw': …}) as the administrator",
      "204; the new password signs in",
      f"{USERS} (UpdateUserPassword)")
def admin_sets_password(ctx):
    api = ctx.jellyfin()
    uid = kim(ctx)
    api._post(f"Users/{uid}/Password", json={"NewPw": "kim-new", "ResetPassword": False})
    sign_in(ctx, "kim_jf", "kim-new")


@step(SVC, "sessions() → GET Sessions",
      "a bare array with every session, idle ones too; the playing one has NowPlayingItem",
      f"{API} (sessions); {SESSIONS} (GetSessions)")
def sessions_list(ctx):
    r = ctx.control("Jellyfin").post("/sessions", {"user": "erin_jf", "title": "Pilot", "kind": "episode",
                                                    "grandparent_title": "The Show", "device": "iPhone"})
    check(r.status_code == 201, f"control: {r.status_code} {r.text}")
    sid = r.json()["id"]
    sign_in(ctx, "frank_jf", "frank-pass")
    sessions = {s["Id"]: s for s in ctx.jellyfin().sessions()}
    check(sid in sessions and sessions[sid]["NowPlayingItem"]["Name"] == "Pilot", f"{list(sessions)}")
    check(any("NowPlayingItem" not in s for s in sessions.values()), "no idle session (frank_jf signed in)")
    ctx.notes["jf_session"] = sid


@step(SVC, "post_session(id, 'Message', data={Header, Text, TimeoutMs}) → POST Sessions/{id}/Message",
      "204; the message reaches the client", f"{API} (post_session); {SESSIONS} (SendMessageCommand)")
def session_message(ctx):
    sid = ctx.notes.get("jf_session")
    ctx.jellyfin().post_session(sid, "Message", data={"Header": "boxoffice", "Text": "Plan ended", "TimeoutMs": 5000})
    st = ctx.control("Jellyfin").state()
    msgs = [m["text"] for s in st["sessions"] if s["id"] == sid for m in s["messages"]]
    check("Plan ended" in msgs, f"messages {msgs}")


@step(SVC, "command(id, 'DisplayMessage', json={Header, Text, TimeoutMs}) → POST Sessions/{id}/Command",
      "204; a GeneralCommand {Name, Arguments} is sent to the client",
      f"{API} (command); {SESSIONS} (SendFullGeneralCommand)")
def session_general_command(ctx):
    sid = ctx.notes.get("jf_session")
    ctx.jellyfin().command(sid, "DisplayMessage", json={"Header": "boxoffice", "Text": "Second notice",
                                                        "TimeoutMs": "5000"})
    st = ctx.control("Jellyfin").state()
    msgs = [m["text"] for s in st["sessions"] if s["id"] == sid for m in s["messages"]]
    check("Second notice" in msgs, f"messages {msgs}")


@step(SVC, "remote_stop(id) → POST Sessions/{id}/Playing/Stop",
      "204; playback stops (the client stays connected)", f"{API} (remote_stop); {SESSIONS} (SendPlaystateCommand)")
def session_stop(ctx):
    sid = ctx.notes.get("jf_session")
    ctx.jellyfin().remote_stop(sid)
    stopped = ctx.control("Jellyfin").get("/sessions")["stopped"]
    check(any(s["id"] == sid for s in stopped), f"stopped {stopped}")


@step(SVC, "_get('Devices')", "{Items, TotalRecordCount} with the device frank_jf signed in from",
      f"{DEVICES} (GetDevices)")
def devices_list(ctx):
    sign_in(ctx, "frank_jf", "frank-pass")
    items = ctx.jellyfin()._get("Devices")["Items"]
    check(any(d["Id"] == "contract-device-1" and d["LastUserName"] == "frank_jf" for d in items),
          f"devices {[(d['Id'], d['LastUserName']) for d in items]}")


@step(SVC, "_delete('Devices', params={'id': …})",
      "204; the device is gone and its access token no longer works",
      f"{DEVICES} (DeleteDevice)")
def device_delete(ctx):
    token = sign_in(ctx, "frank_jf", "frank-pass")
    ctx.jellyfin()._delete("Devices", params={"id": "contract-device-1"})
    items = ctx.jellyfin()._get("Devices")["Items"]
    check(all(d["Id"] != "contract-device-1" for d in items), "the device is still listed")
    r = ctx.jf_raw("GET", "/Users", token=token)
    check(r.status_code == 401, f"the revoked token got {r.status_code}")


@step(SVC, "delete_user(id) → DELETE Users/{id}, then get_user(id)",
      "204, then 404 \"User not found\"", f"{API} (delete_user); {USERS} (DeleteUser, GetUserById)")
def delete_user(ctx):
    api = ctx.jellyfin()
    uid = kim(ctx)
    api.delete_user(uid)
    e = expect_raises(HTTPException, lambda: api.get_user(uid), "get_user of a deleted user")
    check(e.status == 404, f"{e.status}")


@step(SVC, "get_users() with a token the server does not know",
      "401 with an empty body; the library raises HTTPException('Unauthorized')",
      f"{HTTP} (request); jellyfin/jellyfin Jellyfin.Api/Auth/CustomAuthenticationHandler.cs")
def unknown_token(ctx):
    client = new_jellyfin_client(ctx.jf["url"], ctx.jf["api_key"])
    client.config.data["auth.token"] = "0" * 32
    api = client.jellyfin
    e = expect_raises(HTTPException, api.get_users, "get_users with a bad token")
    check(e.status == "Unauthorized", f"{e.status}")
    r = ctx.jf_raw("GET", "/Users", token="0" * 32)
    check(r.status_code == 401 and r.content == b"", f"{r.status_code} body {r.content[:100]!r}")
