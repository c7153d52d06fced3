"""Seen from outside: Prometheus metrics, the freshness monitor, the rule audit."""
