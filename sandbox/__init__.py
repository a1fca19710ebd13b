"""The simulated AWS: a pinned moto in server mode, patched where it falls short, seeded with an ML fleet."""
