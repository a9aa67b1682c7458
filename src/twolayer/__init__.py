"""A two-layer neural network for CIFAR-10, written from scratch in NumPy, and the study's workflow stages.

Import what you use from the module that defines it:

- ``twolayer.layers``: ``MeanSubtraction``, ``Linear``, ``ReLU``, ``SoftmaxCrossEntropy``
- ``twolayer.network``: ``Network``, ``build_network``, ``two_layer_network``
- ``twolayer.optimizers``: ``SGD``, ``MomentumSGD``
- ``twolayer.training``: ``train``, ``evaluate``, ``TrainingResult`` (``twolayer.batches`` feeds it)
- ``twolayer.gradcheck``: ``numerical_gradient``, ``relative_error``, ``gate_network``, ``published_table``
- ``twolayer.preprocess``: ``load_split``, the study's split files
- ``twolayer.stages``: one module per workflow rule

The package itself imports nothing: a workflow job loads only the modules its stage
imports, which is what each rule's derived code inputs (``twolayer.codedeps``) count on,
so that editing ``Linear.backward`` reruns the training stages and not the download.
"""
