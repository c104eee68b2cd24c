#!/usr/bin/env python3
"""Builds the CJK/CNMARC dedup benchmark from real LoC CJK records and the BNU CNMARC records.

Deterministic from --seed. Writes, beside this script:
  LOC.mrc.gz  the chosen LoC records as LoC catalogued them;
  M21.mrc.gz  the same books as other MARC21 libraries catalogue them (the variants below);
  CNM.mrc.gz  the same books as CNMARC libraries catalogue them (crosswalked by `calisd marc convert
              --crosswalk cnmarc`, then varied), plus variants of the 10 real BNU CNMARC records;
  NEG.mrc.gz  hard negatives: other volumes, editions, reprints, translations, the same title by others;
  labels.csv  id1,id2,label over 001 values (1 = the same manifestation).

See README.md for what each variant and negative is and why.
"""

import argparse
import collections
import csv
import gzip
import io
import os
import random
import re
import subprocess
import sys
import tempfile

import opencc
import pymarc
from pymarc import Field, Indicators, Subfield

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "data", "marc")
LOC_CJK = os.path.join(SHARED, "lc-booksall-2016", "booksall-2016-part01-cjk-first8000.utf8.mrc")
BNU = os.path.join(SHARED, "derived", "dp2-bnu-cnmarc-10.utf8.iso")

TO_SIMPLIFIED = opencc.OpenCC("t2s")
TO_TRADITIONAL = opencc.OpenCC("s2t")


# --- identifiers -------------------------------------------------------------------------------------------

def isbn13_of(isbn10):
    core = "978" + isbn10[:9]
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core))
    return core + str((10 - total % 10) % 10)


def isbn10_of(isbn13):
    if not isbn13.startswith("978"):
        return None
    core = isbn13[3:12]
    total = sum(int(d) * (10 - i) for i, d in enumerate(core))
    check = (11 - total % 11) % 11
    return core + ("X" if check == 10 else str(check))


def hyphenate(isbn):
    """A plausible hyphenation (group-publisher-title-check); members type them in every way."""
    if len(isbn) == 13:
        return f"{isbn[:3]}-{isbn[3]}-{isbn[4:8]}-{isbn[8:12]}-{isbn[12]}"
    return f"{isbn[0]}-{isbn[1:5]}-{isbn[5:9]}-{isbn[9]}"


def random_isbn13(rng):
    core = "9787" + "".join(str(rng.randrange(10)) for _ in range(8))
    total = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(core))
    return core + str((10 - total % 10) % 10)


def isbn_digits(value):
    match = re.match(r"\s*([0-9Xx-]{10,17})", value or "")
    return match.group(1).replace("-", "").upper() if match else None


# --- record helpers ----------------------------------------------------------------------------------------

def read(path):
    with open(path, "rb") as handle:
        for record in pymarc.MARCReader(handle, to_unicode=True, force_utf8=True, utf8_handling="replace"):
            if record is not None:
                yield record


def first(record, tag):
    fields = record.get_fields(tag)
    return fields[0] if fields else None


def clone(record):
    return pymarc.Record(data=record.as_marc(), to_unicode=True, force_utf8=True)


def set_control(record, tag, value):
    for field in record.get_fields(tag):
        record.remove_field(field)
    record.add_ordered_field(Field(tag=tag, data=value))


def twin(record, field):
    """The 880 linked to field by $6, if any."""
    link = field.get("6")
    if not link or not link.startswith("880-"):
        return None
    key = f"{field.tag}-{link[4:6]}"
    for candidate in record.get_fields("880"):
        if (candidate.get("6") or "").startswith(key):
            return candidate
    return None


def map_subfield(field, code, change):
    subfields = []
    for subfield in field.subfields:
        value = change(subfield.value) if subfield.code == code else subfield.value
        subfields.append(Subfield(subfield.code, value))
    field.subfields = subfields


def set_fixed(record, start, text):
    fixed = first(record, "008").data
    first(record, "008").data = fixed[:start] + text + fixed[start + len(text):]


