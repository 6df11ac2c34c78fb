"""The procedures' step logic, one module per step, reaching Snowflake only through the session
it is passed (common.SqlSession) and its other seams; snowpark_procs/handlers.py holds the
entry points Snowflake calls and the registry of them.

Bounded runs. USER_TASK_TIMEOUT_MS limits each step task's run, a timeout is a failed run, and
SUSPEND_TASK_AFTER_NUM_FAILURES consecutive failed runs suspend the root ("CREATE TASK",
https://docs.snowflake.com/en/sql-reference/sql/create-task). So extraction and rendering take
new batches only while their budget (CONFIG `step_budget_s`, a fraction of the step timeout set
in orchestration/graph.py) lasts, finish the batch in flight, merge it and succeed, reporting
what is left (`details["backlog"]`; bounded.py).

What a later run picks up (one set-based statement per page, select_files_to_*.sql): the
finalizer still advances the discovery state by a successful run's whole change set, done or
not. The pending set is then every version of a committed change set without its result (a
directory_state row the designs directory still lists at that ETag, without a metadata row, or
without a thumbnail row for every size), the windows of finished backfills not yet redone (a
backfill's version is redone once its row was written after the backfill discovered it), and the
transient retries. Nothing is redone (a version with its row is not pending) and nothing is
skipped (a version leaves the set only when its row is written). New uploads are not starved
behind the backlog: each run takes its own change set first, then the backlog oldest upload
first. A deleted or overwritten version leaves the set: the directory no longer lists it.
"""
