"""digest: feeds in, extractive summaries, a newsletter email out."""

__version__ = "0.1.0"
