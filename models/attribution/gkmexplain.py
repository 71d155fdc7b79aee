"""GkmExplain (Shrikumar, Prakash & Kundaje 2019) and ISM for gkm-SVMs (:mod:`models.gkmsvm`).

Both are gkmsvm-lite's. GkmExplain splits each support vector's kernel value into per-position
shares, so the per-base scores of a sequence sum to its decision value minus the SVM's bias (the
completeness check here: :class:`~._common.Completeness` with ``output_difference`` = decision value
minus bias). ISM changes every base to the three others and records the change of the decision value,
as :func:`~.ism.ism` does for the CNNs.
"""

from __future__ import annotations

import numpy as np

from ._common import Completeness, batch_slices, validate_inputs
from regsim.dataset_builder.core.errors import UserError
from regsim.dataset_builder.core.log import progress

DEFAULT_BATCH_SIZE = 50  # sequences per call


def _checked_model(model):
    from regsim.models.gkmsvm import EXPLAINABLE_KERNELS, GkmSVMModel

    if not isinstance(model, GkmSVMModel):
        raise UserError("gkmexplain explains gkm-SVMs (`regsim train --arch gkmsvm`), not neural networks")
    return model, EXPLAINABLE_KERNELS


def gkmexplain(model, X, *, hypothetical: bool = False, return_completeness: bool = False,
               batch_size: int = DEFAULT_BATCH_SIZE, device=None, random_state=0, verbose: bool = False):
    """GkmExplain scores of a gkm-SVM.

    Parameters
    ----------
    model : models.gkmsvm.GkmSVMModel
    X : array-like
        ``(N, 4, L)`` one-hot sequences.
    hypothetical : bool, default False
        Return the hypothetical scores of all four bases (GkmExplain mode 1) instead of the scores on
        the observed bases.
    return_completeness : bool, default False
        Also return the check that the scores sum to the decision value minus the bias.
    batch_size : int, default 50
    device, random_state
        Unused (CPU only, deterministic); kept for the common signature.
    verbose : bool, default False

    Returns
    -------
    np.ndarray or (np.ndarray, Completeness)
        ``(N, 4, L)`` float32.
    """
    from regsim.models.gkmsvm import gkmsvm_module

    gkmsvm = gkmsvm_module()
    model, explainable = _checked_model(model)
    if model.svm.kernel_type not in explainable:
        raise UserError(f"GkmExplain needs one of the kernels {', '.join(explainable)}; this model has "
                        f"{model.svm.kernel_type}")
    X = validate_inputs(X)
    out = np.zeros(X.shape, dtype=np.float64)
    differences = np.zeros(len(X), dtype=np.float64)
    with progress(total=len(X), desc="gkmexplain", unit="seq", verbose=verbose) as bar:
        for index in batch_slices(len(X), batch_size):
            x = X[index].astype(np.float64)
            out[index] = np.asarray(gkmsvm.gkmexplain(model.svm, x, mode=1, batch_size=batch_size))
            differences[index] = model.decision_function(x) - model.bias
            bar.update(len(x))
    sums = (out * X).sum(axis=(1, 2))
    result = (out if hypothetical else out * X).astype(np.float32)
    return (result, Completeness(differences, sums)) if return_completeness else result


def gkm_ism(model, X, *, batch_size: int = DEFAULT_BATCH_SIZE, device=None, random_state=0, verbose: bool = False):
    """ISM of a gkm-SVM: ``(N, 4, L)`` float32 change of the decision value for every substitution
    (0 at the observed base and at positions whose base is not A/C/G/T)."""
    from regsim.models.gkmsvm import gkmsvm_module

    gkmsvm = gkmsvm_module()
    model, _ = _checked_model(model)
    X = validate_inputs(X)
    out = np.zeros(X.shape, dtype=np.float32)
    with progress(total=len(X), desc="ism", unit="seq", verbose=verbose) as bar:
        for index in batch_slices(len(X), batch_size):
            out[index] = np.asarray(gkmsvm.ism(model.svm, X[index].astype(np.float64)), dtype=np.float32)
            bar.update(index.stop - index.start)
    out *= (X.sum(axis=1, keepdims=True) > 0)  # positions without a base are not mutated
    return out
