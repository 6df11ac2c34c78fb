with

source as (

    select * from {{ source('pixelforge', 'file_facets') }}

),

renamed as (

    select
        ----------  ids
        {{ file_version_id('relative_path', 'etag') }} as file_version_id,
        run_id,

        ---------- strings
        relative_path,
        etag,
        facet,
        status,
        reason_code,
        error_message,

        ---------- numerics
        cast(facet_version as number(38, 0)) as facet_version,

        ---------- semi-structured
        payload,

        ---------- timestamps
        cast(extracted_at as timestamp_ntz) as extracted_at

    from source

)

select * from renamed
