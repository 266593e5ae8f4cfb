#!/usr/bin/env python3
"""Measures the customer-facing pages of a running demo: the home page (with its pricing section),
and the checkout page as the demo customer sees it. Usage:

    scripts/measure_pages.py PATH/TO/boxoffice [requests]

Starts `boxoffice demo` (release build) in a fresh data directory, logs in as the demo customer
from the demo's first line, warms each page up with 20 requests, then times `requests` (default
300) sequential GETs of each over one keep-alive connection, from sending the request to reading
the whole body. Prints one line of JSON per page (median, p95, max in milliseconds) for
docs/performance.md. The goal is a median of at most 5 ms."""
import http.client, json, os, re, signal, statistics, subprocess, sys, tempfile, time, urllib.parse


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    data = tempfile.mkdtemp(prefix="bo-measure-pages-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_LOG="warn")
    demo = subprocess.Popen([binary, "--data-dir", data, "demo"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = json.loads(demo.stdout.readline())
        url = urllib.parse.urlparse(line["url"])
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)

        def get(path, cookie=""):
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            r = conn.getresponse()
            body = r.read()
            return r, body

        # Log in as the demo customer: the login form's CSRF cookie and token, then the session.
        r, body = get("/login")
        cookies = "; ".join(c.split(";")[0] for c in r.headers.get_all("Set-Cookie") or [])
        csrf = re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()
        form = urllib.parse.urlencode({"email": line["customer"]["email"],
                                       "password": line["customer"]["password"], "csrf": csrf})
        conn.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
        r = conn.getresponse()
        r.read()
        session = "; ".join(c.split(";")[0] for c in r.headers.get_all("Set-Cookie") or [])
        assert r.status == 303, f"customer login answered {r.status}"

        pages = [("home (with pricing), visitor", "/", ""),
                 ("home (with pricing), customer", "/", session),
                 ("checkout, customer", "/checkout", session)]
        for name, path, cookie in pages:
            for _ in range(20):
                r, _ = get(path, cookie)
            assert r.status == 200, f"{path} answered {r.status}"
            times = []
            for _ in range(n):
                t = time.perf_counter()
                r, body = get(path, cookie)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status == 200
            times.sort()
            print(json.dumps({
                "page": name, "path": path, "requests": n, "bytes": len(body),
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
                "max_ms": round(times[-1], 2),
            }))
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=10)
        except subprocess.TimeoutExpired:
            demo.kill()


if __name__ == "__main__":
    main()
