"""The Textual dashboard (``kdss-bench dash``): launch, watch and read runs live.

Nothing here imports torch: the dashboard must start at once and never wait on training, which
runs in other processes and is followed through the files they write (``kdss_bench.store``).
"""
