"""Emby 4.8, driven with requests and Emby's documented headers (no maintained Python client
has methods for these admin routes). Calls go under /emby, as boxoffice sends them, unless
the step is about the bare root."""

from harness import check, step

OAS = "MediaBrowser/Emby.SDK Resources/OpenApi/openapi_v3.json"
AUTH_DOC = "MediaBrowser/Emby.SDK Documenation/doc/restapi/User-Authentication.html"
JFA = "hrfee/mediabrowser users_emby.go"
SVC = "Emby"


def login(ctx, name, pw):
    return ctx.emby_raw("POST", "/emby/Users/AuthenticateByName", token="", json={"Username": name, "Pw": pw})


@step(SVC, "GET /emby/System/Info/Public and GET /System/Info/Public",
      "the same server info under the documented /emby root and at the bare root",
      f"{OAS} (servers: /emby); wizarrrr/wizarr app/services/media/emby.py (bare routes)")
def public_info_under_both_roots(ctx):
    a = ctx.emby_raw("GET", "/emby/System/Info/Public").json()
    b = ctx.emby_raw("GET", "/System/Info/Public").json()
    check(a["Id"] == b["Id"] == ctx.emby["server_id"] and a["ServerName"] == ctx.emby["name"], f"{a} {b}")


@step(SVC, "GET /emby/Users/Query?StartIndex=0&Limit=2",
      "{Items: 2 users, TotalRecordCount: 3}", f"{OAS} (/Users/Query)")
def users_query_paginates(ctx):
    r = ctx.emby_raw("GET", "/emby/Users/Query", params={"StartIndex": 0, "Limit": 2}).json()
    check(len(r["Items"]) == 2 and r["TotalRecordCount"] == 3, f"{len(r['Items'])} of {r['TotalRecordCount']}")


@step(SVC, "GET /emby/Library/MediaFolders",
      "{Items, TotalRecordCount}; each folder has a numeric-string Id and a 32-hex Guid",
      f"{OAS}; wizarrrr/wizarr app/services/media/emby.py")
def media_folders_have_guids(ctx):
    items = ctx.emby_raw("GET", "/emby/Library/MediaFolders").json()["Items"]
    want = {l["name"]: l["guid"] for l in ctx.emby["libraries"]}
    check({i["Name"]: i.get("Guid") for i in items} == want, f"{[(i['Name'], i.get('Guid')) for i in items]}")


@step(SVC, "POST /emby/Users/New {\"Name\"} then POST /emby/Users/{id}/Password {\"NewPw\"} (boxoffice: create)",
      "the user is created without a password, then the password is set (2xx) and signs in",
      f"{OAS} (/Users/New, /Users/{{Id}}/Password); {JFA} (embyNewUser)")
def create_user_then_password(ctx):
    r = ctx.emby_raw("POST", "/emby/Users/New", json={"Name": "lea_emby"})
    check(r.status_code == 200, f"{r.status_code} {r.text[:200]}")
    uid = r.json()["Id"]
    r = ctx.emby_raw("POST", f"/emby/Users/{uid}/Password",
                     json={"Id": uid, "CurrentPw": "", "NewPw": "lea-pass", "ResetPassword": False})
    check(r.status_code in (200, 204), f"{r.status_code} {r.text[:200]}")
    check(login(ctx, "lea_emby", "lea-pass").status_code == 200, "the new password does not sign in")
    ctx.notes["lea_emby"] = uid


@step(SVC, "POST /emby/Users/AuthenticateByName {\"username\", \"pw\"} (names in lower case)",
      "200 with AccessToken: Emby's own documentation spells the field `pw`",
      f"{AUTH_DOC} (\"pw - password in plain text\")")
def login_binds_names_case_insensitively(ctx):
    r = ctx.emby_raw("POST", "/emby/Users/AuthenticateByName", token="",
                     json={"username": "gina_emby", "pw": "gina-pass"})
    check(r.status_code == 200 and r.json().get("AccessToken"), f"{r.status_code} {r.text[:200]}")


@step(SVC, "POST /emby/Users/New {\"name\": …} (name in lower case)",
      "200 UserDto with that Name: request properties bind case-insensitively",
      f"{AUTH_DOC}; {OAS} (/Users/New)")
def new_user_binds_names_case_insensitively(ctx):
    r = ctx.emby_raw("POST", "/emby/Users/New", json={"name": "max_emby"})
    check(r.status_code == 200 and r.json().get("Name") == "max_emby", f"{r.status_code} {r.text[:200]}")


@step(SVC, "POST /emby/Users/{id}/Policy with EnabledFolders = [folder Guid] (boxoffice: libraries)",
      "2xx; the user reaches only that folder", f"{OAS} (/Users/{{Id}}/Policy); wizarrrr/wizarr#1195")
