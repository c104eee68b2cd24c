#!/usr/bin/env python3
"""Random 4 KiB reads a second from a file, from 1 to 16 threads at once, each pass after dropping the page cache.

    Benchmarks/disk-reads.py PATH   (root: it writes /proc/sys/vm/drop_caches)

What the disk gives placement's reads of a catalogue the page cache does not hold: one thread is the commit
lane reading alone; several are reads the disk can serve together.
"""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402


def reads_per_second(path, threads, reads_each):
    size = os.path.getsize(path) // 4096
    descriptor = os.open(path, os.O_RDONLY)
    os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_RANDOM)

    def work(seed):
        pages = random.Random(seed)
        for _ in range(reads_each):
            os.pread(descriptor, 4096, pages.randrange(size) * 4096)

    workers = [threading.Thread(target=work, args=(threads * 1000 + index,)) for index in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.monotonic() - started
    os.close(descriptor)
    return threads * reads_each / seconds


def main():
    path = sys.argv[1]
    for threads in [1, 2, 4, 8, 16]:
        load.drop_page_cache()
        reads_each = 3000 if threads == 1 else 24000 // threads
        print(f"{threads} threads: {reads_per_second(path, threads, reads_each):,.0f} reads/s", flush=True)


if __name__ == "__main__":
    main()
