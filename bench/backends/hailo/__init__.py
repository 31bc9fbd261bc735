"""The hailo backend: the Hailo-10H NPU through HailoRT GenAI (hailo_platform)."""
