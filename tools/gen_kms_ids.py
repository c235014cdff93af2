#!/usr/bin/env python3
"""Generate protocol/src/kms_ids_data.cpp from data/kms-ids.txt and data/kms-ids-extra.tsv.

kms-ids.txt is a text dump of vlmcsd's built-in KMS data (KMD format 2.0): CSVLKs, application
IDs, KMS count IDs, SKUs and host builds. kms-ids-extra.tsv adds newer products that a named
public source confirms; those rows are marked unverified. The generated C++ is committed, so the
build never needs Python. Re-run after editing either input:

    python3 tools/gen_kms_ids.py            # rewrite protocol/src/kms_ids_data.cpp
    python3 tools/gen_kms_ids.py --check    # exit 1 if the committed file is stale

The script validates what the C++ relies on: unique GUIDs per table, every index in range, every
SKU's CSVLK equal to its KMS count ID's, every SKU's N and protocol equal to its KMS count ID's.
"""

import argparse
import pathlib
import re
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parent.parent
DUMP = ROOT / "data" / "kms-ids.txt"
EXTRA = ROOT / "data" / "kms-ids-extra.tsv"
OUT = ROOT / "protocol" / "src" / "kms_ids_data.cpp"

KMD_PROVENANCE = "vlmcsd KMD 2.0"

# vlmcsd's ini file names each CSVLK by what it activates (keys Windows, Office2010, Office2013,
# Office2016, Office2019, WinChinaGov). The dump gives only indexes; the mapping below follows
# from which KMS count IDs point at each index, and main() checks it against the dump.
CSVLK_NAMES = {
    0: ("Windows", "Windows Server 2019"),
    1: ("Office 2010", "Office 2010"),
    2: ("Office 2013", "Office 2013"),
    3: ("Office 2016", "Office 2016"),
    4: ("Windows China Government", "Windows 10 China Government"),
    5: ("Office 2019", "Office 2019"),
}

APP_NAMES = {"Windows": "Windows", "Office2010": "Office 2010", "Office2013+": "Office 2013+"}

FIELD_RE = re.compile(r"(\w+)=(\S+)")


def parse_fields(text):
    return {k: v for k, v in FIELD_RE.findall(text)}


def parse_dump(path):
    section = None
    csvlks, apps, kms_ids, skus, hosts = [], [], [], [], []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.rstrip("\n")
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.strip() or line.startswith("#") or line.startswith("magic="):
            continue
        if section == "CSVLK (ePID templates)":
            m = re.match(r"csvlk\[(\d+)\] (.*)$", line)
            f = parse_fields(m.group(2))
            lo, hi = re.match(r"\[(\d+),(\d+)\)", f["keyid"]).groups()
            csvlks.append(dict(index=int(m.group(1)), epid=f["epid"], release=f["release"],
                               group=int(f["group"]), key_lo=int(lo), key_hi=int(hi),
                               min_active=int(f["min_active_clients"])))
        elif section in ("Application IDs", "KMS count IDs (CSVLK groups)", "SKU / Activation IDs"):
            idx, guid, name, rest = line.split("\t")
            f = parse_fields(rest)
            row = dict(index=int(idx), guid=str(uuid.UUID(guid)), name=name,
                       app=int(f["app"]), kms=int(f["kms"]), proto=int(f["proto"]), n=int(f["N"]),
                       retail=f["retail"] == "1", preview=f["preview"] == "1",
                       csvlk=int(f["epid_idx"]))
            {"Application IDs": apps, "KMS count IDs (CSVLK groups)": kms_ids,
             "SKU / Activation IDs": skus}[section].append(row)
        elif section == "Host builds":
            build, platform, flags, release, name = line.split("\t")
            hosts.append(dict(build=int(build), platform=int(platform.split("=")[1]),
                              flags=int(flags.split("=")[1]), release=release.split("=")[1],
                              name=name))
        else:
            raise SystemExit(f"{path}: line outside a known section: {line!r}")
    for table in (csvlks, apps, kms_ids, skus):
        for i, row in enumerate(table):
            assert row["index"] == i, f"index gap at {row}"
    return csvlks, apps, kms_ids, skus, hosts


def parse_extra(path, apps, kms_ids):
    app_by_name = {a["name"]: i for i, a in enumerate(apps)}
    kms_by_name = {k["name"]: i for i, k in enumerate(kms_ids)}
    rows = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        kind, name, guid, app, kms, proto, n, provenance = raw.split("\t")
        if kind != "sku":
            raise SystemExit(f"{path}: only sku rows are supported, got {kind!r}")
        if not provenance.startswith("unverified: "):
            raise SystemExit(f"{path}: {name}: provenance must start with 'unverified: '")
        rows.append(dict(guid=str(uuid.UUID(guid)), name=name, app=app_by_name[app],
                         kms=None if kms == "-" else kms_by_name[kms], proto=int(proto),
                         n=int(n), provenance=provenance))
    return rows


