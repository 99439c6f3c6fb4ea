#!/usr/bin/env python3
"""kafka-lab example producer: sends N messages to the lab's topic, plain text and gzip-compressed JSON.

Usage: producer.py [--count N] [--format plain|json|both] [--run-id ID] [--topic T] [--bootstrap HOST:PORT]
Defaults come from /etc/kafka-lab/clients.env (the lab's broker and topic). Prints one JSON summary line.
"""
import argparse
import json
import sys
import time
import uuid

from labenv import lab_defaults, security_settings
from kafka import KafkaProducer


def send_all(producer, topic, messages, timeout):
    """Sends (key, value) pairs and waits for every acknowledgement; returns how many were acknowledged."""
    futures = [producer.send(topic, key=key, value=value) for key, value in messages]
    producer.flush(timeout=timeout)
    for f in futures:
        f.get(timeout=timeout)
    producer.close()
    return len(futures)


def main():
    env = lab_defaults()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", default=env.get("BOOTSTRAP_SERVERS", "broker:9092"))
    p.add_argument("--topic", default=env.get("TOPIC", "test"))
    p.add_argument("--count", type=int, default=10, help="messages per format")
    p.add_argument("--format", choices=["plain", "json", "both"], default="both")
    p.add_argument("--run-id", default=uuid.uuid4().hex[:12], help="written into every message, to find them again")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for all acknowledgements")
    args = p.parse_args()

    # acks=all: a message counts as sent only once the broker has written it.
    common = dict(bootstrap_servers=args.bootstrap.split(","), acks="all", retries=5, linger_ms=5,
                  key_serializer=lambda k: k.encode("utf-8"), request_timeout_ms=30000, **security_settings(env))
    started = time.monotonic()
    sent = {"plain": 0, "json": 0}
    if args.format in ("plain", "both"):
        messages = [(f"{args.run_id}-plain-{i}", f"run {args.run_id} plain message {i}".encode("utf-8"))
                    for i in range(args.count)]
        sent["plain"] = send_all(KafkaProducer(**common), args.topic, messages, args.timeout)
    if args.format in ("json", "both"):
        messages = [(f"{args.run_id}-json-{i}", {"run": args.run_id, "seq": i, "kind": "json", "sent_at": time.time()})
                    for i in range(args.count)]
        producer = KafkaProducer(compression_type="gzip", value_serializer=lambda v: json.dumps(v).encode("utf-8"), **common)
        sent["json"] = send_all(producer, args.topic, messages, args.timeout)
    print(json.dumps({"run": args.run_id, "topic": args.topic, "sent": sent,
                      "seconds": round(time.monotonic() - started, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
