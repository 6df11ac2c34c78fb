with

source as (

    select * from {{ source('designs', 'designs_directory') }}

),

renamed as (

    select
        ----------  ids
        {{ file_version_id('relative_path', 'etag') }} as file_version_id,

        ---------- strings
        relative_path,
        etag,

        ---------- numerics
        cast(size as number(38, 0)) as size_bytes,

        ---------- timestamps
        cast(last_modified as timestamp_ntz) as last_modified_at

    from source

)

select * from renamed
