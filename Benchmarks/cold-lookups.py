#!/usr/bin/env python3
"""Union-id answers on a grown catalogue with nothing in the page cache, through the daemon and in SQLite alone.

    Benchmarks/cold-lookups.py [--state NAME] [--binary PATH] [--shapes old,members,new] [--passes 3]

--state is a state folder under Benchmarks/work that `growth.py` left (default `growth`, the full run's), its
daemon stopped. Needs root: each pass first drops the page cache (`/proc/sys/vm/drop_caches`), as this machine's
kernel does to pages left alone for a minute (see the machine note in Benchmarks/README.md).

1. Daemon: BINARY (default the release calisd) serves the catalogue with `answer_cache_mb = 0`; h2load on one
   connection asks for the growth step's 2,000 union ids (every 97th), --passes times from a dropped cache, then
   once more warm. p50/p99 from h2load's per-request log.
2. SQLite alone (`sqlite3`, one process a pass, the cache dropped before each): the answer's statements for the
   same ids, timed together per id, in each of --shapes:
   - old: as before 792e232, members with their placements (membership row, the record compared with) and each
     holding's row read after `holdings_by_bib`;
   - members: members from the membership index alone (792e232), holdings' rows still read;
   - new: that, and the holdings from the covering `holdings_by_bib` of migration 0018 (a76ab5f).
   The old shapes are emulated on the new schema: `h.seq`, not in the index, makes SQLite read each holding's row.
   Then the pages each shape reads an answer: SQLite's page-cache misses over the last quarter of the ids, with a
   cache that keeps every page, so the indexes' inner pages are read once and the count is the random pages.
"""
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
import growth  # noqa: E402

MEMBERS_OLD = """SELECT s.id, s.member, s.local_id, s.flavour, s.original_encoding, s.status, s.locked, s.file_id,
  s.updated_at, length(s.record), c.union_id, s.features, c.decision, c.score, c.rule_version, c.evidence, c.decided_at,
  w.member, w.local_id FROM source_records s LEFT JOIN cluster_members c ON c.source_id = s.id
  LEFT JOIN source_records w ON w.id = c.compared_with WHERE c.union_id = {i} ORDER BY s.id;"""
MEMBERS_NEW = """SELECT s.id, s.member, s.local_id, s.flavour, s.original_encoding, s.status, s.locked, s.file_id,
  s.updated_at, length(s.record), c.union_id, s.features FROM cluster_members c JOIN source_records s ON s.id = c.source_id
  WHERE c.union_id = {i} ORDER BY c.source_id;"""
HOLDINGS = """SELECT h.holder, h.location, h.call_number, h.items, h.summary, h.bib_member, h.bib_local_id, cm.union_id,
  h.source_kind, h.source_local_id, h.file_id, h.received_at, coalesce(h.confirmed_at, h.received_at){row}
  FROM cluster_members cm JOIN source_records s ON s.id = cm.source_id AND s.status = 'active'
  JOIN holdings h ON h.bib_member = s.member AND h.bib_local_id = s.local_id WHERE cm.union_id = {i} ORDER BY h.holder, h.id;"""
IMPLICIT = """SELECT s.id, s.member, s.local_id, cm.union_id, s.file_id, s.updated_at, coalesce(f.received_at, s.updated_at)
  FROM source_records s JOIN cluster_members cm ON cm.source_id = s.id AND s.status = 'active'
  LEFT JOIN files f ON f.id = s.confirmed_file WHERE cm.union_id = {i} AND
  NOT EXISTS (SELECT 1 FROM holdings h WHERE h.bib_member = s.member AND h.bib_local_id = s.local_id)
  ORDER BY s.member, s.id;"""
