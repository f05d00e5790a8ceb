"""Service health status (``/speechtotext/v3.1/healthstatus``)."""
