"""Shipments, their tracking events, statuses, tracking-number recognition and ETA."""
