-- Suspend or resume the local graph. Key: pipeline.
-- Binds: pipeline, state (STARTED or SUSPENDED), reason.
merge into ops.graph_state as target
using (
    select
        ? as pipeline,
        ? as state,
        ? as reason
) as source
    on target.pipeline = source.pipeline
when matched then
    update set
        state = source.state,
        reason = source.reason,
        changed_at = sysdate()
when not matched then
    insert (pipeline, state, reason, changed_at)
    values (source.pipeline, source.state, source.reason, sysdate())
