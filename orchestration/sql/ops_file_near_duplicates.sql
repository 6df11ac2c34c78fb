-- The current files whose perceptual hash is near one path's, nearest first
-- (explain, the Files page). Binds: path, the same path.
select
    hamming_distance,
    iff(relative_path_a = ?, relative_path_b, relative_path_a) as relative_path
from marts.fct_near_duplicate_pairs
where ? in (relative_path_a, relative_path_b)
order by hamming_distance asc, relative_path asc
