#!/usr/bin/env python3
"""A non-.NET bus agent, written from docs/PROTOCOL.md only: Python 3 standard library + redis-cli.

Usage:
  bus_interop.py vectors PROTOCOL.md
      Checks the protocol test vectors embedded in PROTOCOL.md: canonical bytes and signatures, and the admission
      verdict (strict UTF-8, signature, sender binding §5a) — every case accepted, every reject with its reason.
  bus_interop.py task --port P --key-id K --secret S --topic T [--reply-key-id K2 --reply-secret S2] [--timeout SECONDS]
      Signs a TASK per PROTOCOL.md as "python-agent", publishes it (XADD) with replyTo/correlationId, publishes a
      tampered copy (payload changed, signature kept) and an impostor (a new message claiming to be from
      "csharp-worker", correctly signed with the same key: a receiver that binds the key to "python-agent" rejects it
      as sender-not-allowed, §5a), then waits for the TASK_RESULT on the reply topic and verifies it (signature with
      the reply key — the worker's own key when keys are bound to senders, else the same key —, type, correlationId,
      recipient, payload). Prints one JSON line with the ids and exits 0 on success.
"""
import argparse
import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import sys
import time
import uuid


def canonical_bytes(id_, ts, type_, qos, topic, from_, to, correlation_id, reply_to, payload):
    """Canonical bytes v1 (PROTOCOL.md, "Canonical bytes"). `to` is the decoded list of recipients."""
    header = "bus.v1\n" + "\n".join([id_, str(ts), type_, qos, topic, from_, ",".join(to), correlation_id, reply_to]) + "\n"
    return header.encode("utf-8") + payload


def sign(secret, data):
    return base64.b64encode(hmac.new(secret.encode("utf-8"), data, hashlib.sha256).digest()).decode("ascii")


def recipients(to_text):
    value = json.loads(to_text)
    return [value] if isinstance(value, str) else list(value)


def verify(fields, keys):
    """Returns the id of the key whose signature verifies, else None. keys: {keyId: secret}."""
    data = canonical_bytes(fields["id"], fields["ts"], fields["type"], fields["qos"], fields["topic"], fields["from"],
                           recipients(fields["to"]), fields["correlationId"], fields["replyTo"],
                           fields["payload"].encode("utf-8"))
    for entry in fields["sig"].split(" "):
        key_id, _, mac = entry.partition(":")
        if key_id in keys and hmac.compare_digest(sign(keys[key_id], data), mac):
            return key_id
    return None


def sender_allowed(patterns, sender):
    """PROTOCOL.md §5a: a key without senders (or with "*") is shared; else an exact name or a prefix ending in "*"."""
    if not patterns or "*" in patterns:
        return True
    return any(sender.startswith(p[:-1]) if p.endswith("*") else sender == p for p in patterns)


def admission_verdict(raw, keys):
    """What a consumer decides about an entry before its handler (PROTOCOL.md §6 steps 3-4), from the raw field bytes.
    keys: {keyId: (secret, senders)}. Returns None (accepted) or the rejection reason."""
    if [name for name, value in raw.items() if not utf8_ok(value)]:
        return "invalid"
    f = {name: value.decode("utf-8") for name, value in raw.items()}
    data = canonical_bytes(f["id"], f["ts"], f["type"], f["qos"], f["topic"], f["from"], recipients(f["to"]),
                           f["correlationId"], f["replyTo"], raw["payload"])
    verified = []
    for entry in f["sig"].split(" "):
        key_id, _, mac = entry.partition(":")
        if key_id in keys and hmac.compare_digest(sign(keys[key_id][0], data), mac):
            verified.append(key_id)
    if not verified:
        return "bad-signature"
    if not any(sender_allowed(keys[k][1], f["from"]) for k in verified):
        return "sender-not-allowed"
    return None


