#!/usr/bin/env python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<target>/.

Seeds come from the captured vectors (tests/vectors/*.hex and *_intermediates.txt), the shipped
example config and hand-made inputs that reach code the captures never do (bind_nak, fault,
fragments, object UUIDs, refusal stubs, DNS queries and responses, SNTP modes, MACs and extension
fields, bad YAML). Each seed has a descriptive name, so a reviewer sees what it covers.
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


def intermediate(version: str, key: str) -> bytes:
    """A hex field of tests/vectors/<version>_intermediates.txt."""
    for line in (VECTORS / f"{version}_intermediates.txt").read_text().splitlines():
        if line.startswith(key + " "):
            return bytes.fromhex(line.split()[1])
    raise KeyError(f"{version}: {key}")


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


def kms_payload(pdu_bytes: bytes) -> bytes:
    """The KMS bytes inside a captured request or response PDU (NDR32 or NDR64 stub)."""
    stub = pdu_bytes[24:]
    response = pdu_bytes[2] == RESPONSE
    for width, fmt in ((4, "<I"), (8, "<Q")):
        n = struct.unpack_from(fmt, stub, 0)[0]
        second = struct.unpack_from(fmt, stub, width)[0]
        if response:
            at = 3 * width
            third = struct.unpack_from(fmt, stub, 2 * width)[0]
            if second == 0x20000 and third == n and at + n <= len(stub):
                return stub[at:at + n]
        elif second == n and 2 * width + n <= len(stub):
            return stub[2 * width:2 * width + n]
    raise ValueError("no KMS payload in this stub")


def kms_pairs(v: dict, suffix: str) -> dict:
    """KMS payloads of every captured request (suffix "request") or response with one."""
    out = {}
    for name, data in v.items():
        if name.endswith("_" + suffix) and "bind" not in name and "alter" not in name:
            try:
                out[name[:-len(suffix) - 1]] = kms_payload(data)
            except (ValueError, struct.error):
                pass  # an in-band refusal carries no KMS response
    return out


def version_index(payload: bytes) -> int:
    return {4: 0, 5: 1, 6: 2}[struct.unpack_from("<H", payload, 2)[0]]


def kms_request_seeds(v: dict) -> dict:
    seeds = {}
    for i, (name, payload) in enumerate(sorted(kms_pairs(v, "request").items())):
        seeds[f"raw_{name}.bin"] = bytes([0x00, i]) + payload
    for ver in ("v4", "v5", "v6"):
        payload = intermediate(ver, "kms_request_payload_hex")
        idx = version_index(payload)
        if ver == "v4":
            plain = payload[:236]
        else:
            plain = payload[4:20] + intermediate(ver, "request_plaintext_236_plus_pad")[:236]
        seeds[f"plaintext_{ver}.bin"] = bytes([0x80 | idx, 1]) + plain
    seeds["raw_truncated_v6.bin"] = b"\x00\x00" + intermediate("v6", "kms_request_payload_hex")[:100]
    seeds["raw_version_7.bin"] = b"\x00\x00\x00\x00\x07\x00" + bytes(256)
    return seeds


def kms_response_seeds(v: dict) -> dict:
    seeds = {}
    for name, payload in sorted(kms_pairs(v, "response").items()):
        seeds[f"raw_{name}.bin"] = bytes([version_index(payload)]) + payload
    for ver in ("v4", "v5", "v6"):
        payload = intermediate(ver, "kms_response_payload_hex")
        idx = version_index(payload)
        if ver == "v4":
            plain = payload[:-16]  # the target appends the MAC
        else:
            body = intermediate(ver, "response_plaintext_from_IV_field_incl_pad")[16:]
            plain = payload[4:20] + body[:-body[-1]]  # the target pads again
        seeds[f"plaintext_{ver}.bin"] = bytes([0x80 | idx]) + plain
    seeds["raw_v6_odd_ciphertext.bin"] = b"\x02" + intermediate("v6", "kms_response_payload_hex")[:-3]
    return seeds


def ntp_packet(first: int, stratum: int, ref_id: bytes, stamps: list, tail: bytes = b"") -> bytes:
    out = struct.pack(">BBbbII4s", first, stratum, 6, -20, 0x0000_0A00, 0x0000_0500, ref_id)
    for seconds, fraction in stamps:
        out += struct.pack(">II", seconds, fraction)
    return out + tail


def sntp_seeds() -> dict:
    t = (0xED0F_7E48, 0x1234_5678)  # 2026-01-... in NTP era 0
    era1 = (0x0000_1000, 0x8000_0000)  # just after the 2036 rollover
    zero = (0, 0)
    extension = struct.pack(">HH", 0x0104, 28) + bytes(24)
    return {
        "client_v4.bin": ntp_packet(0x23, 0, bytes(4), [zero, zero, zero, t]),
        "client_v3.bin": ntp_packet(0x1B, 0, bytes(4), [zero, zero, zero, t]),
        "client_era1.bin": ntp_packet(0x23, 0, bytes(4), [zero, zero, zero, era1]),
        "symmetric_active.bin": ntp_packet(0x21, 2, b"GPS\x00", [t, zero, zero, t]),
        "server_reply.bin": ntp_packet(0x24, 2, bytes([192, 0, 2, 1]), [t, t, t, t]),
        "kiss_of_death.bin": ntp_packet(0xE4, 0, b"RATE", [zero, t, t, t]),
        "with_md5_mac.bin": ntp_packet(0x23, 0, bytes(4), [zero, zero, zero, t],
                                       struct.pack(">I", 7) + bytes(range(16))),
        "crypto_nak.bin": ntp_packet(0x24, 2, b"LOCL", [t, t, t, t], struct.pack(">I", 0)),
        "extension_field.bin": ntp_packet(0x23, 0, bytes(4), [zero, zero, zero, t], extension),
        "extension_and_sha1_mac.bin": ntp_packet(0x23, 0, bytes(4), [zero, zero, zero, t],
                                                 extension + struct.pack(">I", 9) + bytes(20)),
        "control_mode6.bin": bytes([0x16, 0x02]) + bytes(46),
        "truncated_47.bin": ntp_packet(0x23, 0, bytes(4), [zero, zero, zero, t])[:47],
    }


def dns_name(text: str) -> bytes:
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def dns_message(ident: int, flags: int, questions: list, answers: list = (), authority: list = (),
                additional: list = ()) -> bytes:
    out = struct.pack(">HHHHHH", ident, flags, len(questions), len(answers), len(authority),
                      len(additional))
    for name, qtype in questions:
        out += dns_name(name) + struct.pack(">HH", qtype, 1)
    for section in (answers, authority, additional):
        for owner, rtype, ttl, rdata in section:
            out += owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata
    return out


def dns_seeds() -> dict:
    srv, a, aaaa, txt, soa, opt, cname, axfr, any_ = 33, 1, 28, 16, 6, 41, 5, 252, 255
    vlmcs = "_vlmcs._tcp.corp.example"
    # OPT: root owner, the class field carries the UDP payload size, DO set in the TTL field.
    edns_rr = b"\x00" + struct.pack(">HHIH", opt, 1232, 0x0000_8000, 0)
    query = dns_message(0x1234, 0x0100, [(vlmcs, srv)])
    query_edns = query[:10] + b"\x00\x01" + query[12:] + edns_rr
    to_question = b"\xc0\x0c"  # a pointer to the question name
    response = dns_message(
        0x1234, 0x8500, [(vlmcs, srv)],
        answers=[(to_question, srv, 300, struct.pack(">HHH", 0, 100, 1688) + dns_name("kms1.corp.example")),
                 (to_question, srv, 300, struct.pack(">HHH", 10, 50, 1689) + dns_name("kms2.corp.example"))],
        additional=[(dns_name("kms1.corp.example"), a, 300, bytes([127, 0, 0, 1])),
                    (dns_name("kms1.corp.example"), aaaa, 300, bytes(15) + b"\x01")])
    soa_rdata = dns_name("ns1.corp.example") + dns_name("hostmaster.corp.example") + \
        struct.pack(">IIIII", 1, 3600, 600, 86400, 60)
    nxdomain = dns_message(0x0001, 0x8583, [("nope.corp.example", srv)],
                           authority=[(dns_name("corp.example"), soa, 60, soa_rdata)])
    # One question whose name is a pointer to itself (offset 12).
    loop = struct.pack(">HHHHHH", 2, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", srv, 1)
    steer_udp, steer_tcp = bytes([0, 64]), bytes([2, 255])
    return {
        "query_srv.bin": steer_udp + query,
        "query_srv_edns.bin": steer_udp + query_edns,
        "query_srv_tcp.bin": steer_tcp + query,
        "query_a.bin": steer_udp + dns_message(7, 0x0100, [("kms1.corp.example", a)]),
        "query_cname_chain.bin": steer_udp + dns_message(8, 0x0100, [("www.corp.example", aaaa)]),
        "query_any.bin": steer_udp + dns_message(9, 0x0100, [("corp.example", any_)]),
        "query_axfr.bin": steer_tcp + dns_message(10, 0x0000, [("corp.example", axfr)]),
        "query_big_srv.bin": steer_udp + dns_message(11, 0x0100, [("_big._tcp.corp.example", srv)]),
        "query_outside_zone.bin": steer_udp + dns_message(12, 0x0100, [("kms.other.test", srv)]),
        "query_txt.bin": steer_udp + dns_message(13, 0x0100, [("txt.corp.example", txt)]),
        "query_trailing_byte.bin": bytes([1, 64]) + query + b"\x00",
        "response_srv_compressed.bin": bytes([0, 8]) + response,
        "response_nxdomain_soa.bin": steer_udp + nxdomain,
        "response_cname.bin": steer_udp + dns_message(
            14, 0x8400, [("www.corp.example", a)],
            answers=[(to_question, cname, 300, dns_name("kms1.corp.example"))]),
        "pointer_loop.bin": steer_udp + loop,
        "header_only.bin": steer_udp + query[:12],
    }


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


def with_max_recv_frag(bind: bytes, size: int) -> bytes:
    """A bind PDU with another max_recv_frag (bytes 18-19), so the host must fragment."""
    return bind[:18] + struct.pack("<H", size) + bind[20:]


def with_opnum(request: bytes, opnum: int) -> bytes:
    return request[:22] + struct.pack("<H", opnum) + request[24:]


def kms_host_seeds(v: dict) -> dict:
    def session(ver: str) -> bytes:
        return v[f"{ver}_bind_request"] + v[f"{ver}_alter_context_request"]

    defaults, no_ndr64, echo_iv = b"\x00", b"\x01", b"\x04"
    return {
        "v4_session.bin": defaults + session("v4") + v["v4_request"] + v["v4_ndr64_request"],
        "v5_session.bin": defaults + session("v5") + v["v5_request"],
        "v6_session.bin": defaults + session("v6") + v["v6_request"] + v["v6_ndr64_request"],
        "v6_session_echo_iv.bin": echo_iv + session("v6") + v["v6_request"],
        "v5_ndr32_only.bin": no_ndr64 + v["v5_ndr32only_bind_request"] + v["v5_ndr32only_request"],
        "v6_nonmultiplexed.bin": defaults + v["v6_nonmultiplexed_bind_request"] +
        v["v6_alter_context_request"] + v["v6_office2016_request"],
        "v6_clock_plus5h.bin": defaults + session("v6") + v["v6_err_C004F06C_clock_plus5h_request"],
        "v6_n_policy_1001.bin": defaults + session("v6") + v["v6_err_8007000D_request"],
        "v4_unknown_kms_id.bin": defaults + session("v4") + v["v4_err_C004F042_request"],
        "v5_fragmented_request.bin": defaults + session("v5") + split_call(v["v5_request"], 96),
        "v6_small_max_recv_frag.bin": defaults + with_max_recv_frag(v["v6_bind_request"], 64) +
        with_max_recv_frag(v["v6_alter_context_request"], 100) + v["v6_request"],
        "request_without_bind.bin": defaults + v["v4_request"],
        "request_opnum_5.bin": defaults + session("v4") + with_opnum(v["v4_request"], 5),
        "shutdown_then_request.bin": defaults + session("v4") + pdu(SHUTDOWN, FIRST | LAST, 0, b"") +
        v["v4_request"],
        "response_from_client.bin": defaults + session("v4") + v["v4_response"],
    }


def capture_seeds(v: dict) -> dict:
    binary, text, text_external_dated = b"\x00", b"\x01", b"\x07"
    session = v["v6_bind_request"] + v["v6_bind_ack"] + v["v6_alter_context_request"] + \
        v["v6_alter_context_ack"] + v["v6_request"] + v["v6_response"]
    one_per_line = "\n".join(v[n].hex() for n in ("v4_bind_request", "v4_bind_ack", "v4_request",
                                                  "v4_response"))
    c_array = ", ".join(f"0x{b:02X}" for b in v["v5_ndr32only_request"][:48])
    return {
        "text_v6_request_vector.txt": text + (VECTORS / "v6_request.hex").read_bytes(),
        "text_v4_session_one_per_line.txt": text + b"# vlmcs session\n" + one_per_line.encode(),
        "text_c_array_cut_short.txt": text + c_array.encode(),
        "text_wireshark_runs_external.txt": text_external_dated + " ".join(
            v["v5_response"].hex()[i:i + 4] for i in range(0, 2 * len(v["v5_response"]), 4)).encode(),
        "text_odd_run.txt": text + b"05000b0",
        "binary_v6_session.bin": binary + session,
        "binary_v6_session_dated.bin": b"\x04" + session,
        "binary_responses_only_external.bin": b"\x02" + v["v4_response"] + v["v6_err_C004F06C_clock_plus5h_response"],
        "binary_ndr64_pair.bin": binary + v["v6_ndr64_request"] + v["v6_ndr64_response"],
        "binary_odd_size_response.bin": binary + v["v4_odd_size_epid48_request"] +
        v["v4_odd_size_epid48_response"],
        "binary_refusals.bin": binary + v["v6_err_8007000D_request"] + v["v6_err_8007000D_response"] +
        v["v4_err_C004F042_request"] + v["v4_err_C004F042_response"],
        "binary_bind_nak_and_fault.bin": binary + pdu(BIND_NAK, FIRST | LAST, 2, struct.pack("<HB", 4, 1) +
                                                      b"\x05\x00") +
        pdu(FAULT, FIRST | LAST | 0x20, 2, struct.pack("<IHBBII", 0, 0, 0, 0, 0x1C010003, 0)),
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
    for i, e in enumerate([b"03612-00206-560-338962-03-1056-14393.0000-2462019",
                           b"55041-00206-559-924941-03-1102-6002.0000-1202024",
                           b"06401-00206-271-392041-03-1033-17763.0000-0012026",
                           b"03612-00206-560-338962-03-1056-14393.0000-246201",
                           b"03612-00206-560-338962-03-01056-14393.0000-3662019"]):
        seeds[f"epid_{i}.txt"] = b"\x03" + e
    for i, c in enumerate([b"0xC004F074", b"C004F074", b"3221549172", b"-1073418124", b"1722",
                           b"0x6BA", b" 0x8007232B ", b"0x", b"0", b"0x1C004F074"]):
        seeds[f"error_code_{i}.txt"] = b"\x04" + c
    for i, n in enumerate([b"_vlmcs._tcp.corp.example.", b"corp.example", b".", b"a\\.b.example",
                           b"\\065\\066c.example.", b"x" * 64 + b".example", b"a..b"]):
        seeds[f"dns_name_{i}.txt"] = b"\x05" + n
    for i, (rtype, text) in enumerate([(33, b"0 100 1688 kms1"), (1, b"192.0.2.1"),
                                       (28, b"2001:db8::1"), (28, b"::ffff:127.0.0.1"),
                                       (16, b'"v=kms lab" plain'), (5, b"kms1.corp.example."),
                                       (6, b"ns1 hostmaster 1 3600 600 86400 60"),
                                       (15, b"10 mail"), (65280, b"\\# 4 01020304"),
                                       (33, b"0 100 70000 kms1")]):
        seeds[f"dns_rdata_{i}.txt"] = b"\x06" + struct.pack("<H", rtype) + text
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
    write("kms_request", kms_request_seeds(v))
    write("kms_response", kms_response_seeds(v))
    write("kms_host", kms_host_seeds(v))
    write("dns_message", dns_seeds())
    write("capture", capture_seeds(v))
    write("sntp", sntp_seeds())
    write("text", text_seeds(v))
    write("sim_config", sim_config_seeds())


if __name__ == "__main__":
    main()
