"""Settings for every test and doctest of the repository."""

import torch

# Small MLPs train fastest on one thread, and the suite runs in parallel workers.
torch.set_num_threads(1)
