with

source as (

    select * from {{ source('pixelforge', 'thumbnails') }}

),

renamed as (

    select
        ----------  ids
        {{ file_version_id('relative_path', 'etag') }} as file_version_id,
        run_id,

        ---------- strings
        relative_path,
        etag,
        status,
        reason_code,
        error_message,
        thumbnail_key,

        ---------- numerics
        cast(size_px as number(38, 0)) as size_px,
        cast(width_px as number(38, 0)) as width_px,
        cast(height_px as number(38, 0)) as height_px,
        cast(thumbnail_bytes as number(38, 0)) as thumbnail_bytes,

        ---------- timestamps
        cast(rendered_at as timestamp_ntz) as rendered_at

    from source

)

select * from renamed
