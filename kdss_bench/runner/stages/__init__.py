"""One module per stage kind: what a stage job runs once it holds the stage's lock.

Each ``run(ws, node, job, emit_for)`` builds its output (an artifact under the cache, or for an
evaluation the cell's ``result.json``) and returns a :class:`~kdss_bench.runner.stage_job.StageRecord`.
"""

from kdss_bench.runner.stages import (
    distill_stage,
    evaluate_stage,
    intermediate_stage,
    pretrain_stage,
    target_teacher_stage,
    teacher_stage,
)

STAGE_RUNNERS = {"teacher": teacher_stage, "intermediate": intermediate_stage, "distill": distill_stage,
                 "pretrain": pretrain_stage, "target_teacher": target_teacher_stage, "evaluate": evaluate_stage}
