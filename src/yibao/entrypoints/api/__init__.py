"""The HTTP API (FastAPI): one router per resource, all calling the service layer."""
