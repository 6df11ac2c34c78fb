with

source as (

    select * from {{ source('ops', 'pipeline_runs') }}

),

renamed as (

    select
        ----------  ids
        run_id,

        ---------- strings
        kind,
        state,
        error_message,

        ---------- numerics
        cast(files_discovered as number(38, 0)) as files_discovered,
        cast(files_succeeded as number(38, 0)) as files_succeeded,
        cast(files_failed as number(38, 0)) as files_failed,

        ---------- timestamps
        cast(scheduled_at as timestamp_ntz) as scheduled_at,
        cast(started_at as timestamp_ntz) as started_at,
        cast(ended_at as timestamp_ntz) as ended_at

    from source

)

select * from renamed
