-- A thumbnail's pre-signed URL on the thumbnails stage (the dashboard's Files
-- page inside Streamlit in Snowflake; locally it reads the bucket). Binds:
-- thumbnail key, seconds valid.
select get_presigned_url(@raw.thumbnails_stage, ?, ?) as presigned_url