def policy_by_guid(ctx):
    uid = ctx.notes.get("lea_emby")
    check(uid, "no user from the create step")
    policy = ctx.emby_raw("GET", f"/emby/Users/{uid}").json()["Policy"]
    shows = next(l["guid"] for l in ctx.emby["libraries"] if l["name"] == "Shows")
    policy.update({"EnableAllFolders": False, "EnabledFolders": [shows], "SimultaneousStreamLimit": 2})
    r = ctx.emby_raw("POST", f"/emby/Users/{uid}/Policy", json=policy)
    check(r.status_code in (200, 204), f"{r.status_code} {r.text[:200]}")
    p = ctx.emby_raw("GET", f"/emby/Users/{uid}").json()["Policy"]
    check((p["EnabledFolders"], p["SimultaneousStreamLimit"]) == ([shows], 2), f"{p['EnabledFolders']}")


@step(SVC, "GET /emby/Sessions, POST /emby/Sessions/{id}/Message?Text=…, POST /emby/Sessions/{id}/Playing/Stop",
      "the session is listed; the message is read from the query string; stop answers 2xx",
      f"{OAS} (/Sessions, /Sessions/{{Id}}/Message, /Sessions/{{Id}}/Playing/{{Command}})")
def sessions_message_and_stop(ctx):
    r = ctx.control("Emby").post("/sessions", {"user": "gina_emby", "title": "Heat", "device": "TV"})
    check(r.status_code == 201, f"control: {r.status_code} {r.text}")
    sid = r.json()["id"]
    check(any(s["Id"] == sid for s in ctx.emby_raw("GET", "/emby/Sessions").json()), "session not listed")
    r = ctx.emby_raw("POST", f"/emby/Sessions/{sid}/Message", params={"Text": "Plan ended", "Header": "boxoffice"})
    check(r.status_code in (200, 204), f"message: {r.status_code}")
    r = ctx.emby_raw("POST", f"/emby/Sessions/{sid}/Playing/Stop")
    check(r.status_code in (200, 204), f"stop: {r.status_code}")
    stopped = ctx.control("Emby").get("/sessions")["stopped"]
    check(any(s["id"] == sid and s["message"] == "Plan ended" for s in stopped), f"stopped {stopped}")


@step(SVC, "GET /emby/Devices, then DELETE /emby/Devices?Id=…",
      "{Items} with the device gina_emby signed in from; after the delete it is gone",
      f"{OAS} (/Devices)")
def devices_list_and_delete(ctx):
    items = ctx.emby_raw("GET", "/emby/Devices").json()["Items"]
    dev = next((d for d in items if d["ReportedDeviceId"] == "contract-emby-1"), None)
    check(dev is not None, f"devices {[d['ReportedDeviceId'] for d in items]}")
    r = ctx.emby_raw("DELETE", "/emby/Devices", params={"Id": dev["Id"]})
    check(r.status_code in (200, 204), f"{r.status_code}")
    items = ctx.emby_raw("GET", "/emby/Devices").json()["Items"]
    check(all(d["Id"] != dev["Id"] for d in items), "the device is still listed")


@step(SVC, "POST /emby/Users/{id}/Delete (the POST twin of DELETE)",
      "2xx; the user is gone (GET answers 404)", f"{OAS} (/Users/{{Id}}/Delete)")
def delete_user_by_post(ctx):
    uid = ctx.notes.get("lea_emby")
    check(uid, "no user from the create step")
    r = ctx.emby_raw("POST", f"/emby/Users/{uid}/Delete")
    check(r.status_code in (200, 204), f"{r.status_code}")
    check(ctx.emby_raw("GET", f"/emby/Users/{uid}").status_code == 404, "the user is still there")


@step(SVC, "POST /emby/Users/New with no Name",
      "an error status with a text/plain message: Emby has no ProblemDetails JSON",
      "chrisbenincasa/tunarr#1630 (Emby errors: text/plain messages)")
def errors_are_plain_text(ctx):
    r = ctx.emby_raw("POST", "/emby/Users/New", json={})
    check(r.status_code >= 400, f"{r.status_code}")
    ctype = r.headers.get("content-type", "")
    check(ctype.startswith("text/plain") and r.text and not r.text.lstrip().startswith("{"),
          f"{r.status_code} {ctype} {r.text[:200]}")


@step(SVC, "GET /emby/Users with a token the server does not know",
      "401", f"{AUTH_DOC} (a 401 means the token was revoked)")
def unknown_token(ctx):
    r = ctx.emby_raw("GET", "/emby/Users", token="0" * 32)
    check(r.status_code == 401, f"{r.status_code}")
