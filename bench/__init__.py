"""postcli's benchmarks: `python -m bench` (or `make bench`). Not part of the installed package."""
