"""The mock backend: a simulated device driven by a profile of published figures."""
