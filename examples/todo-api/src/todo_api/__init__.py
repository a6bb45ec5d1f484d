"""Reference FastAPI service of fastapi-expert: a multi-user todo API."""

__version__ = "0.1.0"