def check_vectors(protocol_path):
    text = open(protocol_path, encoding="utf-8").read()
    match = re.search(r"<!-- test-vectors:begin -->\s*```json\s*(.*?)```\s*<!-- test-vectors:end -->", text, re.S)
    if not match:
        sys.exit("no test vectors found in " + protocol_path)
    vectors = json.loads(match.group(1))
    keys = {k["id"]: k["secret"] for k in vectors["keys"]}
    ring = {k["id"]: (k["secret"], k.get("senders") or []) for k in vectors["keys"]}
    for case in vectors["cases"]:
        f = case["fields"]
        data = canonical_bytes(f["id"], f["ts"], f["type"], f["qos"], f["topic"], f["from"], recipients(f["to"]),
                               f["correlationId"], f["replyTo"], f["payload"].encode("utf-8"))
        if base64.b64encode(data).decode("ascii") != case["canonicalBase64"]:
            sys.exit(f"{case['name']}: canonical bytes differ: {data!r}")
        expected = " ".join(f"{k}:{sign(keys[k], data)}" for k in case["signedWith"])
        if expected != case["sig"]:
            sys.exit(f"{case['name']}: signature differs: {expected} != {case['sig']}")
        if f["sig"] != case["sig"]:
            sys.exit(f"{case['name']}: fields.sig is not the expected signature")
        verdict = admission_verdict({k: v.encode("utf-8") for k, v in f.items()}, ring)
        if verdict is not None:
            sys.exit(f"{case['name']}: must be accepted, the checker says {verdict}")
    for case in vectors.get("rejects", []):
        if "fieldsBase64" in case:
            f = {k: base64.b64decode(v) for k, v in case["fieldsBase64"].items()}
        else:
            f = {k: v.encode("utf-8") for k, v in case["fields"].items()}
        data = (b"bus.v1\n" + b"\n".join([f["id"], f["ts"], f["type"], f["qos"], f["topic"], f["from"],
                ",".join(recipients(f["to"].decode("utf-8"))).encode("utf-8"), f["correlationId"], f["replyTo"]])
                + b"\n" + f["payload"])
        if base64.b64encode(data).decode("ascii") != case["canonicalBase64"]:
            sys.exit(f"{case['name']}: canonical bytes (raw) differ")
        key_id = case["sig"].split(":")[0]
        if f"{key_id}:{sign(keys[key_id], data)}" != case["sig"] or f["sig"].decode("utf-8") != case["sig"]:
            sys.exit(f"{case['name']}: signature over the raw bytes differs")
        if case["reason"] == "invalid":
            bad = [name for name, value in f.items() if not utf8_ok(value)]
            if bad != [case.get("invalidField")]:
                sys.exit(f"{case['name']}: strict UTF-8 finds {bad}, expected [{case.get('invalidField')}]")
        verdict = admission_verdict(f, ring)
        if verdict != case["reason"]:
            sys.exit(f"{case['name']}: the checker says {verdict}, expected {case['reason']}")
    print(f"vectors OK ({len(vectors['cases'])} cases, {len(vectors.get('rejects', []))} rejects)")


def utf8_ok(raw):
    try:
        raw.decode("utf-8", errors="strict")
        return True
    except UnicodeDecodeError:
        return False


class Redis:
    def __init__(self, port):
        self.cli = shutil.which("redis-cli")
        if not self.cli:
            sys.exit("redis-cli is not on PATH (it comes with the redis-server package)")
        self.port = str(port)

    def call(self, *args, json_output=False):
        cmd = [self.cli, "-h", "127.0.0.1", "-p", self.port] + (["--json"] if json_output else []) + [str(a) for a in args]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout.strip()
        if out.startswith("(error)") or out.startswith("ERR"):
            raise RuntimeError(f"{args[0]} failed: {out}")
        return json.loads(out) if json_output else out


