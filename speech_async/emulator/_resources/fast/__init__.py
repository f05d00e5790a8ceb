"""Fast transcription (``transcriptions:transcribe``) and the api-version supported-locales route."""
