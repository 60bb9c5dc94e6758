"""Custom NLU components for the Chinese logistics pipeline."""
