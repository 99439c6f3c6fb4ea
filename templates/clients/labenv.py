"""Defaults shared by the kafka-lab example clients: the lab's broker and topic, from the file that
provisioning writes on each client machine."""
import os


def lab_defaults(path="/etc/kafka-lab/clients.env"):
    values = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    k, v = line.split("=", 1)
                    values[k] = v
    return values
