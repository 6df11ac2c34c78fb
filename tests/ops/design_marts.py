"""Stand-ins for the design marts and the ops views of files (the columns the queries of
orchestration/file_facts.py and orchestration/design_search.py read; the marts have more),
holding a few files made for the tests: a layered PSD with text, colours, near-duplicates and a
document lineage, a logo, a photo, an older version of the PSD, a quarantined file."""

from __future__ import annotations

from datetime import datetime

from tests.ops.conftest import Warehouse

T0 = datetime(2026, 12, 6, 8, 0)
# the columns the queries read (the marts have more)
STAND_INS = {
    "ops_marts.dim_file_states": "relative_path varchar, etag varchar, pipeline_stage varchar, "
    "not_queryable_reason varchar, latest_discovered_run_id varchar, latest_run_state varchar, "
    "latest_run_failed_step varchar, latest_run_error_message varchar, metadata_status varchar, "
    "metadata_reason_code varchar, metadata_error_message varchar, "
    "quarantine_reason_codes varchar, upload_to_queryable_seconds number(38, 0), "
    "last_modified_at timestamp_ntz, first_discovered_at timestamp_ntz, "
    "first_loaded_at timestamp_ntz",
    "ops_marts.fct_file_events": "relative_path varchar, event_at timestamp_ntz, "
    "event_name varchar, detail varchar, reason_code varchar, etag varchar, run_id varchar, "
    "run_kind varchar, run_state varchar, run_failed_step varchar",
    "marts.dim_design_files_v2": "file_version_id varchar, relative_path varchar, etag varchar, "
    "format varchar, width_px number(38, 0), height_px number(38, 0), size_bytes number(38, 0), "
    "is_valid boolean, is_deleted boolean, quarantine_reason_codes varchar, "
    "thumbnail_256_key varchar, creator_tool varchar, document_id varchar, instance_id varchar, "
    "derived_from_document_id varchar, title varchar, author varchar, icc_profile varchar, "
    "color_space varchar, uses_transparency boolean, animation_duration_ms number(38, 0), "
    "loop_count number(38, 0), phash varchar, thumbhash varchar, dominant_color_hex varchar",
    "marts.mart_design_search": "file_version_id varchar, relative_path varchar, etag varchar, "
    "format varchar, name_tokens varchar, layer_names varchar, text varchar, fonts varchar, "
    "colors varchar, creator_tool varchar, search_text varchar",
    "marts.fct_design_layers": "file_version_id varchar, relative_path varchar, etag varchar, "
    "layer_index number(38, 0), parent_layer_index number(38, 0), depth number(38, 0), "
    "layer_name varchar, layer_kind varchar, is_visible boolean, opacity float, "
    "blend_mode varchar, bbox_left number(38, 0), bbox_top number(38, 0), "
    "bbox_right number(38, 0), bbox_bottom number(38, 0)",
    "marts.fct_design_text": "file_version_id varchar, relative_path varchar, etag varchar, "
    "text_source varchar, text_ref varchar, text varchar, text_run_index number(38, 0)",
    "marts.fct_design_colors": "file_version_id varchar, relative_path varchar, etag varchar, "
    "color_rank number(38, 0), color_hex varchar, share float",
    "marts.fct_near_duplicate_pairs": "file_version_id_a varchar, relative_path_a varchar, "
    "file_version_id_b varchar, relative_path_b varchar, hamming_distance number(38, 0)",
    "marts.fct_quarantined_file_versions": "file_version_id varchar, relative_path varchar, "
    "etag varchar, reason_code varchar, reason_text varchar, metadata_error_message varchar",
    "ops_marts.fct_file_facet_statuses": "file_version_id varchar, relative_path varchar, "
    "etag varchar, facet varchar, facet_version number(38, 0), facet_status varchar, "
    "reason_code varchar, reason varchar, run_id varchar, extracted_at timestamp_ntz",
}
# the hero's facets: its structure cut at a cap, its text failed (an older version's row too)
TRUNCATED_REASON = "cut at max_layers = 1,000 (pixelforge_core/limits.py)"
FAILED_REASON = "unreadable_file: PdfReadError: a font name longer than pypdf reads"
HERO = "team-a/hero banner.psd"
LOGO = "team-b/logo.svg"
PHOTO = "team-c/photo.jpg"
OLD_HERO = "archive/hero banner v1.psd"
EMPTY = "broken/empty.png"


