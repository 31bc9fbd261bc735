"""Vision-language models on the Hailo-10H through hailo_platform.genai.VLM."""
