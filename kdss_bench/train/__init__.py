"""Training recipes of the evaluation protocol: pre-training on a distilled set, fine-tuning,
the linear probe, and the batched on-device augmentation and minibatch stream they share.

Modules: ``augment``, ``batch_stream``, ``pretrain``, ``transfer``, ``finetune``,
``linear_probe``, ``evaluate``, ``seeding``, ``progress``. Import from them directly.
"""
