# Step: Prometheus on the monitoring host, scraping every exporter of the lab and evaluating its alert
# rules, with the lab's dashboard among its consoles; and the consumer group lag exporter beside it. Its own
# unit (the package's prometheus.service stays off: its default configuration is not the lab's). Inputs:
# PROMETHEUS_YML, ALERT_RULES, DASHBOARD_HTML, PROMETHEUS_UNIT, CONFIG_DIR, DATA_DIR, PROMETHEUS_PORT, LAG_EXPORTER_PY,
# LAG_EXPORTER_PATH, LAG_EXPORTER_UNIT, LAG_EXPORTER_PORT.
if [ "$(os_family)" = rhel ] && ! rpm -q golang-github-prometheus >/dev/null 2>&1; then
    install_packages "epel-release" ""
fi
install_packages "golang-github-prometheus" "prometheus"
command -v promtool >/dev/null || die "promtool is missing (it comes with Prometheus): cannot check the configuration"
systemctl disable --now prometheus.service >/dev/null 2>&1 || true

install -d -m 0755 "$CONFIG_DIR" "$CONFIG_DIR/consoles" "$(dirname "$LAG_EXPORTER_PATH")"
install -d -m 0750 -o prometheus -g prometheus "$DATA_DIR"
write_file "$CONFIG_DIR/prometheus.yml" 0644 root:root "$PROMETHEUS_YML"
write_file "$CONFIG_DIR/alerts.yml" 0644 root:root "$ALERT_RULES"
write_file "$CONFIG_DIR/consoles/kafka-lab.html" 0644 root:root "$DASHBOARD_HTML"
promtool check config "$CONFIG_DIR/prometheus.yml" >/dev/null 2>&1 || die "Prometheus refuses its configuration: $(promtool check config "$CONFIG_DIR/prometheus.yml" 2>&1 | tail -n 5)"

write_file "$LAG_EXPORTER_PATH" 0755 root:root "$LAG_EXPORTER_PY"
write_file /etc/systemd/system/kafka-lab-lag-exporter.service 0644 root:root "$LAG_EXPORTER_UNIT"
write_file /etc/systemd/system/kafka-lab-prometheus.service 0644 root:root "$PROMETHEUS_UNIT"
systemctl daemon-reload
systemctl enable kafka-lab-lag-exporter.service kafka-lab-prometheus.service >/dev/null 2>&1
# The step runs again only when something of it changed: both restart (Prometheus keeps what it scraped on disk).
systemctl restart kafka-lab-lag-exporter.service kafka-lab-prometheus.service
retry_until "Prometheus ready on :$PROMETHEUS_PORT" 300 0.2 curl -fs -o /dev/null "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" \
    || die "Prometheus is not ready on :$PROMETHEUS_PORT: $(journalctl -u kafka-lab-prometheus --no-pager -n 10 2>&1)"
# Listening is enough here: its answers need the brokers, which may still be starting (Prometheus then
# records kafka_lag_exporter_up 0 until they answer).
retry_until "the lag exporter listening on 127.0.0.1:$LAG_EXPORTER_PORT" 150 0.2 bash -c "ss -ltnH 'sport = :$LAG_EXPORTER_PORT' | grep -q ." \
    || die "the lag exporter does not listen: $(journalctl -u kafka-lab-lag-exporter --no-pager -n 10 2>&1)"
log "Prometheus on :$PROMETHEUS_PORT ($(grep -c 'job_name:' "$CONFIG_DIR/prometheus.yml") jobs, $(grep -c 'alert:' "$CONFIG_DIR/alerts.yml") alert rules); dashboard at /consoles/kafka-lab.html"
