{#-
    The runs of fct_near_duplicate_pairs, one row each: how far in
    dim_design_files v2's loaded_at the run compared (compared_through). The
    pairs mart's post-hook appends the row after its pairs are written
    (macros/near_duplicates.sql near_duplicates_compared_through reads the
    latest), so the next incremental run compares only the file versions
    merged into dim_design_files after it, whether or not the last run found a
    pair (the pairs table itself cannot carry that mark: a run whose new
    versions pair with nothing writes no row there).

    This model only creates the empty table (and empties it on a full
    refresh, after which the pairs mart compares every current version
    again); an incremental build adds nothing.
-#}
select
    cast(null as timestamp_ntz) as compared_through,
    cast(null as timestamp_ntz) as compared_at

where 1 = 0
