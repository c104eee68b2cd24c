#!/usr/bin/env python3
"""A paired probe of ingest at scale: the next generated chunk into a copy of a grown catalogue.

    Benchmarks/probe.py --base NAME --name NAME [--binary PATH] [--records 400000]

--base is a state folder under Benchmarks/work that `growth.py --name NAME --steps N` left (its daemon stopped).
The probe copies it, starts BINARY (default the release calisd) on the copy, leaves it idle 90 s, so the page
cache is as a running load leaves it, then renames the next --records generated records (the manifestations
after the catalogue's) into the 794 drop folders at once and reports records/s until every file is done, the
union records after, peak RSS and the bytes /proc says the daemon read and wrote. Run two builds on the same
base, one after the other, to compare them.

    Benchmarks/probe.py --base NAME --in-place --from M --cold [--records 200000] [--binary PATH]

For a catalogue too large to copy twice (the 8 M one): --in-place loads into the base itself (it grows by the
records), --from gives the first manifestation (beyond the catalogue's, so the records are new and regenerating
the base's own is not needed), and --cold (root) drops the page cache once the daemon answers and waits 30 s
instead of 90, so each run starts from the disk alone. Bytes read and written are then those of the load.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
import growth  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--binary", default=load.BINARY)
    parser.add_argument("--records", type=int, default=400_000)
    parser.add_argument("--in-place", action="store_true")
    parser.add_argument("--from", dest="start", type=int)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--config", default="", help="TOML appended to the daemon's [ingest] table, e.g. 'batch_size = 50000'")
    arguments = parser.parse_args()
    base = os.path.join(load.WORK, arguments.base)
    catalogue = os.path.join(base, "state", "catalogue.sqlite")
    loaded = int(subprocess.run(["sqlite3", "-readonly", catalogue, "SELECT count(*) FROM source_records"],
                                capture_output=True, text=True, check=True).stdout)
    start = arguments.start
    if start is None:
        # The generator is deterministic: generating the base's records again gives where its manifestations ended.
        scratch = os.path.join(load.WORK, arguments.name + "-skip")
        shutil.rmtree(scratch, ignore_errors=True)
        start, _ = growth.generate(scratch, 0, loaded)
        shutil.rmtree(scratch)
    stage = os.path.join(load.WORK, arguments.name + "-stage")
    shutil.rmtree(stage, ignore_errors=True)
    _, made = growth.generate(stage, start, arguments.records)

    if arguments.in_place:
        work = base
    else:
        work = os.path.join(load.WORK, arguments.name)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        shutil.copytree(os.path.join(base, "state"), os.path.join(work, "state"), ignore=shutil.ignore_patterns("spool", "calisd.lock"))
        shutil.copytree(os.path.join(base, "drop"), os.path.join(work, "drop"))
    config = os.path.join(work, "calisd-probe.toml")
    with open(config, "w") as handle:
        handle.write('state_dir = "state"\ndrop_dir = "drop"\nsocket = "calisd.sock"\n[ingest]\nsettle_seconds = 1\n')
        if arguments.config:
            handle.write(arguments.config.replace("\\n", "\n") + "\n")
    sock = os.path.join(work, "calisd.sock")
    log = open(os.path.join(work, f"calisd-{arguments.name}.log"), "w")
    daemon = subprocess.Popen([arguments.binary, "serve", "--config", config], stderr=log, stdout=log)
    try:
        # A large catalogue's migration may run first.
        load.wait_answering(sock, 7200)
        if arguments.cold:
            load.drop_page_cache()
            time.sleep(30)
        else:
            time.sleep(90)

        def io():
            counts = load.io_counts(daemon.pid)
            return counts["read_bytes"], counts["write_bytes"]
        before = io() if arguments.cold else (0, 0)
        started = time.monotonic()
        status = growth.ingest_chunk(work, sock, stage)
        seconds = time.monotonic() - started
        read, wrote = (after - first for after, first in zip(io(), before))
        print(f"{arguments.name}: {made:,} records into {loaded:,} (manifestations from {start:,}): "
              f"{made / seconds:,.0f} records/s, {seconds:.1f} s; union records {status['records']['union']:,}; "
              f"peak RSS {load.peak_rss_kib(daemon.pid) // 1024} MiB; read {read >> 20} MiB, "
              f"wrote {wrote >> 20} MiB", flush=True)
    finally:
        daemon.terminate()
        daemon.wait()
        log.close()
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == "__main__":
    main()
