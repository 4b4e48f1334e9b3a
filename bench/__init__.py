"""Performance benchmarks with a baseline side by side (not part of the test run)."""
