{#-
    Pairs of current design files (dim_design_files v2, not deleted) whose
    perceptual hashes (the visual facet's pHash of the 256 px thumbnail,
    ecs_render/visual.py) differ in at most max_distance of 64 bits: the
    banded join of macros/near_duplicates.sql, never an all-pairs join. Four
    16-bit bands, each also probed with one bit flipped: two hashes within 7
    bits have a band within one bit (pigeonhole), so the result is the
    all-pairs answer. bench/near_duplicates.py checks that on DuckDB and
    measures recall and precision on generated variants: 7 bits is the
    largest threshold at which precision stayed >= 99% (at 8, unrelated UI
    mockups and text pages pair up); resized and recompressed copies are all
    found, recoloured logos 88%, copies cropped by 2-5% about half (pHash is
    not crop-robust). Wide bands keep the join's unrelated comparisons to
    about 1% of all pairs on that corpus (8 equal bands of 8 bits: 12%).

    A table, rebuilt each run: pairs come and go with any current file.
-#}
{%- set bands = 4 -%}
{%- set max_distance = 7 -%}

with

current_versions as (

    select
        file_version_id,
        relative_path

    from {{ ref('dim_design_files', v=2) }}

    where not is_deleted

),

visual_facets as (

    select
        file_version_id,
        payload:phash::varchar as phash

    from {{ ref('stg_pixelforge__file_facets') }}

    where
        facet = 'visual'
        and status = 'ok'

),

current_hashes as (

    select
        current_versions.file_version_id,
        current_versions.relative_path,
        visual_facets.phash

    from current_versions

    inner join visual_facets
        on current_versions.file_version_id = visual_facets.file_version_id

),

{{ near_duplicate_pairs('current_hashes', bands, max_distance) }}
