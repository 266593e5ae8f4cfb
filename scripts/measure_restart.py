#!/usr/bin/env python3
"""SIGTERM or kill -9 during a bulk import, and the restart after it, with the real binary.

`boxoffice demo` (workers off) hosts the fakes, the demo catalogue and the web server; a
separate `boxoffice serve` on the demo's database (a data directory of its own, since one
process holds a data directory, and the demo's secret key) runs the job workers, so it can be
stopped and started while the fakes keep their state. Jellyfin user creation is slowed to
DELAY_MS per call (a fault rule), so the import is still running when the signal arrives.

Measures: how long `serve` takes to exit after the signal, the import job's row right after
(state, attempts, lease), and how long after the next `serve` starts the import invites its next
row and finishes. Uses only the Python standard library.

    python3 scripts/measure_restart.py target/release/boxoffice [runs] [term|kill|both]
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROWS = 60
DELAY_MS = 150


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def db_path(url):
    path = url.split("sqlite://", 1)[1].split("?", 1)[0]
    return path


def query(db, sql):
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def start_serve(binary, env):
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    p.stdout.readline()  # "boxoffice listening on …"
    return p


def wait_until(pred, limit=60.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        v = pred()
        if v:
            return time.monotonic() - t0
        time.sleep(0.005)
    raise SystemExit("timed out")


def one_run(binary, sig):
    data = tempfile.mkdtemp(prefix="boxoffice-restart-")
    env = dict(os.environ, BOXOFFICE_DATA_DIR=data, BOXOFFICE_LOG="warn")
    demo = subprocess.Popen([binary, "demo"], env=dict(env, BOXOFFICE_JOBS__RUN="false"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = json.loads(demo.stdout.readline())
    db = db_path(line["database_url"])
    # The demo picks a data directory of its own; the other commands use the one it names.
    env = dict(env, BOXOFFICE_DATA_DIR=line["data_dir"])
    jf = line["sandbox"]["jellyfin"]
    http("POST", jf["control"] + "/faults",
         json.dumps({"path": "/Users/New", "method": "POST",
                     "action": {"type": "delay", "ms": DELAY_MS}}).encode(),
         {"Content-Type": "application/json"})
    token = subprocess.run([binary, "admin", "token", "create", "--email",
                            line["admin"]["email"], "--name", "restart"],
                           env=env, capture_output=True, text=True, check=True).stdout.strip()
    serve_env = dict(env, BOXOFFICE_LISTEN="127.0.0.1:0",
                     BOXOFFICE_DATA_DIR=tempfile.mkdtemp(prefix="boxoffice-restart-serve-"),
                     BOXOFFICE_DATABASE_URL=line["database_url"],
                     BOXOFFICE_SECRET_KEY_FILE=os.path.join(line["data_dir"], "secret.key"))
    serve = start_serve(binary, serve_env)

    csv = "Email,Server Name,Plan Name,Username\n" + "".join(
        f"rs{i:03}@example.com,{jf['name']},Basic,rs{i:03}\n" for i in range(ROWS))
    b = "restartboundary"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{csv}\r\n--{b}--\r\n").encode()
    started = http("POST", line["url"] + "/api/v1/bulk-invites", body,
                   {"Authorization": f"Bearer {token}",
                    "Content-Type": f"multipart/form-data; boundary={b}"})
    bid = started["id"]
    done = lambda: query(db, f"SELECT done_rows FROM bulk_invites WHERE id = {bid}")[0]
    wait_until(lambda: done() >= 5)

    t0 = time.monotonic()
    serve.send_signal(signal.SIGKILL if sig == "kill" else signal.SIGTERM)
    code = serve.wait(timeout=120)
    exit_s = time.monotonic() - t0
    at_stop = done()
    job = query(db, "SELECT state, attempts, lease_until FROM jobs "
                    f"WHERE kind = 'bulk_invite.run' AND payload LIKE '%\"bulk_invite_id\":{bid}%'")
    state = query(db, f"SELECT state FROM bulk_invites WHERE id = {bid}")[0]

    t1 = time.monotonic()
    serve = start_serve(binary, serve_env)
    wait_until(lambda: done() > at_stop, 600)
    resume_s = time.monotonic() - t1
    wait_until(lambda: query(db, f"SELECT state FROM bulk_invites WHERE id = {bid}")[0]
               == "finished", 600)
    finish_s = time.monotonic() - t1
    final = query(db, f"SELECT done_rows, failed_rows FROM bulk_invites WHERE id = {bid}")
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=60)
    demo.send_signal(signal.SIGTERM)
    demo.wait(timeout=60)
    return {
        "signal": sig,
        "signal_to_exit_s": round(exit_s, 3),
        "exit_code": code,
        "rows_done_at_stop": at_stop,
        "job_after_stop": {"state": job[0], "attempts": job[1], "lease_until": job[2]},
        "import_after_stop": state,
        "restart_to_next_row_s": round(resume_s, 3),
        "restart_to_finished_s": round(finish_s, 3),
        "done_failed": list(final),
    }


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/boxoffice"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    mode = sys.argv[3] if len(sys.argv) > 3 else "both"
    signals = ["term", "kill"] if mode == "both" else [mode]
    for sig in signals:
        for _ in range(runs):
            print(json.dumps(one_run(binary, sig)), flush=True)


if __name__ == "__main__":
    main()
