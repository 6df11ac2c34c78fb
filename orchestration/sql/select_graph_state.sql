-- The local graph's state (Snowflake: the root task's STATE in SHOW TASKS).
-- Binds: pipeline.
select
    state,
    reason,
    changed_at
from ops.graph_state
where pipeline = ?
