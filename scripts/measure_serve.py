#!/usr/bin/env python3
"""Measures `boxoffice serve` on SQLite: time from process start to the first 200 from /healthz,
and resident memory once idle. Usage: scripts/measure_serve.py PATH/TO/boxoffice [runs]

Writes one line of JSON with the figures, e.g. for docs/performance.md."""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def one_run(binary, fresh):
    data = tempfile.mkdtemp(prefix="bo-measure-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env.update(BOXOFFICE_DATA_DIR=data, BOXOFFICE_LISTEN=f"127.0.0.1:{port}", BOXOFFICE_LOG="warn")
    if not fresh:
        subprocess.run([binary, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    healthy = None
    deadline = start + 10
    while time.perf_counter() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    healthy = time.perf_counter() - start
                    break
        except OSError:
            time.sleep(0.002)
    time.sleep(3)  # let start-up allocations settle before reading the idle footprint
    rss = rss_kib(p.pid)
    p.terminate()
    p.wait(timeout=30)
    shutil.rmtree(data, ignore_errors=True)
    return healthy, rss


def main():
    binary = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    out = {}
    for label, fresh in (("fresh_data_dir", True), ("existing_database", False)):
        results = [one_run(binary, fresh) for _ in range(runs)]
        times = [r[0] * 1000 for r in results if r[0] is not None]
        rss = [r[1] / 1024 for r in results]
        out[label] = {
            "runs": runs,
            "start_to_healthy_ms_median": round(statistics.median(times), 1),
            "start_to_healthy_ms_max": round(max(times), 1),
            "idle_rss_mib_median": round(statistics.median(rss), 1),
            "idle_rss_mib_max": round(max(rss), 1),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
