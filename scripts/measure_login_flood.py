#!/usr/bin/env python3
"""Floods `boxoffice serve` with concurrent wrong-password logins from one address and reports
the process's resident memory and the answers it gave.

Usage: scripts/measure_login_flood.py PATH/TO/boxoffice [logins] [same|distinct]

A fresh data directory and SQLite database are created, an administrator is added with
`boxoffice admin create`, the server is started, and `logins` (default 200) POST /login requests
are sent at once from 127.0.0.1. `distinct` (the default) gives each a different unknown e-mail,
as credential stuffing does, so only the per-address limit applies; `same` uses the
administrator's e-mail with a wrong password. Memory is read from /proc/PID/status (VmRSS every
5 ms, and VmHWM, the kernel's own peak). Prints one line of JSON, e.g. for docs/security.md."""
import collections, concurrent.futures, http.client, json, os, re, shutil, socket, subprocess
import sys, tempfile, threading, time, urllib.parse

ADMIN = "owner@example.com"
PASSWORD = "Sup3r-Secret!"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read().decode("utf-8", "replace")
    cookies = r.headers.get_all("Set-Cookie") or []
    c.close()
    return r.status, body, cookies


def wait_healthy(port, deadline):
    while time.time() < deadline:
        try:
            if get(port, "/healthz")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def login(port, cookie, csrf, email):
    body = urllib.parse.urlencode({"email": email, "password": "Wrong-pass1!", "csrf": csrf})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        c.request("POST", "/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
        })
        r = c.getresponse()
        r.read()
        return r.status, r.headers.get("Retry-After")
    except OSError as e:
        return f"error: {e.__class__.__name__}", None
    finally:
        c.close()


def main():
    binary = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    mode = sys.argv[3] if len(sys.argv) > 3 else "distinct"
    data = tempfile.mkdtemp(prefix="bo-login-flood-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_DATA_DIR=data, BOXOFFICE_LISTEN=f"127.0.0.1:{port}", BOXOFFICE_LOG="warn")
    pw_file = os.path.join(data, "pw")
    with open(pw_file, "w") as f:
        f.write(PASSWORD)
    subprocess.run([binary, "admin", "create", "--email", ADMIN, "--password-file", pw_file],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        if not wait_healthy(port, time.time() + 30):
            sys.exit("the server did not become healthy")
        _, page, cookies = get(port, "/login")
        cookie = "; ".join(c.split(";")[0] for c in cookies)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        time.sleep(1)
        before = status_kib(p.pid, "VmRSS")

        peak = [before]
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], status_kib(p.pid, "VmRSS"))
                except OSError:
                    return
                time.sleep(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        emails = [ADMIN if mode == "same" else f"visitor{i}@example.net" for i in range(n)]
        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
            answers = list(pool.map(lambda e: login(port, cookie, csrf, e), emails))
        took = time.time() - start
        done.set()
        watcher.join()
        hwm = status_kib(p.pid, "VmHWM")
        after = status_kib(p.pid, "VmRSS")
        statuses = collections.Counter(str(s) for s, _ in answers)
        retry_after = sorted({int(r) for s, r in answers if r is not None})
        print(json.dumps({
            "logins": n,
            "emails": mode,
            "rss_before_mib": round(before / 1024, 1),
            "rss_peak_mib": round(max(peak[0], hwm) / 1024, 1),
            "rss_after_mib": round(after / 1024, 1),
            "statuses": dict(sorted(statuses.items())),
            "retry_after_secs": retry_after,
            "seconds": round(took, 2),
        }))
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
