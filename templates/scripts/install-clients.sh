# Step: the lab's example clients (Python, kafka-python) under /opt/kafka-lab/clients, with the lab's
# defaults in /etc/kafka-lab/clients.env. kafka-python is the release a reader of the guide installs today,
# from its wheel (uploaded by the deploying machine, its SHA-256 checked here), by pip with no index: a
# machine without internet gets it too. Inputs: PRODUCER_PY, CONSUMER_PY, LABENV_PY, CLIENTS_ENV, WHEEL,
# WHEEL_SHA256, KAFKA_PYTHON_VERSION.
install_packages "python3 python3-pip" "python3 python3-pip"
installed=$(python3 -c 'import kafka; print(kafka.__version__)' 2>/dev/null || true)
if [ "$installed" != "$KAFKA_PYTHON_VERSION" ]; then
    [ -s "$WHEEL" ] || die "the uploaded kafka-python wheel $WHEEL is missing"
    actual=$(sha256sum "$WHEEL" | cut -d' ' -f1)
    [ "$actual" = "$WHEEL_SHA256" ] || die "SHA-256 of $WHEEL does not match: expected $WHEEL_SHA256, got $actual"
    # Debian marks its Python as managed by apt (PEP 668): pip installs beside it, under /usr/local, which
    # Python reads first (a distribution's older kafka-python stays, unused).
    breaks=""
    python3 -m pip install --help 2>/dev/null | grep -q -- '--break-system-packages' && breaks="--break-system-packages"
    python3 -m pip install --quiet --no-index --no-deps $breaks "$WHEEL" || die "pip could not install $WHEEL"
    log "installed kafka-python $KAFKA_PYTHON_VERSION (was: ${installed:-none})"
fi
[ "$(python3 -c 'import kafka; print(kafka.__version__)')" = "$KAFKA_PYTHON_VERSION" ] || die "python3 does not import kafka-python $KAFKA_PYTHON_VERSION"
install -d -m 0755 /opt/kafka-lab/clients /etc/kafka-lab
write_file /opt/kafka-lab/clients/producer.py 0755 root:root "$PRODUCER_PY"
write_file /opt/kafka-lab/clients/consumer.py 0755 root:root "$CONSUMER_PY"
write_file /opt/kafka-lab/clients/labenv.py 0644 root:root "$LABENV_PY"
write_file /etc/kafka-lab/clients.env 0644 root:root "$CLIENTS_ENV"
log "clients installed: /opt/kafka-lab/clients/{producer,consumer}.py (kafka-python $(python3 -c 'import kafka; print(kafka.__version__)'))"
