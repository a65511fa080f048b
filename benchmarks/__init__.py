"""Performance benchmarks for Vigil; each compares Vigil with a bare baseline in the same run."""
