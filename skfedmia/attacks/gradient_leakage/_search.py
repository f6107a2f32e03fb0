"""Search over dummy records: Adam then L-BFGS from several restarts, then pooling."""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

__all__ = ["optimise", "pool"]


def optimise(Z0, losses_of, *, max_iter, refine_iter, learning_rate, verbose=0, tag=""):
    """Minimise ``losses_of(Z).sum()`` (one loss per restart) over the free variables."""
    Z = Z0.clone().requires_grad_(True)
    if max_iter > 0:
        opt = torch.optim.Adam([Z], lr=learning_rate)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, max_iter, eta_min=learning_rate * 0.01
        )
        for it in range(max_iter):
            losses = losses_of(Z)
            opt.zero_grad()
            losses.sum().backward()
            opt.step()
            sched.step()
            if verbose and (it % max(1, max_iter // 5) == 0):
                print(f"[{tag}] adam {it}: {losses.detach().cpu().numpy()}")
    if refine_iter > 0:
        opt = torch.optim.LBFGS(
            [Z],
            lr=1.0,
            max_iter=refine_iter,
            history_size=50,
            line_search_fn="strong_wolfe",
            tolerance_grad=1e-12,
            tolerance_change=1e-16,
        )

        def closure():
            opt.zero_grad()
            total = losses_of(Z).sum()
            total.backward()
            return total

        opt.step(closure)
        if verbose:
            print(f"[{tag}] lbfgs: {float(closure())}")
    return Z.detach()


def pool(Z, relaxation, objective_of, y, extra=()):
    """Pool the better half of the restarts by matching records and averaging.

    Any ``extra`` candidates (already valid records, e.g. the closed form), the pooled
    records (a soft vote) and the best single restart, snapped to valid records, are
    compared and the one with the lowest objective is kept (the first one on ties).
    """
    with torch.no_grad():
        X = relaxation.transform(Z)
        losses = objective_of(X).cpu().numpy()
        order = np.argsort(losses, kind="stable")
        keep = order[: max(1, math.ceil(len(order) / 2))]
        P = X.cpu().numpy()
        ref = P[keep[0]]
        aligned = [ref]
        for r in keep[1:]:
            cost = np.abs(ref[:, None, :] - P[r][None, :, :]).sum(-1)
            cost = cost + 1e6 * (y[:, None] != y[None, :])
            _, cols = linear_sum_assignment(cost)
            aligned.append(P[r][cols])
        aligned = np.stack(aligned)
        pooled = aligned.mean(0)
        # the extra candidates come first, so that they win ties
        cands = list(extra) + [relaxation.finalize(c) for c in (pooled, ref)]
        cand_t = torch.as_tensor(np.stack(cands), dtype=torch.float64, device=Z.device)
        cand_losses = objective_of(cand_t).cpu().numpy()
        pick = int(np.argmin(cand_losses))
        X_out = cands[pick]
        # confidence: how far all restarts, matched record to record, agree with X_out
        agree = []
        for r in range(len(P)):
            cost = np.abs(X_out[:, None, :] - P[r][None, :, :]).sum(-1)
            cost = cost + 1e6 * (y[:, None] != y[None, :])
            _, cols = linear_sum_assignment(cost)
            agree.append(P[r][cols])
        conf, field_conf = relaxation.confidence(np.stack(agree), X_out)
        # start of a follow-up stage: pooled solution, jittered for the other restarts
        z_start = relaxation.to_latent(pooled)
        Z_init = z_start[None] + 0.1 * (Z - Z.mean(0, keepdim=True))
        Z_init[0] = z_start
    return dict(
        X=X_out,
        confidence=conf,
        field_confidence=field_conf,
        loss=float(cand_losses[pick]),
        restart_losses=losses,
        Z_init=Z_init,
        picked="extra" if pick < len(extra) else "search",
        pick=pick,
    )
