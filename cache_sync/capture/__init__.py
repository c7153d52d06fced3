"""Capture: the triggers that record every change of a watched table, and the outbox they write."""
