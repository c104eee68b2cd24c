#!/usr/bin/env python3
"""An OAI-PMH harvest through the daemon against Sickle, a Python harvester, from the same provider, in the same run.

    Benchmarks/harvest.py [--records 20000] [--page 500] [--no-build]

The provider is Tests/Oracles/oai_provider.py (pyoai's server) serving real LoC records as MARCXML: the 20,000
records of ../shared/data/marc/lc-booksall-2016/ when it is there, else the first N of the BooksAll file that
load.py fetches. The anchor is Sickle (PyPI `sickle`, lxml underneath) iterating ListRecords over every page;
pyoai's own client no longer runs on current lxml. calisd is a release `calisd serve` with one member set to `--source oai`, asked to `refresh` it: the
harvest time is the daemon's own (Identify to the last page, files handed to ingest), and "to current" runs
until every harvested file is ingested. Both harvesters wait on the same Python provider, which bounds both.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import ROOT, WORK, booksall, call, first_records, peak_rss_kib, start_daemon  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data", "marc", "lc-booksall-2016",
                      "booksall-2016-part01-first20000.utf8.mrc")
PROVIDER = os.path.join(ROOT, "Tests", "Oracles", "oai_provider.py")


def start_provider(records, page, folder):
    os.makedirs(folder, exist_ok=True)
    state = os.path.join(folder, "state.json")
    with open(state, "w") as handle:
        json.dump({}, handle)
    port_file = os.path.join(folder, "port")
    process = subprocess.Popen(
        [sys.executable, PROVIDER, "--marc", records, "--state", state, "--port-file", port_file,
         "--log", os.path.join(folder, "requests.log"), "--batch", str(page)],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, "provider.log"), "w"))
    for _ in range(600):
        if os.path.exists(port_file):
            break
        time.sleep(0.1)
    with open(port_file) as handle:
        return process, f"http://127.0.0.1:{handle.read().strip()}/oai"


def sickle_harvest(url):
    # pyoai 2.5.0's own client fails on current lxml (XPathElementEvaluator.evaluate is gone): Sickle it is.
    from sickle import Sickle

    start, cpu = time.monotonic(), time.process_time()
    count = sum(1 for _ in Sickle(url, max_retries=3).ListRecords(metadataPrefix="marc21", ignore_deleted=True))
    return count, time.monotonic() - start, time.process_time() - cpu


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def calisd_harvest(url, count):
    daemon, _, sock, log = start_daemon("harvest-daemon", "[refresh]\njitter_percent = 0\n")
    try:
        settings = {"refresh": {"source": "oai", "interval_seconds": 86400, "oai_url": url}}
        assert call(sock, "PATCH", "/v1/members/M001", json.dumps(settings).encode())[0] == 200
        start, cpu = time.monotonic(), cpu_seconds(daemon.pid)
        assert call(sock, "POST", "/v1/refresh/M001")[0] == 202
        while True:
            _, policy = call(sock, "GET", "/v1/refresh/M001")
            if policy.get("last_success") or policy["failures"]:
                break
            time.sleep(0.05)
        assert policy["failures"] == 0, policy
        summary = policy["last_harvest"]
        while True:
            _, files = call(sock, "GET", "/v1/files?member=M001&limit=1000")
            if len(files) == len(summary["files"]) and all(f["state"] in ("done", "failed", "held", "rejected") for f in files):
                break
            time.sleep(0.05)
        current = time.monotonic() - start
        cpu = cpu_seconds(daemon.pid) - cpu
        rss = peak_rss_kib(daemon.pid)
        _, status = call(sock, "GET", "/v1/status")
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()
    assert summary["records"] == count and status["records"]["source"] == count, (summary, status["records"])
    assert all(f["state"] == "done" for f in files), files
    return summary, current, cpu, rss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--no-build", action="store_true")
    arguments = parser.parse_args()
    if not arguments.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True)
    if arguments.records == 20000 and os.path.exists(SHARED):
        records = SHARED
    else:
        records = first_records(booksall(), arguments.records)
    folder = os.path.join(WORK, "harvest-provider")
    shutil.rmtree(folder, ignore_errors=True)
    provider, url = start_provider(records, arguments.page, folder)
    try:
        anchor_count, anchor_seconds, anchor_cpu = sickle_harvest(url)
        assert anchor_count == arguments.records, anchor_count
        summary, current, cpu, rss = calisd_harvest(url, arguments.records)
    finally:
        provider.terminate()
        provider.wait()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores")
    print("| records | pages | Sickle s (CPU s) | calisd harvest s | calisd ÷ Sickle | calisd to current: harvest + ingest s (daemon CPU s) | "
          "records/s to current | daemon peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {arguments.records:,} | {summary['pages']} | {anchor_seconds:.2f} ({anchor_cpu:.2f}) | {summary['seconds']:.2f} | "
          f"{summary['seconds'] / anchor_seconds:.2f}× | {current:.2f} ({cpu:.2f}) | {arguments.records / current:,.0f} | {rss:.0f} |")


if __name__ == "__main__":
    main()
