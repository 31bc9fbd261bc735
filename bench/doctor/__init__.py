"""``pibench doctor``: check a Raspberry Pi 5 with the AI HAT+ 2 against what pibench relies on.

``result.Check`` is one finding (ok / failed / skipped, one line of detail, one line of fix);
``system`` reads the machine (driver, device node, who holds the device, PMIC, throttling, fan)
through a ``System`` seam that tests point at a folder; ``runtime`` checks HailoRT itself (the
Python binding, its version, the LLM/VLM signatures) and runs one short generation that must
show the stream invariants the hailo backend counts on. The JSON bundle is documented in
docs/doctor.md. Importing this package imports no hardware library.
"""
