"""Shared media handling: the request body tap, spooling, multipart forms, audioUrl downloads, sniffing."""
