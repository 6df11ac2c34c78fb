{#-
    Near-duplicate pairs by perceptual hash, set-based: the banded join of
    fct_near_duplicate_pairs (bench/near_duplicates.py renders the same macro
    and runs it on DuckDB through fakesnow, for either hash of the visual
    facet).

    A hash (the visual facet's phash or edge_phash) is 16 lower-case hex
    digits (64 bits, ecs_render/visual.py). It is split into `bands` bands
    of contiguous bits. Two hashes within max_distance bits of each other
    have at least one band within floor(max_distance / bands) bits
    (pigeonhole: were every band further apart, the bands together would
    differ in more than max_distance bits).
    So with max_distance <= bands - 1 some band is equal, and joining rows on
    an equal band finds every pair within the threshold without an all-pairs
    join; with up to (r + 1) * bands - 1 some band differs in at most r bits,
    and each row also probes its bands with every set of up to r bits flipped
    (r = floor(max_distance / bands), at most 3: multi-index hashing,
    Norouzi, Punjani and Fleet, "Fast Search in Hamming Space with Multi-Index
    Hashing", CVPR 2012), which keeps bands wide (few unrelated files share
    one) at a higher threshold: a band of w bits is probed 1 + w + ... +
    C(w, r) times, and unrelated rows meet in one with a chance of that over
    2^w. The exact distance of each candidate decides.

    Given `probe_hashes` (a subset of `hashes`: an incremental run's new
    versions), only those rows probe: every pair within the threshold with at
    least one side among them is found (the relation is symmetric: a new row
    within r bits of an old row's band is probed from the new side), and no
    pair of two other rows is compared.

    Written in SQL both Snowflake and DuckDB (via fakesnow's translation) run,
    with no bit arithmetic on the 64-bit value: Snowflake has BITXOR but no
    popcount (its "Bitwise expression functions" are BITAND, BITNOT, BITOR,
    BITSHIFTLEFT, BITSHIFTRIGHT, BITXOR, GETBIT and the _AGG forms,
    https://docs.snowflake.com/sql-reference/expressions-byte-bit), and an
    unsigned 64-bit hash overflows DuckDB's BIGINT. A hex digit's value is its
    CHARINDEX in '0123456789abcdef' minus one (1-based, both engines), its
    four bits a substring of a 64-character table, and the popcount of two
    digits' XOR character 16 * a + b + 1 of a 256-character table
    (tests/dbt/test_near_duplicates.py rebuilds both tables).
-#}

{#-
    How far fct_near_duplicate_pairs has compared: the latest compared_through
    of int_near_duplicate_runs (1900-01-01 when there is none), in
    dim_design_files v2's loaded_at.
-#}
{% macro near_duplicates_compared_through() -%}
    (
        select
            coalesce(
                max(compared_through), cast('1900-01-01' as timestamp_ntz)
            )
        from {{ ref('int_near_duplicate_runs') }}
    )
{%- endmacro %}

{% macro _hex_digit(column, index) -%}
    (charindex(substr({{ column }}, {{ index }}, 1), '0123456789abcdef') - 1)
{%- endmacro %}

{#- The 64-character '0'/'1' string of a 16-hex-digit hash. -#}
{% macro phash_bits(column) -%}
    {%- for index in range(1, 17) %}
        substr('0000000100100011010001010110011110001001101010111100110111101111', 4 * {{ _hex_digit(column, index) }} + 1, 4)
        {%- if not loop.last %} ||{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The number of bits that differ between two 16-hex-digit hashes. -#}
{% macro hex_hamming_distance(left, right) -%}
    (
    {%- for index in range(1, 17) %}
        cast(substr('0112122312232334102121322132324312012312231234232110322132214332122301122334122321321021324321322312120134232312322121104332322112232334011212232132324310212132231234231201231232214332211032212334122312230112324321322132102134232312231212014332322132212110', 16 * {{ _hex_digit(left, index) }} + {{ _hex_digit(right, index) }} + 1, 1) as integer)
        {%- if not loop.last %} +{% endif %}
    {%- endfor %}
    )
{%- endmacro %}

{#-
    The pairs of `hashes` (a relation or CTE with file_version_id,
    relative_path and the 16-hex-digit column `hash_column`) within
    max_distance bits: file_version_id_a, relative_path_a, file_version_id_b,
    relative_path_b (a before b by relative_path), hamming_distance. With
    `probe_hashes` (the same columns, a subset of `hashes`), only the pairs
    with a side in it. It emits CTEs and the final select: the caller writes
    `with <its CTEs>, {{ near_duplicate_pairs(...) }}`.
-#}
{% macro near_duplicate_pairs(hashes, bands, max_distance, hash_column='phash', probe_hashes=none) -%}
    {%- set max_radius = 3 -%}
    {%- if bands < 1 or bands > 64 or max_distance < 0
        or max_distance > (max_radius + 1) * bands - 1 -%}
        {{ exceptions.raise_compiler_error(
            "near_duplicate_pairs: max_distance " ~ max_distance ~ " needs at least "
            ~ ((max_distance + max_radius + 1) / (max_radius + 1)) | int
            ~ " bands of the 64-bit hash (pigeonhole, probing up to "
            ~ max_radius ~ " flipped bits a band), got " ~ bands
        ) }}
    {%- endif -%}
    {%- set probing_all = probe_hashes is none or probe_hashes == hashes -%}
    {%- set probe_radius = (max_distance / bands) | int %}
    hash_bits as (
        {{ _hash_bits(hashes, hash_column) }}
    ),

    band_keys as (
        {{ _band_keys('hash_bits', bands) }}
    ),

    {%- if not probing_all %}

        probe_bits as (
            {{ _hash_bits(probe_hashes, hash_column) }}
        ),

        probe_keys as (
            {{ _band_keys('probe_bits', bands) }}
        ),

    {%- endif %}
    {%- set probed = 'band_keys' if probing_all else 'probe_keys' %}

    {%- if probe_radius == 0 %}

        probes as (

            select
                file_version_id,
                relative_path,
                hash_value,
                band,
                band_value as probe_value

            from {{ probed }}

        ),

    {%- else %}

        {%- set width = (64 / bands) | int + (1 if 64 % bands else 0) %}
        positions as (
            {%- for position in range(width + 1) %}

                select {{ position }} as position
                {% if not loop.last %}
                    union all
                {% endif %}
            {%- endfor %}

        ),

        -- every set of up to probe_radius bit positions, once: the positions
        -- in increasing order, then 0s (none)
        flips as (

            select
                {%- for i in range(1, probe_radius + 1) %}
                    flip_{{ i }}.position as flip_{{ i }}
                    {%- if not loop.last %},{% endif %}
                {%- endfor %}

            from positions as flip_1
            {%- for i in range(2, probe_radius + 1) %}

                inner join positions as flip_{{ i }}
                    on
                        (
                            flip_{{ i }}.position = 0
                            or flip_{{ i - 1 }}.position < flip_{{ i }}.position
                        )
                        and (
                            flip_{{ i - 1 }}.position > 0
                            or flip_{{ i }}.position = 0
                        )
            {%- endfor %}

        ),

        -- each band with each set of up to probe_radius of its bits flipped
        -- (the empty set: the band as it is)
        probes as (

            select
                {{ probed }}.file_version_id,
                {{ probed }}.relative_path,
                {{ probed }}.hash_value,
                {{ probed }}.band,
                {%- for position in range(1, width + 1) %}
                    case
                        when
                            {{ position }} in (
                                {%- for i in range(1, probe_radius + 1) -%}
                                    flips.flip_{{ i }}
                                    {%- if not loop.last %}, {% endif %}
                                {%- endfor -%}
                            )
                            then
                                case
                                    when
                                        substr(
                                            {{ probed }}.band_value,
                                            {{ position }},
                                            1
                                        )
                                        = '0'
                                        then '1'
                                    else '0'
                                end
                        else substr({{ probed }}.band_value, {{ position }}, 1)
                    end
                    {%- if not loop.last %} ||{% endif %}
                {%- endfor %} as probe_value

            from {{ probed }}

            inner join flips
                on
                {%- for i in range(1, probe_radius + 1) %}
                    flips.flip_{{ i }} <= length({{ probed }}.band_value)
                    {%- if not loop.last %} and{% endif %}
                {%- endfor %}

        ),

    {%- endif %}

    {%- if probing_all %}

        candidates as (

            select distinct
                probes.file_version_id as file_version_id_a,
                probes.relative_path as relative_path_a,
                probes.hash_value as hash_a,
                band_keys.file_version_id as file_version_id_b,
                band_keys.relative_path as relative_path_b,
                band_keys.hash_value as hash_b

            from probes

            inner join band_keys
                on
                    probes.band = band_keys.band
                    and probes.probe_value = band_keys.band_value
                    and probes.relative_path < band_keys.relative_path

        ),

    {%- else %}

        probe_matches as (

            select
                probes.file_version_id as probe_version_id,
                probes.relative_path as probe_path,
                probes.hash_value as probe_hash,
                band_keys.file_version_id as other_version_id,
                band_keys.relative_path as other_path,
                band_keys.hash_value as other_hash

            from probes

            inner join band_keys
                on
                    probes.band = band_keys.band
                    and probes.probe_value = band_keys.band_value
                    and probes.relative_path != band_keys.relative_path

        ),

        -- a pair of two new rows is found from both sides: ordered, then distinct
        candidates as (

            select distinct
                case
                    when probe_path < other_path then probe_version_id
                    else other_version_id
                end as file_version_id_a,
                least(probe_path, other_path) as relative_path_a,
                case
                    when probe_path < other_path then probe_hash else other_hash
                end as hash_a,
                case
                    when probe_path < other_path then other_version_id
                    else probe_version_id
                end as file_version_id_b,
                greatest(probe_path, other_path) as relative_path_b,
                case
                    when probe_path < other_path then other_hash else probe_hash
                end as hash_b

            from probe_matches

        ),

    {%- endif %}

    measured as (

        select
            file_version_id_a,
            relative_path_a,
            file_version_id_b,
            relative_path_b,
            {{ hex_hamming_distance('hash_a', 'hash_b') }} as hamming_distance

        from candidates

    )

    select
        file_version_id_a,
        relative_path_a,
        file_version_id_b,
        relative_path_b,
        hamming_distance

    from measured

    where hamming_distance <= {{ max_distance }}
{%- endmacro %}

{#- The rows of `relation` with a hash, and its 64 bits as a '0'/'1' string. -#}
{% macro _hash_bits(relation, hash_column) -%}

        select
            file_version_id,
            relative_path,
            {{ hash_column }} as hash_value,
            {{ phash_bits(hash_column) }} as hash_bits

        from {{ relation }}

        where {{ hash_column }} is not null

{%- endmacro %}

{#-
    One row per (row of `bits`, band): the band's bits. Bands are contiguous;
    the first 64 mod bands are one bit wider.
-#}
{% macro _band_keys(bits, bands) -%}
    {%- set narrow = (64 / bands) | int -%}
    {%- set wide_bands = 64 - narrow * bands -%}
    {%- for band in range(bands) %}
        {%- set start = band * narrow + [band, wide_bands] | min %}
        {%- set width = narrow + (1 if band < wide_bands else 0) %}

        select
            file_version_id,
            relative_path,
            hash_value,
            {{ band }} as band,
            substr(hash_bits, {{ start + 1 }}, {{ width }}) as band_value

        from {{ bits }}
        {% if not loop.last %}
            union all
        {% endif %}
    {%- endfor %}
{%- endmacro %}
