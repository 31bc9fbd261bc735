"""The openai backend: any OpenAI-compatible server (llama-server, llama-cpp-python, vLLM)."""
