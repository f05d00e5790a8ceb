"""Batch transcription (v3.x supported locales today; the jobs land here next)."""
