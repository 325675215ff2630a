"""Use cases: what the CLI, the API and the web app call. No parsing, no printing."""
