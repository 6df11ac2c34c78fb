-- One path's dominant colours, largest share first (explain, the Files page).
-- Binds: path.
select
    color_rank,
    color_hex,
    share
from marts.fct_design_colors
where relative_path = ?
order by color_rank asc
