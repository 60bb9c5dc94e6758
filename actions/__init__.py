"""Custom actions of the assistant; they reach the backend only over HTTP (see backend.py)."""
