-- Finalizer (production): the heartbeat after a successful run, published to
-- the SNS topic behind the notification integration (JSON for queues).
-- Binds: message JSON, integration name.
call system$send_snowflake_notification(
    snowflake.notification.application_json(?),
    snowflake.notification.integration(?)
)
