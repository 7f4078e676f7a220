"""Speed benchmarks of the hot paths (``kdss-bench bench``): each prints figures, none gates on absolute times."""
