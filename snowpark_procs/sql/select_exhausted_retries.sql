-- File versions that used up their attempts at a step.
-- Binds: step, max attempts.
select
    relative_path,
    etag,
    attempts,
    reason_code,
    error_message
from raw.file_retries
where step = ? and attempts >= ?
order by relative_path
