"""The torch device a command runs on, checked before any work starts."""

from __future__ import annotations

from regsim.dataset_builder.core.errors import UserError


def torch_device(name=None, flag: str = "--device"):
    """``torch.device(name)`` (default cpu), refusing names torch does not know and absent hardware.

    Raises
    ------
    UserError
        ``name`` is not a torch device, or names a CUDA/MPS device this machine does not have.
    """
    import torch

    if name is None or isinstance(name, torch.device):
        return name or torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as error:
        raise UserError(f"{flag} {name!r} is not a torch device ({' '.join(str(error).split())[:200]})") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise UserError(f"{flag} {name}: no CUDA GPU is available on this machine (use cpu)")
        if device.index is not None and device.index >= count:
            raise UserError(f"{flag} {name}: this machine has {count} CUDA GPU(s)")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"{flag} {name}: MPS is not available on this machine (use cpu)")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"{flag} {name}: regsim runs on cpu, cuda or mps")
    return device
