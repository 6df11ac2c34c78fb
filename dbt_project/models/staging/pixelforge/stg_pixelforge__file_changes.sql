with

source as (

    select * from {{ source('pixelforge', 'file_changes') }}

),

renamed as (

    select
        ----------  ids
        {{ file_version_id('relative_path', 'etag') }} as file_version_id,
        run_id,

        ---------- strings
        relative_path,
        etag,
        md5,
        change_type,

        ---------- numerics
        cast(size as number(38, 0)) as size_bytes,

        ---------- timestamps
        cast(last_modified as timestamp_ntz) as last_modified_at,
        cast(discovered_at as timestamp_ntz) as discovered_at

    from source

)

select * from renamed
