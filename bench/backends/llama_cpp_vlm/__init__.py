"""Vision-language models on the CPU: llama.cpp's libmtmd through llama-cpp-python."""
