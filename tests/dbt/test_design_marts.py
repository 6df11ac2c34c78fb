"""The facet marts (issue 14) against a real fakesnow server: raw.file_facets rows through
stg_pixelforge__file_facets, the intermediate facet tables and the public marts
(dim_design_files v1 and v2, fct_design_layers/_text/_colors, mart_design_search), over two
incremental rounds: an overwritten file's old layers and a deleted file's rows drop out, a
re-extracted facet replaces its rows, a late visual facet reaches dim_design_files v2.
The contracts and accepted values are held to pixelforge_core/facets.py."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, get_args, get_type_hints

import yaml

from pixelforge_core.facets import (
    FACET_NAMES,
    FACET_STATUSES,
    FacetResult,
    LayerPayload,
    TextRunPayload,
)
from tests.dbt.test_dbt_project import (  # noqa: F401 - warehouse is the fixture
    RUN_1,
    RUN_2,
    Warehouse,
    change,
    insert,
    metadata,
    query,
    run_pipeline_dbt_steps,
    thumbnail,
    version_id,
    warehouse,
)

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"

POSTER_V1 = ("team-a/Poster_Launch.psd", "e-poster-1")
POSTER_V2 = ("team-a/Poster_Launch.psd", "e-poster-2")
LOGO = ("brand/logo.svg", "e-logo")
PHOTO = ("photos/beach.jpg", "e-photo")
GONE = ("old/gone.png", "e-gone")

DIM_V1_COLUMNS = [
    "relative_path", "file_version_id", "etag", "md5", "change_type", "format",
    "thumbnail_256_key", "thumbnail_1024_key", "quarantine_reason_codes", "size_bytes",
    "width_px", "height_px", "is_deleted", "is_valid", "last_modified_at", "discovered_at",
    "deleted_at", "extracted_at", "thumbnails_rendered_at", "checked_at", "loaded_at",
]  # fmt: skip


def _layer(index: int, name: str, kind: str, parent: int | None = None) -> dict[str, Any]:
    return {
        "index": index, "parent_index": parent, "depth": 0 if parent is None else 1,
        "name": name, "kind": kind, "visible": index != 2, "opacity": 0.5 if index else 1.0,
        "blend_mode": "normal", "bbox": [index, 0, 100 + index, 50],
    }  # fmt: skip


def _document(creator_tool: str | None, **extra: Any) -> dict[str, Any]:
    keys = ("document_id", "instance_id", "derived_from", "title", "author", "creator",
            "producer", "icc_profile", "color_space", "uses_transparency",
            "animation_duration_ms", "loop_count")  # fmt: skip
    return {"creator_tool": creator_tool, **dict.fromkeys(keys), **extra}


def _structure(layers: list[dict[str, Any]]) -> dict[str, Any]:
    return {"layers": layers, "layers_truncated": False, "artboards": [], "svg": None,
            "pages": [], "has_annotations": None, "has_forms": None}  # fmt: skip


def _text(runs: list[tuple[str, int, str]], fonts: list[str]) -> dict[str, Any]:
    return {
        "runs": [{"source": s, "ref": r, "text": t} for s, r, t in runs],
        "fonts": fonts,
        "truncated": False,
    }


def _visual(*colors: tuple[str, float], phash: str = "8f3c00ff00ff00aa") -> dict[str, Any]:
    return {
        "dominant_colors": [{"hex": h, "share": s} for h, s in colors],
        "phash": phash,
        "thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI",
    }


def insert_facets(
    wh: Warehouse, version: tuple[str, str], run_id: str, *results: FacetResult
) -> None:
    """The rows merge_file_facets.sql writes (FacetResult.row), inserted directly."""
    for result in results:
        row = result.row(*version, run_id)
        wh.conn.cursor().execute(
            "insert into raw.file_facets (relative_path, etag, facet, facet_version, status,"
            " reason_code, error_message, payload, run_id, extracted_at)"
            " select %s, %s, %s, %s, %s, %s, %s, parse_json(%s), %s,"
            " cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)",
            (row["relative_path"], row["etag"], row["facet"], row["facet_version"],
             row["status"], row["reason_code"], row["error_message"],
             None if row["payload"] is None else json.dumps(row["payload"]), row["run_id"]),
        )  # fmt: skip


def load_round_1(wh: Warehouse) -> None:
    files = [(POSTER_V1, "psd"), (LOGO, "svg"), (PHOTO, "jpeg"), (GONE, "png")]
    insert(wh, "file_changes", [change("r1", *v, "new", RUN_1) for v, _ in files])
    insert(wh, "file_metadata", [metadata("r1", *v, fmt, RUN_1) for v, fmt in files])
    insert(wh, "thumbnails",
           [thumbnail("r1", *v, px, RUN_1) for v, _ in files for px in (256, 1024)])  # fmt: skip
    insert_facets(
        wh, POSTER_V1, "r1",
        FacetResult("document", 1, "ok", _document("Adobe Photoshop 25.0 (Macintosh)",
                                                   document_id="xmp.did:1", loop_count=None)),
        FacetResult("structure", 1, "ok", _structure([
            _layer(0, "Background", "pixel"), _layer(1, "Headline", "text"),
            _layer(2, "Hidden group", "group"), _layer(3, "Logo", "smart_object", parent=2),
        ])),
        FacetResult("text", 1, "ok", _text([("layer", 1, "Summer Launch")], ["Inter", "Roboto"])),
        FacetResult("visual", 1, "ok", _visual(("#FF0000", 0.6), ("#00ff00", 0.4))),
    )  # fmt: skip
    insert_facets(
        wh,
        LOGO,
        "r1",
        FacetResult("document", 1, "ok", _document(None)),
        FacetResult("structure", 1, "ok", _structure([])),
        FacetResult("text", 1, "ok", _text([("svg", 0, "ACME"), ("svg", 1, "since 1990")], [])),
        FacetResult("visual", 1, "ok", _visual(("#0000ff", 1.0))),
    )
    # the photo's visual facet comes later (round 2); its document facet failed
    insert_facets(
        wh,
        PHOTO,
        "r1",
        FacetResult("document", 1, "failed", None, "unreadable_file", "bad XMP packet"),
    )
    insert_facets(wh, GONE, "r1", FacetResult("visual", 1, "ok", _visual(("#ffffff", 1.0))))


def load_round_2(wh: Warehouse) -> None:
    """The poster is overwritten (two layers now), the old file deleted, the logo's text
    facet re-extracted by a bumped extractor (one run), the photo's visual facet arrives."""
    insert(wh, "file_changes", [change("r2", *POSTER_V2, "updated", RUN_2),
                                change("r2", *GONE, "deleted", RUN_2)])  # fmt: skip
    insert(wh, "file_metadata", [metadata("r2", *POSTER_V2, "psd", RUN_2)])
    insert(wh, "thumbnails", [thumbnail("r2", *POSTER_V2, px, RUN_2) for px in (256, 1024)])
    insert_facets(
        wh, POSTER_V2, "r2",
        FacetResult("document", 1, "ok", _document("Figma", derived_from="xmp.did:1")),
        FacetResult("structure", 1, "ok", _structure([_layer(0, "Canvas", "pixel"),
                                                      _layer(1, "Title", "text")])),
        FacetResult("text", 1, "ok", _text([("layer", 1, "Winter Sale")], ["Inter"])),
        FacetResult("visual", 1, "ok", _visual(("#123456", 1.0))),
    )  # fmt: skip
    wh.conn.cursor().execute(
        "update raw.file_facets set facet_version = 2, payload = parse_json(%s),"
        " extracted_at = cast(convert_timezone('UTC', current_timestamp()) as timestamp_ntz)"
        " where relative_path = %s and etag = %s and facet = 'text'",
        (json.dumps(_text([("svg", 0, "ACME corp")], ["Lobster"])), *LOGO),
    )
    insert_facets(wh, PHOTO, "r2", FacetResult("visual", 1, "ok", _visual(("#a0b0c0", 1.0))))


