"""The thin command line: each sub-command lives in its own module and imports heavy
modules only inside its handler."""
