"""Attribution methods for any model mapping one-hot DNA ``(N, 4, L)`` to one logit.

One module per method family, each named after its public function (import from the module, as in
tangermeme: ``from models.attribution.deeplift import deepshap``); one signature tail
(``batch_size, device, random_state, verbose``); numpy out.

- :mod:`.ism`: ``ism`` (``(N, 4, L)`` logit changes), ``ism_importance``;
- :mod:`.gradients`: ``saliency``, ``grad_x_input``;
- :mod:`.integrated_gradients`: ``integrated_gradients``;
- :mod:`.deeplift`: ``deeplift``, ``deepshap``, ``deeplift_layer``, ``hypothetical_contributions``;
- :mod:`.gradcam`: ``gradcam``, ``zheng``, ``grad_x_act``;
- :mod:`.references`: ``make_references`` (``zeros``, ``base_freq``, ``gc_matched``, ``shuffled``);
- :mod:`.receptive_field`: ``receptive_field`` (layer positions -> bases), ``local_trunk``;
- :mod:`.attribute`: ``METHODS`` (the registry of command-line names), ``attribute``,
  ``run_attributions`` (what ``regsim attribute`` runs);
- :mod:`.command`: the ``regsim attribute`` subcommand.

Nothing is imported here, so that ``regsim --help`` does not import torch.
"""
