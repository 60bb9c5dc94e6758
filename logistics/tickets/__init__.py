"""Tickets: the processes the assistant triggers (urge, verification, claims, handoffs...)."""
