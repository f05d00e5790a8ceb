"""The emulated REST areas: one package per area, each with a ``routes.py`` holding its ``RouteTable``."""
