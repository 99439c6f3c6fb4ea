# Step: the lab's example clients (Python, kafka-python) under /opt/kafka-lab/clients, with the lab's
# defaults in /etc/kafka-lab/clients.env. Inputs: PRODUCER_PY, CONSUMER_PY, LABENV_PY, CLIENTS_ENV.
install_packages "python3 python3-pip" "python3"
if ! python3 -c 'import kafka' 2>/dev/null; then
    if [ "$(os_family)" = debian ]; then
        install_packages "" "python3-kafka"
    else
        # RHEL has no kafka-python package: pip, pinned, for all users.
        python3 -m pip install --quiet 'kafka-python==2.0.2'
    fi
fi
python3 -c 'import kafka' || die "kafka-python is not importable"
install -d -m 0755 /opt/kafka-lab/clients /etc/kafka-lab
write_file /opt/kafka-lab/clients/producer.py 0755 root:root "$PRODUCER_PY"
write_file /opt/kafka-lab/clients/consumer.py 0755 root:root "$CONSUMER_PY"
write_file /opt/kafka-lab/clients/labenv.py 0644 root:root "$LABENV_PY"
write_file /etc/kafka-lab/clients.env 0644 root:root "$CLIENTS_ENV"
log "clients installed: /opt/kafka-lab/clients/{producer,consumer}.py (kafka-python $(python3 -c 'import kafka; print(kafka.__version__)'))"
