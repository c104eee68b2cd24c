#!/usr/bin/env python3
"""The one-time fill of conflict sketches (migration 0019) on a catalogue from before it, while the daemon serves.

    Benchmarks/sketch-fill.py --state NAME [--binary PATH]

NAME is a state folder under Benchmarks/work whose catalogue has block keys without sketches (one that an older
calisd grew, such as the full run's `growth`), its daemon stopped. Needs root: the page cache is dropped first,
as after a reboot. The daemon starts; the script reports how soon it answers, then asks for union records (ten a
second, round the catalogue) until the daemon logs that the fill is done, and reports how long the fill took,
the answers' latency and the daemon's peak RSS.
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True)
    parser.add_argument("--binary", default=load.BINARY)
    arguments = parser.parse_args()
    work = os.path.join(load.WORK, arguments.state)
    catalogue = os.path.join(work, "state", "catalogue.sqlite")
    ids = subprocess.run(["sqlite3", "-readonly", catalogue,
                          "SELECT id FROM union_records WHERE status = 'active' AND id % 5000 = 0 LIMIT 1000"],
                         capture_output=True, text=True, check=True).stdout.split()
    if not ids:
        sys.exit(f"{catalogue}: no union records to ask for")
    config = os.path.join(work, "calisd-sketch-fill.toml")
    with open(config, "w") as handle:
        handle.write('state_dir = "state"\ndrop_dir = "drop"\nsocket = "calisd.sock"\n')
    sock = os.path.join(work, "calisd.sock")
    log_path = os.path.join(work, "calisd-sketch-fill.log")
    load.drop_page_cache()
    time.sleep(10)
    with open(log_path, "w") as log:
        started = time.monotonic()
        daemon = subprocess.Popen([arguments.binary, "serve", "--config", config], stderr=log, stdout=log)
    try:
        load.wait_answering(sock, 7200)
        print(f"answering after {time.monotonic() - started:.1f} s", flush=True)
        latencies = []
        failed = 0
        while True:
            with open(log_path) as log:
                text = log.read()
            if "conflict sketches filled for existing block keys" in text or "conflict sketch fill failed" in text:
                break
            for union in ids[len(latencies) % len(ids):][:10]:
                asked = time.monotonic()
                status, _ = load.call(sock, "GET", f"/v1/records/CAL{int(union):09d}")
                latencies.append(time.monotonic() - asked)
                failed += status != 200
            time.sleep(max(0.0, 1.0 - sum(latencies[-10:])))
        seconds = time.monotonic() - started
        ordered = sorted(latencies) or [0.0]
        line = next((line for line in text.splitlines() if "conflict sketch" in line and "filling" not in line), "")
        print(f"{line.strip()}\nfill done {seconds:.1f} s after the start; {len(latencies):,} union-id answers meanwhile, "
              f"{failed} failed: p50 {ordered[len(ordered) // 2] * 1000:.1f} ms, "
              f"p99 {ordered[int(len(ordered) * 0.99)] * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms; "
              f"peak RSS {load.peak_rss_kib(daemon.pid) // 1024} MiB", flush=True)
    finally:
        daemon.terminate()
        daemon.wait()


if __name__ == "__main__":
    main()
