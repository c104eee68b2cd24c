#!/usr/bin/env python3
"""The socket API under load against nginx serving a file on a Unix socket, with h2load, in the same run.

    Benchmarks/api.py [--records 250000] [--connections 1,64,794] [--requests 100000] [--no-build]

calisd: a release `calisd serve` loads the first N real LoC BooksAll records (see load.py) through its drop
folder, then h2load (Debian nghttp2-client, HTTP/1.1, `-B unix:SOCKET`) sends `GET /v1/records/{unionId}` over
1,000 different union records, and `GET /v1/records?isbn=` over 1,000 different ISBNs of those records, each
answered from the catalogue. nginx: Debian's nginx, 2 workers (one per core), serving one union record's JSON
answer as a static file on its own Unix socket. h2load runs one thread beside both on the same 2 cores.
p50/p99 come from h2load's per-request log. Each line is measured once per run; ratios compare within the run.

calisd keeps record answers while the catalogue is unchanged (`[api] answer_cache_mb`), and h2load gives every
connection the URI list from its start, so at 794 connections each asks for the first ~126 ids again and again:
that is a hot set, served from kept answers. The same targets are then asked of the same catalogue with
`answer_cache_mb = 0`, where every request reads the catalogue and writes the answer: the cold figure.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402

WORK = load.WORK
ROOT = load.ROOT


def start_nginx(body):
    folder = os.path.join(WORK, "nginx")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, "www"))
    with open(os.path.join(folder, "www", "record.json"), "wb") as handle:
        handle.write(body)
    sock = os.path.join(folder, "nginx.sock")
    config = os.path.join(folder, "nginx.conf")
    with open(config, "w") as handle:
        handle.write(f"""
