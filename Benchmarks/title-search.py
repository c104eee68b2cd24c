#!/usr/bin/env python3
"""Title search on a grown catalogue: two or more builds, one after the other on the same catalogue, same run.

    Benchmarks/title-search.py --state NAME [--state NAME ...] --binary PATH [--binary PATH ...] [--rounds 2] [--requests 500]

NAME is a state folder under Benchmarks/work that `growth.py --name NAME` grew, its daemon stopped. Each round
starts each binary in turn on it (the same catalogue, nothing loading) and times, with h2load on one connection,
`GET /v1/search?title=` of the growth curve's ten common words: the first page, then the tenth page (20 a page).
In each turn the first and tenth pages of every word are asked once, untimed, before h2load runs, so each turn's
timing starts with those pages read. Each binary's pages are compared with its catalogue's whole ranking, computed
the long way in Python's sqlite3 (bm25 of every hit, grouped by union record), and with the first binary's pages: the
same union records, in the same order unless their scores are equal (a group of equal scores cut by a page's end
shows as a difference; on copies whose search index differs, every score may).
With one --state for each --binary, each binary runs on its own copy of the catalogue, in the same order: for a
build whose migration changes the search index (copy the folder, and start the build on the copy once first).
"""
import argparse
import base64
import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import api  # noqa: E402
import load  # noqa: E402

WORDS = ["history", "china", "education", "law", "art", "science", "economic", "policy", "中国", "文化"]


def uri(word, page):
    target = "/v1/search?title=" + urllib.parse.quote(word) + "&limit=20"
    if page > 1:
        target += "&cursor=" + base64.b64encode(f"s1:{(page - 1) * 20}".encode()).decode().rstrip("=")
    return target


def turn(binary, work, requests):
    config = os.path.join(work, "calisd-title-search.toml")
    with open(config, "w") as handle:
        handle.write('state_dir = "state"\ndrop_dir = "drop"\nsocket = "calisd.sock"\n')
    sock = os.path.join(work, "calisd.sock")
    with open(os.path.join(work, "calisd-title-search.log"), "w") as log:
        daemon = subprocess.Popen([binary, "serve", "--config", config], stderr=log, stdout=log)
    try:
        load.wait_answering(sock, 600)
        pages = {}
        for word in WORDS:
            for page in (1, 10):
                status, body = load.call(sock, "GET", uri(word, page))
                assert status == 200, (word, page, status, body)
                pages[(word, page)] = [(hit["id"], round(hit["score"], 9)) for hit in body["records"]]
        first = api.h2load(sock, [uri(word, 1) for word in WORDS], 1, requests)
        tenth = api.h2load(sock, [uri(word, 10) for word in WORDS], 1, requests)
        return pages, first, tenth
    finally:
        daemon.terminate()
        daemon.wait()


def whole_ranking(catalogue, word, pages):
    """The pages of a title search computed the long way, as the store's tests do: bm25 of every hit, a union record
    at its best record's score, the lower source id first among equal scores."""
    db = sqlite3.connect(f"file:{catalogue}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT c.union_id, bm25(record_search, 10.0, 3.0, 1.0), record_search.rowid FROM record_search "
            "JOIN cluster_members c ON c.source_id = record_search.rowid WHERE record_search MATCH ?",
            (f'title : "{word}"',)).fetchall()
    finally:
        db.close()
    best = {}
    for union, score, source in rows:
        if union not in best or (score, source) < best[union]:
            best[union] = (score, source)
    ranked = sorted(best.items(), key=lambda item: item[1])
    return {page: [(f"CAL{union:09d}", round(-score, 9)) for union, (score, _) in ranked[(page - 1) * 20:page * 20]]
            for page in pages}


def same_ranking(one, other):
    """The same records with the same scores; among equal scores, any order."""
    def grouped(hits):
        return [(score, sorted(i for i, s in hits if s == score)) for score in dict.fromkeys(s for _, s in hits)]
    return grouped(one) == grouped(other)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", action="append", required=True)
    parser.add_argument("--binary", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=500)
    arguments = parser.parse_args()
    if len(arguments.state) not in (1, len(arguments.binary)):
        parser.error("give one --state for all binaries, or one for each --binary")
    states = arguments.state * len(arguments.binary) if len(arguments.state) == 1 else arguments.state
    runs = [(binary, os.path.join(load.WORK, state)) for binary, state in zip(arguments.binary, states)]
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, {arguments.requests} requests a line")
    for (binary, work), state in zip(runs, states):
        catalogue = os.path.join(work, "state", "catalogue.sqlite")
        records = subprocess.run(["sqlite3", "-readonly", catalogue, "SELECT count(*) FROM record_search_docsize"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        print(f"- {binary} on catalogue {state}: {int(records):,} indexed source records")
    print("| round | binary | first page p50/p99 ms | tenth page p50/p99 ms | failed |")
    print("|---|---|---|---|---|")
    answers = {}
    for round_number in range(1, arguments.rounds + 1):
        for index, (binary, work) in enumerate(runs):
            pages, first, tenth = turn(binary, work, arguments.requests)
            answers.setdefault(index, pages)
            print(f"| {round_number} | {binary} | {first[2]:.2f}/{first[3]:.2f} | {tenth[2]:.2f}/{tenth[3]:.2f} | "
                  f"{first[1] + tenth[1]} |", flush=True)
    # Each catalogue's pages against its own ranking computed the long way (the words are one token each).
    for index, (binary, work) in enumerate(runs):
        catalogue = os.path.join(work, "state", "catalogue.sqlite")
        wrong = [(word, page) for word in WORDS for page, hits in whole_ranking(catalogue, word, (1, 10)).items()
                 if answers[index][(word, page)] != hits]
        print(f"{binary}: {20 - len(wrong)} of 20 pages are those of bm25's whole ranking"
              + (f"; differing: {json.dumps(wrong, ensure_ascii=False)}" if wrong else ""))
    reference = answers[0]
    for index, (binary, _) in enumerate(runs[1:], start=1):
        differing = [key for key in reference if not same_ranking(reference[key], answers[index][key])]
        print(f"{binary} against {runs[0][0]}: {len(reference) - len(differing)} of {len(reference)} pages "
              f"rank the same" + (f"; differing: {json.dumps(differing, ensure_ascii=False)}" if differing else ""))


if __name__ == "__main__":
    main()
