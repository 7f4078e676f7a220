"""Experiment trackers (``kdss-bench run --track tensorboard|wandb``): the run's events, also written elsewhere.

Nothing here is imported unless ``--track`` is given; TensorBoard and W&B themselves are imported only
when a tracker starts writing.
"""