SHAPES = {
    "old": [MEMBERS_OLD, HOLDINGS.replace("{row}", ", h.seq"), IMPLICIT],
    "members": [MEMBERS_NEW, HOLDINGS.replace("{row}", ", h.seq"), IMPLICIT],
    "new": [MEMBERS_NEW, HOLDINGS.replace("{row}", ""), IMPLICIT],
}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def through_daemon(state, binary, uris, passes):
    config = os.path.join(state, "calisd-cold.toml")
    with open(os.path.join(state, "calisd.toml")) as base, open(config, "w") as out:
        out.write(base.read() + "\n[api]\nanswer_cache_mb = 0\n")
    sock = os.path.join(state, "calisd.sock")
    with open(os.path.join(state, "calisd-cold.log"), "w") as log:
        daemon = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=log, cwd=state)
    try:
        started = time.monotonic()
        # A schema migration runs before the daemon answers; on 8 M records it takes minutes.
        load.wait_answering(sock, 3600)
        print(f"daemon answering after {time.monotonic() - started:.1f} s", flush=True)
        for n in range(passes):
            load.drop_page_cache(1)
            p50, p99, failed, _ = growth.latency(sock, uris, len(uris))
            print(f"| daemon | cold pass {n + 1} | {p50:.2f} | {p99:.2f} | {failed} |", flush=True)
        p50, p99, failed, _ = growth.latency(sock, uris, len(uris))
        print(f"| daemon | warm | {p50:.2f} | {p99:.2f} | {failed} |", flush=True)
    finally:
        daemon.terminate()
        daemon.wait()


def in_sqlite(db, ids, shape):
    load.drop_page_cache(1)
    script = [".timer on", ".output /dev/null"] + [q.format(i=i) for i in ids for q in SHAPES[shape]]
    out = subprocess.run(["sqlite3", "-readonly", db], input="\n".join(script), capture_output=True, text=True, check=True).stdout
    times = [float(t) * 1000 for t in re.findall(r"Run Time: real ([0-9.]+)", out)]
    statements = len(SHAPES[shape])
    assert len(times) == len(ids) * statements, (len(times), len(ids))
    per_answer = [sum(times[k:k + statements]) for k in range(0, len(times), statements)]
    return percentile(per_answer, 0.5), percentile(per_answer, 0.99), sum(per_answer) / 1000


def pages_read(db, ids, shape):
    script = [".stats on", "PRAGMA cache_size = -4000000;"] + [q.format(i=i) for i in ids for q in SHAPES[shape]]
    out = subprocess.run(["sqlite3", "-readonly", db], input="\n".join(script), capture_output=True, text=True, check=True).stdout
    misses = [int(m) for m in re.findall(r"Page cache misses:\s+(\d+)", out)][-len(ids) * len(SHAPES[shape]):]
    last_quarter = misses[len(misses) * 3 // 4 // len(SHAPES[shape]) * len(SHAPES[shape]):]
    return sum(last_quarter) / (len(last_quarter) / len(SHAPES[shape]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", default="growth")
    parser.add_argument("--binary", default=load.BINARY)
    parser.add_argument("--shapes", default="old,members,new")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("cold-lookups.py drops the page cache and needs root")
    state = os.path.join(load.WORK, args.state)
    db = os.path.join(state, "state", "catalogue.sqlite")
    if not os.path.exists(db):
        sys.exit(f"no grown catalogue at {db}: run growth.py first")
    ids = subprocess.run(["sqlite3", "-readonly", db, "SELECT id FROM union_records WHERE status = 'active' "
                          "AND id % 97 = 0 LIMIT 2000"], capture_output=True, text=True, check=True).stdout.split()
    print("| where | pass | union id p50 ms | p99 ms | failed or total s |\n|---|---|---|---|---|")
    through_daemon(state, args.binary, [f"/v1/records/CAL{int(i):09d}" for i in ids], args.passes)
    shapes = args.shapes.split(",")
    for shape in shapes * args.passes:
        p50, p99, total = in_sqlite(db, ids, shape)
        print(f"| sqlite3, {shape} shape | cold | {p50:.2f} | {p99:.2f} | {total:.1f} s |", flush=True)
    for shape in shapes:
        print(f"{shape} shape: {pages_read(db, ids, shape):.2f} pages an answer", flush=True)


if __name__ == "__main__":
    main()
