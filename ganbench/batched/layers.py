"""The batched layers (K members' parameters stacked on a leading axis) and the utilities that stack members'
modules, state dicts and optimiser states into one batched model and take member ``k``'s slice back out."""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ..losses import DOut
from ..models import Discriminator, Generator, Maxout
from ..registry import ConfigError

ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.GELU, nn.SiLU, nn.Softplus, nn.Identity)


# Inside a batched network activations are feature-major, [K, C, N]: a linear layer is then bmm(W [K, out, in],
# x [K, in, N]) with the weights as stored, and batch norm is F.batch_norm on the free view [1, K·C, N], so no
# layer needs a transpose or a copy. Data enter and leave as [K, N, ...].


class BatchedLinear(nn.Module):
    """K linear layers: ``x [K, in, N] -> [K, out, N]``."""

    def __init__(self, k: int, d_in: int, d_out: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, d_out, d_in))
        self.bias = nn.Parameter(torch.empty(k, d_out)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return torch.bmm(self.weight, x)
        return torch.baddbmm(self.bias.unsqueeze(2), self.weight, x)


class BatchedBatchNorm1d(nn.Module):
    """K BatchNorm1d layers on ``[K, C, N]``: statistics per member and channel over the N samples."""

    def __init__(self, k: int, bn: nn.BatchNorm1d):
        super().__init__()
        c = bn.num_features
        self.momentum, self.eps = bn.momentum, bn.eps
        self.weight = nn.Parameter(torch.empty(k, c)) if bn.affine else None
        self.bias = nn.Parameter(torch.empty(k, c)) if bn.affine else None
        self.track = bn.track_running_stats
        if self.track:
            self.register_buffer("running_mean", torch.zeros(k, c))
            self.register_buffer("running_var", torch.ones(k, c))
            self.register_buffer("num_batches_tracked", torch.zeros(k, dtype=torch.long))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, c, n = x.shape
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track:
            self.num_batches_tracked.add_(1)  # type: ignore[union-attr]
            if self.momentum is None:  # cumulative average, as nn.BatchNorm1d
                factor = 1.0 / float(self.num_batches_tracked[0])  # type: ignore[index]
        flat = lambda t: None if t is None else t.view(-1)  # noqa: E731  views: the running stats update in place
        y = F.batch_norm(x.reshape(1, k * c, n), flat(self.running_mean), flat(self.running_var),
                         flat(self.weight), flat(self.bias), self.training or not self.track, factor, self.eps)
        return y.view(k, c, n)


class BatchedMaxout(nn.Module):
    def __init__(self, k: int, m: Maxout):
        super().__init__()
        self.units, self.pieces = m.units, m.pieces
        self.linear = BatchedLinear(k, m.linear.in_features, m.linear.out_features, m.linear.bias is not None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear(x)  # output row u·pieces + p is piece p of unit u, as in Maxout
        return y.view(y.shape[0], self.units, self.pieces, y.shape[2]).amax(2)


class BatchedGenerator(nn.Module):
    def __init__(self, net: nn.Module, template: Generator):
        super().__init__()
        self.net, self.z_dim, self.latent, self.out_shape = net, template.z_dim, template.latent, template.out_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.transpose(1, 2)).transpose(1, 2)  # [K, N, z] -> [K, N, dim]


class BatchedDiscriminator(nn.Module):
    def __init__(self, body: nn.Module, head: nn.Module):
        super().__init__()
        self.body, self.head = body, head

    def forward(self, x: torch.Tensor) -> DOut:
        features = self.body(x.flatten(2).transpose(1, 2))  # [K, F, N]
        return DOut(self.head(features).squeeze(1), features.transpose(1, 2))


def _structure(m: nn.Module, k: int, where: str) -> nn.Module:
    if parametrize.is_parametrized(m):
        raise ConfigError(f"{where}: parametrized layers (e.g. spectral_norm = true) cannot be batched over seeds; "
                          f"set train.seeds_batched = false")
    if isinstance(m, Generator):
        return BatchedGenerator(_structure(m.net, k, where), m)
    if isinstance(m, Discriminator):
        return BatchedDiscriminator(_structure(m.body, k, where), _structure(m.head, k, where))
    if isinstance(m, nn.Sequential):
        return nn.Sequential(*(_structure(c, k, where) for c in m))
    if type(m) is nn.Linear:
        return BatchedLinear(k, m.in_features, m.out_features, m.bias is not None)
    if type(m) is nn.BatchNorm1d:
        return BatchedBatchNorm1d(k, m)
    if type(m) is Maxout:
        return BatchedMaxout(k, m)
    if isinstance(m, ELEMENTWISE):
        return m
    raise ConfigError(f"{where}: layer {type(m).__name__} cannot be batched over seeds (supported: Linear, "
                      f"BatchNorm1d, Maxout, elementwise activations, i.e. model 'mlp'); set train.seeds_batched = false")


def stack_state(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {key: torch.stack([s[key] for s in states]) for key in states[0]}


def unstack_state(state: dict[str, torch.Tensor], k: int) -> dict[str, torch.Tensor]:
    return {key: value[k].clone() for key, value in state.items()}


def stack_modules(modules: Sequence[nn.Module], where: str = "model") -> nn.Module:
    """One batched module holding ``modules`` (same architecture) stacked; state-dict keys are the originals'."""
    batched = _structure(modules[0], len(modules), where)
    p0 = next(modules[0].parameters())
    batched.to(device=p0.device, dtype=p0.dtype)  # floating tensors only: num_batches_tracked stays long
    batched.load_state_dict(stack_state([m.state_dict() for m in modules]))
    return batched


def stack_optimizer_state(states: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Members' optimiser state dicts -> one for the stacked parameters (0-d entries such as ``step`` are shared)."""
    stacked: dict[int, dict[str, Any]] = {}
    for idx, entry in states[0]["state"].items():
        stacked[idx] = {}
        for key, value in entry.items():
            values = [s["state"][idx][key] for s in states]
            if isinstance(value, torch.Tensor) and value.dim() > 0:
                stacked[idx][key] = torch.stack(values)
            elif all(torch.equal(torch.as_tensor(v), torch.as_tensor(value)) for v in values):
                stacked[idx][key] = value
            else:
                raise ConfigError(f"members' optimiser state {key!r} differs ({values!r}); they cannot be batched")
    return {"state": stacked, "param_groups": states[0]["param_groups"]}


def unstack_optimizer_state(state: dict[str, Any], k: int,
                            param_groups: Optional[list[dict[str, Any]]] = None) -> dict[str, Any]:
    """Member ``k``'s optimiser state dict; ``param_groups`` (the member's own) keep its implementation flags."""
    out = {idx: {key: (v[k].clone() if isinstance(v, torch.Tensor) and v.dim() > 0 else
                       (v.clone() if isinstance(v, torch.Tensor) else v)) for key, v in entry.items()}
           for idx, entry in state["state"].items()}
    return {"state": out, "param_groups": [dict(g) for g in (param_groups or state["param_groups"])]}
