#!/usr/bin/env python3
"""CJK search: calisd's two-character tokens against SQLite FTS5's trigram tokenizer, same records, same run.

    Benchmarks/search.py [--queries 200] [--no-build]

The records are the 8,000 real LoC CJK records of ../shared/data/marc/lc-booksall-2016/ (the 20 of the test
fixture when ../shared is absent). Queries are cut from the records' own vernacular titles (880 of 245 $a): for a
sample of records, the first two Han characters of the title (a two-character word is the commonest Chinese
word) and the first four. The truth for a query is every record whose vernacular title holds that exact string.
calisd: a release `calisd serve` loads the file, then `GET /v1/search?title=` is timed through the socket (HTTP
and JSON included), every page read. The anchor: an FTS5 table with `tokenize='trigram'` over the same titles in
Python's sqlite3 (in-process, no HTTP), `MATCH` for queries of three characters or more and `LIKE` (what FTS5's
trigram table cannot answer at all for two characters, by MATCH or LIKE: a LIKE scan of a plain table) otherwise. Recall is against the exact-substring truth; calisd also finds the
same title in the other script form (traditional/simplified), which the truth does not count.
"""
import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load import ROOT, call, start_daemon  # noqa: E402

SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data", "marc", "lc-booksall-2016",
                      "booksall-2016-part01-cjk-first8000.utf8.mrc")
FIXTURE = os.path.join(ROOT, "Tests", "MARCTests", "Fixtures", "loc-cjk-20.mrc")


def is_han(character):
    return 0x3400 <= ord(character) <= 0x9FFF or 0xF900 <= ord(character) <= 0xFAFF


def titles(path):
    import pymarc

    result = {}
    with open(path, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            if record is None or "001" not in record:
                continue
            for field in record.get_fields("880"):
                if field.get_subfields("6") and field.get_subfields("6")[0].startswith("245") and field.get_subfields("a"):
                    result[record["001"].data.strip()] = field.get_subfields("a")[0]
    return result


def queries(vernacular, count, seed=7):
    random.seed(seed)
    chosen = random.sample(sorted(vernacular), min(count, len(vernacular)))
    two, four = [], []
    for key in chosen:
        han = "".join(c for c in vernacular[key] if is_han(c))
        if len(han) >= 2 and han[:2] in vernacular[key]:
            two.append(han[:2])
        if len(han) >= 4 and han[:4] in vernacular[key]:
            four.append(han[:4])
    return {"2 characters": sorted(set(two)), "4 characters": sorted(set(four))}


def calisd_search(sock, query):
    ids, cursor = set(), None
    start = time.monotonic()
    while True:
        target = "/v1/search?limit=100&title=" + urllib.parse.quote(query) + (f"&cursor={cursor}" if cursor else "")
        status, page = call(sock, "GET", target)
        assert status == 200, (status, page)
        ids.update(hit["id"] for hit in page["records"])
        cursor = page.get("next")
        if not cursor:
            return ids, time.monotonic() - start


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-build", action="store_true")
    arguments = parser.parse_args()
    if not arguments.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True)
    path = SHARED if os.path.exists(SHARED) else FIXTURE
    vernacular = titles(path)
    sets = queries(vernacular, arguments.queries)

    # The anchor: FTS5 trigram over the same titles.
    anchor = sqlite3.connect(":memory:")
    anchor.execute("CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, title, tokenize='trigram')")
    anchor.executemany("INSERT INTO t (id, title) VALUES (?, ?)", sorted(vernacular.items()))
    # What a trigram design falls back to for two characters: FTS5's trigram table answers neither MATCH nor LIKE
    # for a string that short (none found), so a scan of the titles.
    anchor.execute("CREATE TABLE plain (id TEXT, title TEXT)")
    anchor.executemany("INSERT INTO plain (id, title) VALUES (?, ?)", sorted(vernacular.items()))

    daemon, _, sock, log = start_daemon("search-daemon")
    try:
        drop = os.path.join(os.path.dirname(sock), "drop", "M001")
        staged = os.path.join(drop, ".cjk.mrc.part")
        with open(path, "rb") as source, open(staged, "wb") as target:
            target.write(source.read())
        os.rename(staged, os.path.join(drop, "cjk.mrc"))
        while True:
            _, files = call(sock, "GET", "/v1/files?member=M001")
            if files and files[0]["state"] in ("done", "failed", "held", "rejected"):
                break
            time.sleep(0.05)
        # Which union record each local id is in, to compare sets.
        union_of = {}
        for local in vernacular:
            status, body = call(sock, "GET", "/v1/members/M001/records/" + urllib.parse.quote(local, safe=""))
            if status == 200 and body.get("union_id"):
                union_of[local] = body["union_id"]
        rows = []
        for name, texts in sets.items():
            calisd_times, anchor_times, calisd_found, anchor_found, truth_total, trigram_short = [], [], 0, 0, 0, 0
            for query in texts:
                truth = {union_of[k] for k, title in vernacular.items() if query in title and k in union_of}
                found, seconds = calisd_search(sock, query)
                calisd_times.append(seconds)
                start = time.monotonic()
                if len(query) >= 3:
                    hits = anchor.execute("SELECT id FROM t WHERE title MATCH ?", ('"' + query + '"',)).fetchall()
                else:
                    hits = anchor.execute("SELECT id FROM plain WHERE title LIKE ?", (f"%{query}%",)).fetchall()
                    trigram_short += len(anchor.execute("SELECT id FROM t WHERE title MATCH ?", ('"' + query + '"',)).fetchall())
                anchor_times.append(time.monotonic() - start)
                matched = {union_of[h[0]] for h in hits if h[0] in union_of}
                truth_total += len(truth)
                calisd_found += len(truth & found)
                anchor_found += len(truth & matched)
            if name.startswith("2"):
                print(f"FTS5 trigram MATCH on two-character queries found {trigram_short} rows in all", file=sys.stderr)
            rows.append((name, len(texts), truth_total, calisd_found / truth_total, anchor_found / truth_total,
                         statistics.median(calisd_times) * 1000, percentile(calisd_times, 0.99) * 1000,
                         statistics.median(anchor_times) * 1000, percentile(anchor_times, 0.99) * 1000))
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores, "
          f"{len(vernacular):,} records with a vernacular title, SQLite {sqlite3.sqlite_version}")
    print("| queries | count | true hits | calisd recall | anchor recall (trigram MATCH; LIKE scan for 2) | calisd p50 / p99 ms (socket) | "
          "anchor p50 / p99 ms (in-process) |")
    print("|---|---|---|---|---|---|---|")
    for name, count, truth, recall, anchor_recall, p50, p99, a50, a99 in rows:
        print(f"| {name} | {count} | {truth:,} | {recall:.3f} | {anchor_recall:.3f} | {p50:.1f} / {p99:.1f} | {a50:.2f} / {a99:.2f} |")


if __name__ == "__main__":
    main()