def design(fv: str, path: str, **facets: object) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(
        ("quarantine_reason_codes", "creator_tool", "document_id", "instance_id",
         "derived_from_document_id", "title", "author", "icc_profile", "color_space",
         "uses_transparency", "animation_duration_ms", "loop_count", "phash", "thumbhash",
         "dominant_color_hex")
    )  # fmt: skip
    row.update(
        file_version_id=fv, relative_path=path, etag=f"e-{fv}", format=path.rsplit(".")[-1],
        width_px=800, height_px=600, size_bytes=1_572_864, is_valid=True, is_deleted=False,
        thumbnail_256_key=f"v1/{fv}/256.webp",
    )  # fmt: skip
    row.update(facets)
    return row


def search_row(fv: str, path: str, layers: str = "", text: str = "", tool: str = "") -> tuple:
    tokens = " ".join(path.lower().replace("/", " ").replace("-", " ").replace(".", " ").split())
    return (fv, path, f"e-{fv}", path.rsplit(".")[-1], tokens, layers, text, "", "", tool,
            " ".join([tokens, layers, text, tool]).lower())  # fmt: skip


def insert(
    warehouse: Warehouse, table: str, rows: list[tuple], columns: list[str] | None = None
) -> None:
    names = f" ({', '.join(columns)})" if columns else ""
    for row in rows:
        marks = ", ".join(["%s"] * len(row))
        warehouse.execute(f"insert into {table}{names} values ({marks})", row)


