#!/usr/bin/env python3
"""Title search on a grown catalogue: two or more builds, one after the other on the same catalogue, same run.

    Benchmarks/title-search.py --state NAME --binary PATH [--binary PATH ...] [--rounds 2] [--requests 500]

NAME is a state folder under Benchmarks/work that `growth.py --name NAME` grew, its daemon stopped. Each round
starts each binary in turn on it (the same catalogue, nothing loading) and times, with h2load on one connection,
`GET /v1/search?title=` of the growth curve's ten common words: the first page, then the tenth page (20 a page).
In each turn the first and tenth pages of every word are asked once, untimed, before h2load runs, so each turn's
timing starts with those pages read. The pages each binary answered are compared: the same union records, in the
same order unless their scores are equal (a group of equal scores cut by a page's end shows as a difference).
"""
import argparse
import base64
import json
import os
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


def same_ranking(one, other):
    """The same records with the same scores; among equal scores, any order."""
    def grouped(hits):
        return [(score, sorted(i for i, s in hits if s == score)) for score in dict.fromkeys(s for _, s in hits)]
    return grouped(one) == grouped(other)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--state", required=True)
    parser.add_argument("--binary", action="append", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=500)
    arguments = parser.parse_args()
    work = os.path.join(load.WORK, arguments.state)
    catalogue = os.path.join(work, "state", "catalogue.sqlite")
    records = subprocess.run(["sqlite3", "-readonly", catalogue, "SELECT count(*) FROM record_search_docsize"],
                             capture_output=True, text=True, check=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"catalogue {arguments.state}: {int(records):,} indexed source records; {arguments.requests} requests a line")
    print("| round | binary | first page p50/p99 ms | tenth page p50/p99 ms | failed |")
    print("|---|---|---|---|---|")
    answers = {}
    for round_number in range(1, arguments.rounds + 1):
        for binary in arguments.binary:
            pages, first, tenth = turn(binary, work, arguments.requests)
            answers.setdefault(binary, pages)
            print(f"| {round_number} | {binary} | {first[2]:.2f}/{first[3]:.2f} | {tenth[2]:.2f}/{tenth[3]:.2f} | "
                  f"{first[1] + tenth[1]} |", flush=True)
    reference = answers[arguments.binary[0]]
    for binary in arguments.binary[1:]:
        differing = [key for key in reference if not same_ranking(reference[key], answers[binary][key])]
        print(f"{binary} against {arguments.binary[0]}: {len(reference) - len(differing)} of {len(reference)} pages "
              f"rank the same" + (f"; differing: {json.dumps(differing, ensure_ascii=False)}" if differing else ""))


if __name__ == "__main__":
    main()
