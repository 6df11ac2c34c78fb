-- Reconciliation: what each check found, bound as one JSON array.
-- Key: (run_id, check_name). Binds: batch JSON.
merge into ops.reconciliation_checks as target
using (
    select
        item.value:run_id::varchar as run_id,
        item.value:check_name::varchar as check_name,
        item.value:files::number as files
    from (select parse_json(?) as doc) as batch,
        lateral flatten(input => batch.doc) as item
) as source
    on
        target.run_id = source.run_id
        and target.check_name = source.check_name
when matched then
    update set
        files = source.files,
        checked_at = sysdate()
when not matched then
    insert (run_id, check_name, files, checked_at)
    values (source.run_id, source.check_name, source.files, sysdate())