def by(rows: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in rows}


def test_facet_marts_over_two_incremental_rounds(warehouse: Warehouse) -> None:  # noqa: F811
    load_round_1(warehouse)
    run_pipeline_dbt_steps(warehouse)

    # dim_design_files v1 keeps its relation and exactly its columns; v2 adds the facets
    v1 = query(warehouse, "select * from marts.dim_design_files")
    assert list(v1[0]) == DIM_V1_COLUMNS
    dim = by(query(warehouse, "select * from marts.dim_design_files_v2"), "relative_path")
    assert {r["relative_path"]: r["file_version_id"] for r in v1} == {
        p: r["file_version_id"] for p, r in dim.items()
    }
    poster = dim[POSTER_V1[0]]
    assert poster["creator_tool"] == "Adobe Photoshop 25.0 (Macintosh)"
    assert poster["document_id"] == "xmp.did:1"
    assert poster["dominant_color_hex"] == "#FF0000"
    assert poster["phash"] == "8f3c00ff00ff00aa"
    assert dim[PHOTO[0]]["creator_tool"] is None and dim[PHOTO[0]]["phash"] is None
    facets = by(query(warehouse, "select * from intermediate.int_file_version_facets"),
                "file_version_id")  # fmt: skip
    assert facets[version_id(*PHOTO)]["failed_facets"] == "document"
    assert facets[version_id(*POSTER_V1)]["fonts"] == "Inter, Roboto"

    layers = query(warehouse, "select * from marts.fct_design_layers order by layer_index")
    assert [(r["layer_index"], r["layer_name"], r["layer_kind"], r["parent_layer_index"])
            for r in layers] == [(0, "Background", "pixel", None), (1, "Headline", "text", None),
                                 (2, "Hidden group", "group", None),
                                 (3, "Logo", "smart_object", 2)]  # fmt: skip
    assert layers[2]["is_visible"] is False and layers[1]["opacity"] == 0.5
    assert (layers[3]["bbox_left"], layers[3]["bbox_right"], layers[3]["bbox_bottom"]) == (
        3,
        103,
        50,
    )
    text = query(
        warehouse, "select * from marts.fct_design_text order by relative_path, text_run_index"
    )
    assert [(r["relative_path"], r["text_source"], r["text_ref"], r["text"]) for r in text] == [
        (LOGO[0], "svg", 0, "ACME"), (LOGO[0], "svg", 1, "since 1990"),
        (POSTER_V1[0], "layer", 1, "Summer Launch"),
    ]  # fmt: skip
    colors = query(
        warehouse, "select * from marts.fct_design_colors order by relative_path, color_rank"
    )
    assert [(r["relative_path"], r["color_rank"], r["color_hex"], r["share"]) for r in colors] == [
        (LOGO[0], 1, "#0000ff", 1.0), (GONE[0], 1, "#ffffff", 1.0),
        (POSTER_V1[0], 1, "#ff0000", 0.6), (POSTER_V1[0], 2, "#00ff00", 0.4),
    ]  # fmt: skip

    search = by(query(warehouse, "select * from marts.mart_design_search"), "relative_path")
    assert set(search) == {POSTER_V1[0], LOGO[0], PHOTO[0], GONE[0]}
    assert search[POSTER_V1[0]]["name_tokens"] == "team a poster launch psd"
    assert search[POSTER_V1[0]]["layer_names"] == "Background Headline Hidden group Logo"
    assert search[POSTER_V1[0]]["search_text"] == (
        "team a poster launch psd psd adobe photoshop 25.0 (macintosh) "
        "background headline hidden group logo summer launch inter, roboto"
    )
    assert search[LOGO[0]]["text"] == "ACME since 1990"
    assert search[PHOTO[0]]["search_text"] == "photos beach jpg jpeg"

    # --- round 2 ----------------------------------------------------------------------
    time.sleep(1.1)  # extracted_at has to move past the marks
    load_round_2(warehouse)
    run_pipeline_dbt_steps(warehouse)

    dim = by(query(warehouse, "select * from marts.dim_design_files_v2"), "relative_path")
    assert dim[POSTER_V2[0]]["file_version_id"] == version_id(*POSTER_V2)
    assert dim[POSTER_V2[0]]["creator_tool"] == "Figma"
    assert dim[POSTER_V2[0]]["derived_from_document_id"] == "xmp.did:1"
    assert dim[PHOTO[0]]["phash"] == "8f3c00ff00ff00aa"  # the late visual facet
    assert dim[PHOTO[0]]["dominant_color_hex"] == "#a0b0c0"
    assert dim[GONE[0]]["is_deleted"] is True

    layers = query(warehouse, "select * from marts.fct_design_layers order by layer_index")
    assert [(r["file_version_id"], r["layer_name"]) for r in layers] == [
        (version_id(*POSTER_V2), "Canvas"), (version_id(*POSTER_V2), "Title"),
    ]  # fmt: skip
    # every version's rows are kept below the marts; the views keep the current ones
    kept = query(warehouse, "select count(*) as n from intermediate.int_design_layers"
                            " where layer_index is not null")  # fmt: skip
    assert kept == [{"n": 6}]
    text = query(warehouse, "select * from marts.fct_design_text order by relative_path")
    assert [(r["relative_path"], r["text"]) for r in text] == [
        (LOGO[0], "ACME corp"),
        (POSTER_V2[0], "Winter Sale"),
    ]  # the re-extracted logo text replaced both old runs
    colors = query(warehouse, "select relative_path, color_hex from marts.fct_design_colors")
    assert sorted((r["relative_path"], r["color_hex"]) for r in colors) == [
        (LOGO[0], "#0000ff"),
        (PHOTO[0], "#a0b0c0"),
        (POSTER_V2[0], "#123456"),
    ]
    search = by(query(warehouse, "select * from marts.mart_design_search"), "relative_path")
    assert set(search) == {POSTER_V2[0], LOGO[0], PHOTO[0]}
    assert search[LOGO[0]]["fonts"] == "Lobster"
    assert "winter sale" in search[POSTER_V2[0]]["search_text"]
    assert "summer" not in search[POSTER_V2[0]]["search_text"]


