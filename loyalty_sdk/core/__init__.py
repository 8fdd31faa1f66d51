"""The engine, ledger, program and models: everything that does not know a platform."""
