#!/usr/bin/env python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<target>/.

Seeds come from the captured vectors (tests/vectors/*.hex), the shipped example config and a few
hand-made inputs that reach code the captures never do (bind_nak, fault, fragments, object UUIDs,
refusal stubs, bad YAML). Each seed has a descriptive name, so a reviewer sees what it covers.
Run it after adding vectors or targets; it rewrites only the corpora it knows and leaves
libFuzzer-found inputs elsewhere alone.

    python3 tests/fuzz/make_seed_corpus.py
"""

import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "tests" / "fuzz" / "corpus"

# DCE/RPC connection-oriented packet types and flags (see protocol/rpc_header.hpp).
REQUEST, RESPONSE, FAULT, BIND_NAK, SHUTDOWN = 0, 2, 3, 13, 17
FIRST, LAST, OBJECT_UUID = 0x01, 0x02, 0x80


def vector(name: str) -> bytes:
    return bytes.fromhex((VECTORS / name).read_text().strip())


def all_vectors() -> dict:
    return {p.stem: vector(p.name) for p in sorted(VECTORS.glob("*.hex"))}


def pdu(ptype: int, flags: int, call_id: int, body: bytes) -> bytes:
    header = struct.pack("<BBBB4sHHI", 5, 0, ptype, flags, b"\x10\x00\x00\x00", 16 + len(body), 0,
                         call_id)
    return header + body


def split_call(whole: bytes, chunk: int) -> bytes:
    """Splits a single-fragment request or response PDU into fragments of `chunk` stub bytes."""
    ptype, flags = whole[2], whole[3]
    call_id = struct.unpack_from("<I", whole, 12)[0]
    fixed = whole[16:24]  # alloc_hint, context id, opnum / cancel count
    stub = whole[24:]
    out = b""
    for at in range(0, len(stub), chunk):
        part = stub[at:at + chunk]
        f = flags & ~(FIRST | LAST)
        if at == 0:
            f |= FIRST
        if at + chunk >= len(stub):
            f |= LAST
        hint = struct.pack("<I", len(stub) - at)
        out += pdu(ptype, f, call_id, hint + fixed[4:] + part)
    return out


def interleave(fragments: bytes, other: bytes) -> bytes:
    """Puts `other` right after the first fragment of `fragments` (a call_id change mid-call)."""
    first_length = struct.unpack_from("<H", fragments, 8)[0]
    return fragments[:first_length] + other + fragments[first_length:]


def stream_config(max_fragments: int, max_stub: int, xmit_units: int) -> bytes:
    """The 4-byte prefix fuzz_rpc_stream reads before the stream."""
    return struct.pack("<BHB", max_fragments - 1, max_stub, xmit_units)


def write(target: str, seeds: dict) -> None:
    out = CORPUS / target
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, data in sorted(seeds.items()):
        (out / name).write_bytes(data)
    print(f"{target}: {len(seeds)} seeds")


def rpc_pdu_seeds(v: dict) -> dict:
    seeds = {f"{name}.bin": data for name, data in v.items()}
    seeds["bind_nak_protocol_version.bin"] = pdu(BIND_NAK, FIRST | LAST, 2,
                                                 struct.pack("<HB", 4, 1) + b"\x05\x00")
    seeds["fault_unknown_interface.bin"] = pdu(FAULT, FIRST | LAST | 0x20, 2,
                                               struct.pack("<IHBBII", 0, 0, 0, 0, 0x1C010003, 0))
    seeds["shutdown.bin"] = pdu(SHUTDOWN, FIRST | LAST, 0, b"")
    stub = v["v4_request"][24:]
    object_uuid = bytes(range(16))
    seeds["request_object_uuid.bin"] = pdu(REQUEST, FIRST | LAST | OBJECT_UUID, 2,
                                           struct.pack("<IHH", len(stub), 0, 0) + object_uuid + stub)
    # In-band refusals: null response pointer, then the HRESULT (NDR32 12 bytes, NDR64 20).
    seeds["response_refusal_ndr32.bin"] = pdu(RESPONSE, FIRST | LAST, 2,
                                              struct.pack("<IHBB", 12, 0, 0, 0) +
                                              struct.pack("<III", 0, 0, 0xC004F042))
    seeds["response_refusal_ndr64.bin"] = pdu(RESPONSE, FIRST | LAST, 3,
                                              struct.pack("<IHBB", 20, 1, 0, 0) +
                                              struct.pack("<QQI", 0, 0, 0x8007000D))
    seeds["header_only_truncated.bin"] = v["v6_request"][:10]
    return seeds


def rpc_stream_seeds(v: dict) -> dict:
    roomy = stream_config(16, 0x4000, 4)
    tight = stream_config(2, 300, 0)
    return {
        "v4_session_client.bin": roomy + v["v4_bind_request"] + v["v4_alter_context_request"] +
        v["v4_request"],
        "v6_session_host.bin": roomy + v["v6_bind_ack"] + v["v6_alter_context_ack"] +
        v["v6_response"],
        "v5_request_3_fragments.bin": roomy + split_call(v["v5_request"], 96),
        "v6_response_2_fragments.bin": roomy + split_call(v["v6_response"], 160),
        "v4_request_fragments_over_limit.bin": tight + split_call(v["v4_request"], 64),
        "v4_odd_response_fragments.bin": roomy + split_call(v["v4_odd_size_epid48_response"], 88),
        "call_interrupted_by_another.bin": roomy + interleave(split_call(v["v5_request"], 128),
                                                              v["v6_ndr64_request"]),
    }


def text_seeds(v: dict) -> dict:
    hex_text = v["v4_bind_ack"].hex()
    seeds = {
        "hex_vector.txt": b"\x00" + hex_text.encode(),
        "hex_upper_colons.txt": b"\x00" + ":".join(hex_text[i:i + 2].upper()
                                                   for i in range(0, 32, 2)).encode(),
        "hex_whitespace.txt": b"\x00" + b"05 00 0b 03\n10 00 00 00\r\n\ta0 00",
        "hex_odd_digits.txt": b"\x00abc",
        "hex_bad_char.txt": b"\x000g",
        "guid_plain.txt": b"\x0155c92734-d682-4d71-983e-d6ec3f16059f",
        "guid_braced_upper.txt": b"\x01{2DE67392-B7A7-462A-B1CA-108DD189F588}",
        "guid_bad_dash.txt": b"\x0155c92734-d682-4d71-983ed-6ec3f16059f",
        "guid_nil.txt": b"\x0100000000-0000-0000-0000-000000000000",
    }
    for i, d in enumerate([b"250ms", b"1.5s", b"-3h", b" 4h ", b"7d", b"1w", b"90", b"2 min",
                           b"+0.000001us", b"9000000000s", b"1e3s", b"."]):
        seeds[f"duration_{i:02d}.txt"] = b"\x02" + d
    return seeds


def sim_config_seeds() -> dict:
    seeds = {"examples_corp.yaml": (ROOT / "examples" / "corp.yaml").read_bytes()}
    snippets = {
        "minimal_host.yaml": "kms_hosts:\n  - name: a\n",
        "typo_key.yaml": "kms_host:\n  - name: a\n",
        "count_fixed_and_protocols.yaml":
            "kms_hosts:\n  - name: a\n    count: 30\n    protocols: [4, 6]\n"
            "    time_tolerance: off\n    clock_skew: -3h\n    hwid: 3A1C049600B60076\n",
        "duplicate_host.yaml": "kms_hosts:\n  - name: a\n  - name: a\n",
        "srv_port_of_host.yaml":
            "dns:\n  zones:\n    - origin: x.test.\n      soa: {mname: ns.x.test, serial: 7}\n"
            "      records:\n        - {type: SRV, name: _vlmcs._tcp, target: a.x.test, port: a}\n"
            "        - {type: A, name: a, address: 127.0.0.1}\n"
            "        - {type: TXT, text: [one, two]}\n"
            "        - {type: CNAME, name: b, target: a}\n"
            "kms_hosts:\n  - name: a\n    publish: [x.test]\n",
        "sntp.yaml": "sntp:\n  skew: 1.5s\n  stratum: 3\n  leap: 1\n  reference_id: GPS\n",
        "flow_style.yaml": "{seed: 7, dns: {enabled: false}, kms_hosts: [{name: k, listen: ['[::1]:0']}]}",
        "anchors.yaml": "base: &h {name: a}\nkms_hosts: [*h]\n",
        "syntax_error.yaml": "kms_hosts: [\n",
        "not_a_map.yaml": "- 1\n- 2\n",
    }
    for name, text in snippets.items():
        seeds[name] = text.encode()
    return seeds


def main() -> None:
    v = all_vectors()
    write("rpc_pdu", rpc_pdu_seeds(v))
    write("rpc_stream", rpc_stream_seeds(v))
    write("text", text_seeds(v))
    write("sim_config", sim_config_seeds())


if __name__ == "__main__":
    main()
