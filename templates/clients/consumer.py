#!/usr/bin/env python3
"""kafka-lab example consumer: reads the lab's topic from the earliest offset in group my-group and
prints topic, partition, offset, key and value of each message.

Usage: consumer.py [--group G] [--topic T] [--max-messages N] [--idle-timeout S] [--json]
                   [--commit-every N] [--delay-ms MS] [--bootstrap HOST:PORT]
Stops after --max-messages, or when no message came for --idle-timeout seconds. Offsets are committed
when it stops, and every --commit-every messages if given (a consumer killed in between re-reads at most
that many messages after a restart).
"""
import argparse
import json
import sys
import time

from labenv import lab_defaults, security_settings
from kafka import KafkaConsumer


def decode(raw):
    if raw is None:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def main():
    env = lab_defaults()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bootstrap", default=env.get("BOOTSTRAP_SERVERS", "broker:9092"))
    p.add_argument("--topic", default=env.get("TOPIC", "test"))
    p.add_argument("--group", default="my-group")
    p.add_argument("--max-messages", type=int, default=0, help="0: until idle")
    p.add_argument("--idle-timeout", type=float, default=10.0)
    p.add_argument("--json", action="store_true", help="one JSON object per message, for scripts")
    p.add_argument("--commit-every", type=int, default=0, help="commit offsets every N messages (0: automatically)")
    p.add_argument("--delay-ms", type=int, default=0, help="pause after each message, to watch a slow consumer")
    args = p.parse_args()

    # A member that dies holds its partitions until its session times out: 10 s, as the guide's kafka-python
    # 2.0 had it (3.0 follows the Java client's 45 s, KIP-735), so that a restarted consumer resumes soon.
    consumer = KafkaConsumer(args.topic, bootstrap_servers=args.bootstrap.split(","), group_id=args.group,
                             auto_offset_reset="earliest", enable_auto_commit=args.commit_every == 0,
                             session_timeout_ms=10000, heartbeat_interval_ms=3000,
                             consumer_timeout_ms=int(args.idle_timeout * 1000), **security_settings(env))
    count = 0
    for m in consumer:
        key = m.key.decode("utf-8", errors="replace") if m.key is not None else None
        value = decode(m.value)
        if args.json:
            print(json.dumps({"topic": m.topic, "partition": m.partition, "offset": m.offset,
                              "key": key, "value": value}), flush=True)
        else:
            print(f"topic={m.topic} partition={m.partition} offset={m.offset} key={key} value={value}", flush=True)
        count += 1
        if args.commit_every and count % args.commit_every == 0:
            consumer.commit()
        if args.delay_ms:
            time.sleep(args.delay_ms / 1000)
        if args.max_messages and count >= args.max_messages:
            break
    consumer.commit()
    consumer.close()
    print(f"consumed {count} messages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