def vernacular_title(record):
    title = first(record, "245")
    vernacular = twin(record, title) if title else None
    return (vernacular or title or {}).get("a") if (vernacular or title) else None


def title_key(text):
    return re.sub(r"[\W_]+", "", TO_SIMPLIFIED.convert(text or "")).lower()


# --- variants of one manifestation -------------------------------------------------------------------------

def vary_isbn_form(record, rng):
    for field in record.get_fields("020"):
        digits = isbn_digits(field.get("a"))
        if not digits:
            continue
        if len(digits) == 10 and rng.random() < 0.7:
            digits = isbn13_of(digits)
        elif len(digits) == 13 and rng.random() < 0.5:
            digits = isbn10_of(digits) or digits
        form = hyphenate(digits) if rng.random() < 0.5 else digits
        map_subfield(field, "a", lambda value: form + value[len(value.split(" ")[0]):])
    return "isbn-form"


def vary_punctuation(record, rng):
    def restyle(value):
        value = value.replace(" :", "：").replace(" /", "").replace(" ;", "；") if rng.random() < 0.5 else value
        return re.sub(r"\s+", "  ", value) if rng.random() < 0.3 else value.rstrip(" /:;.")

    for field in [first(record, "245")] + [f for f in record.get_fields("880") if (f.get("6") or "").startswith("245")]:
        if field:
            map_subfield(field, "a", restyle)
            map_subfield(field, "b", restyle)
    return "punctuation"


def vary_script(record, rng):
    converter = TO_TRADITIONAL if rng.random() < 0.5 else TO_SIMPLIFIED
    for field in record.get_fields("880"):
        field.subfields = [Subfield(s.code, s.value if s.code == "6" else converter.convert(s.value)) for s in field.subfields]
    return "traditional" if converter is TO_TRADITIONAL else "simplified"


def drop_vernacular(record, rng):
    for field in record.get_fields("880", "066"):
        record.remove_field(field)
    for field in record.fields:
        if not field.is_control_field():
            field.subfields = [s for s in field.subfields if s.code != "6"]
    return "no-880"


def swap_vernacular(record, rng):
    """The vernacular in 245/100/260 and the romanisation in the 880, as some libraries do."""
    swapped = False
    for field in list(record.fields):
        if field.tag == "880" or field.is_control_field():
            continue
        vernacular = twin(record, field)
        if vernacular is None:
            continue
        roman = [s for s in field.subfields if s.code != "6"]
        field.subfields = [s for s in field.subfields if s.code == "6"] + [s for s in vernacular.subfields if s.code != "6"]
        vernacular.subfields = [s for s in vernacular.subfields if s.code == "6"] + roman
        swapped = True
    return "swapped-880" if swapped else None


def drop_fields(record, rng):
    dropped = []
    for tag in rng.sample(["300", "250", "490", "504", "650", "020"], 2):
        fields = record.get_fields(tag)
        if tag == "020" and rng.random() < 0.7:
            continue
        for field in fields:
            record.remove_field(field)
            link = field.get("6")
            if link and link.startswith("880-"):
                vernacular = twin(record, field)
                if vernacular:
                    record.remove_field(vernacular)
        if fields:
            dropped.append(tag)
    return "missing-" + "+".join(dropped) if dropped else None


def vary_encoding_level(record, rng):
    level = rng.choice([" ", "4", "5", "7", "I", "K"])
    record.leader = record.leader[:17] + level + record.leader[18:]
    return "level-" + (level.strip() or "full")


MARC21_VARIANTS = [vary_isbn_form, vary_punctuation, vary_script, drop_vernacular, swap_vernacular, drop_fields,
                   vary_encoding_level]


def marc21_variant(base, rng):
    record = clone(base)
    record.remove_fields("001", "003", "005", "040")
    set_control(record, "001", "m21-" + first(base, "001").data.strip())
    operations = rng.sample(MARC21_VARIANTS, rng.randint(1, 3))
    # Dropping the 880 and swapping it are alternatives; keep the order stable for determinism.
    if drop_vernacular in operations and swap_vernacular in operations:
        operations.remove(swap_vernacular)
    applied = [name for name in (operation(record, rng) for operation in operations) if name]
    return record, applied


