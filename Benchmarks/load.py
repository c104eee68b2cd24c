#!/usr/bin/env python3
"""Full load through the daemon against SQLite's own floor, on the same records, in the same run.

    Benchmarks/load.py [--sizes 50000,100000,250000] [--rounds 1]

The records are the Library of Congress BooksAll 2016 part01 file: 250,000 real, distinct records (distinct
001s), which LoC shipped inside pymarc 5.4.0's source distribution (see ../shared/data/marc/MANIFEST.md); the
script fetches that sdist from PyPI once into Benchmarks/work/ (git-ignored). For each size it takes the first
N records, starts a release `calisd serve` on a fresh state folder, registers one member, renames the file into
its drop folder and times until `/v1/files` says done: parse, transcode check, keys, union matching, SQLite
commits, report and archive. Peak RSS is the daemon's VmHWM. SQLite's floor is `sqlite3 .import` of the same
match keys calisd stored into a table of the same shape, one transaction, measured right after.
"""
import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "Benchmarks", "work")
BINARY = os.path.join(ROOT, ".build", "release", "calisd")
SDIST = os.path.join(WORK, "pymarc-5.4.0.tar.gz")
BOOKSALL = os.path.join(WORK, "BooksAll.2016.part01.utf8")
EXTRA_CONFIG = ""


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("calisd")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, method, target, body=None):
    connection = UnixConnection(sock)
    connection.request(method, target, body=body, headers={"Content-Type": "application/json"} if body else {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data) if data else None


def booksall():
    if os.path.exists(BOOKSALL):
        return BOOKSALL
    os.makedirs(WORK, exist_ok=True)
    if not os.path.exists(SDIST):
        # pip prepares the sdist's metadata in an isolated environment (hatchling from PyPI): a fresh machine has
        # no hatchling of its own.
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "pymarc==5.4.0", "--no-deps", "--no-binary", ":all:", "-d", WORK],
                       check=True)
    with tarfile.open(SDIST) as archive:
        member = archive.getmember("pymarc-5.4.0/BooksAll.2016.part01.utf8")
        with archive.extractfile(member) as source, open(BOOKSALL + ".tmp", "wb") as target:
            shutil.copyfileobj(source, target)
    os.rename(BOOKSALL + ".tmp", BOOKSALL)
    return BOOKSALL


def first_records(source, count):
    name = "booksall" if source == BOOKSALL else os.path.basename(source).split(".")[0]
    path = os.path.join(WORK, f"{name}-first{count}.mrc")
    if os.path.exists(path):
        return path
    with open(source, "rb") as handle:
        data = handle.read()
    end = 0
    for _ in range(count):
        end = data.index(b"\x1d", end) + 1
    with open(path + ".tmp", "wb") as out:
        out.write(data[:end])
    os.rename(path + ".tmp", path)
    return path


def drop_page_cache(level=3):
    """Writes dirty pages out, then drops the kernel's caches (root only): 1 the page cache, 3 also dentries and
    inodes. What a catalogue larger than memory meets on its next read."""
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as control:
        control.write(f"{level}\n")


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def io_counts(pid):
    """What /proc says process `pid` has read and written so far: `rchar`/`wchar` by system calls (SQLite's
    page reads and writes, hits in the page cache included), `read_bytes`/`write_bytes` from and to the disk."""
    with open(f"/proc/{pid}/io") as handle:
        return {key: int(value) for key, value in (line.split(": ") for line in handle.read().splitlines() if line)}


def io_per_record(before, after, records):
    """KiB a record, as `syscalls read/written; disk read/written`, between two `io_counts`."""
    def kib(key):
        return (after[key] - before[key]) / 1024 / max(1, records)
    return f"{kib('rchar'):.1f} / {kib('wchar'):.1f}; {kib('read_bytes'):.1f} / {kib('write_bytes'):.1f}"


