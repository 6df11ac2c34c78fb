with

source as (

    select * from {{ source('pixelforge', 'file_metadata') }}

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
        -- PIL reports upper case (PNG, JPEG); accepted_formats is lower case.
        lower(format) as format,
        mode,
        sha256,

        ---------- numerics
        cast(width_px as number(38, 0)) as width_px,
        cast(height_px as number(38, 0)) as height_px,
        cast(bit_depth as number(38, 0)) as bit_depth,
        cast(dpi_x as float) as dpi_x,
        cast(dpi_y as float) as dpi_y,
        cast(frame_count as number(38, 0)) as frame_count,
        cast(page_count as number(38, 0)) as page_count,
        cast(layer_count as number(38, 0)) as layer_count,
        cast(size_bytes as number(38, 0)) as size_bytes,

        ---------- semi-structured
        exif,

        ---------- timestamps
        cast(extracted_at as timestamp_ntz) as extracted_at

    from source

)

select * from renamed
