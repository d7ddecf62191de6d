"""The metrics service: a read model of every case event, Prometheus gauges and reports."""
