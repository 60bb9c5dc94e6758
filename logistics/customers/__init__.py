"""Customers and the channel bindings that tie a conversation to them."""
