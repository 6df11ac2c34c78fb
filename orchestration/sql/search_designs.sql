-- Current queryable files matching searched terms, best first (`pixelforge
-- search`, the Files page). A file ranks by how many of the terms it holds
-- anywhere (search_text), then by where: each term scores once per field it
-- occurs in, weighted by the field (name 4, layer names 3, creator tool 2, text
-- 2, fonts 1, colours 1). Binds: the lower-case terms as one JSON array, rows.
select
    designs.file_version_id,
    designs.relative_path,
    designs.etag,
    designs.format,
    designs.creator_tool,
    count(distinct terms.value::varchar) as matched_terms,
    sum(
        iff(contains(designs.name_tokens, terms.value::varchar), 4, 0)
        + iff(
            contains(
                lower(coalesce(designs.layer_names, '')), terms.value::varchar
            ),
            3,
            0
        )
        + iff(
            contains(
                lower(coalesce(designs.creator_tool, '')), terms.value::varchar
            ),
            2,
            0
        )
        + iff(
            contains(lower(coalesce(designs.text, '')), terms.value::varchar),
            2,
            0
        )
        + iff(
            contains(lower(coalesce(designs.fonts, '')), terms.value::varchar),
            1,
            0
        )
        + iff(
            contains(lower(coalesce(designs.colors, '')), terms.value::varchar),
            1,
            0
        )
    ) as score
from marts.mart_design_search as designs
inner join table(flatten(input => parse_json(?))) as terms
    on contains(designs.search_text, terms.value::varchar)
group by
    designs.file_version_id,
    designs.relative_path,
    designs.etag,
    designs.format,
    designs.creator_tool
order by matched_terms desc, score desc, designs.relative_path asc
limit ?
