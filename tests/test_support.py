"""The support check of generated sentences: the stated fact must be in the cited sentence, for the asked region."""

from __future__ import annotations

import pytest

from assistant.model import Citation, Passage
from assistant.support import SupportChecker, missing_months, missing_regions

from .conftest import FakeEmbedder

ZHAMBYL = (
    "Заседание по реализации Послания прошло в Таразе под председательством акима области. "
    "Акимам районов поручено представить предложения по цифровизации сёл до 25 сентября 2025 года. "
    "Новый центр обработки данных заработает 1 марта 2026 года."
)
ALMATY = (
    "На развитие городской лаборатории искусственного интеллекта выделено 620 млрд тенге из разных источников. "
    "Лаборатория отобрала для поддержки 34 проекта молодых разработчиков."
)
ASTANA = "Заседание по реализации Послания в столице провёл аким Астаны Жанибек Омаров."


def _passage(text: str, region: str) -> Passage:
    return Passage(1, 0.9, f"{region}#0", f"{region}.txt", text, Citation("t", "", region, "regional_response", "ru", ""), "", 0, len(text), 0.9)


@pytest.fixture
def checker() -> SupportChecker:
    return SupportChecker(FakeEmbedder().embed_passages)


def _check(checker, sentence, passage, regions=()):
    return checker.check([sentence], [(1,)], {1: passage}, ["ru"], regions)[0]


def test_a_deadline_moved_to_another_date_of_the_passage_is_unsupported(checker):
    passage = _passage(ZHAMBYL, "Zhambyl region")
    kept = _check(checker, "Акимам районов поручено представить предложения по цифровизации сёл до 25 сентября 2025 года.", passage)
    moved = _check(checker, "Акимам районов поручено представить предложения по цифровизации сёл до 1 марта 2026 года.", passage)
    assert kept.supported
    # "1", "2026" and "марта" are all in the passage, but in the sentence about the data centre.
    assert not moved.supported and set(moved.missing_terms) == {"1", "2026", "марта"}


def test_numbers_of_two_sentences_joined_into_one_fact_are_unsupported(checker):
    passage = _passage(ALMATY, "Almaty city")
    mixed = _check(checker, "Лаборатория искусственного интеллекта отобрала 34 проекта на 620 млрд тенге.", passage)
    # Whichever of the two sentences it rests on, the other one's number is missing from it.
    assert not mixed.supported and mixed.missing_terms in (("34",), ("620",))


def test_a_report_of_another_region_does_not_support_an_answer_about_the_asked_one(checker):
    passage = _passage(ASTANA, "Astana")
    asked_elsewhere = _check(checker, "Заседание по реализации Послания провёл аким Жанибек Омаров.", passage, ("Shymkent city",))
    asked_here = _check(checker, "Заседание по реализации Послания провёл аким Жанибек Омаров.", passage, ("Astana",))
    assert not asked_elsewhere.supported and asked_elsewhere.missing_terms == ("г. Шымкент",)
    assert asked_here.supported


def test_a_region_the_sentence_names_must_be_the_cited_report_s(checker):
    passage = _passage(ASTANA, "Astana")
    assert missing_regions("Заседание в Шымкенте провёл аким.", (), [passage], "ru") == ("г. Шымкент",)
    assert missing_regions("The meeting in Astana was chaired by the akim.", (), [passage], "en") == ()
    national = Passage(1, 0.9, "n#0", "n.txt", "Послание касается и Шымкента.", Citation("t", "", "national", "address", "ru", ""), "", 0, 30, 0.9)
    assert missing_regions("В Шымкенте ...", (), [national], "ru") == ()


def test_months_are_compared_across_languages():
    assert missing_months("by 1 March 2026", "до 1 марта 2026 года") == ()
    assert missing_months("by 1 March 2026", "до 25 сентября 2025 года") == ("March",)
    assert missing_months("2026 жылғы 1 наурызға дейін", "до 1 марта 2026 года") == ()


def test_a_name_written_in_another_script_counts_as_present(checker):
    passage = _passage(ASTANA, "Astana")
    support = checker.check(["The meeting was chaired by akim Zhanibek Omarov."], [(1,)], {1: passage}, ["en"])[0]
    assert support.missing_terms == ()
    invented = checker.check(["The meeting was chaired by akim Serik Baimukhanov."], [(1,)], {1: passage}, ["en"])[0]
    assert invented.missing_terms == ("Serik", "Baimukhanov")
