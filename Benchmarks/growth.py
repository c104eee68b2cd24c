#!/usr/bin/env python3
"""Growth curve: the catalogue loaded through the daemon in steps, 794 members' drops at CALIS scale.

    Benchmarks/growth.py [--steps 1000000,2000000,4000000,8000000] [--chunk 1000000] [--no-build]

The drops come from `calis-generate` (Benchmarks/Generator, see Benchmarks/README.md): manifestations made from
the real shared LoC records, each held by 1-40 of 794 members (a long tail, about 1.9 copies each), with member
noise and holdings, a quarter of the members sending CNMARC. A release `calisd serve` runs on a fresh state folder
with the 794 members; each step generates up to the step's total of source records, in chunks of --chunk records
(one ISO 2709 file per member a chunk), renames them into the drop folders together, and times until every file
is done. Generated files are deleted when taken and the archive after each chunk, so the disk holds one chunk.
After each step: records/s of the step, the daemon's peak RSS (VmHWM), the database on disk, and with h2load on
one connection (p50/p99 from its per-request log) 2,000 lookups by union id, 2,000 by ISBN and 500 title searches.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
import api  # noqa: E402

ROOT = load.ROOT
WORK = load.WORK
GENERATOR = os.path.join(ROOT, ".build", "release", "calis-generate")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
MEMBERS = 794


def generate(out, start, records):
    result = subprocess.run([GENERATOR, "--shared", SHARED, "--out", out, "--from", str(start), "--records", str(records)],
                            capture_output=True, text=True, check=True)
    words = result.stdout.split()
    return int(words[2]), int(words[4])


def ingest_chunk(state, sock, stage):
    """Moves a generated chunk into the drop folders at once; returns when every file is finished."""
    names = []
    for member in sorted(os.listdir(stage)):
        for name in os.listdir(os.path.join(stage, member)):
            names.append((member, name))
    _, before = load.call(sock, "GET", "/v1/status")
    for member, name in names:
        os.rename(os.path.join(stage, member, name), os.path.join(state, "drop", member, name))
    while True:
        time.sleep(0.5)
        _, status = load.call(sock, "GET", "/v1/status")
        ingest = status["ingest"]
        if ingest["queued"] == 0 and ingest["active"] == 0 and not any(
                os.path.exists(os.path.join(state, "drop", member, name)) for member, name in names):
            break
    failed = status["ingest"]["failed"] - before["ingest"]["failed"]
    held = status["ingest"]["held"] - before["ingest"]["held"]
    assert failed == 0 and held == 0, (failed, held)
    return status


def latency(sock, uris, requests):
    rate, failed, p50, p99, codes, _ = api.h2load(sock, uris, 1, requests)
    return p50, p99, failed, codes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", default="1000000,2000000,4000000,8000000")
    parser.add_argument("--chunk", type=int, default=1_000_000)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--name", default="growth", help="the state folder under Benchmarks/work (incremental.py reads growth)")
    arguments = parser.parse_args()
    if not arguments.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "calis-generate"], cwd=ROOT, check=True)
    daemon, state, sock, log = load.start_daemon(arguments.name, "[ingest]\nsettle_seconds = 1\n")
    stage = os.path.join(WORK, arguments.name + "-stage")
    try:
        for member in range(2, MEMBERS + 1):
            status, _ = load.call(sock, "POST", "/v1/members",
                                  json.dumps({"code": f"M{member:03d}", "name": f"Member {member}"}).encode())
            assert status == 201, status
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores, {MEMBERS} members")
        print("| source records | union records | manifestations | step records/s | generation s | peak RSS MiB | database GB | "
              "KiB a record read / written by system calls; from / to the disk | "
              "union id p50/p99 ms | ISBN p50/p99 ms | title search p50/p99 ms |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        loaded = 0
        manifestation = 0
        first_cost = None
        for target in [int(text) for text in arguments.steps.split(",")]:
            step_records = 0
            step_seconds = 0.0
            generation = 0.0
            # Between chunks the daemon only waits, so the step's counts are its ingest's.
            io_before = load.io_counts(daemon.pid)
            while loaded < target:
                shutil.rmtree(stage, ignore_errors=True)
                started = time.monotonic()
                manifestation, made = generate(stage, manifestation, min(arguments.chunk, target - loaded))
                generation += time.monotonic() - started
                started = time.monotonic()
                status = ingest_chunk(state, sock, stage)
                step_seconds += time.monotonic() - started
                step_records += made
                loaded += made
                shutil.rmtree(os.path.join(state, "state", "archive"), ignore_errors=True)
            rate = step_records / step_seconds
            io = load.io_per_record(io_before, load.io_counts(daemon.pid), step_records)
            cost = step_seconds / step_records
            first_cost = first_cost or cost
            database = sum(os.path.getsize(os.path.join(state, "state", name))
                           for name in os.listdir(os.path.join(state, "state")) if name.startswith("catalogue.sqlite"))
            db = os.path.join(state, "state", "catalogue.sqlite")
            ids = subprocess.run(["sqlite3", db, "SELECT id FROM union_records WHERE status = 'active' "
                                  "AND id % 97 = 0 LIMIT 2000"], capture_output=True, text=True, check=True).stdout.split()
            union = latency(sock, [f"/v1/records/CAL{int(i):09d}" for i in ids], 2000)
            isbns = [isbn13(i) for i in range(0, manifestation, max(1, manifestation // 2000))][:2000]
            isbn = latency(sock, [f"/v1/records?isbn={value}" for value in isbns], 2000)
            words = ["history", "china", "education", "law", "art", "science", "economic", "policy", "中国", "文化"]
            search = latency(sock, [f"/v1/search?title={w}" if w.isascii() else "/v1/search?title=" +
                                    "".join(f"%{b:02X}" for b in w.encode()) for w in words], 500)
            print(f"| {loaded:,} | {status['records']['union']:,} | {manifestation:,} | {rate:,.0f} "
                  f"({cost / first_cost:.2f}× the first's cost per record) | {generation:.0f} | "
                  f"{load.peak_rss_kib(daemon.pid) / 1024:.0f} | {database / 1e9:.2f} | {io} | {union[0]:.2f}/{union[1]:.2f} | "
                  f"{isbn[0]:.2f}/{isbn[1]:.2f} | {search[0]:.2f}/{search[1]:.2f} |", flush=True)
            assert union[2] == 0 and isbn[2] == 0 and search[2] == 0, (union, isbn, search)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        daemon.terminate()
        daemon.wait()
        log.close()


def isbn13(index):
    """The ISBN calis-generate gives manifestation `index` (most have one; a miss is a lookup too)."""
    body = ("9780" if index % 2 == 0 else "9781") + f"{index % 100_000_000:08d}"
    total = sum(int(d) * (1 if n % 2 == 0 else 3) for n, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


if __name__ == "__main__":
    main()
