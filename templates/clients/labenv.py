"""Defaults shared by the kafka-lab example clients: the lab's broker and topic, and how to connect, from the
file that provisioning writes on each client machine."""
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


def security_settings(values):
    """kafka-python's settings for the lab's internal listener: with internalSecurity mtls, TLS with the
    client's certificate (key and certificate in one PEM, readable by the group kafka-lab-client)."""
    if values.get("SECURITY_PROTOCOL") != "SSL":
        return {}
    return dict(security_protocol="SSL", ssl_cafile=values["SSL_CAFILE"], ssl_certfile=values["SSL_KEYSTORE"],
                ssl_check_hostname=True)