def _yaml(path: str) -> dict[str, Any]:
    return yaml.safe_load((MODELS / path).read_text(encoding="utf-8"))


def _accepted(document: dict[str, Any], model: str, column: str) -> list[str]:
    (found,) = [m for m in document["models"] if m["name"] == model]
    (col,) = [c for c in found["columns"] if c["name"] == column]
    (values,) = [
        t["accepted_values"]["arguments"]["values"]
        for t in col["data_tests"]
        if isinstance(t, dict) and "accepted_values" in t
    ]
    return values


def test_accepted_values_are_the_facet_registrys() -> None:
    """facets.py owns the facet names, statuses, layer kinds and text sources."""
    staging = _yaml("staging/pixelforge/_pixelforge__models.yml")
    assert _accepted(staging, "stg_pixelforge__file_facets", "facet") == list(FACET_NAMES)
    assert _accepted(staging, "stg_pixelforge__file_facets", "status") == list(FACET_STATUSES)
    design = _yaml("marts/design/_design__models.yml")
    kinds = get_args(get_type_hints(LayerPayload)["kind"])
    assert _accepted(design, "fct_design_layers", "layer_kind") == list(kinds)
    sources = get_args(get_type_hints(TextRunPayload)["source"])
    assert _accepted(design, "fct_design_text", "text_source") == list(sources)


