"""Subcommand modules of the CLI; each exposes ``register(subparsers)``."""
