"""The contract suite's harness: start `boxoffice sandbox`, hand the steps their clients, run
every step, report each failure with the call, the real service's behaviour and its source.

A step is a function registered with @step(service, call, expect, source). It drives the
sandbox through a provider's own client library (python-plexapi, jellyfin-apiclient-python)
or, where the library has no method, through `requests` with that client's headers, and
raises StepFailed (via check()) with what it got when the fake does not answer as the real
service does. Steps run in order against one sandbox; each leaves no fault rule behind.
"""

import json
import os
import select
import signal
import subprocess
import sys
import time
import traceback
from urllib.parse import urlsplit, urlunsplit

import requests

TIMEOUT = 10  # seconds for any one HTTP call or process wait

STEPS = []


class StepFailed(AssertionError):
    """A step saw something the real service would not do; the message says what."""


class Step:
    def __init__(self, service, call, expect, source, fn):
        self.service = service
        self.call = call
        self.expect = expect
        self.source = source
        self.fn = fn

    @property
    def name(self):
        return self.fn.__name__


def step(service, call, expect, source):
    """Register a step. `call`: what the client does; `expect`: what the real service
    answers; `source`: the public code or document that shows it."""

    def register(fn):
        STEPS.append(Step(service, call, expect, source, fn))
        return fn

    return register


def check(cond, got):
    if not cond:
        raise StepFailed(got)


def expect_raises(kind, fn, what):
    """Run fn, which must raise `kind`; return the exception."""
    try:
        value = fn()
    except kind as e:
        return e
    raise StepFailed(f"{what}: no {kind.__name__} was raised; got {value!r}")


# --- The sandbox process ------------------------------------------------------------------


class Sandbox:
    """`boxoffice sandbox` as a child process; `world` is its first stdout line."""

    def __init__(self, binary, log_path):
        env = dict(os.environ, BOXOFFICE_LOG=os.environ.get("BOXOFFICE_LOG", "warn"))
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "sandbox"], stdout=subprocess.PIPE, stderr=self.log, env=env
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.stop()
            raise RuntimeError("boxoffice sandbox printed no JSON line within 30 s")
        line = self.proc.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError(f"boxoffice sandbox exited first; see {log_path}")
        self.world = json.loads(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class PlexTvSession(requests.Session):
    """python-plexapi calls https://plex.tv/...; this session sends those calls to the
    plex.tv fake instead. Nothing else about the request changes."""

    HOSTS = ("plex.tv", "clients.plex.tv")

    def __init__(self, fake_url):
        super().__init__()
        self.fake = urlsplit(fake_url)

    def request(self, method, url, *args, **kwargs):
        u = urlsplit(url)
        if u.hostname in self.HOSTS:
            url = urlunsplit((self.fake.scheme, self.fake.netloc, u.path, u.query, u.fragment))
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, *args, **kwargs)


class Control:
    """The control API of one fake (docs/sandbox.md, "The control API")."""

    def __init__(self, url):
        self.url = url

    def get(self, path):
        r = requests.get(self.url + path, timeout=TIMEOUT)
        r.raise_for_status()
        return r.json()

    def post(self, path, body):
        return requests.post(self.url + path, json=body, timeout=TIMEOUT)

    def state(self):
        return self.get("/state")

    def requests(self):
        return self.get("/requests")

    def clear_requests(self):
        requests.delete(self.url + "/requests", timeout=TIMEOUT)

    def add_fault(self, rule):
        """POST /faults exactly as docs/sandbox.md shows; returns the response."""
        return self.post("/faults", rule)

    def fault(self, rule):
        """Add a rule that must be accepted; returns its id."""
        r = self.add_fault(rule)
        check(r.status_code == 201, f"the fault rule {rule} was refused: {r.status_code} {r.text}")
        return r.json()["id"]

    def faults(self):
        return self.get("/faults")

    def clear_faults(self):
        requests.delete(self.url + "/faults", timeout=TIMEOUT)


# --- What the steps get -------------------------------------------------------------------