def cnmarc_variant(record, rng):
    """Varies a crosswalked (or real) CNMARC record as Chinese libraries' copies differ."""
    applied = []
    if rng.random() < 0.3:
        for field in record.get_fields("200", "700", "701", "702", "711", "712"):
            field.subfields = [s for s in field.subfields if s.code not in "A9"]
        applied.append("no-pinyin")
    if rng.random() < 0.7:
        for field in record.get_fields("200", "205", "210", "225", "700", "701", "702", "711"):
            field.subfields = [Subfield(s.code, TO_SIMPLIFIED.convert(s.value)) for s in field.subfields]
        applied.append("simplified")
    for field in record.get_fields("010"):
        digits = isbn_digits(field.get("a"))
        if digits and rng.random() < 0.6:
            if len(digits) == 10:
                digits = isbn13_of(digits)
            form = hyphenate(digits)
            map_subfield(field, "a", lambda value: form)
            applied.append("isbn-form")
    if rng.random() < 0.2:
        for field in record.get_fields("215"):
            record.remove_field(field)
        applied.append("missing-215")
    return applied


# --- hard negatives ----------------------------------------------------------------------------------------

def negative(base, kind, rng, others):
    record = clone(base)
    # Another manifestation is another record: the LoC control number and system numbers are the base's own.
    record.remove_fields("001", "003", "005", "040", "010", "035")
    set_control(record, "001", f"neg-{kind}-" + first(base, "001").data.strip())
    title = first(record, "245")
    vernacular = twin(record, title) if title else None
    year = first(base, "008").data[7:11]
    later = str(int(year) + rng.randint(2, 9)) if year.isdigit() else "2010"
    if kind.startswith("volume"):
        # One volume of a set: the set's ISBN on every volume, the part number in 245 $n.
        number = int(kind[6:])
        title.add_subfield("n", f"Di {number} ce")
        if vernacular:
            vernacular.add_subfield("n", f"第{number}册")
    elif kind == "edition":
        number = rng.randint(2, 5)
        for field in record.get_fields("250"):
            vernacular_edition = twin(record, field)
            if vernacular_edition:
                record.remove_field(vernacular_edition)
            record.remove_field(field)
        record.add_ordered_field(Field(tag="250", indicators=Indicators(" ", " "),
                                       subfields=[Subfield("a", f"第{number}版.")]))
        set_fixed(record, 7, later)
        replace_isbn(record, rng)
    elif kind == "reprint":
        # A facsimile reprint by another publisher, years later, with its own ISBN.
        donor = rng.choice(others)
        replace_imprint(record, donor, later)
        replace_isbn(record, rng)
    elif kind == "translation":
        # The same title in translation (Chinese and Japanese share it in Han characters).
        language = "jpn" if first(base, "008").data[35:38] == "chi" else "chi"
        set_fixed(record, 35, language)
        record.remove_fields("041")
        record.add_ordered_field(Field(tag="041", indicators=Indicators("1", " "),
                                       subfields=[Subfield("a", language), Subfield("h", first(base, "008").data[35:38])]))
        replace_imprint(record, rng.choice(others), later)
        replace_isbn(record, rng)
    elif kind == "other-author":
        donor = rng.choice([o for o in others if first(o, "100")] or others)
        for field in record.get_fields("100", "110", "700", "710"):
            vernacular_name = twin(record, field)
            if vernacular_name:
                record.remove_field(vernacular_name)
            record.remove_field(field)
        for field in donor.get_fields("100"):
            record.add_ordered_field(Field(tag="100", indicators=field.indicators,
                                           subfields=[s for s in field.subfields if s.code != "6"]))
            donor_vernacular = twin(donor, field)
            if donor_vernacular and vernacular:
                record.add_ordered_field(Field(tag="880", indicators=donor_vernacular.indicators,
                                               subfields=[Subfield("6", "100-00/$1")] +
                                               [s for s in donor_vernacular.subfields if s.code != "6"]))
        # The donor's statement of responsibility, romanised and vernacular.
        donor_title = first(donor, "245")
        donor_vernacular_title = twin(donor, donor_title) if donor_title else None
        for target, source in ((title, donor_title), (vernacular, donor_vernacular_title or donor_title)):
            if target is None:
                continue
            target.subfields = [s for s in target.subfields if s.code != "c"]
            statement = source.get("c") if source else None
            if statement:
                target.add_subfield("c", statement)
        replace_imprint(record, donor, later if rng.random() < 0.7 else year)
        record.remove_fields("020", "300")
        for field in donor.get_fields("300"):
            record.add_ordered_field(field)
    return record


