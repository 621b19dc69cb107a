"""Multi-seed batching: K seeds of one configuration trained at once as one batched model.

Every parameter and buffer of the K members is stacked on a leading axis ``[K, ...]``; linear layers run as
``torch.baddbmm``, batch norm as one ``F.batch_norm`` over ``[N, K·C]`` (each member's channel is its own
channel, so statistics never mix members), and the losses take the members' ``[K, N]`` scores at once
(the built-in formulas reduce over the sample axis; a plugin's scalar formulas are ``torch.vmap``-ed).
One optimiser over the stacked parameters is per-member exact: Adam and RMSprop (with weight decay) are
elementwise and share only the step count, which is the same for every member (Adam runs fused, within an
ulp of the for-loop; RMSprop as foreach, bit for bit). The members' losses are summed before ``backward``;
as no parameter is shared, each member receives exactly its own gradient. When no layer of D couples
samples, real and fake go through D as one joined batch; G's update skips D's weight gradients.

Each member is exactly an independent run: it is built as ``train`` builds it (``torch.manual_seed(
seed_for(seed, "init"))`` then ``build_gan``), then stacked, and it draws its real batches, latents and
penalty noise from its own ``torch.Generator`` in the order ``train_step`` does. Members therefore match
sequential runs to float tolerance (the batched kernels round differently). A member whose loss turns
non-finite is recorded as diverged at that step, as ``train`` would, while the others go on.

``train_batched(runs, run_dirs)`` writes each run's usual files (config.json, history.csv, checkpoint.pt in
the per-run format, status.json, samples.png); ``wall_time`` is the elapsed time of the whole batch.
Supported: models made of Linear, BatchNorm1d, Maxout and elementwise activations (``mlp`` without
spectral norm); losses from the zoo, including the wgan-gp and dragan penalties and R1/R2.

Modules:

- ``layers``: the batched layers (``BatchedLinear``, ``BatchedBatchNorm1d``, ``BatchedMaxout``, ``BatchedGenerator``,
  ``BatchedDiscriminator``) and stacking (``stack_modules``, ``stack_state``/``unstack_state``,
  ``stack_optimizer_state``/``unstack_optimizer_state``)
- ``gan``: ``BatchedGAN`` and its step; ``check_loss``, ``PENALTIES``
- ``runs``: ``check_runs``, ``seed_groups``, ``build_members``, ``train_batched``
"""
from .gan import PENALTIES, BatchedGAN, check_loss
from .layers import (ELEMENTWISE, BatchedBatchNorm1d, BatchedDiscriminator, BatchedGenerator, BatchedLinear,
                     BatchedMaxout, stack_modules, stack_optimizer_state, stack_state, unstack_optimizer_state,
                     unstack_state)
from .runs import build_members, check_runs, seed_groups, train_batched

__all__ = [
    "ELEMENTWISE", "PENALTIES", "BatchedBatchNorm1d", "BatchedDiscriminator", "BatchedGAN", "BatchedGenerator",
    "BatchedLinear", "BatchedMaxout", "build_members", "check_loss", "check_runs", "seed_groups", "stack_modules",
    "stack_optimizer_state", "stack_state", "train_batched", "unstack_optimizer_state", "unstack_state",
]
