"""Delivery: the statement hook, the keys a change touches, their delivery to Redis by the writer and by the relay."""
