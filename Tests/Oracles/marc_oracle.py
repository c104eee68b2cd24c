#!/usr/bin/env python3
"""Reads MARC with an independent reader and prints each record as one MARC-in-JSON line.

    marc_oracle.py pymarc iso2709|marcxml|json FILE
    marc_oracle.py yaz    iso2709|marcxml|json FILE

The calisd tests compare these lines with what calisd reads from the same file.
"""
import json
import subprocess
import sys


def pymarc_records(fmt, path):
    import pymarc

    if fmt == "iso2709":
        with open(path, "rb") as handle:
            for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
                if record is None:
                    raise SystemExit("pymarc could not read a record")
                yield record.as_dict()
    elif fmt == "marcxml":
        for record in pymarc.parse_xml_to_array(path):
            yield record.as_dict()
    elif fmt == "json":
        # One object per line (calisd's form) or a single array/object.
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        stripped = text.lstrip()
        chunks = [text] if stripped.startswith("[") else [line for line in text.splitlines() if line.strip()]
        for chunk in chunks:
            for record in pymarc.JSONReader(chunk):
                yield record.as_dict()
    else:
        raise SystemExit(f"unknown format {fmt}")


def yaz_records(fmt, path):
    if fmt == "json":
        # yaz-marcdump reads exactly one MARC-in-JSON object per file: one run per line.
        import os
        import tempfile

        with open(path, encoding="utf-8") as handle, tempfile.TemporaryDirectory() as scratch:
            single = os.path.join(scratch, "record.json")
            for line in handle:
                if not line.strip():
                    continue
                with open(single, "w", encoding="utf-8") as out:
                    out.write(line)
                yield from yaz_records_of(single, "json")
        return
    yield from yaz_records_of(path, fmt)


def yaz_records_of(path, fmt):
    yaz_format = {"iso2709": "marc", "marcxml": "marcxml", "json": "json"}[fmt]
    output = subprocess.run(
        ["yaz-marcdump", "-i", yaz_format, "-o", "json", path], check=True, capture_output=True
    ).stdout.decode("utf-8")
    decoder = json.JSONDecoder()
    index = 0
    while True:
        while index < len(output) and output[index].isspace():
            index += 1
        if index >= len(output):
            return
        record, index = decoder.raw_decode(output, index)
        yield record


def main():
    reader, fmt, path = sys.argv[1:4]
    records = pymarc_records(fmt, path) if reader == "pymarc" else yaz_records(fmt, path)
    out = sys.stdout
    try:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False))
            out.write("\n")
        out.flush()
    except BrokenPipeError:
        sys.exit(1)


if __name__ == "__main__":
    main()
