-- One path's layer tree, top to bottom, the first rows of it, with the whole
-- tree's size (explain, the Files page). Binds: path, rows.
select
    layer_index,
    parent_layer_index,
    depth,
    layer_name,
    layer_kind,
    is_visible,
    opacity,
    blend_mode,
    bbox_left,
    bbox_top,
    bbox_right,
    bbox_bottom,
    count(*) over () as total_rows
from marts.fct_design_layers
where relative_path = ?
order by layer_index asc
limit ?
