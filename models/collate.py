"""Batches of regsim rows for a PyTorch model: the ``collate`` verb (``regsim train`` batches with it too).

``DataLoader(load_dataset(DIR, split="train").with_format("torch"))`` fails on the ragged ``motifs``
column; pass the rows as they are and let :func:`collate` build the tensors::

    from datasets import load_dataset
    from torch.utils.data import DataLoader
    from regsim.models.collate import collate

    train = load_dataset("data/oct4", split="train")
    loader = DataLoader(train, batch_size=64, shuffle=True, collate_fn=collate)
    batch = next(iter(loader))
    batch["one_hot"].shape, batch["labels"].shape          # (64, 4, L) float32, (64,) int64
    model(**batch).loss                                    # a RegCNNForSequenceClassification

``functools.partial(collate, masks=True)`` adds the per-base ground truth ``motif_mask`` ``(B, L)``.
"""

from __future__ import annotations

import numpy as np

from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.sequences import encode_integers, one_hot_from_integers


def collate(examples, *, masks: bool = False) -> dict:
    """Stack rows of a regsim dataset into model inputs.

    Parameters
    ----------
    examples : list of dict
        Rows with ``sequence`` (a DNA string, or ``(L,)`` integer codes A=0, C=1, G=2, T=3, other=4)
        and ``label`` (0/1); with ``masks``, also ``motif_mask`` (``(L,)`` 0/1). Other columns are ignored.
    masks : bool, default False
        Also return the ground-truth mask.

    Returns
    -------
    dict of torch.Tensor
        ``one_hot`` ``(B, 4, L)`` float32 (A, C, G, T; other bases all-zero), ``labels`` ``(B,)`` int64
        and, with ``masks``, ``motif_mask`` ``(B, L)`` int8. The keys are the model's ``forward``
        arguments, so ``model(**batch)`` works.
    """
    import torch

    examples = list(examples)
    if not examples:
        raise UserError("collate got an empty batch")
    first = examples[0]["sequence"]
    if isinstance(first, str):
        codes = encode_integers([e["sequence"] for e in examples])
    else:
        codes = np.stack([np.asarray(e["sequence"], dtype=np.uint8) for e in examples])
    batch = {
        "one_hot": torch.from_numpy(one_hot_from_integers(codes)),
        "labels": torch.as_tensor(np.asarray([int(e["label"]) for e in examples], dtype=np.int64)),
    }
    if masks:
        batch["motif_mask"] = torch.as_tensor(np.stack([np.asarray(e["motif_mask"], dtype=np.int8) for e in examples]))
    return batch
