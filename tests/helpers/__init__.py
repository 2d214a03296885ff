"""Helpers shared by the test modules (none of them imports another test module)."""
