"""The ollama backend: Ollama or hailo-ollama over the Ollama HTTP API."""
