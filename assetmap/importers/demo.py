"""The demo: real open data from ``ASSETMAP_DATA_DIR`` with Shropshire and Oldham shown first.

``scope="england"`` loads what gap catchments need across borders (all England LSOAs 2011 with IoD
2019 and LSOAs 2021 with IoD 2025, Census 2021 population, the 2021 lookups and MSOA names, every
GB postcode, the national library, pharmacy and GP lists); ``scope="local"`` loads Shropshire and
Oldham and the postcode areas around them only. Files already imported unchanged
are skipped, so a second run is fast. The postcodes load in a second process beside the boundaries
and need data (on two cores the England demo is ready in about three quarters of the time).
"""
from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from assetmap.config import PROJECT_DIR
from assetmap.errors import ImportFileError
from assetmap.importers.report import silent_progress
from assetmap.importers.runner import run_import

SHROPSHIRE, OLDHAM = "E06000051", "E08000004"
LOCAL_POSTCODE_AREAS = ["SY", "TF", "WV", "LD", "DY", "OL", "M", "SK", "HX", "BL", "WN"]
# Greater Manchester layers for the kinds of place no national list covers. Its libraries and
# pharmacies are older copies of the national lists loaded above: loading both would count the
# same library twice and inflate provision in the gap analysis.
GM_LAYERS = [
    "gm_dentists", "gm_food_banks", "gm_jobcentreplus", "gm_green_flags",
    "gm_post_offices", "gm_hospitals", "gm_places_of_worship_RAW", "gm_polling_stations", "gm_greenspace_access_points",
]


def geography_2021_steps(data_dir: Path, lads: list[str] | None, progress=silent_progress):
    """The imports of the 2021 geography and current need, in order: ``(kind, dataset key, path,
    fn(session, path))``. ``lads`` None: all England (the national LSOA 2021 file); else those
    authorities (Shropshire's and Oldham's own boundary files, and their rows of the national
    tables). The demo and the tests' reference data both load these."""
    from assetmap.importers.boundaries import derive_lad_geometries, fill_missing_lad_codes, import_boundaries
    from assetmap.importers.geography import (
        import_census_population,
        import_lsoa_lookup,
        import_msoa_names,
        import_rural_urban,
        import_ward_lookup,
    )
    from assetmap.importers.iod2025 import import_iod2025

    data_dir = Path(data_dir)
    b = data_dir / "boundaries"

    def boundaries(s, p):
        report = import_boundaries(s, p, progress=progress)
        fill_missing_lad_codes(s)
        return report

    steps = [("names", "hocl-msoa-names", data_dir / "names" / "msoa21_names_hocl_v2.2.csv", import_msoa_names),
             ("names", "hocl-msoa-names", data_dir / "names" / "msoa11_names_hocl_v1.14.csv", import_msoa_names)]
    if lads is None:
        steps.append(("boundaries", "ons-boundaries-2021", b / "lsoa21_england_bsc.geojson.gz", boundaries))
    local = {SHROPSHIRE: ["lsoa21_E06000051_shropshire_bsc.geojson", "msoa21_E06000051_shropshire_bsc.geojson",
                          "wards22_E06000051_shropshire_bsc.geojson"],
             OLDHAM: ["lsoa21_E08000004_oldham_bgc.geojson", "msoa21_E08000004_oldham_bgc.geojson",
                      "wards23_E08000004_oldham_bgc.geojson"]}
    for files in local.values():
        for name in files:
            if lads is None and name.startswith("lsoa21_"):
                continue  # the national file has them
            steps.append(("boundaries", "ons-boundaries-2021", b / name, boundaries))

    def each(fn):
        return lambda s, p: fn(s, p, lad_codes=lads, progress=progress)

    def iod2025(s, p):
        report = import_iod2025(s, p, lad_codes=lads, progress=progress)
        derive_lad_geometries(s, progress=progress)  # authorities new since 2019 get their outline
        return report

    lk, iod = data_dir / "lookups", data_dir / "iod2025"
    steps += [
        ("population", "census2021", data_dir / "population" / "census2021_ts021_lsoa21.csv",
         each(import_census_population)),
        ("lookups", "ons-lookups", lk / "lookup_lsoa11_lsoa21_ltla22.csv", each(import_lsoa_lookup)),
        ("lookups", "ons-lookups", lk / "lookup_lsoa21_ward24_ltla24.csv", each(import_ward_lookup)),
        ("lookups", "ons-lookups", lk / "ruc21_lsoa21.csv", each(import_rural_urban)),
        ("indicators", "iod2025", iod / "File_1_IoD2025_Index_of_Multiple_Deprivation.xlsx", iod2025),
        ("indicators", "iod2025", iod / "File_3_IoD2025_Supplementary_Indices_IDACI_and_IDAOPI.xlsx", iod2025),
        ("indicators", "iod2025", iod / "iod2025_domains_lsoa21_from_file7.csv", iod2025),
    ]
    return steps


