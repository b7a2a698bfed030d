"""Regions: names in Russian, Kazakh and English, inflections, traps, canonical values, detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.regions import NATIONAL, REGIONS, RegionMention, canonical_region, detect_region, find_regions

from .conftest import SHARED, require_shared_file

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "corpus" / "000_8e621c451e969ccc.txt"
ENGLISH_ADDRESS_2019 = SHARED / "data" / "official" / "en" / "2019-09-03-state-of-nation-sept2.markdown"


def regions_in(text: str) -> list[str]:
    return [mention.region for mention in find_regions(text)]


# ---------------------------------------------------------------------------------------------
# The sample document
# ---------------------------------------------------------------------------------------------


def test_the_sample_news_item_is_about_the_aktobe_region():
    text = SAMPLE.read_text(encoding="utf-8")
    assert detect_region(text) == "Aktobe region"
    (mention,) = find_regions(text)
    assert mention.region == "Aktobe region"
    assert mention.evidence == "Актюбинской области"
    assert text[mention.first :].startswith("Актюбинской области")


def test_the_sample_title_alone_names_the_region():
    assert detect_region("", title="В Актюбинском регионе обсудили пути реализации Послания Президента") == (
        "Aktobe region"
    )


# ---------------------------------------------------------------------------------------------
# Every region by its official Russian, Kazakh and English names
# ---------------------------------------------------------------------------------------------

OFFICIAL_NAMES = [
    ("Abai region", "области Абай", "Абай облысында", "Abai region"),
    ("Akmola region", "Акмолинской области", "Ақмола облысының", "Akmola region"),
    ("Aktobe region", "Актюбинскую область", "Ақтөбе облысына", "Aktobe oblast"),
    ("Almaty region", "Алматинской области", "Алматы облысындағы", "Almaty Region"),
    ("Atyrau region", "Атырауской области", "Атырау облысы", "Atyrau region"),
    ("East Kazakhstan region", "Восточно-Казахстанской области", "Шығыс Қазақстан облысында", "East Kazakhstan"),
    ("Zhambyl region", "Жамбылской области", "Жамбыл облысының", "Zhambyl region"),
    ("Zhetysu region", "области Жетісу", "Жетісу облысында", "Zhetysu region"),
    ("West Kazakhstan region", "Западно-Казахстанская область", "Батыс Қазақстан облысы", "West Kazakhstan region"),
    ("Karaganda region", "Карагандинской области", "Қарағанды облысында", "Karaganda region"),
    ("Kostanay region", "Костанайской области", "Қостанай облысының", "Kostanay region"),
    ("Kyzylorda region", "Кызылординской области", "Қызылорда облысында", "Kyzylorda region"),
    ("Mangystau region", "Мангистауской области", "Маңғыстау облысы", "Mangystau region"),
    ("Pavlodar region", "Павлодарской области", "Павлодар облысында", "Pavlodar region"),
    (
        "North Kazakhstan region",
        "Северо-Казахстанской области",
        "Солтүстік Қазақстан облысы",
        "North Kazakhstan region",
    ),
    ("Turkestan region", "Туркестанской области", "Түркістан облысында", "Turkestan region"),
    ("Ulytau region", "области Ұлытау", "Ұлытау облысының", "Ulytau region"),
    ("Astana", "города Астаны", "Астана қаласында", "Astana"),
    ("Almaty city", "города Алматы", "Алматы қаласының", "Almaty city"),
    ("Shymkent city", "городе Шымкенте", "Шымкент қаласында", "Shymkent city"),
]


def test_the_official_name_table_covers_every_region():
    assert sorted(region for region, *_ in OFFICIAL_NAMES) == sorted(REGIONS)
    assert len(REGIONS) == len(set(REGIONS)) == 20


@pytest.mark.parametrize(("region", "russian", "kazakh", "english"), OFFICIAL_NAMES)
def test_each_region_is_found_by_its_russian_kazakh_and_english_names(region, russian, kazakh, english):
    for name in (russian, kazakh, english):
        assert regions_in(f"Заседание прошло в {name} в среду.") == [region], name
        assert canonical_region(name) == region, name


@pytest.mark.parametrize("region", REGIONS)
def test_canonical_names_are_their_own_canonical_form(region):
    assert canonical_region(region) == region
    assert canonical_region(region.upper()) == region


# ---------------------------------------------------------------------------------------------
# Inflections, capitals, old names, districts
# ---------------------------------------------------------------------------------------------

FORMS = [
    # Russian inflections of the region adjective and of city names
    ("в Актюбинской области", "Aktobe region"),
    ("Актюбинского региона", "Aktobe region"),
    ("в Актобе", "Aktobe region"),
    ("в Шымкенте", "Shymkent city"),
    ("из Павлодара", "Pavlodar region"),
    ("в Караганде", "Karaganda region"),
    ("над Астаной", "Astana"),
    ("в Костанае", "Kostanay region"),
    # Kazakh case suffixes, also after an abbreviation with a hyphen
    ("Ақтөбе облысында", "Aktobe region"),
    ("Ақтөбе облысының", "Aktobe region"),
    ("Шымкенттің", "Shymkent city"),
    ("Алматыдағы", "Almaty city"),
    ("Астаналықтардың", "Astana"),
    ("Қызылордада", "Kyzylorda region"),
    ("Тараздың", "Zhambyl region"),
    ("ШҚО-да", "East Kazakhstan region"),
    # Old names and regional capitals
    ("в Нур-Султане", "Astana"),
    ("Елордада", "Astana"),
    ("Нұр-Сұлтан қаласы", "Astana"),
    ("Nur-Sultan", "Astana"),
    ("в Алма-Ате", "Almaty city"),
    ("в Семее", "Abai region"),
    ("Семипалатинский полигон", "Abai region"),
    ("в Уральске", "West Kazakhstan region"),
    ("Who chaired the meeting in Oral?", "West Kazakhstan region"),
    ("Бөкей ордасы ауданында", "West Kazakhstan region"),
    ("Оралда", "West Kazakhstan region"),
    ("в Петропавловске", "North Kazakhstan region"),
    ("Петропавлда", "North Kazakhstan region"),
    ("в Усть-Каменогорске", "East Kazakhstan region"),
    ("Өскеменде", "East Kazakhstan region"),
    ("в Талдыкоргане", "Zhetysu region"),
    ("в Конаеве", "Almaty region"),
    ("Қонаев қаласында", "Almaty region"),
    ("в Жезказгане", "Ulytau region"),
    ("Жезқазғанда", "Ulytau region"),
    ("в Таразе", "Zhambyl region"),
    ("в Туркестане", "Turkestan region"),
    ("в Актау", "Mangystau region"),
    ("Ақтауда", "Mangystau region"),
    ("в Кокшетау", "Akmola region"),
    ("Көкшетауда", "Akmola region"),
    ("Экибастузская ГРЭС", "Pavlodar region"),
    ("Южно-Казахстанской области", "Turkestan region"),
    # A side of the country standing for its region, without "область"/"облысы"
    ("в Северном Казахстане", "North Kazakhstan region"),
    ("Солтүстік Қазақстанда", "North Kazakhstan region"),
    ("Западного Казахстана", "West Kazakhstan region"),
    ("Шығыс Қазақстандағы", "East Kazakhstan region"),
    ("how many villages in Zhetysu will get satellite internet", "Zhetysu region"),
    # Towns with the status of a city, besides the regional centres
    ("в Аксае", "West Kazakhstan region"),
    ("Ақсайдағы платформа", "West Kazakhstan region"),
    ("in Satpayev", "Ulytau region"),
    ("в Сатпаеве", "Ulytau region"),
    ("в Балхаше", "Karaganda region"),
    ("в Курчатове", "Abai region"),
    ("Байқоңырда", "Kyzylorda region"),
    ("Шу қаласында", "Zhambyl region"),
    ("в Каратау", "Zhambyl region"),
    ("в Каратауском районе", "Shymkent city"),  # a district of Shymkent, not the town
    ("Рудный қаласында", "Kostanay region"),
    ("в Аксу", "Pavlodar region"),
    ("Үштөбеде", "Zhetysu region"),
    ("в Тайынше", "North Kazakhstan region"),
    ("в Атбасаре", "Akmola region"),
    # Districts
    ("в Бородулихинском районе", "Abai region"),
    ("Бородулиха ауданында", "Abai region"),
    ("Borodulikha district", "Abai region"),
    ("Нуринского района", "Karaganda region"),
    ("Мартукский район", "Aktobe region"),
    ("Сайрам ауданы", "Turkestan region"),
    ("Медеуский район", "Almaty city"),
]


@pytest.mark.parametrize(("text", "region"), FORMS)
def test_inflected_forms_capitals_old_names_and_districts(text, region):
    assert regions_in(f"Сегодня {text} состоялось заседание.") == [region]


def test_the_evidence_is_the_whole_mention_as_written():
    (mention,) = find_regions("Жиын Ақтөбе   облысында өтті.")
    assert mention.evidence == "Ақтөбе облысында"
    (mention,) = find_regions("Совещание в Бородулихинском районе.")
    assert mention.evidence == "Бородулихинском районе"


# ---------------------------------------------------------------------------------------------
# Cities versus regions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("Алматинская область", "Almaty region"),
        ("в Алматинской обл.", "Almaty region"),
        ("Алматы облысы", "Almaty region"),
        ("Almaty region", "Almaty region"),
        ("Алматы", "Almaty city"),
        ("г. Алматы", "Almaty city"),
        ("Алматы қаласы", "Almaty city"),
        ("Almaty city", "Almaty city"),
        ("Шымкент", "Shymkent city"),
        ("Туркестанская область", "Turkestan region"),
        ("Түркістан облысы", "Turkestan region"),
    ],
)
def test_almaty_city_and_region_shymkent_and_turkestan_are_told_apart(text, region):
    assert regions_in(text) == [region]


def test_a_text_naming_the_city_and_the_region_counts_each_once():
    found = {mention.region: mention.count for mention in find_regions("Алматы қаласы мен Алматы облысы бірлесіп")}
    assert found == {"Almaty city": 1, "Almaty region": 1}


def test_almaty_district_of_astana_is_not_the_city():
    assert regions_in("Алматинский район столицы") == ["Astana"]


# ---------------------------------------------------------------------------------------------
# Traps: words that contain or equal a place name
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "поддержка многодетных семей",  # семей: "of families", not Семей
        "МНОГОДЕТНЫХ СЕМЕЙ",
        "салмақты таразыға салу",  # таразы: Kazakh "scales", not Тараз
        "Жоспарға қарағанда өсім бар",  # қарағанда: "compared with", not Караганда
        "оны саяси тұрғыдан ақтауға",  # ақтау: "to acquit", not Ақтау
        "елге оралды. Оралған қандастар, оралмандар",  # орал-: "to return", not Орал
        "Баласағұнды астана етті",  # астана: "a capital", not Astana
        "в Уральском федеральном округе",  # Russia's Urals
        "Орал таулары",
        "Петропавловск-Камчатский",
        "Шығыс Түркістан",  # Xinjiang
        "Туркестанский фронт",
        "Нурсултан Назарбаев",  # the person, not the old name of Astana
        "Абай Құнанбайұлы",  # the poet, not the Abai region
        "Д. Қонаев атындағы университет",
        "проспект Конаева",
        "университет имени Сатпаева",  # K. Satpayev, the geologist
        "Сәтбаев атындағы университет",
        "шу көп болды",  # шу: Kazakh "noise", not the town of Шу
        "есік ашық",  # есік: "door", not Есик
        "рудный концентрат",
        "Жамбылский район",  # exists in two regions
        "Нұра ауданы",  # in the Karaganda region and in Astana
        "Oral health matters in east Kazakhstan and west Kazakhstan",
        "Oral traditions and oral history of the steppe",
        "бизнес как обычно (БКО)",  # not БҚО, the Kazakh abbreviation of West Kazakhstan
        "Алматытелеком, Астанаэнерго",  # longer words that start with a city name
    ],
)
def test_words_that_contain_or_resemble_a_place_name_are_not_regions(text):
    assert find_regions(text) == ()


def test_a_company_named_after_a_city_counts_as_the_city():
    assert regions_in("Astana International Financial Centre") == ["Astana"]


# ---------------------------------------------------------------------------------------------
# Counting and ordering
# ---------------------------------------------------------------------------------------------


def test_mentions_are_counted_and_ordered_by_count_then_first_offset():
    text = "Атырау и Актобе. Позже снова Актобе, а затем Атырау и Астана. В Актюбинской области."
    assert find_regions(text) == (
        RegionMention("Aktobe region", 3, text.index("Актобе"), "Актобе"),
        RegionMention("Atyrau region", 2, 0, "Атырау"),
        RegionMention("Astana", 1, text.index("Астана"), "Астана"),
    )


def test_an_empty_text_has_no_regions():
    assert find_regions("") == ()
    assert detect_region("") == ""


# ---------------------------------------------------------------------------------------------
# Detecting what a document is about
# ---------------------------------------------------------------------------------------------

DOCUMENTS = [
    (
        "ru",
        "Zhambyl region",
        (
            "В Таразе прошло расширенное заседание актива Жамбылской области. Аким области поставил задачи "
            "по цифровизации, а депутаты из Астаны рассказали о новых законах."
        ),
    ),
    (
        "kk",
        "Abai region",
        (
            "Абай облысының цифрлық трансформация стратегиясы жасалып жатыр. Семейде өткен кеңесте облыс "
            "әкімі жасанды интеллект бойынша жобаларды таныстырды."
        ),
    ),
    (
        "kk",
        "West Kazakhstan region",
        (
            "Орал қаласында Батыс Қазақстан облысының әкімі басқарма басшыларына Жолдауды орындау "
            "жөнінде тапсырма жүктеді."
        ),
    ),
    (
        "kk",
        "Mangystau region",
        ("Маңғыстау облысында Жолдау талқыланды. Ақтауда өткен жиынға Жаңаөзен мен Бейнеу ауданының өкілдері қатысты."),
    ),
    (
        "en",
        "Akmola region",
        (
            "Akmola region to attract billions in investment and launch a digital project. The governor "
            "presented the plan in Kokshetau."
        ),
    ),
    (
        "en",
        "Pavlodar region",
        (
            "Pavlodar unveils a hi-tech education and investment roadmap. Schools in Ekibastuz and Pavlodar "
            "will receive new equipment, the governor of the Pavlodar region said."
        ),
    ),
    (
        "ru",
        "East Kazakhstan region",
        (
            "В Усть-Каменогорске аким ВКО провёл совещание по Посланию. Особое внимание уделено Риддеру и "
            "Глубоковскому району."
        ),
    ),
    (
        "ru",
        "Almaty city",
        (
            "Аким Алматы обозначил приоритеты развития города в рамках Послания. В Алматы построят новые "
            "школы, а в Медеуском районе обновят дороги."
        ),
    ),
    (
        "ru",
        "Almaty region",
        (
            "В Алматинской области обсудили Послание. В Конаеве и Талгаре откроются IT-хабы, сообщил аким "
            "Алматинской области."
        ),
    ),
    (
        "ru",
        "Shymkent city",
        (
            "В Шымкенте прошло совещание по обсуждению Послания главы государства. Аким Шымкента поручил "
            "ускорить цифровизацию."
        ),
    ),
    (
        "ru",
        "Turkestan region",
        (
            "В Туркестанской области обсудили Послание. В Туркестане и Кентау откроют центры цифровых "
            "услуг, в Сарыагашском районе построят школу."
        ),
    ),
    (
        "ru",
        "Astana",
        (
            "В Нур-Султане, ныне Астане, прошло заседание городского маслихата. Астана станет пилотным "
            "городом для ИИ-сервисов."
        ),
    ),
    (
        "ru",
        "Ulytau region",
        "В Жезказгане обсудили Послание Президента. Аким области Ұлытау поручил подготовить план.",
    ),
    (
        "kk",
        "Karaganda region",
        "Нұра ауданында жиын өтті. Қарағанды облысының әкімдігі Нуринский район бойынша есеп берді.",
    ),
]


@pytest.mark.parametrize(
    ("lang", "region", "text"), DOCUMENTS, ids=[f"{lang}-{region}" for lang, region, _ in DOCUMENTS]
)
def test_detect_region_of_regional_news(lang, region, text):
    assert detect_region(text) == region


def test_the_written_documents_span_three_languages_and_ten_regions():
    assert {lang for lang, _, _ in DOCUMENTS} == {"ru", "kk", "en"}
    assert len({region for _, region, _ in DOCUMENTS}) >= 10


def test_a_national_text_listing_many_regions_has_no_region():
    text = (
        "Правительству совместно с акимами Актюбинской, Атырауской, Карагандинской, Костанайской "
        "областей, городов Астаны, Алматы и Шымкента поручено до конца года внедрить цифровые сервисы. "
        "Пилотные проекты начнутся в Павлодарской и Туркестанской областях."
    )
    assert len(find_regions(text)) == 9
    assert detect_region(text) == ""


def test_a_text_about_no_region_has_no_region():
    text = (
        "Глава государства озвучил Послание «Казахстан в эпоху искусственного интеллекта». "
        "Правительству поручено подготовить план мероприятий."
    )
    assert find_regions(text) == ()
    assert detect_region(text) == ""


def test_two_regions_mentioned_equally_give_no_region():
    assert detect_region("Делегация из Атырау посетила Актобе. Затем акимы Актобе и Атырау подписали меморандум.") == ""


def test_a_region_named_twice_as_often_as_the_runner_up_wins():
    text = "Вопросы развития обсуждались долго. " * 12 + "В Актобе и Актобе снова, и ещё раз Актобе; гости из Атырау."
    assert detect_region(text) == "Aktobe region"


def test_a_single_mention_deep_inside_a_text_is_not_enough():
    text = "Вопросы развития обсуждались долго. " * 30 + "Один из участников приехал из Актобе."
    assert detect_region(text) == ""


def test_a_long_national_text_naming_the_capital_twice_is_not_about_the_capital():
    sentences = ["Правительству поручено подготовить план мероприятий по реализации Послания."] * 150
    sentences[40] = sentences[90] = "Форум по цифровизации пройдёт в Астане."
    text = " ".join(sentences)
    assert len(text) > 10_000 and [(m.region, m.count) for m in find_regions(text)] == [("Astana", 2)]
    assert detect_region(text) == ""


def test_a_title_naming_one_region_decides():
    text = "Делегация из Астаны приехала. В Астане позже подвели итоги. Астана поддержит проект."
    assert detect_region(text) == "Astana"
    assert detect_region(text, title="В Атырау обсудили меры по реализации Послания") == "Atyrau region"


def test_a_title_naming_several_regions_weighs_more_than_the_text():
    text = "Совещание прошло в Павлодаре. Гости приехали из Экибастуза и Павлодара, а также из Костаная."
    assert detect_region(text) == "Pavlodar region"
    assert detect_region(text, title="Костанай и Актобе: итоги обмена опытом") == ""


def test_the_2019_state_of_the_nation_address_is_national():
    text = require_shared_file(ENGLISH_ADDRESS_2019).read_text(encoding="utf-8")
    assert len(find_regions(text)) >= 5  # it names several regions and cities in passing
    assert detect_region(text) == ""


def test_detect_region_on_a_100_kb_text_finds_the_region_it_repeats():
    """Its speed (it runs on every document of a build) is measured by bench/bad_input_bench.py."""
    paragraph = SAMPLE.read_text(encoding="utf-8")
    text = (paragraph * (100_000 // len(paragraph) + 1))[:100_000]
    assert detect_region(text) == detect_region(paragraph) == "Aktobe region"


# ---------------------------------------------------------------------------------------------
# Normalising metadata values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Актюбинская область", "Aktobe region"),
        ("Ақтөбе облысы", "Aktobe region"),
        ("aktobe", "Aktobe region"),
        ("Aktobe region", "Aktobe region"),
        ("  aktobe   REGION ", "Aktobe region"),
        ("Shymkent", "Shymkent city"),
        ("Shymkent city", "Shymkent city"),
        ("г. Шымкент", "Shymkent city"),
        ("Almaty", "Almaty city"),
        ("almaty region", "Almaty region"),
        ("Nur-Sultan", "Astana"),
        ("Astana city", "Astana"),
        ("West Kazakhstan region (Oral)", "West Kazakhstan region"),
        ("Abai region, Borodulikha district", "Abai region"),
        ("Karaganda region, Nura district", "Karaganda region"),
        ("Zhambyl region (regional paper; 1st deputy akim N. Kalenderov)", "Zhambyl region"),
        ("Zhezkazgan (Ulytau region) city paper", "Ulytau region"),
        ("Туркестанская обл.", "Turkestan region"),
        ("Оңтүстік Қазақстан облысы", "Turkestan region"),
        ("east kazakhstan", "East Kazakhstan region"),
        ("вко", "East Kazakhstan region"),
        ("семей", "Abai region"),
        ("Oral", "West Kazakhstan region"),
        # Names that in prose need a region word are accepted bare as metadata
        ("Абай", "Abai region"),
        ("Abai", "Abai region"),
        ("Жетісу", "Zhetysu region"),
        ("Zhambyl", "Zhambyl region"),
        ("national", NATIONAL),
        ("National", NATIONAL),
        ("Республика Казахстан", NATIONAL),
    ],
)
def test_canonical_region_normalises_messy_metadata(value, expected):
    assert canonical_region(value) == expected


@pytest.mark.parametrize(
    "value",
    ["", "   ", "rural okrug akim column (district paper)", "Mars", "Almaty city, Almaty region", "Астана и Алматы"],
)
def test_canonical_region_gives_none_for_no_region_or_two_regions(value):
    assert canonical_region(value) is None


def test_non_strings_are_refused_loudly():
    with pytest.raises(TypeError):
        canonical_region(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        find_regions(b"Astana")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        detect_region("Astana", title=None)  # type: ignore[arg-type]
