#!/usr/bin/env python3
"""The codec benchmark: calisd against yaz-marcdump on the same file, in the same run, alternating.

    Benchmarks/codec.py [--rounds N] [--copies K] [--xml | --marc8 --source FILE --label TEXT]

Builds calisd in release mode, makes a file of K copies of the shared LoC 20,000-record file (default 10,
so 200,000 records; the same records repeated), and times, alternating each round:
  calisd marc dump --to json   against  yaz-marcdump -o json
  calisd marc stats            against  yaz-marcdump -n
  calisd marc stats            against  xmllint --sax --noout (--xml: libxml2 parsing alone, the reader's floor)
Output goes to /dev/null for both. Prints a Markdown table of medians, rates, ratios and peak RSS, then peak
RSS at half and double the size to show memory does not grow with the file. With --xml the same records are read
as MARCXML: yaz-marcdump writes the K copies as one MARCXML collection (an independent converter), and both sides,
and the other libraries, read that file.
"""
import argparse
import os
import shutil
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data", "marc")
WORK = os.path.join(ROOT, "Benchmarks", "work")
CALISD = os.path.join(ROOT, ".build", "release", "calisd")


def build():
    subprocess.run(["swift", "build", "-c", "release", "--product", "calisd"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def make_input(source, copies, name):
    path = os.path.join(WORK, name)
    if not os.path.exists(path) or os.path.getsize(path) != os.path.getsize(source) * copies:
        os.makedirs(WORK, exist_ok=True)
        with open(source, "rb") as handle:
            data = handle.read()
        with open(path, "wb") as out:
            for _ in range(copies):
                out.write(data)
    return path


def timed(command, capture=False):
    """Wall seconds and peak RSS (KiB) of one run, output discarded (or, with capture, returned third)."""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M"] + command,
                            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"{command} failed: {result.stderr.decode()}")
    rss = int(result.stderr.decode().strip().splitlines()[-1])
    return (elapsed, rss, result.stdout.decode()) if capture else (elapsed, rss)


def as_marcxml(iso_path):
    """The ISO 2709 file as one MARCXML collection, written by yaz-marcdump, kept while the source is unchanged."""
    path = iso_path[:-len(".mrc")] + ".xml"
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(iso_path):
        partial = path + ".partial"
        with open(partial, "wb") as out:
            subprocess.run(["yaz-marcdump", "-i", "marc", "-o", "marcxml", iso_path], stdout=out, check=True)
        os.replace(partial, path)
    return path


def count_records(path):
    with open(path, "rb") as handle:
        return handle.read().count(b"\x1d")


PYMARC = """
import sys, pymarc
records = fields = subfields = 0
for record in pymarc.MARCReader(open(sys.argv[1], "rb"), to_unicode=True, force_utf8=True):
    records += 1
    for field in record.fields:
        fields += 1
        if not field.is_control_field():
            subfields += len(field.subfields)
print(records, fields, subfields)
"""

PYMARC_XML = """
import sys, pymarc
counts = [0, 0, 0]
def walk(record):
    counts[0] += 1
    for field in record.fields:
        counts[1] += 1
        if not field.is_control_field():
            counts[2] += len(field.subfields)
pymarc.map_xml(walk, sys.argv[1])
print(*counts)
"""

PERL = r"""
use MARC::Batch;
use if $ARGV[1] eq 'XML', 'MARC::File::XML', (BinaryEncoding => 'utf8');
my $batch = MARC::Batch->new($ARGV[1], $ARGV[0]);
$batch->strict_off; $batch->warnings_off;
my ($records, $fields, $subfields) = (0, 0, 0);
while (my $record = $batch->next) {
    $records++;
    for my $field ($record->fields) { $fields++; $subfields += scalar(my @s = $field->subfields) unless $field->is_control_field; }
}
print "$records $fields $subfields\n";
"""

JAVA = """
import java.io.FileInputStream;
import org.marc4j.MarcReader;
import org.marc4j.MarcStreamReader;
import org.marc4j.MarcXmlReader;
import org.marc4j.marc.DataField;
import org.marc4j.marc.Record;
import org.marc4j.marc.VariableField;

public class Walk {
    public static void main(String[] arguments) throws Exception {
        FileInputStream input = new FileInputStream(arguments[0]);
        MarcReader reader = arguments.length > 1 && arguments[1].equals("xml")
            ? new MarcXmlReader(input) : new MarcStreamReader(input, "UTF-8");
        long records = 0, fields = 0, subfields = 0;
        while (reader.hasNext()) {
            Record record = reader.next();
            records++;
            for (VariableField field : record.getVariableFields()) {
                fields++;
                if (field instanceof DataField) subfields += ((DataField) field).getSubfields().size();
            }
        }
        System.out.println(records + " " + fields + " " + subfields);
    }
}
"""


def anchors(path, xml):
    """pymarc 5.4 (PyPI), MARC::Record 2.0 (Debian libmarc-record-perl; libmarc-xml-perl for MARCXML), marc4j 2.9
    (Debian libmarc4j-java)."""
    found = []
    python = subprocess.run([sys.executable, "-c", "import pymarc"], capture_output=True).returncode == 0
    found.append(("pymarc", [sys.executable, "-c", PYMARC_XML if xml else PYMARC, path] if python else None))
    module = "-MMARC::File::XML" if xml else "-MMARC::Batch"
    perl = subprocess.run(["perl", module, "-e", "1"], capture_output=True).returncode == 0
    found.append(("MARC::Record (Perl)", ["perl", "-e", PERL, path, "XML" if xml else "USMARC"] if perl else None))
    jar = "/usr/share/java/marc4j.jar"
    java = None
    if os.path.exists(jar) and shutil.which("javac"):
        folder = os.path.join(WORK, "marc4j")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "Walk.java"), "w") as handle:
            handle.write(JAVA)
        subprocess.run(["javac", "-cp", jar, "-d", folder, os.path.join(folder, "Walk.java")], check=True)
        java = ["java", "-cp", f"{jar}:{folder}", "Walk", path] + (["xml"] if xml else [])
    found.append(("marc4j (Java, JVM start included)", java))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--source", default=os.path.join(SHARED, "lc-booksall-2016",
                                                         "booksall-2016-part01-first20000.utf8.mrc"))
    parser.add_argument("--label", default="LoC BooksAll 2016, UTF-8")
    parser.add_argument("--marc8", action="store_true",
                        help="the source is MARC-8: yaz converts to UTF-8 (-f marc8 -t utf8) as calisd does")
    parser.add_argument("--xml", action="store_true",
                        help="read the same records as one MARCXML collection that yaz-marcdump writes")
    parser.add_argument("--baseline", help="also time `stats` with this calisd binary, alternating, same file")
    args = parser.parse_args()

    build()
    base = os.path.basename(args.source).split(".")[0]
    path = make_input(args.source, args.copies, f"{base}-x{args.copies}.mrc")
    records = count_records(path)
    if args.xml:
        path = as_marcxml(path)
    size_mb = os.path.getsize(path) / 1e6
    if args.xml:
        pairs = [
            ("MARCXML → MARC-in-JSON", [CALISD, "marc", "dump", "--to", "json", path],
             ["yaz-marcdump", "-i", "marcxml", "-o", "json", path]),
            ("MARCXML, every field and subfield", [CALISD, "marc", "stats", path],
             ["yaz-marcdump", "-i", "marcxml", "-n", path]),
        ]
        # calisd reads MARCXML through libxml2's SAX parser: its time with callbacks that do nothing is the floor.
        if shutil.which("xmllint"):
            pairs.append(("MARCXML, every field and subfield, against libxml2 alone (xmllint --sax --noout)",
                          [CALISD, "marc", "stats", path], ["xmllint", "--sax", "--noout", path]))
    elif args.marc8:
        convert = ["-f", "marc8", "-t", "utf8", "-l", "9=97"]
        pairs = [
            ("MARC-8 → MARC-in-JSON (UTF-8)", [CALISD, "marc", "dump", "--to", "json", path],
             ["yaz-marcdump"] + convert + ["-o", "json", path]),
            ("MARC-8 → UTF-8, every field and subfield", [CALISD, "marc", "stats", path],
             ["yaz-marcdump"] + convert + ["-o", "marc", path]),
        ]
    else:
        pairs = [
            ("MARC-in-JSON out", [CALISD, "marc", "dump", "--to", "json", path], ["yaz-marcdump", "-o", "json", path]),
            ("parse every field and subfield", [CALISD, "marc", "stats", path], ["yaz-marcdump", "-n", path]),
        ]
    if args.baseline:
        pairs.append(("stats: this calisd vs the baseline", [CALISD, "marc", "stats", path],
                      [args.baseline, "marc", "stats", path]))
    results = {}
    for round_number in range(args.rounds):
        for name, ours, theirs in pairs:
            order = [("calisd", ours), ("yaz", theirs)]
            if round_number % 2:
                order.reverse()
            for who, command in order:
                results.setdefault((name, who), []).append(timed(command))

    shape = ", as one MARCXML collection written by yaz-marcdump" if args.xml else ""
    print(f"{records:,} records ({args.label}, {args.copies} copies of the source file{shape}), {size_mb:.0f} MB; "
          f"{args.rounds} rounds alternating; medians.")
    print(f"Machine: {platform.node()}, {os.cpu_count()} cores, {platform.platform()}; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print()
    print("| task | calisd s | calisd records/s | anchor s | anchor records/s | calisd ÷ anchor speed | peak RSS calisd / anchor |")
    print("|---|---|---|---|---|---|---|")
    for name, _, _ in pairs:
        ours = results[(name, "calisd")]
        theirs = results[(name, "yaz")]
        t_ours = statistics.median(t for t, _ in ours)
        t_theirs = statistics.median(t for t, _ in theirs)
        rss_ours = max(r for _, r in ours) / 1024
        rss_theirs = max(r for _, r in theirs) / 1024
        print(f"| {name} | {t_ours:.3f} | {records / t_ours:,.0f} | {t_theirs:.3f} | {records / t_theirs:,.0f} | "
              f"{t_theirs / t_ours:.2f}× | {rss_ours:.0f} / {rss_theirs:.0f} MiB |")

    if args.marc8 or args.baseline:
        return
    print()
    print("Every field and subfield walked, against the other libraries people use (once each, same file):")
    print()
    print("| reader | s | records/s | calisd ÷ it | peak RSS |")
    print("|---|---|---|---|---|")
    walk = "MARCXML, every field and subfield" if args.xml else "parse every field and subfield"
    t_calisd = statistics.median(t for t, _ in results[(walk, "calisd")])
    for name, command in anchors(path, args.xml):
        if command is None:
            print(f"| {name} | not installed | | | |")
            continue
        seconds, rss, out = timed(command, capture=True)
        read = int(out.split()[0]) if out.split() else 0
        if read != records:
            sys.exit(f"{name} read {read:,} records of {records:,}: its time would not be comparable")
        print(f"| {name} | {seconds:.3f} | {records / seconds:,.0f} | {seconds / t_calisd:.1f}× | {rss / 1024:.0f} MiB |")
    if args.xml:
        return
    print()
    print("Peak RSS against file size (calisd):")
    print()
    print("| records | stats | dump --to json |")
    print("|---|---|---|")
    for copies in (max(1, args.copies // 2), args.copies * 2):
        sized = make_input(args.source, copies, f"{base}-x{copies}.mrc")
        n = count_records(sized)
        _, rss_stats = timed([CALISD, "marc", "stats", sized])
        _, rss_dump = timed([CALISD, "marc", "dump", "--to", "json", sized])
        print(f"| {n:,} | {rss_stats / 1024:.0f} MiB | {rss_dump / 1024:.0f} MiB |")


if __name__ == "__main__":
    main()
