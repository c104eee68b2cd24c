#!/usr/bin/env python3
"""An OAI-PMH 2.0 data provider built on pyoai's server side, for calisd's harvest tests.

    oai_provider.py --marc RECORDS.mrc --state STATE.json --port-file PORT --log REQUESTS.log [--batch 7]

calisd does not implement this server: pyoai answers the protocol (Identify, ListRecords with from/until, sets,
resumption tokens, noRecordsMatch, badResumptionToken); this script only says what records exist. Records are
the MARC file's, as MARCXML written by pymarc, identified as oai:test:<001>. STATE.json is read on every request,
so a test changes the repository between harvests:

    {"records": {"<001>": {"datestamp": "2026-11-26T10:00:00Z", "deleted": false, "title": "new 245 $a"}},
     "default_datestamp": "2026-01-01T00:00:00Z",
     "faults": ["503", "malformed", "slow", "badtoken"]}

Each request that carries a resumption token (a list half-way through) takes the next fault, if any: an HTTP 503,
a body that is not XML, an answer slower than the harvester waits, or a badResumptionToken error.
"""
import argparse
import datetime
import http.server
import io
import json
import os
import sys
import time
import urllib.parse

import types
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import cgi
    except ImportError:  # Python 3.13 removed the module
        cgi = sys.modules["cgi"] = types.ModuleType("cgi")

import pymarc
from lxml import etree

# pyoai 2.5.0 decodes resumption tokens with cgi.parse_qs, which Python 3.8 removed; it is urllib's function.
if not hasattr(cgi, "parse_qs"):
    cgi.parse_qs = urllib.parse.parse_qs

from oaipmh import common, error, metadata, server  # noqa: E402

MARC_NS = "http://www.loc.gov/MARC21/slim"


def parse_datestamp(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


class Repository:
    """pyoai's IOAI interface over the MARC file and the state file."""

    def __init__(self, records, state_path):
        self.records = records
        self.state_path = state_path

    def state(self):
        with open(self.state_path, encoding="utf-8") as handle:
            return json.load(handle)

    def identify(self):
        return common.Identify(
            repositoryName="calisd test provider (pyoai)", baseURL="http://127.0.0.1/oai", protocolVersion="2.0",
            adminEmails=["nobody@example.org"], earliestDatestamp=datetime.datetime(2000, 1, 1),
            deletedRecord="persistent", granularity="YYYY-MM-DDThh:mm:ssZ", compression=["identity"])

    def listMetadataFormats(self, identifier=None):
        return [("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", MARC_NS)]

    def listSets(self):
        raise error.NoSetHierarchyError("this repository has no sets")

    def _items(self, from_=None, until=None, set=None):
        state = self.state()
        default = state.get("default_datestamp", "2026-01-01T00:00:00Z")
        overrides = state.get("records", {})
        items = []
        for control_number, record in self.records:
            override = overrides.get(control_number, {})
            stamp = parse_datestamp(override.get("datestamp", default))
            if from_ is not None and stamp < from_:
                continue
            if until is not None and stamp > until:
                continue
            header = common.Header(None, "oai:test:" + control_number, stamp, [], bool(override.get("deleted")))
            if override.get("deleted"):
                items.append((header, None, None))
                continue
            if "title" in override:
                record = pymarc.Record(leader=record.leader, fields=[f for f in record.fields])
                for field in record.get_fields("245"):
                    field.delete_subfield("a")
                    field.add_subfield("a", override["title"], pos=0)
            items.append((header, common.Metadata(None, {"record": record}), None))
        return items

    def listRecords(self, metadataPrefix, set=None, from_=None, until=None):
        if metadataPrefix != "marc21":
            raise error.CannotDisseminateFormatError("only marc21")
        items = self._items(from_, until, set)
        if not items:
            raise error.NoRecordsMatchError("no record changed in that range")
        return items

    def listIdentifiers(self, metadataPrefix, set=None, from_=None, until=None):
        return [header for header, _, _ in self.listRecords(metadataPrefix, set, from_, until)]

    def getRecord(self, metadataPrefix, identifier):
        for item in self._items():
            if item[0].identifier() == identifier:
                return item
        raise error.IdDoesNotExistError(identifier)


def write_marc21(element, meta):
    xml = pymarc.record_to_xml(meta["record"], namespace=True)
    element.append(etree.fromstring(xml))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--marc", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--batch", type=int, default=7)
    parser.add_argument("--slow-seconds", type=float, default=4)
    parser.add_argument("--delay-seconds", type=float, default=0, help="a pause before every answer")
    arguments = parser.parse_args()

    records = []
    with open(arguments.marc, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True):
            records.append((record["001"].data.strip(), record))
    registry = metadata.MetadataRegistry()
    registry.registerWriter("marc21", write_marc21)
    provider = server.Server(Repository(records, arguments.state), registry, resumption_batch_size=arguments.batch)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            # OAI-PMH allows the arguments in a form body too (pyoai's client sends them so).
            length = int(self.headers.get("Content-Length") or 0)
            self.handle_query(self.rfile.read(length).decode("utf-8"))

        def do_GET(self):
            self.handle_query(urllib.parse.urlsplit(self.path).query)

        def handle_query(self, query):
            time.sleep(arguments.delay_seconds)
            with open(arguments.log, "a", encoding="utf-8") as log:
                log.write(query + "\n")
            parameters = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
            if "resumptionToken" in parameters:
                fault = self.take_fault()
                if fault == "503":
                    return self.answer(503, b"busy", {"Retry-After": "1"})
                if fault == "malformed":
                    return self.answer(200, b"<OAI-PMH><ListRecords><record>")
                if fault == "slow":
                    time.sleep(arguments.slow_seconds)
                if fault == "badtoken":
                    parameters["resumptionToken"] = "expired-token"
            body = provider.handleRequest(parameters)
            self.answer(200, body)

        def take_fault(self):
            with open(arguments.state, encoding="utf-8") as handle:
                state = json.load(handle)
            faults = state.get("faults", [])
            if not faults:
                return None
            state["faults"] = faults[1:]
            temporary = arguments.state + ".tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(state, handle)
            os.replace(temporary, arguments.state)
            return faults[0]

        def answer(self, status, body, headers=None):
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the harvester gave up waiting (the slow fault)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(arguments.port_file + ".tmp", "w") as handle:
        handle.write(str(httpd.server_address[1]))
    os.replace(arguments.port_file + ".tmp", arguments.port_file)
    httpd.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