def publish_task(args):
    redis = Redis(args.port)
    reply_topic = "interop.replies." + uuid.uuid4().hex
    reply_stream = "bus:{" + reply_topic + "}"
    redis.call("XGROUP", "CREATE", reply_stream, "python-agent", "$", "MKSTREAM")

    correlation_id = str(uuid.uuid4())
    payload = json.dumps({"a": 2, "b": 3, "text": "héllo"}, separators=(",", ":"), ensure_ascii=False)
    fields = {
        "v": "1",
        "id": str(uuid.uuid4()),
        "ts": str(int(time.time() * 1000)),
        "type": "TASK",
        "qos": "at-least-once",
        "topic": args.topic,
        "from": "python-agent",
        "to": json.dumps(["csharp-worker"]),
        "correlationId": correlation_id,
        "replyTo": reply_topic,
        "meta": json.dumps({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}),
        "payload": payload,
        "keyId": args.key_id,
    }
    data = canonical_bytes(fields["id"], fields["ts"], fields["type"], fields["qos"], fields["topic"], fields["from"],
                           recipients(fields["to"]), fields["correlationId"], fields["replyTo"], payload.encode("utf-8"))
    fields["sig"] = f"{args.key_id}:{sign(args.secret, data)}"

    stream = "bus:{" + args.topic + "}"

    def xadd(f):
        flat = [x for pair in f.items() for x in pair]
        return redis.call("XADD", stream, "*", *flat)

    entry_id = xadd(fields)
    tampered = dict(fields)
    tampered["payload"] = json.dumps({"a": 2, "b": 30, "text": "héllo"}, separators=(",", ":"), ensure_ascii=False)
    tampered_entry_id = xadd(tampered)
    impostor = dict(fields)
    impostor["id"] = str(uuid.uuid4())
    impostor["from"] = "csharp-worker"
    impostor_data = canonical_bytes(impostor["id"], impostor["ts"], impostor["type"], impostor["qos"], impostor["topic"],
                                    impostor["from"], recipients(impostor["to"]), impostor["correlationId"],
                                    impostor["replyTo"], payload.encode("utf-8"))
    impostor["sig"] = f"{args.key_id}:{sign(args.secret, impostor_data)}"
    impostor_entry_id = xadd(impostor)

    deadline = time.time() + args.timeout
    while time.time() < deadline:
        reply = redis.call("XREADGROUP", "GROUP", "python-agent", "py-1", "COUNT", "1", "BLOCK", "500",
                           "STREAMS", reply_stream, ">", json_output=True)
        if not reply:
            continue
        reply_entry_id, flat = reply[reply_stream][0]
        got = dict(zip(flat[0::2], flat[1::2]))
        key = verify(got, {args.reply_key_id or args.key_id: args.reply_secret or args.secret})
        problems = []
        if key is None:
            problems.append("reply signature does not verify")
        if got.get("type") != "TASK_RESULT":
            problems.append("reply type is " + repr(got.get("type")))
        if got.get("correlationId") != correlation_id:
            problems.append("reply correlationId is " + repr(got.get("correlationId")))
        if "python-agent" not in recipients(got.get("to", "[]")):
            problems.append("reply is not addressed to python-agent")
        result = json.loads(got.get("payload", "null"))
        if not isinstance(result, dict) or result.get("sum") != 5 or result.get("text") != "héllo":
            problems.append("unexpected reply payload " + got.get("payload", ""))
        redis.call("XACK", reply_stream, "python-agent", reply_entry_id)
        print(json.dumps({"taskId": fields["id"], "entryId": entry_id, "tamperedEntryId": tampered_entry_id,
                          "impostorEntryId": impostor_entry_id, "replyEntryId": reply_entry_id, "replyKeyId": key,
                          "problems": problems}))
        sys.exit(1 if problems else 0)
    print(json.dumps({"taskId": fields["id"], "entryId": entry_id, "tamperedEntryId": tampered_entry_id,
                      "problems": [f"no reply within {args.timeout} s"]}))
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("vectors")
    v.add_argument("protocol")
    t = sub.add_parser("task")
    t.add_argument("--port", required=True, type=int)
    t.add_argument("--key-id", required=True)
    t.add_argument("--secret", required=True)
    t.add_argument("--topic", required=True)
    t.add_argument("--reply-key-id")
    t.add_argument("--reply-secret")
    t.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    if args.command == "vectors":
        check_vectors(args.protocol)
    else:
        publish_task(args)


if __name__ == "__main__":
    main()
