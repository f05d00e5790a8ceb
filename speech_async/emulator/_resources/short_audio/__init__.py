"""The REST API for short audio (``/speech/recognition/{mode}/cognitiveservices/v1``)."""