def test_public_marts_have_enforced_contracts_and_an_owner() -> None:
    groups = {g["name"]: g for g in _yaml("_groups.yml")["groups"]}
    models = _yaml("marts/design/_design__models.yml")["models"]
    dim = next(m for m in _yaml("marts/_marts__models.yml")["models"]
               if m["name"] == "dim_design_files")  # fmt: skip
    assert [m["name"] for m in models] == [
        "fct_design_layers", "fct_design_text", "fct_design_colors", "mart_design_search"
    ]  # fmt: skip
    for model in [*models, dim]:
        config = model["config"]
        assert config["contract"] == {"enforced": True}, model["name"]
        assert config["access"] == "public" and config["group"] in groups, model["name"]
        assert all(c.get("data_type") for c in model["columns"]), model["name"]
    assert groups["design_files"]["owner"]["name"]
    assert [v["v"] for v in dim["versions"]] == [1, 2] and dim["latest_version"] == 2
    assert dim["versions"][0]["config"]["alias"] == "dim_design_files"
    assert [c["name"] for c in dim["columns"]] == DIM_V1_COLUMNS


LAYERS_JSON = json.dumps(_structure([_layer(0, "Background", "pixel"), _layer(1, "Title", "text")]))
VISUAL_JSON = json.dumps(_visual(("#ff0000", 0.7), ("#0000ff", 0.3)))
TEXT_JSON = json.dumps(_text([("layer", 1, "Summer sale")], ["Inter"]))