def wait_answering(sock, seconds=20):
    """Returns once the daemon on `sock` answers /v1/health (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if call(sock, "GET", "/v1/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)


def start_daemon(name, extra_config=""):
    """A release `calisd serve` on a fresh state folder WORK/NAME, answering, with member M001 registered."""
    state = os.path.join(WORK, name)
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    config = os.path.join(state, "calisd.toml")
    with open(config, "w") as handle:
        handle.write('state_dir = "state"\ndrop_dir = "drop"\nsocket = "calisd.sock"\n' + extra_config)
    sock = os.path.join(state, "calisd.sock")
    log = open(os.path.join(state, "calisd.log"), "w")
    daemon = subprocess.Popen([BINARY, "serve", "--config", config], stderr=log, stdout=log)
    wait_answering(sock)
    status, _ = call(sock, "POST", "/v1/members", json.dumps({"code": "M001", "name": "Benchmark"}).encode())
    assert status == 201, status
    return daemon, state, sock, log


def drop_and_wait(state, sock, path):
    """Renames a copy of `path` into M001's drop folder; returns the file's entry once finished, and the seconds."""
    staged = os.path.join(state, "drop", "M001", ".load.mrc.part")
    shutil.copyfile(path, staged)
    start = time.monotonic()
    os.rename(staged, os.path.join(state, "drop", "M001", "load.mrc"))
    while True:
        _, files = call(sock, "GET", "/v1/files?member=M001")
        if files and files[0]["state"] in ("done", "failed", "held", "rejected"):
            return files[0], time.monotonic() - start
        time.sleep(0.02)


def load(path, count):
    daemon, state, sock, log = start_daemon("load", EXTRA_CONFIG)
    try:
        before = io_counts(daemon.pid)
        file, seconds = drop_and_wait(state, sock, path)
        io = io_per_record(before, io_counts(daemon.pid), count)
        rss = peak_rss_kib(daemon.pid)
        database = sum(os.path.getsize(os.path.join(state, "state", name))
                       for name in os.listdir(os.path.join(state, "state")) if name.startswith("catalogue.sqlite"))
        _, status = call(sock, "GET", "/v1/status")
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()
    assert file["state"] == "done" and file["counts"]["added"] == count, file
    return {"seconds": seconds, "rss_mib": rss / 1024, "db_mb": database / 1e6, "union": status["records"]["union"],
            "source": status["records"]["source"], "io": io, "database": os.path.join(state, "state", "catalogue.sqlite")}


def sqlite_floor(database):
    keys = os.path.join(WORK, "keys.csv")
    subprocess.run(["sqlite3", "-csv", database, "SELECT hash, source_id FROM block_keys"],
                   stdout=open(keys, "w"), check=True)
    rows = sum(1 for _ in open(keys))
    target = os.path.join(WORK, "floor.sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(target + suffix):
            os.remove(target + suffix)
    script = ("PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n"
              "CREATE TABLE block_keys (hash INTEGER NOT NULL, source_id INTEGER NOT NULL, "
              "PRIMARY KEY (hash, source_id)) STRICT, WITHOUT ROWID;\n"
              f".import --csv {keys} block_keys\n")
    start = time.monotonic()
    subprocess.run(["sqlite3", target], input=script.encode(), check=True, stdout=subprocess.DEVNULL)
    return rows, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="50000,100000,250000")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--source", help="a MARC file to take the records from instead of BooksAll part01 (from PyPI)")
    parser.add_argument("--config", default="", help="TOML appended to the daemon's config, e.g. '[ingest]\\nbatch_size = 5000'")
    arguments = parser.parse_args()
    global EXTRA_CONFIG
    EXTRA_CONFIG = arguments.config.replace("\\n", "\n") + "\n" if arguments.config else ""
    if not arguments.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True)
    source = arguments.source or booksall()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit {commit}, {os.cpu_count()} cores")
    print("| records | calisd s | calisd records/s | peak RSS MiB | database MB | union records | "
          "KiB a record read / written by system calls; from / to the disk | "
          "sqlite3 .import of the same keys: rows, s | calisd time ÷ sqlite3 time |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in [int(text) for text in arguments.sizes.split(",")]:
        path = first_records(source, size)
        result = load(path, size)
        rows, seconds = sqlite_floor(result["database"])
        rate = size / result["seconds"]
        print(f"| {size:,} | {result['seconds']:.2f} | {rate:,.0f} | {result['rss_mib']:.0f} | {result['db_mb']:.0f} | "
              f"{result['union']:,} | {result['io']} | {rows:,}, {seconds:.2f} | {result['seconds'] / seconds:.1f}× |",
              flush=True)


if __name__ == "__main__":
    main()
