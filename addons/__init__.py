"""Custom NLU components for the Chinese logistics pipeline."""

from addons import rasa_patches

rasa_patches.apply()
