"""Web hooks: registrations, the challenge, signed callbacks (routes in ``routes.py``)."""