def replace_isbn(record, rng):
    record.remove_fields("020")
    record.add_ordered_field(Field(tag="020", indicators=Indicators(" ", " "), subfields=[Subfield("a", random_isbn13(rng))]))


def replace_imprint(record, donor, year):
    """Another publisher (the donor's) and year, in 260 and its 880."""
    for field in record.get_fields("260", "264"):
        vernacular = twin(record, field)
        if vernacular:
            record.remove_field(vernacular)
        record.remove_field(field)
    imprint = first(donor, "260") or first(donor, "264")
    if imprint:
        fields = [s for s in imprint.subfields if s.code in "ab"] + [Subfield("c", year + ".")]
        record.add_ordered_field(Field(tag="260", indicators=Indicators(" ", " "), subfields=fields))
        donor_vernacular = twin(donor, imprint)
        if donor_vernacular:
            fields = [Subfield("6", "260-00/$1")] + [s for s in donor_vernacular.subfields if s.code in "ab"]
            record.add_ordered_field(Field(tag="880", indicators=Indicators(" ", " "), subfields=fields))
    set_fixed(record, 7, year)


NEGATIVE_KINDS = ["volume", "edition", "reprint", "translation", "other-author"]


# --- main --------------------------------------------------------------------------------------------------

def crosswalk(calisd, records, agency):
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "in.mrc")
        target = os.path.join(scratch, "out.mrc")
        with open(source, "wb") as handle:
            for record in records:
                handle.write(record.as_marc())
        subprocess.run([calisd, "marc", "convert", "--crosswalk", "cnmarc", "--agency", agency, "--to", "iso2709",
                        "-o", target, source], check=True)
        return list(read(target))