daemon off;
worker_processes 2;
worker_rlimit_nofile 20000;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 4096; }}
http {{
    access_log off;
    default_type application/json;
    server {{
        listen unix:{sock} backlog=4096;
        root {folder}/www;
    }}
}}
""")
    process = subprocess.Popen(["nginx", "-c", config, "-p", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if os.path.exists(sock):
            break
        time.sleep(0.05)
    return process, sock


def h2load(sock, uris, connections, requests):
    """h2load over `uris` (cycled); returns requests/s, failed+errored, p50 and p99 in ms, status codes."""
    log = os.path.join(WORK, "h2load.log")
    uri_file = os.path.join(WORK, "h2load-uris.txt")
    with open(uri_file, "w") as handle:
        # h2load wants whole URIs; with -B unix:PATH the host is only the Host header.
        handle.write("\n".join("http://localhost" + uri for uri in uris) + "\n")
    if os.path.exists(log):
        os.remove(log)
    command = ["h2load", "--h1", "-B", f"unix:{sock}", "-i", uri_file, "-n", str(requests), "-c", str(connections), "-t", "1",
               f"--log-file={log}"]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    rate = failed = 0.0
    codes = ""
    for line in result.stdout.splitlines():
        if line.startswith("finished in"):
            rate = float(line.split(",")[1].split()[0])
        if line.startswith("requests:"):
            parts = {word: int(count) for count, word in
                     (item.strip().split(" ", 1) for item in line[len("requests:"):].split(","))}
            failed = parts.get("failed", 0) + parts.get("errored", 0) + parts.get("timeout", 0)
        if line.startswith("status codes:"):
            codes = line[len("status codes:"):].strip()
    durations = sorted(int(line.split("\t")[2]) for line in open(log) if line.strip())
    p50 = durations[len(durations) // 2] / 1000
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))] / 1000
    return rate, int(failed), p50, p99, codes, " ".join(command)


def valid_isbn(text):
    digits = text.replace("-", "").upper()
    if len(digits) == 10 and digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X"):
        total = sum((10 - n) * (10 if c == "X" else int(c)) for n, c in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and digits.isdigit():
        return sum(int(c) * (1 if n % 2 == 0 else 3) for n, c in enumerate(digits)) % 10 == 0
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=250_000)
    parser.add_argument("--connections", default="1,64,794")
    parser.add_argument("--requests", type=int, default=100_000, help="per line; 1 connection gets a fifth")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--source", help="a MARC file to take the records from instead of BooksAll part01 (from PyPI)")
    arguments = parser.parse_args()
    for tool in ("h2load", "nginx", "sqlite3"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is needed: apt-get install -y nghttp2-client nginx sqlite3")
    if not arguments.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True)

    records = load.first_records(arguments.source or load.booksall(), arguments.records)
    daemon, state, sock, log = load.start_daemon("api")
    nginx = None
    try:
        file, loaded = load.drop_and_wait(state, sock, records)
        assert file["state"] == "done", file
        database = os.path.join(state, "state", "catalogue.sqlite")
        ids = subprocess.run(
            ["sqlite3", database, "SELECT id FROM union_records WHERE status = 'active' ORDER BY id"],
            capture_output=True, text=True, check=True).stdout.split()
        step = max(1, len(ids) // 1000)
        union_uris = [f"/v1/records/CAL{int(i):09d}" for i in ids[::step][:1000]]
        isbns = []
        import pymarc
        with open(records, "rb") as handle:
            for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
                if record is None:
                    continue
                field = record.get("020")
                value = field.get("a") if field else None
                if value and valid_isbn(value.split()[0]):
                    isbns.append(value.split()[0])
                if len(isbns) >= 1000:
                    break
        isbn_uris = [f"/v1/records?isbn={isbn}" for isbn in isbns]
        status, body = load.call(sock, "GET", union_uris[0])
        assert status == 200
        sample = subprocess.run(["curl", "-s", "--unix-socket", sock, "http://calisd" + union_uris[0]],
                                capture_output=True, check=True).stdout
        nginx, nginx_sock = start_nginx(sample)

        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores; "
              f"catalogue of {len(ids):,} union records ({arguments.records:,} loaded in {loaded:.0f} s), "
              f"response {len(sample):,} bytes; {len(union_uris)} ids, {len(isbn_uris)} ISBNs")
        print("| connections | target | requests/s | p50 ms | p99 ms | failed | ÷ nginx requests/s | p99 ÷ nginx p99 | statuses |")
        print("|---|---|---|---|---|---|---|---|---|")
        command = ""
        for connections in [int(text) for text in arguments.connections.split(",")]:
            requests = arguments.requests // 5 if connections == 1 else arguments.requests
            base = h2load(nginx_sock, ["/record.json"], connections, requests)
            print(f"| {connections} | nginx static file | {base[0]:,.0f} | {base[2]:.2f} | {base[3]:.2f} | {base[1]} | 1 | 1 | {base[4]} |",
                  flush=True)
            for name, uris in (("calisd /v1/records/{id}", union_uris), ("calisd /v1/records?isbn=", isbn_uris)):
                result = h2load(sock, uris, connections, requests)
                command = result[5]
                print(f"| {connections} | {name} | {result[0]:,.0f} | {result[2]:.2f} | {result[3]:.2f} | {result[1]} | "
                      f"{result[0] / base[0]:.2f} | {result[3] / base[3]:.2f} | {result[4]} |", flush=True)
        rss = load.peak_rss_kib(daemon.pid) / 1024
        # The same catalogue, every answer read and written afresh.
        daemon.terminate()
        daemon.wait()
        config = os.path.join(state, "calisd.toml")
        with open(config, "a") as handle:
            handle.write("[api]\nanswer_cache_mb = 0\n")
        daemon = subprocess.Popen([load.BINARY, "serve", "--config", config], stderr=log, stdout=log)
        load.wait_answering(sock)
        connections = int(arguments.connections.split(",")[-1])
        base = h2load(nginx_sock, ["/record.json"], connections, arguments.requests)
        print(f"| {connections} | nginx static file | {base[0]:,.0f} | {base[2]:.2f} | {base[3]:.2f} | {base[1]} | 1 | 1 | {base[4]} |",
              flush=True)
        for name, uris in (("calisd /v1/records/{id}, none kept", union_uris), ("calisd /v1/records?isbn=, none kept", isbn_uris)):
            result = h2load(sock, uris, connections, arguments.requests)
            print(f"| {connections} | {name} | {result[0]:,.0f} | {result[2]:.2f} | {result[3]:.2f} | {result[1]} | "
                  f"{result[0] / base[0]:.2f} | {result[3] / base[3]:.2f} | {result[4]} |", flush=True)
        print(f"\nh2load command (per line): {command}")
        print(f"calisd peak RSS {max(rss, load.peak_rss_kib(daemon.pid) / 1024):.0f} MiB")
    finally:
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait()
        daemon.terminate()
        daemon.wait()
        log.close()


if __name__ == "__main__":
    main()
