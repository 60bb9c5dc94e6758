"""Logistics backend: the system of record behind the customer-service assistant."""
