#!/usr/bin/env python3
"""Harvests an OAI-PMH 2.0 repository with Sickle, an independent harvester from PyPI, for calisd's provider tests.

    oai_harvest.py BASE_URL [--verb ListRecords|ListIdentifiers] [--prefix marc21] [--from DATE] [--set SPEC]

Prints one JSON object: {"items": [{"identifier", "datestamp", "deleted", "sets", "control", "title"}], "pages": N}
where control and title are the 001 and 245 $a (200 $a for UNIMARC) of MARCXML metadata, as pymarc reads them;
pages counts the responses Sickle fetched (one per resumption token, plus the first). noRecordsMatch prints no items.
"""
import argparse
import io
import json
import sys

import pymarc
from sickle import Sickle
from sickle.oaiexceptions import NoRecordsMatch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("--verb", default="ListRecords")
    parser.add_argument("--prefix", default="marc21")
    parser.add_argument("--from", dest="from_")
    parser.add_argument("--set")
    args = parser.parse_args()

    pages = 0

    class Counting(Sickle):
        def harvest(self, **kwargs):
            nonlocal pages
            pages += 1
            return super().harvest(**kwargs)

    sickle = Counting(args.base, max_retries=0)
    arguments = {"metadataPrefix": args.prefix}
    if args.from_:
        arguments["from"] = args.from_
    if args.set:
        arguments["set"] = args.set
    items = []
    try:
        listing = sickle.ListRecords(**arguments) if args.verb == "ListRecords" else sickle.ListIdentifiers(**arguments)
        for item in listing:
            header = item.header if args.verb == "ListRecords" else item
            entry = {"identifier": header.identifier, "datestamp": header.datestamp, "deleted": header.deleted,
                     "sets": header.setSpecs, "control": None, "title": None}
            if args.verb == "ListRecords" and not header.deleted and args.prefix == "marc21":
                metadata = item.xml.find(".//{http://www.loc.gov/MARC21/slim}record")
                from lxml import etree
                records = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(metadata)), strict=True)
                record = records[0]
                entry["control"] = record["001"].data
                field = record["245"] or record["200"]
                entry["title"] = field["a"] if field else None
            items.append(entry)
    except NoRecordsMatch:
        pass
    json.dump({"items": items, "pages": pages}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