def fill_design_marts(warehouse: Warehouse) -> Warehouse:
    """Stand-ins for the design marts and the file ops views, holding the files above."""
    for table, columns in STAND_INS.items():
        warehouse.execute(f"create or replace table {table} ({columns})")
    hero = design(
        "fv-hero", HERO, creator_tool="Adobe Photoshop 25.0", document_id="xmp.did:hero",
        instance_id="xmp.iid:hero-2", derived_from_document_id="xmp.did:old-hero",
        title="Summer hero", icc_profile="sRGB IEC61966-2.1", color_space="RGB",
        uses_transparency=True, phash="c3a1f0e07c3c1e0f", thumbhash="1QcSHQRnh493V4dIh4eXh1h4kJUI",
        dominant_color_hex="#ff6600",
    )  # fmt: skip
    rows = [
        hero,
        design("fv-logo", LOGO, document_id="xmp.did:logo"),
        design("fv-photo", PHOTO),
        design("fv-old", OLD_HERO, document_id="xmp.did:old-hero"),
        design(
            "fv-derived", "team-a/hero banner small.png", derived_from_document_id="xmp.did:hero"
        ),
        design(
            "fv-gone",
            "team-a/deleted copy.png",
            is_deleted=True,
            is_valid=False,
            derived_from_document_id="xmp.did:hero",
        ),
        design(
            "fv-empty",
            EMPTY,
            is_valid=False,
            quarantine_reason_codes="empty_file",
            thumbnail_256_key=None,
            width_px=None,
            height_px=None,
        ),
    ]
    columns = list(rows[0])
    insert(
        warehouse, "marts.dim_design_files_v2", [tuple(r[c] for c in columns) for r in rows],
        columns,
    )  # fmt: skip
    insert(
        warehouse,
        "marts.mart_design_search",
        [
            search_row(
                "fv-hero", HERO, "background headline logo", "summer sale", "adobe photoshop 25.0"
            ),
            search_row("fv-logo", LOGO),
            search_row("fv-photo", PHOTO, text="a logo on a shirt"),
            search_row("fv-old", OLD_HERO),
        ],
    )
    insert(
        warehouse,
        "marts.fct_design_layers",
        [
            ("fv-hero", HERO, "e-fv-hero", 0, None, 0, "background", "pixel", True, 1.0,
             "normal", 0, 0, 800, 600),
            ("fv-hero", HERO, "e-fv-hero", 1, None, 0, "title group", "group", True, 1.0,
             "pass_through", 40, 40, 760, 200),
            ("fv-hero", HERO, "e-fv-hero", 2, 1, 1, "headline", "text", True, 0.8,
             "multiply", 40, 40, 760, 120),
            ("fv-hero", HERO, "e-fv-hero", 3, 1, 1, "logo", "smart_object", False, 0.5,
             "screen", 600, 130, 760, 200),
        ],
    )  # fmt: skip
    long_text = "fine print " * 40
    insert(
        warehouse,
        "marts.fct_design_text",
        [
            ("fv-hero", HERO, "e-fv-hero", "psd_text_layer", "layer 2", "Summer sale", 0),
            ("fv-hero", HERO, "e-fv-hero", "psd_text_layer", "layer 10", long_text, 1),
        ],
    )
    insert(
        warehouse,
        "marts.fct_design_colors",
        [
            ("fv-hero", HERO, "e-fv-hero", 2, "#003366", 0.3),
            ("fv-hero", HERO, "e-fv-hero", 1, "#ff6600", 0.6),
            ("fv-hero", HERO, "e-fv-hero", 3, "not-a-colour", 0.1),
        ],
    )
    insert(
        warehouse,
        "marts.fct_near_duplicate_pairs",
        [
            ("fv-old", OLD_HERO, "fv-hero", HERO, 6),  # a < b by path: the file is b here
            ("fv-hero", HERO, "fv-derived", "team-a/hero banner small.png", 2),
            ("fv-logo", LOGO, "fv-photo", PHOTO, 1),
        ],
    )
    insert(
        warehouse,
        "marts.fct_quarantined_file_versions",
        [
            ("fv-empty", EMPTY, "e-fv-empty", "empty_file", "The object has zero bytes.", None),
            ("fv-empty", EMPTY, "e-fv-empty", "unsupported_format", "Not a design format.",
             "cannot identify image file"),
            ("fv-older", EMPTY, "e-older", "truncated_file", "Truncated.", None),  # not current
        ],
    )  # fmt: skip
    insert(
        warehouse,
        "ops_marts.dim_file_states",
        [
            (HERO, "e-fv-hero", "queryable", None, "r2", "SUCCEEDED", None, None, "ok", None,
             None, None, 12, T0, T0, T0),
            (EMPTY, "e-fv-empty", "quarantined", "failed quality rules: empty_file",
             "r2", "SUCCEEDED", None, None, "failed", "empty_file", "zero bytes",
             "empty_file", None, T0, T0, None),
        ],
    )  # fmt: skip
    insert(
        warehouse,
        "ops_marts.fct_file_facet_statuses",
        [
            ("fv-hero", HERO, "e-fv-hero", "document", 1, "ok", None, None, "r2", T0),
            ("fv-hero", HERO, "e-fv-hero", "structure", 1, "truncated", None, TRUNCATED_REASON,
             "r2", T0),
            ("fv-hero", HERO, "e-fv-hero", "text", 1, "failed", "unreadable_file",
             FAILED_REASON, "r2", T0),
            ("fv-hero", HERO, "e-fv-hero", "visual", 1, "ok", None, None, "r2", T0),
            ("fv-hero-0", HERO, "e-older", "visual", 1, "failed", "render_failed",
             "render_failed: an older version", "r1", T0),
        ],
    )  # fmt: skip
    insert(
        warehouse,
        "ops_marts.fct_file_events",
        [(HERO, T0, "discovered", "new", None, "e-fv-hero", "r2", "scheduled", "SUCCEEDED", None),
         (HERO, T0, "loaded", "queryable", None, "e-fv-hero", "r2", "scheduled", "SUCCEEDED",
          None)],
    )  # fmt: skip
    return warehouse
