{#-
    Pairs of current design files (dim_design_files v2, not deleted) whose
    edge hashes (the visual facet's edge_phash: the DCT hash of the 256 px
    thumbnail's trimmed edges, ecs_render/visual.py) differ in at most
    max_distance of 64 bits: the banded join of macros/near_duplicates.sql,
    never an all-pairs join. Three bands of 21-22 bits, each also probed with
    every set of up to three bits flipped: two hashes within 11 bits have a
    band within three bits (pigeonhole), so the result is the all-pairs
    answer. Of the settings that guarantee it, this compares the fewest
    unrelated pairs (0.7% of them on the bench's corpus; six bands probed one
    bit apart 9.4%) for 4,918 probe rows a new version.
    bench/near_duplicates.py checks that on DuckDB and measures recall and
    precision on generated variants: at 10 bits the edge hash found 97.6% of
    the copies (resized, recompressed and recoloured 100%, cropped by 2-5%
    90%) at 100% precision, where the pHash (the facet's phash) found 87.3%
    at its largest precise threshold (7 bits); at 12 bits unrelated UI
    mockups begin to pair up on the larger corpus. Hashes differ in an even
    number of bits (each splits its 64 coefficients at their median), so 10
    is also 11. Files whose visual facet predates edge_phash (version 1) have
    no pairs until `pixelforge reprocess --facet visual` re-renders it.

    Incremental, delete+insert on the pair: a build compares only the
    versions merged into dim_design_files v2 since the last build
    (int_near_duplicate_runs, which the post-hook appends to) against every
    current hash, probing from the new side. The pre-hook first deletes every
    pair with a path merged since then (a new or deleted version, a facet
    re-rendered), so a pair whose file stopped being current, or whose hash
    moved out of the threshold, goes; untouched pairs stay as they were. A
    full build compares everything.
-#}
{{ config(
    pre_hook="{% if is_incremental() %}
        delete from {{ this }}
        where relative_path_a in (
            select relative_path from {{ ref('dim_design_files', v=2) }}
            where loaded_at > {{ near_duplicates_compared_through() }}
        ) or relative_path_b in (
            select relative_path from {{ ref('dim_design_files', v=2) }}
            where loaded_at > {{ near_duplicates_compared_through() }}
        )
    {% endif %}",
    post_hook="insert into {{ ref('int_near_duplicate_runs') }} (compared_through, compared_at)
        select max(loaded_at), {{ utc_now() }}
        from {{ ref('dim_design_files', v=2) }}"
) }}
{%- set bands = 3 -%}
{%- set max_distance = 10 -%}

with

current_versions as (

    select
        file_version_id,
        relative_path,
        loaded_at

    from {{ ref('dim_design_files', v=2) }}

    where not is_deleted

),

visual_hashes as (

    select
        file_version_id,
        edge_phash

    from {{ ref('int_file_version_facets') }}

    where
        visual_status = 'ok'
        and edge_phash is not null

),

current_hashes as (

    select
        current_versions.file_version_id,
        current_versions.relative_path,
        current_versions.loaded_at,
        visual_hashes.edge_phash

    from current_versions

    inner join visual_hashes
        on current_versions.file_version_id = visual_hashes.file_version_id

),

{% if is_incremental() %}

    new_hashes as (

        select * from current_hashes

        where loaded_at > {{ near_duplicates_compared_through() }}

    ),

    {{ near_duplicate_pairs(
        'current_hashes', bands, max_distance, 'edge_phash', 'new_hashes'
    ) }}

{% else %}

    {{ near_duplicate_pairs(
        'current_hashes', bands, max_distance, 'edge_phash'
    ) }}

{% endif %}
