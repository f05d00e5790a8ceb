"""The token service (``/sts/v1.0/issueToken``)."""
