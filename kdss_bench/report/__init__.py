"""Reports over stored results: statistics over seeds and tables in the paper's layout.

Nothing here imports torch; ``rich`` is imported only when a terminal table is asked for.
"""
