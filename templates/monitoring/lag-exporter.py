#!/usr/bin/env python3
"""Consumer group lag of the kafka-lab, in Prometheus' text format (kafka-python and the standard library).

Usage: lag-exporter.py --bootstrap HOST:PORT[,...] [--listen 127.0.0.1:9308]

Every 10 s, in a thread of its own: every consumer group's committed offsets, the topics' end offsets, and
their difference per partition (kafka_consumergroup_lag); a scrape gets the last read at once. Read at each
scrape instead, a read slowed by the brokers (a roll, a CA rotation, a busy host) held the one-threaded
server, scrapes queued behind it until its backlog was full, and Prometheus could not even connect.
What Strimzi's kafka_exporter does for the same alert, without a Go binary the lab's machines cannot get.
A failed or stale read is a metric too (kafka_lag_exporter_up 0), never an empty answer.
"""
import argparse
import http.server
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--listen", default="127.0.0.1:9308")
    # internalSecurity mtls: the CA to check the brokers with, and the client's key and certificate (one PEM).
    p.add_argument("--ssl-cafile")
    p.add_argument("--ssl-keystore")
    return p.parse_args()


class LagReader:
    def __init__(self, bootstrap, security, every):
        self.bootstrap = bootstrap
        self.every = every
        self.security = security
        self.admin = None
        self.offsets = None
        # Guards `latest`; the clients are the reading thread's alone.
        self.lock = threading.Lock()
        self.latest = ([], 0, time.monotonic())

    def connect(self):
        if self.admin is None:
            self.admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="kafka-lab-lag-exporter", request_timeout_ms=8000, **self.security)
            self.offsets = KafkaConsumer(bootstrap_servers=self.bootstrap, client_id="kafka-lab-lag-exporter", enable_auto_commit=False, request_timeout_ms=8000, **self.security)

    def lags(self):
        """(group, topic, partition, committed, end) for every committed offset of every group."""
        self.connect()
        rows = []
        # kafka-python 3's admin API: groups as dicts; each group's offsets under its id.
        for group in sorted(g["group_id"] for g in self.admin.list_groups()):
            offsets = self.admin.list_group_offsets(group).get(group, {})
            committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
            if not committed:
                continue
            ends = self.offsets.end_offsets(list(committed))
            rows += [(group, tp.topic, tp.partition, offset, ends[tp]) for tp, offset in committed.items()]
        return rows

    def read_forever(self):
        while True:
            try:
                rows, up = self.lags(), 1
            except Exception as e:  # noqa: BLE001 - any failure is reported as up 0, and the clients made again
                rows, up = [], 0
                print(f"lag-exporter: reading offsets failed: {e!r}", flush=True)
                self.close()
            with self.lock:
                self.latest = (rows, up, time.monotonic())
            time.sleep(self.every)

    def render(self):
        with self.lock:
            rows, up, at = self.latest
        # A read stuck past two more rounds is no read: up 0, and no figures that old.
        if time.monotonic() - at > 3 * self.every:
            rows, up = [], 0
        lines = [
            "# HELP kafka_consumergroup_lag Messages in the partition the group has not committed yet.",
            "# TYPE kafka_consumergroup_lag gauge",
        ]
        for group, topic, partition, committed, end in sorted(rows):
            lines.append(f'kafka_consumergroup_lag{{group="{group}",topic="{topic}",partition="{partition}"}} {max(end - committed, 0)}')
        lines += [
            "# HELP kafka_consumergroup_current_offset The group's committed offset.",
            "# TYPE kafka_consumergroup_current_offset gauge",
        ]
        for group, topic, partition, committed, _end in sorted(rows):
            lines.append(f'kafka_consumergroup_current_offset{{group="{group}",topic="{topic}",partition="{partition}"}} {committed}')
        lines += ["# HELP kafka_lag_exporter_up 1 when the last read of the offsets worked.", "# TYPE kafka_lag_exporter_up gauge", f"kafka_lag_exporter_up {up}"]
        return "\n".join(lines) + "\n"

    def close(self):
        for client in (self.admin, self.offsets):
            try:
                if client is not None:
                    client.close()
            except Exception:  # noqa: BLE001
                pass
        self.admin = self.offsets = None


def main():
    args = parse_args()
    security = {}
    if args.ssl_keystore:
        security = dict(security_protocol="SSL", ssl_cafile=args.ssl_cafile, ssl_certfile=args.ssl_keystore, ssl_check_hostname=True)
    # Read as often as Prometheus scrapes (templates/monitoring/prometheus.yml).
    reader = LagReader(args.bootstrap.split(","), security, every=10)
    threading.Thread(target=reader.read_forever, daemon=True).start()
    host, port = args.listen.rsplit(":", 1)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = reader.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    print(f"lag-exporter: serving http://{host}:{port}/metrics for {args.bootstrap}", flush=True)
    http.server.ThreadingHTTPServer((host, int(port)), Handler).serve_forever()


if __name__ == "__main__":
    main()
