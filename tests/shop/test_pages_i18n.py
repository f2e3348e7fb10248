"""The translations: the committed .mo files say exactly what their .po files say, the
Hindi catalogue is complete and holds every message the code and templates have, and the
subscribe page speaks Hindi."""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE_DIRS = [Path(path) for path in settings.LOCALE_PATHS]
PO_FILES = sorted(po for root in LOCALE_DIRS for po in root.glob("*/LC_MESSAGES/*.po"))


def po_catalog(po: polib.POFile) -> dict:
    """What gettext should find, keyed as Python's gettext keys a compiled catalogue."""
    catalog = {}
    for entry in po.translated_entries():
        msgid = entry.msgid if not entry.msgctxt else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural:
            for index, text in entry.msgstr_plural.items():
                catalog[(msgid, int(index))] = text
        else:
            catalog[msgid] = entry.msgstr
    return catalog


def test_there_is_a_hindi_catalogue():
    assert any(po.parts[-3] == "hi" for po in PO_FILES), PO_FILES


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_mo_file_matches_its_po_file(po_path: Path):
    """Fails when a .po was edited without `shelfwatch manage compilemessages` (the .mo
    files are committed: users need not have gettext installed)."""
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path.name} is missing: run compilemessages"
    po = polib.pofile(str(po_path))
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    expected = po_catalog(po)
    # The compiled catalogue's own table, less the header entry ("" -> metadata).
    actual = {key: value for key, value in compiled._catalog.items() if key != ""}
    stale = {k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k)}
    assert not stale, f"{mo_path} is out of date for {sorted(map(str, stale))[:5]}"
    assert compiled.plural(1) == 0 and compiled.plural(2) == 1


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: "/".join(p.parts[-3:]))
def test_every_message_is_translated(po_path: Path):
    po = polib.pofile(str(po_path))
    assert not po.untranslated_entries(), [e.msgid for e in po.untranslated_entries()]
    assert not po.fuzzy_entries(), [e.msgid for e in po.fuzzy_entries()]
    # Placeholders survive translation, or the page would show a raw %(name)s or fail.
    for entry in po.translated_entries():
        texts = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in texts:
            for placeholder in ("%(name)s", "%(address)s", "%(what)s", "%(q)s", "%(counter)s"):
                assert (placeholder in entry.msgid) == (placeholder in text), entry.msgid


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (xgettext)")
def test_every_message_of_the_code_and_pages_is_in_the_hindi_catalogue(tmp_path):
    """A page added without `makemessages` would stay in English for Hindi readers while
    the catalogue still looked complete: extract the messages again, in a copy of the
    package, and nothing may come out new (untranslated) or guessed (fuzzy)."""
    package = Path(settings.LOCALE_PATHS[0]).parent
    copy = tmp_path / package.name
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    # The copy is the package imported (so its LOCALE_PATHS are written); -P keeps the
    # working directory, whose `http` package would shadow the standard one, off the path.
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE,
    }
    subprocess.run(
        [sys.executable, "-P", "-m", "django", "makemessages", "-l", "hi", "--no-obsolete"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    po = polib.pofile(str(copy / "locale" / "hi" / "LC_MESSAGES" / "django.po"))
    assert not po.untranslated_entries(), [e.msgid for e in po.untranslated_entries()]
    assert not po.fuzzy_entries(), [e.msgid for e in po.fuzzy_entries()]


@pytest.mark.django_db
def test_the_subscribe_page_speaks_hindi(client):
    from shelfwatch.watch.models import Source, SourceStatus, WatchedItem

    source = Source.objects.create(name="Amul shop", kind="internal", status=SourceStatus.OK)
    WatchedItem.objects.create(source=source, external_id="1", name="Amul Lassi", available=False)
    english = client.get(f"/subscribe?source={source.pk}", HTTP_ACCEPT_LANGUAGE="en")
    assert "Get told when it's back or cheaper" in english.content.decode()
    html = client.get(f"/subscribe?source={source.pk}", HTTP_ACCEPT_LANGUAGE="hi").content.decode()
    assert "जब यह वापस आए या सस्ता हो, तब ख़बर पाएँ" in html
    assert "स्टॉक ख़त्म" in html  # the item's badge: "Out of stock"
    assert "मुझे कोड भेजें" in html  # "Send me a code"
    assert "Amul Lassi" in html