class Ctx:
    """The sandbox's JSON line plus ready-made clients. Clients are built on first use."""

    def __init__(self, world):
        self.world = world
        self._account = None
        self._servers = {}
        self._jellyfin = None
        self.notes = {}  # what one step leaves for a later one (ids of users it made)

    # Plex
    @property
    def plex_tv(self):
        return self.world["plex_tv"]

    def plex_server_info(self, name="Plex Alpha"):
        return next(s for s in self.world["plex_servers"] if s["name"] == name)

    def plex_session(self):
        return PlexTvSession(self.plex_tv["url"])

    def account(self):
        from plexapi.myplex import MyPlexAccount

        if self._account is None:
            self._account = MyPlexAccount(token=self.plex_tv["token"], session=self.plex_session())
        return self._account

    def server(self, name="Plex Alpha", token=None, timeout=None):
        from plexapi.server import PlexServer

        info = self.plex_server_info(name)
        key = (name, token, timeout)
        if key not in self._servers:
            self._servers[key] = PlexServer(
                info["url"], token or info["token"], session=self.plex_session(), timeout=timeout
            )
        return self._servers[key]

    def plex_headers(self, token=None, json_=True):
        """The headers python-plexapi sends (plexapi/__init__.py BASE_HEADERS) plus the token."""
        from plexapi import BASE_HEADERS

        h = dict(BASE_HEADERS)
        h["X-Plex-Token"] = token or self.plex_tv["token"]
        if json_:
            h["Accept"] = "application/json"
        return h

    def plex_tv_raw(self, method, path, token=None, json_=True, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return requests.request(
            method, self.plex_tv["url"] + path, headers=self.plex_headers(token, json_), **kw
        )

    def pms_raw(self, method, path, name="Plex Alpha", token=None, json_=True, **kw):
        info = self.plex_server_info(name)
        kw.setdefault("timeout", TIMEOUT)
        return requests.request(
            method, info["url"] + path, headers=self.plex_headers(token or info["token"], json_), **kw
        )

    # Jellyfin
    @property
    def jf(self):
        return self.world["jellyfin"]

    def jellyfin(self):
        """jellyfin-apiclient-python's API object, signed in with the sandbox's api key."""
        if self._jellyfin is None:
            self._jellyfin = new_jellyfin_client(self.jf["url"], self.jf["api_key"])
        return self._jellyfin.jellyfin

    def jellyfin_client(self):
        self.jellyfin()
        return self._jellyfin

    def jf_raw(self, method, path, token=None, **kw):
        """A request with the headers jellyfin-apiclient-python sends (http.py
        _get_default_headers), for calls the library has no method for."""
        c = self.jellyfin_client()
        headers = c.http._get_default_headers()
        if token is not None:
            headers["Authorization"] = headers["Authorization"].replace(
                f'Token="{self.jf["api_key"]}"', f'Token="{token}"'
            )
        kw.setdefault("timeout", TIMEOUT)
        return requests.request(method, self.jf["url"] + path, headers=headers, **kw)

    # Emby
    @property
    def emby(self):
        return self.world["emby"]

    def emby_headers(self, token=None):
        """Emby's documented headers: `X-Emby-Token` for an api key or access token and
        `X-Emby-Authorization: Emby Client=…, Device=…, DeviceId=…, Version=…` (Emby.SDK
        Documenation/doc/restapi/API-Key-Authentication.html, User-Authentication.html)."""
        h = {
            "Accept": "application/json",
            "X-Emby-Authorization": 'Emby Client="boxoffice-contract", Device="python", '
            'DeviceId="contract-emby-1", Version="1.0"',
        }
        if token != "":
            h["X-Emby-Token"] = token or self.emby["api_key"]
        return h

    def emby_raw(self, method, path, token=None, **kw):
        kw.setdefault("timeout", TIMEOUT)
        return requests.request(method, self.emby["url"] + path, headers=self.emby_headers(token), **kw)

    # Control APIs
    def control(self, service):
        if service == "plex.tv":
            return Control(self.plex_tv["control"])
        if service.startswith("Plex "):
            return Control(self.plex_server_info(service)["control"])
        if service == "Jellyfin":
            return Control(self.jf["control"])
        if service == "Emby":
            return Control(self.emby["control"])
        if service in ("Stripe", "PayPal", "Plisio"):
            return Control(self.world[service.lower()]["control"])
        raise KeyError(service)

    def all_controls(self):
        services = ["plex.tv", "Plex Alpha", "Plex Beta", "Jellyfin", "Emby"]
        services += [s for s in ("Stripe", "PayPal", "Plisio") if s.lower() in self.world]
        return [self.control(s) for s in services]


def new_jellyfin_client(url, token):
    from jellyfin_apiclient_python import JellyfinClient

    c = JellyfinClient()
    c.config.app("boxoffice-contract", "1.0", "contract", "contract-device-1")
    c.config.data["auth.ssl"] = False
    c.config.data["http.timeout"] = TIMEOUT
    c.config.data["http.max_retries"] = 0
    c.authenticate({"Servers": [{"AccessToken": token, "address": url}]}, discover=False)
    return c


# --- Running ------------------------------------------------------------------------------


def describe_failure(s, detail):
    return (
        f"FAIL  {s.service}: {s.call}\n"
        f"      expected: {s.expect}\n"
        f"      source:   {s.source}\n"
        f"      got:      {detail}"
    )


def run(binary, log_path, only=None, report=None):
    sandbox = Sandbox(binary, log_path)
    ctx = Ctx(sandbox.world)
    results = []
    try:
        for s in STEPS:
            if only and not any(o in s.name for o in only):
                continue
            started = time.monotonic()
            try:
                s.fn(ctx)
                ok, detail = True, ""
            except StepFailed as e:
                ok, detail = False, str(e)
            except Exception as e:  # a client error is the step's result, not a crash
                last = traceback.extract_tb(e.__traceback__)[-1]
                ok, detail = False, f"{type(e).__name__}: {e} (at {os.path.basename(last.filename)}:{last.lineno})"
            finally:
                for c in ctx.all_controls():
                    try:
                        c.clear_faults()
                    except requests.RequestException:
                        pass
            secs = time.monotonic() - started
            results.append({"step": s.name, "service": s.service, "call": s.call, "ok": ok,
                            "detail": detail, "expect": s.expect, "source": s.source})
            if ok:
                print(f"ok    {s.service}: {s.call}  ({secs:.2f}s)")
            else:
                print(describe_failure(s, detail))
            sys.stdout.flush()
    finally:
        code = sandbox.stop()
    if code != 0:
        results.append({"step": "sandbox_exit", "service": "sandbox", "call": "SIGTERM", "ok": False,
                        "detail": f"exit code {code}", "expect": "exit 0", "source": "docs/sandbox.md"})
        print(f"FAIL  sandbox: SIGTERM\n      expected: exit code 0\n      got:      {code}")
    if report:
        with open(report, "w") as f:
            json.dump(results, f, indent=1)
    passed = sum(r["ok"] for r in results)
    failed = [r for r in results if not r["ok"]]
    print()
    if failed:
        print(f"{passed} of {len(results)} steps passed; {len(failed)} failed:")
        for r in failed:
            print(f"  - {r['step']} ({r['service']}: {r['call']})")
        return 1
    print(f"{passed} step{'s' if passed != 1 else ''} passed")
    return 0