def check(csvlks, apps, kms_ids, skus, hosts, extra):
    for table, label in ((apps, "app"), (kms_ids, "kms"), (skus + extra, "sku")):
        guids = [r["guid"] for r in table]
        dup = {g for g in guids if guids.count(g) > 1}
        assert not dup, f"duplicate {label} GUIDs: {dup}"
    for k in kms_ids:
        assert 0 <= k["app"] < len(apps) and 0 <= k["csvlk"] < len(csvlks), k
    for s in skus:
        k = kms_ids[s["kms"]]
        assert s["app"] == k["app"], f"SKU {s['name']}: app differs from its KMS count ID"
        assert s["csvlk"] == k["csvlk"], f"SKU {s['name']}: CSVLK differs from its KMS count ID"
        assert s["n"] == k["n"], f"SKU {s['name']}: N differs from its KMS count ID"
        assert s["proto"] == k["proto"], f"SKU {s['name']}: protocol differs from its KMS count ID"
    for i, (name, kms_name) in CSVLK_NAMES.items():
        assert any(k["name"] == kms_name and k["csvlk"] == i for k in kms_ids), (i, name)
    assert len(csvlks) == len(CSVLK_NAMES)
    assert len({h["build"] for h in hosts}) == len(hosts)


def cpp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cpp_guid(text):
    wire = uuid.UUID(text).bytes_le
    return "Guid::from_wire({" + ", ".join(f"0x{b:02x}" for b in wire) + "})"


def cpp_date(iso):
    y, m, d = (int(x) for x in iso.split("-"))
    return f"date({y}, {m}, {d})"


def render(csvlks, apps, kms_ids, skus, hosts, extra):
    out = []
    w = out.append
    w("// GENERATED by tools/gen_kms_ids.py from data/kms-ids.txt and data/kms-ids-extra.tsv.")
    w("// Do not edit: change the inputs and re-run the script (the data are facts, the code is ours).")
    w('#include "kmslab/protocol/kms_ids.hpp"')
    w("")
    w("#include <array>")
    w("")
    w("namespace kmslab::protocol {")
    w("namespace {")
    w("")
    w("constexpr Date date(int y, unsigned m, unsigned d) {")
    w("  return Date{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};")
    w("}")
    w(f"constexpr std::string_view kKmd = {cpp_str(KMD_PROVENANCE)};")
    w("")
    w(f"constexpr std::array<Csvlk, {len(csvlks)}> kCsvlks{{{{")
    for c in csvlks:
        name = CSVLK_NAMES[c["index"]][0]
        w(f"    {{{cpp_str(name)}, {c['group']}, {c['key_lo']}, {c['key_hi']}, "
          f"{cpp_date(c['release'])}, {cpp_str(c['epid'])}, {c['min_active']}, kKmd}},")
    w("}};")
    w("")
    w(f"constexpr std::array<Application, {len(apps)}> kApplications{{{{")
    for a in apps:
        w(f"    {{{cpp_str(APP_NAMES[a['name']])}, {cpp_guid(a['guid'])},  // {a['guid']}")
        w(f"     {a['n']}, {a['csvlk']}, kKmd}},")
    w("}};")
    w("")
    w(f"constexpr std::array<KmsCountId, {len(kms_ids)}> kKmsCountIds{{{{")
    for k in kms_ids:
        w(f"    {{{cpp_str(k['name'])}, {cpp_guid(k['guid'])},  // {k['guid']}")
        w(f"     {k['app']}, {k['n']}, {k['proto']}, {str(k['retail']).lower()}, "
          f"{str(k['preview']).lower()}, {k['csvlk']}, kKmd, false}},")
    w("}};")
    w("")
    w(f"constexpr std::array<Sku, {len(skus) + len(extra)}> kSkus{{{{")
    for s in skus:
        w(f"    {{{cpp_str(s['name'])}, {cpp_guid(s['guid'])},  // {s['guid']}")
        w(f"     {s['kms']}, {s['app']}, {s['proto']}, {s['n']}, kKmd, false}},")
    for s in extra:
        kms = "kNoIndex" if s["kms"] is None else str(s["kms"])
        w(f"    {{{cpp_str(s['name'])}, {cpp_guid(s['guid'])},  // {s['guid']}")
        w(f"     {kms}, {s['app']}, {s['proto']}, {s['n']},")
        w(f"     {cpp_str(s['provenance'])},")
        w("     true},")
    w("}};")
    w("")
    w(f"constexpr std::array<HostBuild, {len(hosts)}> kHostBuilds{{{{")
    for h in hosts:
        w(f"    {{{h['build']}, {h['platform']}, {h['flags']}, {cpp_date(h['release'])}, "
          f"{cpp_str(h['name'])}, kKmd}},")
    w("}};")
    w("")
    w("}  // namespace")
    w("")
    w("std::span<const Csvlk> csvlks() noexcept { return kCsvlks; }")
    w("std::span<const Application> applications() noexcept { return kApplications; }")
    w("std::span<const KmsCountId> kms_count_ids() noexcept { return kKmsCountIds; }")
    w("std::span<const Sku> skus() noexcept { return kSkus; }")
    w("std::span<const HostBuild> host_builds() noexcept { return kHostBuilds; }")
    w("")
    w("}  // namespace kmslab::protocol")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the committed output is stale")
    args = ap.parse_args()
    csvlks, apps, kms_ids, skus, hosts = parse_dump(DUMP)
    extra = parse_extra(EXTRA, apps, kms_ids)
    check(csvlks, apps, kms_ids, skus, hosts, extra)
    text = render(csvlks, apps, kms_ids, skus, hosts, extra)
    if args.check:
        if OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(ROOT)} is stale: run tools/gen_kms_ids.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(csvlks)} CSVLKs, {len(apps)} apps, "
          f"{len(kms_ids)} KMS count IDs, {len(skus)}+{len(extra)} SKUs, {len(hosts)} host builds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
