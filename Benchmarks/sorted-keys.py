#!/usr/bin/env python3
"""A chunk's block keys looked up and inserted one record at a time, against the same keys sorted, on a grown catalogue.

    Benchmarks/sorted-keys.py CATALOGUE [--records 80000] [--rounds 2] [--commit] [--staged ROWS]

The measured basis of the full-load plan (README, "Against the targets"): does taking a chunk's keys in key order
save the block-key index's random page work? Each pass runs in one transaction on the writer's page cache (32 MiB,
as the daemon's) and is rolled back, so the catalogue is left as it was. Keys are new random 64-bit hashes, as a
new record's are; `per record` looks each record's keys up and inserts them before the next record, as the commit
lane does; `sorted` looks all of the chunk's keys up in key order, then inserts them in key order. Stop the daemon
first: a pass holds the write lock.

With --staged ROWS a third pass stages each record's keys in a small table of the same shape (looked up beside the
index, so a record's insert dirties one of few pages) and moves it into the index in key order whenever it holds ROWS
rows: the cheaper cousin of the full-load plan. The table is dropped afterwards.

With --commit the passes write, as the daemon does: `per record` commits every 10,000 records (the lane's batch),
`sorted` once; each pass ends with a checkpoint of the WAL, timed, and its rows are deleted afterwards (untimed).
Written is what the process wrote, from /proc/self/io.
"""
import argparse
import os
import random
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402

KEYS_PER_RECORD = 2.5  # 20,075,915 block-key rows for 7,994,661 active records in the 8 M catalogue


def chunk(records, seed, first_source):
    rng = random.Random(seed)
    rows = []
    for offset in range(records):
        count = 2 + (rng.random() < KEYS_PER_RECORD - 2)
        for _ in range(count):
            rows.append((rng.getrandbits(64) - (1 << 63), first_source + offset, first_source + offset))
    return rows


BATCH_RECORDS = 10_000


STAGED_TABLE = "sorted_keys_staged"


def record_at_a_time(db, rows, commit, staged_threshold):
    """Looks each record's keys up and inserts them before the next record, committing every BATCH_RECORDS records.
    Staged: looks them up in the index and in a small table, inserts them into the small table, and moves that table
    into the index in key order once it holds `staged_threshold` rows, in a transaction of its own."""
    target = STAGED_TABLE if staged_threshold else "block_keys"
    found = 0
    staged = 0
    batch_start = rows[0][1]
    for row in rows:
        if commit and row[1] - batch_start >= BATCH_RECORDS:
            db.execute("COMMIT")
            if staged_threshold and staged >= staged_threshold:
                db.execute("BEGIN IMMEDIATE")
                move_staged(db)
                db.execute("COMMIT")
                staged = 0
            db.execute("BEGIN IMMEDIATE")
            batch_start = row[1]
        found += len(db.execute("SELECT source_id FROM block_keys WHERE hash = ?", (row[0],)).fetchall())
        if staged_threshold:
            found += len(db.execute(f"SELECT source_id FROM {STAGED_TABLE} WHERE hash = ?", (row[0],)).fetchall())
            staged += 1
        db.execute(f"INSERT INTO {target} (hash, source_id, union_id) VALUES (?, ?, ?)", row)
    return found


def move_staged(db):
    db.execute(
        f"INSERT INTO block_keys (hash, source_id, union_id) SELECT hash, source_id, union_id FROM {STAGED_TABLE} "
        "ORDER BY hash, source_id")
    db.execute(f"DELETE FROM {STAGED_TABLE}")


def run_pass(path, rows, sorted_order, commit, staged_threshold=None):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA cache_size = -32768")
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    if staged_threshold:
        db.execute(f"DROP TABLE IF EXISTS {STAGED_TABLE}")
        db.execute(
            f"CREATE TABLE {STAGED_TABLE} (hash INTEGER NOT NULL, source_id INTEGER NOT NULL, union_id INTEGER, "
            "PRIMARY KEY (hash, source_id)) STRICT, WITHOUT ROWID")
    db.execute("BEGIN IMMEDIATE")
    # Python's sqlite3 does not expose sqlite3_db_status; the pager's page reads are the process's read() calls.
    before = load.io_counts(os.getpid())
    started = time.monotonic()
    found = 0
    if sorted_order:
        ordered = sorted(rows)
        for row in ordered:
            found += len(db.execute("SELECT source_id FROM block_keys WHERE hash = ?", (row[0],)).fetchall())
        db.executemany("INSERT INTO block_keys (hash, source_id, union_id) VALUES (?, ?, ?)", ordered)
    else:
        found = record_at_a_time(db, rows, commit, staged_threshold)
    if commit:
        db.execute("COMMIT")
        if staged_threshold:
            move_staged(db)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    elapsed = time.monotonic() - started
    after = load.io_counts(os.getpid())
    reads, written = after["syscr"] - before["syscr"], after["write_bytes"] - before["write_bytes"]
    if commit:
        db.execute("DELETE FROM block_keys WHERE source_id >= ?", (rows[0][1],))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        db.execute("ROLLBACK")
    if staged_threshold:
        db.execute(f"DROP TABLE {STAGED_TABLE}")
    db.close()
    return elapsed, reads, written, found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("catalogue")
    parser.add_argument("--records", type=int, default=80_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--commit", action="store_true", help="commit, checkpoint and delete the rows again")
    parser.add_argument(
        "--staged", type=int, metavar="ROWS",
        help="a third pass: keys staged in a small table and moved into the index in key order every ROWS rows")
    arguments = parser.parse_args()
    first = sqlite3.connect(arguments.catalogue).execute("SELECT max(id) + 1000000 FROM source_records").fetchone()[0]
    print("| round | order | records | key rows | s | read() calls | read() calls a key row | written MiB | keys found |")
    print("|---|---|---|---|---|---|---|---|---|")
    for round_number in range(arguments.rounds):
        rows = chunk(arguments.records, round_number, first)
        passes = [(False, None), (True, None)] + ([(False, arguments.staged)] if arguments.staged else [])
        for sorted_order, staged in passes:
            elapsed, reads, written, found = run_pass(arguments.catalogue, rows, sorted_order, arguments.commit, staged)
            order = f"staged, moved every {staged:,} rows" if staged else "sorted" if sorted_order else "per record"
            print(
                f"| {round_number + 1} | {order} | {arguments.records:,} | {len(rows):,} | {elapsed:.2f} | {reads:,} "
                f"| {reads / len(rows):.2f} | {written / 2**20:,.0f} | {found} |",
                flush=True)


if __name__ == "__main__":
    main()