def load_demo(url: str, data_dir: Path, scope: str = "england", progress=silent_progress) -> Iterator[str]:
    """Load the demo step by step, yielding a line of report for each file."""
    data_dir = Path(data_dir)
    if not (data_dir / "boundaries").is_dir():
        raise ImportFileError(
            f"no open data at {data_dir}: set ASSETMAP_DATA_DIR to the folder holding boundaries/, imd2019/, ..."
        )
    england = scope == "england"
    lads = None if england else [SHROPSHIRE, OLDHAM]
    areas = None if england else LOCAL_POSTCODE_AREAS
    # The postcodes need nothing loaded before them and their import is half Python work, so they
    # load in a second process while the boundaries and need data load in this one; their report
    # comes in its place in the order.
    postcode_file = data_dir / "postcodes" / "codepo_gb.zip"
    with in_second_process(import_postcodes, url, postcode_file, areas) as postcodes:
        yield f"postcodes ({postcode_file.name}): loading in a second process beside the steps below"
        yield from _geography_steps(url, data_dir, scope, lads, progress)
        yield postcodes()
    yield from _asset_steps(url, data_dir, scope, areas, progress)
    yield from _precompute_gaps(url, [SHROPSHIRE, OLDHAM], progress)


@contextmanager
def in_second_process(fn: Callable, *args) -> Iterator[Callable[[], object]]:
    """Start ``fn(*args)`` in a new interpreter (spawned, not forked: no connection or lock is
    shared); yields a function that waits for its result and returns it, or raises its error.
    Leaving the block ends the process if it is still running, so an error in the steps beside
    it is told at once and an unfinished import is rolled back, not left writing."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # its exit terminates the worker
        pending = pool.apply_async(fn, args)
        yield pending.get


def _step(url: str, kind: str, key: str | None, path: Path, fn, options: str = "") -> str:
    """One import of the demo (skipped when the file was loaded before); its line of report."""
    report = run_import(url, kind, key, path, fn, force=False, options=options)
    if report is None:
        return f"{path.name}: already loaded, unchanged"
    return report.summary(max_problems=5)


def import_postcodes(url: str, path: Path, areas: list[str] | None) -> str:
    """The demo's Code-Point Open import (``areas`` None: all of Great Britain); its line of
    report. Called in a process of its own, so it shows no progress bar of its own."""
    from assetmap.importers.postcodes import import_codepoint

    return _step(url, "postcodes", "codepoint-open", path, lambda s, p: import_codepoint(s, p, areas=areas),
                 options=",".join(areas or []))


def _geography_steps(url: str, data_dir: Path, scope: str, lads: list[str] | None, progress) -> Iterator[str]:
    """Boundaries of both vintages, IoD 2019 and 2025, population, lookups and names."""
    from assetmap.importers.boundaries import derive_lad_geometries, fill_missing_lad_codes, import_boundaries
    from assetmap.importers.indicators import import_iod

    step = partial(_step, url)
    b = data_dir / "boundaries"
    if lads is None:
        yield step("boundaries", "ons-boundaries", b / "lsoa11_england.geojson.gz",
                   lambda s, p: import_boundaries(s, p, progress=progress))
    for lad, place in [(SHROPSHIRE, "shropshire"), (OLDHAM, "oldham")]:
        for level in ["lsoa11", "msoa11", "wards"]:
            def fn(s, p):
                report = import_boundaries(s, p, progress=progress)
                fill_missing_lad_codes(s)
                return report
            yield step("boundaries", "ons-boundaries", b / f"{level}_{lad}_{place}.geojson", fn)

    for name in ["imd2019_lsoa11.csv", "iod2019_domains_lsoa11.csv", "iod2019_population_lsoa11.csv"]:
        def fn(s, p):
            report = import_iod(s, p, lad_codes=lads, progress=progress)
            fill_missing_lad_codes(s)
            derive_lad_geometries(s, progress=progress)
            return report
        yield step("indicators", "iod2019", data_dir / "imd2019" / name, fn, options=scope)

    for kind, key, path, fn in geography_2021_steps(data_dir, lads, progress):
        yield step(kind, key, path, fn, options=scope)


def _asset_steps(url: str, data_dir: Path, scope: str, areas: list[str] | None, progress) -> Iterator[str]:
    """Places, the national and Greater Manchester asset lists, and the towns (after the postcodes:
    assets are placed by them)."""
    from assetmap.importers.assets import import_assets
    from assetmap.importers.places import import_places

    step = partial(_step, url)
    yield step("places", "os-open-names", data_dir / "gazetteer" / "gb_populated_places_all_BNG_csv.zip",
               lambda s, p: import_places(s, p, progress=progress))

    a = data_dir / "assets"
    official = [
        ("libraries", a / "libraries_england_2023.csv"),
        ("nhsbsa-pharmacies", a / "consol_pharmacy_list_202324q3.csv"),
        ("epraccur", a / "epraccur_2023-12.csv"),
        ("givefood", a / "foodbanks_givefood_shropshire_oldham.csv"),
    ]
    for fmt, path in official:
        yield step(f"assets:{fmt}", _dataset_key(fmt), path,
                   lambda s, p, fmt=fmt: import_assets(s, p, fmt, publish=True, progress=progress,
                                                       only_postcode_areas=areas),
                   options=scope)
    for layer in GM_LAYERS:
        path = a / "greater_manchester" / f"{layer}.geojson"
        yield step("assets:geojson", "gm-data-lab", path,
                   lambda s, p: import_assets(s, p, "geojson", publish=True, progress=progress))

    yield step("towns", None, PROJECT_DIR / "data" / "towns.json", _load_towns)


def _load_towns(session, path):
    from assetmap.domain.area_profile import read_towns
    from assetmap.importers.towns import load_towns

    return load_towns(session, read_towns(json.loads(path.read_text(encoding="utf-8"))), source=path.name)


def _precompute_gaps(url: str, lads: list[str], progress) -> Iterator[str]:
    """The default gap run of every category for the areas shown first, so the first planner to
    open the gap map does not wait. Runs already stored are kept (a second demo is fast)."""
    from assetmap.db import area_geometry, gap_runs
    from assetmap.db.engine import session_scope

    with session_scope(url) as session:
        area_geometry.refresh_area_geometry(session, check_changed=False)
        todo = gap_runs.runs_to_compute(session, lads=lads)
    bar = progress(total=len(todo), desc="gap runs")
    for params in todo:
        with session_scope(url) as session:
            gap_runs.ensure_run(session, params)
        bar.update(1)
    bar.close()
    yield f"gap runs ready: {len(todo)} (default runs for {', '.join(lads)})"


def _dataset_key(fmt: str) -> str:
    from assetmap.importers.assets import FORMATS

    return FORMATS[fmt].dataset_key
