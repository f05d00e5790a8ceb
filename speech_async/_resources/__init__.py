"""One module per REST area, each a mixin of ``SpeechClient`` built on ``AsyncResource``."""
