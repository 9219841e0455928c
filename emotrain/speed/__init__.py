"""The speed options: each makes training faster without changing what is learned beyond float
rounding or which random numbers are drawn (docs/design.md#speed-options).

``fast_dropout`` (``model.fast_dropout``) draws dropout masks from 16 random bits per element;
``prompt_top`` (``model.top_layer_on_prompt``) computes Demux's top encoder layer at the prompt's
positions only; ``padding_free`` (``model.padding_free``) trains the encoder on the batch's real
tokens only; ``embedding_grad`` keeps the word embeddings' gradient in one buffer on the CPU;
``compile`` (``optim.compile``) runs the training step through ``torch.compile``.
"""