def _facets_of(wh: Any, run_id: str) -> None:
    """Structure, text and visual facet rows for the versions `run_id` extracted, as DuckDB
    rows (the fixture loader's way: warehouse_profiler.load_versions)."""
    for name, payload in (("structure", LAYERS_JSON), ("text", TEXT_JSON),
                          ("visual", VISUAL_JSON)):  # fmt: skip
        wh.duck(
            f"""insert into raw.file_facets by name
            select relative_path, etag, '{name}' as facet, 1 as facet_version, 'ok' as status,
                '{payload}'::json as payload, run_id, extracted_at + interval 1 second
                as extracted_at
            from raw.file_metadata where run_id = '{run_id}'"""
        )


def test_the_facet_models_work_on_the_batch_only(tmp_path: Path) -> None:
    """As tests/dbt/test_dbt_project.py's batch test, for the facet models: under DuckDB's
    profiler, the incremental SELECTs of the intermediate facet tables, dim_design_files v2 and
    mart_design_search return the batch's rows and feed no more than a few rows per batch
    version into their aggregates, whatever the history (2,000 versions with facets)."""
    from orchestration.warehouse_profiler import (
        BATCH_AT,
        SEED_AT,
        dbt,
        fakesnow_warehouse,
        load_versions,
        profile_select,
    )

    history, batch = 2_000, 20
    # the models only: their data and unit tests are not what this test reads (the unit tests
    # run in tests/dbt/test_dbt_project.py's plain `dbt build`)
    models_only = ("--exclude-resource-type", "test", "unit_test")
    etag = "lpad(to_hex(hash(i)), 32, '0') as etag"
    with fakesnow_warehouse() as wh:
        load_versions(wh, f"select i, 'new' as change_type, {etag} from range({history}) as t(i)",
                      "seed", SEED_AT)  # fmt: skip
        _facets_of(wh, "seed")
        dbt(["build", *models_only], wh.port, tmp_path)
        load_versions(
            wh,
            f"select i, 'new' as change_type, {etag} from range({history}, {history + batch // 2})"
            f" as t(i) union all select i, 'updated', lpad(to_hex(hash(i + 1)), 32, '0') "
            f"from range({batch // 2}) as t(i)",
            "batch",
            BATCH_AT,
        )
        _facets_of(wh, "batch")
        compiled = tmp_path / "compiled" / "pixelforge" / "dbt_project" / "models"

        def profile(selector: str, folder: str, model: str) -> dict[str, Any]:
            dbt(["compile", "--selector", selector], wh.port, tmp_path)
            sql = (compiled / folder / f"{model}.sql").read_text()
            return profile_select(wh.instance, sql, tmp_path / f"{model}.json")

        facets = profile("validate", "intermediate/facets", "int_file_version_facets")
        assert facets["rows_out"] == batch
        assert 0 < facets["rows_aggregated"] <= 4 * 3 * batch, facets  # 3 facet rows a version
        layers = profile("validate", "intermediate/facets", "int_design_layers")
        assert layers["rows_out"] == 3 * batch  # two layers and the facet's own row
        assert layers["rows_aggregated"] <= 3 * batch, layers  # fakesnow's FLATTEN, per row
        dbt(["build", "--selector", "validate", *models_only], wh.port, tmp_path)

        dim = profile("load", "marts", "dim_design_files_v2")
        assert dim["rows_out"] == batch
        assert dim["rows_aggregated"] <= 4 * batch, dim
        dbt(["build", "--select", "dim_design_files", *models_only], wh.port, tmp_path)
        search = profile("load", "marts/design", "mart_design_search")
        assert search["rows_out"] == batch  # every batch version is valid and current
        assert 0 < search["rows_aggregated"] <= 10 * batch, search