def write(path, records):
    buffer = io.BytesIO()
    for record in records:
        buffer.write(record.as_marc())
    # mtime 0: the same input gives the same bytes.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as handle:
        handle.write(buffer.getvalue())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--books", type=int, default=800, help="LoC CJK records to start from")
    parser.add_argument("--calisd", default=os.path.join(HERE, "..", "..", ".build", "release", "calisd"))
    parser.add_argument("--out", default=HERE)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    candidates = [r for r in read(LOC_CJK) if first(r, "245") and twin(r, first(r, "245")) and first(r, "008")
                  and first(r, "008").data[35:38] in ("chi", "jpn", "kor") and first(r, "008").data[7:11].isdigit()]
    bases = rng.sample(candidates, args.books)
    bases.sort(key=lambda r: first(r, "001").data)
    for base in bases:
        set_control(base, "001", "loc-" + first(base, "001").data.strip())

    labels = []
    marc21, notes = [], collections.Counter()
    for base in bases:
        variant, applied = marc21_variant(base, rng)
        marc21.append(variant)
        for name in applied:
            notes.update(["missing-" + tag for tag in name[8:].split("+")] if name.startswith("missing-") else [name])
        labels.append((first(base, "001").data, first(variant, "001").data, 1))

    # CNMARC copies of the Chinese books (as a CALIS member would have them), 70 % of them.
    chinese = [b for b in bases if first(b, "008").data[35:38] == "chi" and rng.random() < 0.7]
    cnmarc = crosswalk(args.calisd, chinese, "CALIS")
    by_base = {}
    for base, record in zip(chinese, cnmarc):
        set_control(record, "001", "cnm-" + first(base, "001").data.strip()[4:])
        notes.update("cnmarc-" + name for name in cnmarc_variant(record, rng))
        by_base[first(base, "001").data] = record
        labels.append((first(base, "001").data, first(record, "001").data, 1))
    for base, variant in zip(bases, marc21):
        if first(base, "001").data in by_base:
            labels.append((first(variant, "001").data, by_base[first(base, "001").data]["001"].data, 1))

    # The 10 real BNU CNMARC records and a varied copy of each, as a second CALIS member would send them.
    for record in read(BNU):
        original = first(record, "001").data.strip()
        set_control(record, "001", "bnu-" + original)
        copy = clone(record)
        set_control(copy, "001", "bnu2-" + original)
        cnmarc_variant(copy, rng)
        cnmarc += [record, copy]
        labels.append((first(record, "001").data, first(copy, "001").data, 1))

    # Hard negatives for 60 % of the books, each labelled against every copy of its book.
    negatives = []
    same_language = collections.defaultdict(list)
    for base in bases:
        same_language[first(base, "008").data[35:38]].append(base)
    for base, variant in zip(bases, marc21):
        if rng.random() >= 0.6:
            continue
        # An edition negative needs a book that states its edition: against one that states none, a later edition
        # is not a certain difference (a first edition rarely says so).
        kind = rng.choice([k for k in NEGATIVE_KINDS if k != "edition" or first(base, "250")])
        others = [o for o in same_language[first(base, "008").data[35:38]] if o is not base] or [o for o in bases if o is not base]
        if kind == "volume":
            # Two volumes of the set, labelled against each other only: whether a record of the whole set and a
            # record of one volume are one manifestation is a cataloguing question, not a matching one.
            volumes = [negative(base, f"volume{n}", rng, others) for n in rng.sample(range(1, 7), 2)]
            negatives += volumes
            notes["negative-volume"] += 1
            labels.append((first(volumes[0], "001").data, first(volumes[1], "001").data, 0))
            continue
        record = negative(base, kind, rng, others)
        negatives.append(record)
        notes["negative-" + kind] += 1
        copies = [base, variant] + ([by_base[first(base, "001").data]] if first(base, "001").data in by_base else [])
        labels += [(first(copy, "001").data, first(record, "001").data, 0) for copy in copies]

    # Natural negatives: different LoC books that share a normalised vernacular title (and the BNU annual
    # reports of different years).
    by_title = collections.defaultdict(list)
    for base in bases:
        by_title[title_key(vernacular_title(base))].append(base)
    natural = 0
    for group in by_title.values():
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                labels.append((group[i]["001"].data, group[j]["001"].data, 0))
                natural += 1
    labels.append(("bnu-990002180740203961", "bnu-990002181190203961", 0))
    notes["negative-same-title"] = natural + 1

    os.makedirs(args.out, exist_ok=True)
    write(os.path.join(args.out, "LOC.mrc.gz"), bases)
    write(os.path.join(args.out, "M21.mrc.gz"), marc21)
    write(os.path.join(args.out, "CNM.mrc.gz"), cnmarc)
    write(os.path.join(args.out, "NEG.mrc.gz"), negatives)
    with open(os.path.join(args.out, "labels.csv"), "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id1", "id2", "label"])
        writer.writerows((a.strip(), b.strip(), label) for a, b, label in labels)

    positives = sum(1 for *_, label in labels if label == 1)
    print(f"records: LOC {len(bases)}, M21 {len(marc21)}, CNM {len(cnmarc)}, NEG {len(negatives)}", file=sys.stderr)
    print(f"pairs: {len(labels)} ({positives} same, {len(labels) - positives} different)", file=sys.stderr)
    for name, count in sorted(notes.items()):
        print(f"  {name}: {count}", file=sys.stderr)


if __name__ == "__main__":
    main()
