"""The demo's postcode import, which runs in a second process beside the boundaries and need data
(:func:`assetmap.importers.demo.load_demo`): it must work in a fresh interpreter given only the
database URL, record its import like any other, and bring its errors back to the demo."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from assetmap.db.engine import session_scope
from assetmap.errors import ImportFileError
from assetmap.importers.demo import import_postcodes, in_second_process
from tests.live import committed_clone


def _in_second_process(*args):
    with in_second_process(import_postcodes, *args) as result:
        return result()


def test_the_postcodes_load_in_a_second_process_and_once(db_url, data_dir):
    path = data_dir / "postcodes" / "codepo_gb.zip"
    with committed_clone(db_url, "demo_postcodes") as url:
        with session_scope(url) as session:
            before = session.scalar(text("SELECT count(*) FROM postcode WHERE postcode LIKE 'ZE%'"))

        line = _in_second_process(url, path, ["ZE"])

        with session_scope(url) as session:
            loaded = session.scalar(text("SELECT count(*) FROM postcode WHERE postcode LIKE 'ZE%'"))
            recorded = session.execute(text(
                "SELECT file_name, finished_at IS NOT NULL FROM import_run WHERE kind = 'postcodes'")).all()
        assert before == 0 and loaded > 500  # Shetland's postcodes, not in the tests' reference data
        assert line.startswith(f"postcodes (codepo_gb.zip): read {loaded}, inserted {loaded},")
        assert recorded == [("codepo_gb.zip", True)]
        assert _in_second_process(url, path, ["ZE"]) == "codepo_gb.zip: already loaded, unchanged"


def test_a_postcode_file_that_cannot_load_is_told_in_the_demo(db_url, tmp_path):
    not_a_zip = tmp_path / "codepo_gb.zip"
    not_a_zip.write_text("postcode,easting\n")
    with pytest.raises(ImportFileError, match="is not a zip file"):
        _in_second_process(db_url, not_a_zip, None)


def test_leaving_early_ends_the_second_process_at_once():
    """An error in the demo's own steps is told without waiting for the postcodes to finish."""
    started = time.monotonic()
    with pytest.raises(ImportFileError), in_second_process(time.sleep, 60):
        raise ImportFileError("a boundary file is broken")
    assert time.monotonic() - started < 20
