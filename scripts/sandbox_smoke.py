#!/usr/bin/env python3
"""Drive `boxoffice sandbox` from another language, using only its first JSON line.

Usage: python3 scripts/sandbox_smoke.py PATH/TO/boxoffice

Starts `boxoffice sandbox`, reads the JSON line describing the fake services, lists the
Plex account's servers (plex.tv) and each server's libraries (Plex Media Server), creates
a Jellyfin user through the Jellyfin API with the given api key, checks that user appears
in the Jellyfin fake's control state, stops the sandbox with SIGTERM and expects exit 0.

Standard library only. Exits 0 and prints "OK ..." on success; prints "FAIL: ..." on
standard error and exits 1 otherwise.
"""

import json
import subprocess
import sys
import urllib.request

TIMEOUT = 10  # seconds per HTTP request or process wait


class SmokeError(Exception):
    pass


def http(method, url, headers=None, body=None):
    """One HTTP request; returns the decoded JSON answer (or None for an empty body)."""
    data = None
    headers = dict(headers or {})
    headers.setdefault("Accept", "application/json")
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            raw = resp.read()
    except Exception as e:  # HTTPError, URLError, timeouts: all mean the step failed
        raise SmokeError(f"{method} {url} failed: {e}") from e
    return json.loads(raw) if raw.strip() else None


def check(cond, message):
    if not cond:
        raise SmokeError(message)


def media_browser_auth(api_key):
    return {
        "Authorization": (
            'MediaBrowser Client="sandbox_smoke", Device="python", '
            f'DeviceId="sandbox-smoke-py", Version="1.0", Token="{api_key}"'
        )
    }


def drive(world):
    for key in ("plex_tv", "plex_servers", "jellyfin", "emby"):
        check(key in world, f"the JSON line has no '{key}' key")

    # plex.tv: the account and its servers.
    tv = world["plex_tv"]
    plex_headers = {"X-Plex-Token": tv["token"]}
    user = http("GET", tv["url"] + "/api/v2/user", plex_headers)
    check(user.get("username") == tv["username"], f"plex.tv account is {user.get('username')!r}")
    resources = http("GET", tv["url"] + "/api/v2/resources", plex_headers)
    servers = [r for r in resources if r.get("provides") == "server"]
    described = {s["machine_identifier"]: s for s in world["plex_servers"]}
    check(
        {s["clientIdentifier"] for s in servers} == set(described),
        "plex.tv lists other servers than the JSON line",
    )

    # Each Plex Media Server: its identity and libraries.
    for srv in servers:
        mine = described[srv["clientIdentifier"]]
        pms = {"X-Plex-Token": mine["token"]}
        ident = http("GET", mine["url"] + "/identity", pms)["MediaContainer"]
        check(
            ident["machineIdentifier"] == mine["machine_identifier"],
            f"{mine['name']} answers with another machine identifier",
        )
        sections = http("GET", mine["url"] + "/library/sections", pms)["MediaContainer"]
        titles = [d["title"] for d in sections.get("Directory", [])]
        check(
            titles == [lib["title"] for lib in mine["libraries"]],
            f"{mine['name']} libraries {titles} differ from the JSON line",
        )
        print(f"plex server {srv['name']}: {', '.join(titles) or '(no libraries)'}")

    # Jellyfin: create a user with the api key, then verify it through the control API.
    jf = world["jellyfin"]
    created = http(
        "POST",
        jf["url"] + "/Users/New",
        media_browser_auth(jf["api_key"]),
        {"Name": "smoke_py", "Password": "Sm0ke-pass!"},
    )
    check(created and created.get("Name") == "smoke_py", f"unexpected /Users/New answer {created}")
    state = http("GET", jf["control"] + "/state")
    names = [u["name"] for u in state["access"]]
    check("smoke_py" in names, f"the new user is not in the Jellyfin state: {names}")
    print(f"jellyfin {jf['name']}: created user smoke_py (id {created['Id']})")


def main(argv):
    if len(argv) != 2:
        print("usage: sandbox_smoke.py PATH/TO/boxoffice", file=sys.stderr)
        return 2
    try:
        proc = subprocess.Popen(
            [argv[1], "sandbox"], stdout=subprocess.PIPE, text=True
        )
    except OSError as e:
        print(f"FAIL: cannot start {argv[1]}: {e}", file=sys.stderr)
        return 1
    try:
        line = proc.stdout.readline()
        if not line:
            raise SmokeError(f"boxoffice sandbox printed nothing (exit {proc.wait(TIMEOUT)})")
        try:
            world = json.loads(line)
        except ValueError as e:
            raise SmokeError(f"the first line is not JSON: {e}: {line!r}") from e
        drive(world)
        proc.terminate()
        code = proc.wait(TIMEOUT)
        check(code == 0, f"boxoffice sandbox exited {code} after SIGTERM")
    except (SmokeError, KeyError, TypeError, subprocess.TimeoutExpired) as e:
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print("OK: boxoffice sandbox driven from Python using only its JSON line")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
