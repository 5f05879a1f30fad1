"""The CQL conformance suite (issue 17); a package so that its conftest and the shared one in tests/python keep distinct module names."""
