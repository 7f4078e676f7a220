"""Training recipes of the evaluation protocol: pre-training on a distilled set, fine-tuning,
the linear probe, and the batched on-device augmentation and minibatch stream they share.

Modules: ``augment``, ``dsa_augment``, ``batch_stream``, ``pretrain``, ``pretrain_classifier``,
``pretrain_label_regression``, ``warmup_cosine``, ``transfer``, ``finetune``, ``linear_probe``,
``lbfgs_probe`` (MKDT's protocol), ``knowledge_distillation`` and ``target_teacher`` (the target
data-free KD evaluation of Table 4), ``evaluate``, ``seeding``, ``progress``. Import from them directly.
"""
