"""End-to-end conversation tests run against the real stack (the `stack` fixture, see tests/stack.py)."""
