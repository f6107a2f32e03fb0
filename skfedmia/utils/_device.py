"""Choice of the torch device."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device) -> torch.device:
    """Turn a ``device`` parameter into a :class:`torch.device`.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` (or ``None``) picks ``"cuda"`` when a CUDA device is available and
        ``"cpu"`` otherwise; anything else is passed to :class:`torch.device`. A CUDA
        device that torch cannot see is refused with a ``ValueError``.

    Returns
    -------
    device : torch.device

    Examples
    --------
    >>> from skfedmia.utils import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, got {device!r}."
        ) from exc
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was asked for, but torch sees no CUDA device here; "
                "use device='auto' (CUDA when present, else the CPU) or 'cpu'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was asked for, but torch sees only "
                f"{torch.cuda.device_count()} CUDA device(s)."
            )
    return resolved
