"""Filters keep documents by one rule, whether decided per document or per kind of document."""

from __future__ import annotations

import itertools

import numpy as np

from assistant.filters import DocumentFilter, keeps
from assistant.model import Citation, DocumentRecord
from assistant.query import check_filters

REGIONS = ("Aktobe region", "Актюбинская область", "Astana", "", "Abai region")
RECORDS = [
    DocumentRecord(
        f"Doc{number}.txt",
        f"h{number}",
        Citation(f"title {number}", date, region, doc_type, lang),
        chunks=number % 4 + 1,
    )
    for number, (region, date, doc_type, lang) in enumerate(
        itertools.product(REGIONS, ("", "2025-09-08", "2025-10-01"), ("news", "decree"), ("ru", "kk"))
    )
]
FILTERS = [
    {"region": "Ақтөбе облысы"},
    {"region": ["Astana", "abai region"], "lang": "KK"},
    {"date_from": "2025-09-09"},
    {"date_to": "2025-09-08", "doc_type": "news"},
    {"doc_id": ["doc3.txt", "DOC40.TXT", "missing.txt"]},
    {"doc_id": ["doc3.txt", "doc4.txt"], "region": "Aktobe region"},
    {"region": "Mars"},
]


def test_a_filter_decided_per_kind_keeps_what_it_keeps_per_document():
    documents = DocumentFilter(RECORDS)
    for filters in map(check_filters, FILTERS):
        expected = [keeps(record, filters) for record in RECORDS]
        assert documents.kept(filters).tolist() == expected, filters
    assert not documents.kept(check_filters({"region": "Mars"})).any()


def test_a_region_is_kept_by_any_of_its_names_and_a_date_range_drops_undated_documents():
    documents = DocumentFilter(RECORDS)
    kept = np.asarray(RECORDS, dtype=object)[documents.kept(check_filters({"region": "Ақтөбе облысы"}))]
    assert {record.region for record in kept} == {"Aktobe region", "Актюбинская область"}
    dated = np.asarray(RECORDS, dtype=object)[documents.kept(check_filters({"date_to": "2030-01-01"}))]
    assert len(dated) == len(RECORDS) * 2 // 3 and all(record.date for record in dated)


def test_the_accepted_values_are_the_kept_documents_values():
    documents = DocumentFilter(RECORDS)
    for filters in map(check_filters, FILTERS):
        for key, value in filters.items():
            if key.startswith("date"):
                continue
            expected = {getattr(record, key) for record in RECORDS if keeps(record, {key: value})}
            assert documents.accepted(key, value) == expected
    assert documents.accepted("doc_id", {"doc3.txt"}) == {"Doc3.txt"}
