#!/usr/bin/env python3
"""An incremental day on the catalogue growth.py built: 100 members each send a 5,000-record update.

    Benchmarks/incremental.py [--members 100] [--records 5000] [--no-build] [--state NAME] [--binary PATH]

Restarts a release daemon (or BINARY) on Benchmarks/work/growth (or NAME; the state growth.py left). For each of the 100 members with
the most records: 5,000 of its stored records sent again with a changed title (245 $a, or 200 $a for CNMARC), as
an update file; every tenth of those members also deletes 500 of its other records (`.delete.txt`); and one
member sends a full snapshot of all its records less 2 % (withdrawn, under the 10 % guard). All files go into the
drop folders at once. Reports how long until every file is done and the catalogue current, and the latency of
lookups by union id measured with h2load (64 connections, p50/p99 from its log) before and during the update.
"""
import argparse
import io
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pymarc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
import api  # noqa: E402

ROOT = load.ROOT
WORK = load.WORK


def changed(blob, stamp):
    record = next(pymarc.MARCReader(io.BytesIO(blob), to_unicode=True, force_utf8=True))
    tag = "245" if record.get("245") else "200"
    field = record.get(tag)
    if field is not None and field.get("a"):
        field["a"] = field["a"].rstrip(" /:") + f" ({stamp})"
    record.force_utf8 = True
    return record.as_marc()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--state", default="growth", help="a state folder under Benchmarks/work")
    parser.add_argument("--binary", default=load.BINARY)
    arguments = parser.parse_args()
    if not arguments.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True)
    state = os.path.join(WORK, arguments.state)
    database = os.path.join(state, "state", "catalogue.sqlite")
    stage = os.path.join(WORK, "incremental-stage")
    os.makedirs(stage, exist_ok=True)

    # The update files, made from what the members hold (read-only, before the daemon starts).
    started = time.monotonic()
    reader = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    members = [row[0] for row in reader.execute(
        "SELECT member, count(*) AS n FROM source_records WHERE status = 'active' GROUP BY member ORDER BY n DESC LIMIT ?",
        (arguments.members,))]
    files = []
    counts = {"changed": 0, "deleted": 0, "snapshot": 0}
    stamp = time.strftime("%Y%m%d%H%M")
    for number, member in enumerate(members):
        rows = reader.execute("SELECT local_id, record FROM source_records WHERE member = ? AND status = 'active' ORDER BY id",
                              (member,)).fetchall()
        if number == len(members) - 1:
            # The last (smallest) of them sends a full snapshot: every record but 2 %.
            keep = rows[: len(rows) - len(rows) // 50]
            path = os.path.join(stage, f"{member}-day.full.mrc")
            with open(path, "wb") as handle:
                for _, blob in keep:
                    handle.write(blob)
            files.append((member, path))
            counts["snapshot"] += len(keep)
            continue
        path = os.path.join(stage, f"{member}-day.mrc")
        with open(path, "wb") as handle:
            for _, blob in rows[: arguments.records]:
                handle.write(changed(blob, stamp))
        files.append((member, path))
        counts["changed"] += min(len(rows), arguments.records)
        if number % 10 == 0:
            gone = [local for local, _ in rows[arguments.records: arguments.records + 500]]
            path = os.path.join(stage, f"{member}-day.delete.txt")
            with open(path, "w") as handle:
                handle.write("\n".join(gone) + "\n")
            files.append((member, path))
            counts["deleted"] += len(gone)
    ids = [row[0] for row in reader.execute(
        "SELECT id FROM union_records WHERE status = 'active' AND id % 4001 = 0 LIMIT 1000")]
    reader.close()
    preparation = time.monotonic() - started

    daemon, sock, log = restart(state, arguments.binary)
    try:
        uris = [f"/v1/records/CAL{i:09d}" for i in ids]
        before = api.h2load(sock, uris, 64, 20000)
        _, status = load.call(sock, "GET", "/v1/status")
        # The files are listed newest first, at most 10,000: the update's are those after the newest now.
        listed = load.call(sock, "GET", "/v1/files?limit=1")[1]
        newest_before = listed[0]["id"] if listed else 0
        during = {}

        def measure():
            time.sleep(2)
            during["result"] = api.h2load(sock, uris, 64, 20000)

        started = time.monotonic()
        for member, path in files:
            os.rename(path, os.path.join(state, "drop", member, os.path.basename(path)))
        thread = threading.Thread(target=measure)
        thread.start()
        while True:
            time.sleep(0.5)
            _, listing = load.call(sock, "GET", f"/v1/files?limit={len(files) + 100}")
            listing = [f for f in listing if f["id"] > newest_before]
            finished = [f for f in listing if f["state"] in ("done", "failed", "held", "rejected")]
            if len(finished) >= len(files):
                break
        seconds = time.monotonic() - started
        thread.join()
        _, after = load.call(sock, "GET", "/v1/status")
        states = {}
        for f in listing[: len(files)]:
            states[f["state"]] = states.get(f["state"], 0) + 1
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores; "
              f"catalogue of {status['records']['source']:,} source records, {status['records']['union']:,} union records")
        print(f"update: {len(files)} files from {len(members)} members: {counts['changed']:,} records changed, "
              f"{counts['deleted']:,} deleted, a full snapshot of {counts['snapshot']:,}; files made in {preparation:.0f} s")
        print(f"current after {seconds:.1f} s ({(counts['changed'] + counts['snapshot']) / seconds:,.0f} records/s); "
              f"file states {states}; union records now {after['records']['union']:,}")
        print("| union-id lookups, 64 connections | requests/s | p50 ms | p99 ms | failed |")
        print("|---|---|---|---|---|")
        for name, result in (("before the update", before), ("during the update", during["result"])):
            print(f"| {name} | {result[0]:,.0f} | {result[2]:.2f} | {result[3]:.2f} | {result[1]} |")
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()


def restart(state, binary):
    config = os.path.join(state, "calisd.toml")
    sock = os.path.join(state, "calisd.sock")
    log = open(os.path.join(state, "calisd-incremental.log"), "w")
    daemon = subprocess.Popen([binary, "serve", "--config", config], stderr=log, stdout=log)
    load.wait_answering(sock, seconds=60)
    return daemon, sock, log


if __name__ == "__main__":
    main()
