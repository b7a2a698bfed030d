"""Regions: canonical names of Kazakhstan's regions and cities, and which of them a text is about."""

from __future__ import annotations

import functools
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass

__all__ = [
    "NATIONAL",
    "REGIONS",
    "RegionMention",
    "canonical_region",
    "detect_region",
    "find_regions",
    "region_label",
]

logger = logging.getLogger(__name__)

# The 17 regions and the 3 cities of republican significance, spelled as the project's source list spells them.
REGIONS: tuple[str, ...] = (
    "Abai region",
    "Akmola region",
    "Aktobe region",
    "Almaty region",
    "Atyrau region",
    "East Kazakhstan region",
    "Zhambyl region",
    "Zhetysu region",
    "West Kazakhstan region",
    "Karaganda region",
    "Kostanay region",
    "Kyzylorda region",
    "Mangystau region",
    "Pavlodar region",
    "North Kazakhstan region",
    "Turkestan region",
    "Ulytau region",
    "Astana",
    "Almaty city",
    "Shymkent city",
)
NATIONAL = "national"  # a valid metadata value for country-level documents; detection never returns it

# The canonical regions as their people write them, by language (answers and the web chat show these).
REGION_LABELS = {
    "ru": {
        "Abai region": "Абайская область",
        "Akmola region": "Акмолинская область",
        "Aktobe region": "Актюбинская область",
        "Almaty region": "Алматинская область",
        "Atyrau region": "Атырауская область",
        "East Kazakhstan region": "Восточно-Казахстанская область",
        "Zhambyl region": "Жамбылская область",
        "Zhetysu region": "Жетысуская область",
        "West Kazakhstan region": "Западно-Казахстанская область",
        "Karaganda region": "Карагандинская область",
        "Kostanay region": "Костанайская область",
        "Kyzylorda region": "Кызылординская область",
        "Mangystau region": "Мангистауская область",
        "Pavlodar region": "Павлодарская область",
        "North Kazakhstan region": "Северо-Казахстанская область",
        "Turkestan region": "Туркестанская область",
        "Ulytau region": "Улытауская область",
        "Astana": "г. Астана",
        "Almaty city": "г. Алматы",
        "Shymkent city": "г. Шымкент",
    },
    "kk": {
        "Abai region": "Абай облысы",
        "Akmola region": "Ақмола облысы",
        "Aktobe region": "Ақтөбе облысы",
        "Almaty region": "Алматы облысы",
        "Atyrau region": "Атырау облысы",
        "East Kazakhstan region": "Шығыс Қазақстан облысы",
        "Zhambyl region": "Жамбыл облысы",
        "Zhetysu region": "Жетісу облысы",
        "West Kazakhstan region": "Батыс Қазақстан облысы",
        "Karaganda region": "Қарағанды облысы",
        "Kostanay region": "Қостанай облысы",
        "Kyzylorda region": "Қызылорда облысы",
        "Mangystau region": "Маңғыстау облысы",
        "Pavlodar region": "Павлодар облысы",
        "North Kazakhstan region": "Солтүстік Қазақстан облысы",
        "Turkestan region": "Түркістан облысы",
        "Ulytau region": "Ұлытау облысы",
        "Astana": "Астана қаласы",
        "Almaty city": "Алматы қаласы",
        "Shymkent city": "Шымкент қаласы",
    },
    "en": {},  # the canonical names are English
}


def region_label(region: str, lang: str) -> str:
    """How ``region`` (canonical) is written in ``lang`` (``ru``, ``kk``, ``en``); other values as they are."""
    return REGION_LABELS.get(lang, {}).get(region, region)

TITLE_WEIGHT = 3  # a title mention counts as this many mentions in the text
OPENING_CHARS = 400  # a news lead names its place here: the only region named in it earns one extra mention
CHARS_PER_MENTION = 5000  # a long text must name its region at least once per this many characters


@dataclass(frozen=True)
class RegionMention:
    """One region found in a text.

    Attributes:
        region: canonical name, one of :data:`REGIONS`.
        count: how many times the text names it (any form: region, capital, town, district).
        first: character offset of the first mention in the text.
        evidence: the first mention as written (whitespace collapsed), e.g. ``"Актюбинской области"``.
    """

    region: str
    count: int
    first: int
    evidence: str


# --------------------------------------------------------------------------------------------
# The names: data, easy to extend
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    """How texts name one region. Write names as they are spelled; matching folds case and letters.

    Attributes:
        places: the region's own name where it stands alone, its capital, old names and towns, in
            Russian, Kazakh or English. Cyrillic names take Russian case endings (guessed from the
            last letter: ``Астана/Астаны``, ``Шымкент/Шымкента``, ``Костанай/Костаная``) and Kazakh
            suffixes (``Шымкентте``, ``Алматыдағы``, ``Астаналықтар``); a following region or city
            word (``облысы``, ``қаласы``, ``region``, ``city``) is part of the mention.
        titled_places: places whose name is also a common word, matched only when written exactly so
            (capitalised, with Russian letters where the name has them): ``Семей`` ("of families"),
            ``Орал`` (also the Urals), ``Караганда`` (Kazakh ``қарағанда`` "compared with"),
            ``Ақтау`` (Kazakh ``ақтау`` "to acquit"), ``Қандыағаш`` ("alder"), ``Астана`` (Kazakh
            ``астана`` "a capital"). List the upper-case spelling too where a heading may use it
            (not ``СЕМЕЙ``: "МНОГОДЕТНЫХ СЕМЕЙ").
        region_names: names that point to the region only next to a region word: ``Абай облысы``,
            ``области Абай``, ``Abai region`` (bare "Абай" is the poet; bare "Алматы" the city).
        adjectives: Russian adjective stems (before ``-ая/-ой/-ого...``) that point to the region,
            with or without ``область``: ``актюбинск`` (``Актюбинской области``, ``актюбинские``).
        region_adjectives: adjective stems that point to the region only before ``область``/``регион``
            (``Алматинская область``; ``Жамбылский район`` exists in two other regions).
        abbreviations: upper-case abbreviations (``ВКО``, ``ШҚО``), also with a Kazakh suffix (``ШҚО-да``).
        titled_phrases: English names matched only when capitalised (``East Kazakhstan``, not "east").
    """

    region: str
    places: tuple[str, ...] = ()
    titled_places: tuple[str, ...] = ()
    region_names: tuple[str, ...] = ()
    adjectives: tuple[str, ...] = ()
    region_adjectives: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    titled_phrases: tuple[str, ...] = ()


_NAMES: tuple[_Names, ...] = (
    _Names(
        "Abai region",
        places=(
            "Семипалатинск", "Semey", "Semei", "Semipalatinsk", "Аягоз", "Аягөз", "Ayagoz", "Курчатов", "Kurchatov",
        ),
        titled_places=("Семей",),
        region_names=("Абай", "Abai", "Abay"),
        adjectives=("семипалатинск",),
        region_adjectives=("абайск",),
    ),
    _Names(
        "Akmola region",
        places=(
            "Кокшетау", "Көкшетау", "Kokshetau", "Kökshetau", "Степногорск", "Stepnogorsk", "Щучинск",
            "Shchuchinsk", "Бурабай", "Burabay", "Akmola", "Aqmola", "Атбасар", "Atbasar", "Акколь", "Ақкөл", "Akkol",
            "Ерейментау", "Ereymentau", "Yereymentau", "Макинск", "Makinsk", "Державинск", "Derzhavinsk", "Степняк",
            "Stepnyak", "Kosshy",
        ),
        titled_places=("Косшы", "Қосшы"),  # Kazakh "қосшы" is "helper"
        region_names=("Акмола", "Ақмола"),
        adjectives=("акмолинск", "кокшетауск", "степногорск"),
    ),
    _Names(
        "Aktobe region",
        places=(
            "Актобе", "Ақтөбе", "Актюбинск", "Aktobe", "Aqtobe", "Aktyubinsk", "Хромтау", "Khromtau", "Kandyagash",
            "Эмба", "Ембі", "Emba", "Шалкар", "Шалқар", "Shalkar",
        ),
        titled_places=("Кандыагаш", "Қандыағаш", "КАНДЫАГАШ", "ҚАНДЫАҒАШ"),
        adjectives=("актюбинск",),
    ),
    _Names(
        "Almaty region",
        places=(
            "Конаев", "Қонаев", "Konaev", "Qonaev", "Капшагай", "Қапшағай", "Kapshagay", "Kapchagay", "Талгар",
            "Талғар", "Talgar", "Каскелен", "Қаскелең", "Kaskelen", "Esik", "Issyk",
        ),
        # Kazakh "есік" is "door".
        titled_places=("Есик", "Есік"),
        region_names=("Алматы", "Almaty"),
        adjectives=("капшагайск",),
        region_adjectives=("алматинск",),
    ),
    _Names(
        "Atyrau region",
        places=("Атырау", "Atyrau", "Кульсары", "Құлсары", "Kulsary"),
        adjectives=("атырауск",),
    ),
    _Names(
        "East Kazakhstan region",
        places=(
            "Усть-Каменогорск", "Өскемен", "Ust-Kamenogorsk", "Oskemen", "Öskemen", "Риддер", "Ridder", "Зайсан",
            "Зайсаң", "Zaysan", "Zaisan", "Серебрянск", "Serebryansk", "Шемонаиха", "Shemonaikha",
        ),
        region_names=("Шығыс Қазақстан",),
        adjectives=("восточно-казахстанск", "усть-каменогорск"),
        abbreviations=("ВКО", "ШҚО"),
        titled_phrases=("East Kazakhstan",),
    ),
    _Names(
        "Zhambyl region",
        places=("Тараз", "Taraz", "Жанатас", "Zhanatas", "Каратау", "Қаратау", "Karatau", "Shu"),
        titled_places=("Шу",),  # Kazakh "шу" is "noise"
        region_names=("Жамбыл", "Zhambyl", "Jambyl"),
        adjectives=("таразск",),
        region_adjectives=("жамбылск",),
    ),
    _Names(
        "Zhetysu region",
        places=(
            "Талдыкорган", "Талдықорған", "Taldykorgan", "Taldyqorgan", "Текели", "Tekeli", "Жаркент",
            "Zharkent", "Ушарал", "Үшарал", "Usharal", "Уштобе", "Үштөбе", "Ushtobe", "Сарканд", "Сарқан", "Sarkand",
        ),
        region_names=("Жетысу", "Жетісу", "Zhetysu", "Zhetisu", "Jetisu"),
        adjectives=("талдыкорганск",),
        region_adjectives=("жетысуск",),
        # Bare Cyrillic "Жетісу" is also the land of seven rivers and a district of Almaty; an English
        # "in Zhetysu" is the region.
        titled_phrases=("Zhetysu", "Zhetisu", "Jetisu"),
    ),
    _Names(
        "West Kazakhstan region",
        places=("Уральск", "Uralsk", "Аксай", "Ақсай", "Aksai", "Aksay"),
        # English "Oral" only capitalised and not before the nouns it qualifies ("Oral health").
        titled_places=("Орал", "ОРАЛ", "Oral"),
        region_names=("Батыс Қазақстан",),
        adjectives=("западно-казахстанск",),
        abbreviations=("ЗКО", "БҚО"),
        titled_phrases=("West Kazakhstan",),
    ),
    _Names(
        "Karaganda region",
        places=(
            "Қарағанды", "Karaganda", "Karagandy", "Qaragandy", "Темиртау", "Теміртау", "Temirtau", "Шахтинск",
            "Shakhtinsk", "Балхаш", "Балқаш", "Balkhash", "Balqash", "Приозёрск", "Priozersk", "Сарань", "Saran",
            "Каркаралинск", "Karkaralinsk",
        ),
        titled_places=("Караганда", "КАРАГАНДА"),
        adjectives=("карагандинск", "темиртауск"),
    ),
    _Names(
        "Kostanay region",
        places=(
            "Костанай", "Қостанай", "Кустанай", "Kostanay", "Kostanai", "Qostanay", "Лисаковск", "Lisakovsk",
            "Аркалык", "Арқалық", "Arkalyk", "Житикара", "Zhitikara", "Rudny", "Rudnyy",
        ),
        titled_places=("Рудный",),  # "рудный" is "of ore"
        adjectives=("костанайск", "кустанайск", "лисаковск"),
    ),
    _Names(
        "Kyzylorda region",
        places=(
            "Кызылорда", "Қызылорда", "Kyzylorda", "Qyzylorda", "Аральск", "Aralsk", "Казалинск", "Kazalinsk",
            "Байконур", "Байқоңыр", "Baikonur", "Baikonyr",
        ),
        adjectives=("кызылординск",),
    ),
    _Names(
        "Mangystau region",
        places=(
            "Мангистау", "Мангыстау", "Маңғыстау", "Mangystau", "Mangistau", "Aktau", "Aqtau", "Жанаозен",
            "Жаңаөзен", "Zhanaozen", "Форт-Шевченко", "Fort-Shevchenko",
        ),
        titled_places=("Актау", "Ақтау", "АКТАУ", "АҚТАУ"),
        adjectives=("мангистауск", "мангыстауск", "актауск", "жанаозенск"),
    ),
    _Names(
        "Pavlodar region",
        places=("Павлодар", "Pavlodar", "Экибастуз", "Екібастұз", "Ekibastuz", "Аксу", "Ақсу", "Aksu"),
        adjectives=("павлодарск", "экибастузск"),
    ),
    _Names(
        "North Kazakhstan region",
        places=(
            "Петропавловск", "Петропавл", "Petropavl", "Petropavlovsk", "Булаево", "Bulaevo", "Мамлютка", "Mamlyutka",
            "Сергеевка", "Sergeevka", "Тайынша", "Taiynsha", "Tayynsha",
        ),
        region_names=("Солтүстік Қазақстан",),
        adjectives=("северо-казахстанск",),
        abbreviations=("СКО", "СҚО"),
        titled_phrases=("North Kazakhstan",),
    ),
    _Names(
        "Turkestan region",
        places=(
            "Туркестан", "Түркістан", "Turkestan", "Turkistan", "Кентау", "Kentau", "Сарыагаш", "Сарыағаш",
            "Saryagash", "Жетысай", "Жетісай", "Zhetysai", "Ленгер", "Lenger", "Арыс", "Arys", "Шардара", "Shardara",
        ),
        # South Kazakhstan: the region's name until 2018.
        region_names=("Оңтүстік Қазақстан",),
        adjectives=("туркестанск", "южно-казахстанск"),
        abbreviations=("ЮКО", "ОҚО"),
        titled_phrases=("South Kazakhstan",),
    ),
    _Names(
        "Ulytau region",
        places=(
            "Улытау", "Ұлытау", "Ulytau", "Жезказган", "Жезқазған", "Zhezkazgan", "Jezkazgan", "Каражал",
            "Қаражал", "Karazhal", "Сатпаев", "Сәтбаев", "Satpayev", "Satbayev",
        ),
        adjectives=("улытауск", "жезказганск"),
    ),
    _Names(
        "Astana",
        # "Елорда" is Kazakh for "the capital", which official texts use for Astana alone.
        places=("Нур-Султан", "Нұр-Сұлтан", "Astana", "Nur-Sultan", "Елорда"),
        titled_places=("Астана", "АСТАНА"),
        adjectives=("астанинск",),
    ),
    _Names(
        "Almaty city",
        places=("Алматы", "Алма-Ата", "Almaty", "Alma-Ata"),
    ),
    _Names(
        "Shymkent city",
        places=("Шымкент", "Чимкент", "Shymkent", "Chimkent"),
        adjectives=("шымкентск",),
    ),
)  # fmt: skip

# Districts (Russian "X-ский район", Kazakh "X ауданы", English "X district"); "" where a form is not listed.
# Only districts whose name is unique in the country: Абайский, Актогайский, Есильский, Жамбылский
# (two regions each), Нура (Karaganda region and Astana) and Таласский, Сырдарьинский, Панфиловский
# (also in Kyrgyzstan or Uzbekistan) are left out on purpose.
_DISTRICTS: tuple[tuple[str, str, str, str], ...] = (
    ("Abai region", "Бородулихинский", "Бородулиха", "Borodulikha"),
    ("Abai region", "Бескарагайский", "Бесқарағай", "Beskaragay"),
    ("Abai region", "Аягозский", "Аягөз", "Ayagoz"),
    ("Abai region", "Жарминский", "Жарма", "Zharma"),
    ("Abai region", "Урджарский", "Үржар", "Urzhar"),
    ("Abai region", "Кокпектинский", "Көкпекті", "Kokpekty"),
    ("Abai region", "Маканчинский", "Мақаншы", "Makanshy"),
    ("Akmola region", "Аккольский", "Ақкөл", "Akkol"),
    ("Akmola region", "Аршалынский", "Аршалы", "Arshaly"),
    ("Akmola region", "Атбасарский", "Атбасар", "Atbasar"),
    ("Akmola region", "Буландынский", "Бұланды", "Bulandy"),
    ("Akmola region", "Бурабайский", "Бурабай", "Burabay"),
    ("Akmola region", "Егиндыкольский", "Егіндікөл", "Egindykol"),
    ("Akmola region", "Ерейментауский", "Ерейментау", "Ereymentau"),
    ("Akmola region", "Жаксынский", "Жақсы", "Zhaksy"),
    ("Akmola region", "Жаркаинский", "Жарқайың", "Zharkain"),
    ("Akmola region", "Зерендинский", "Зеренді", "Zerendi"),
    ("Akmola region", "Коргалжынский", "Қорғалжын", "Korgalzhyn"),
    ("Akmola region", "Сандыктауский", "Сандықтау", "Sandyktau"),
    ("Akmola region", "Целиноградский", "Целиноград", "Tselinograd"),
    ("Akmola region", "Шортандинский", "Шортанды", "Shortandy"),
    ("Aktobe region", "Алгинский", "Алға", "Alga"),
    ("Aktobe region", "Айтекебийский", "Әйтеке би", "Aiteke Bi"),
    ("Aktobe region", "Байганинский", "Байғанин", "Baiganin"),
    ("Aktobe region", "Иргизский", "Ырғыз", "Irgiz"),
    ("Aktobe region", "Каргалинский", "Қарғалы", "Kargaly"),
    ("Aktobe region", "Мартукский", "Мәртөк", "Martuk"),
    ("Aktobe region", "Мугалжарский", "Мұғалжар", "Mugalzhar"),
    ("Aktobe region", "Темирский", "Темір", "Temir"),
    ("Aktobe region", "Уилский", "Ойыл", "Uil"),
    ("Aktobe region", "Хромтауский", "Хромтау", "Khromtau"),
    ("Aktobe region", "Хобдинский", "Қобда", "Khobda"),
    ("Aktobe region", "Шалкарский", "Шалқар", "Shalkar"),
    ("Almaty region", "Балхашский", "Балқаш", "Balkhash"),
    ("Almaty region", "Енбекшиказахский", "Еңбекшіқазақ", "Enbekshikazakh"),
    ("Almaty region", "Илийский", "Іле", "Ili"),
    ("Almaty region", "Карасайский", "Қарасай", "Karasay"),
    ("Almaty region", "Кегенский", "Кеген", "Kegen"),
    ("Almaty region", "Райымбекский", "Райымбек", "Raiymbek"),
    ("Almaty region", "Талгарский", "Талғар", "Talgar"),
    ("Almaty region", "Уйгурский", "Ұйғыр", "Uygur"),
    ("Atyrau region", "Жылыойский", "Жылыой", "Zhylyoi"),
    ("Atyrau region", "Индерский", "Индер", "Inder"),
    ("Atyrau region", "Исатайский", "Исатай", "Isatay"),
    ("Atyrau region", "Кзылкогинский", "Қызылқоға", "Kyzylkoga"),
    ("Atyrau region", "Курмангазинский", "Құрманғазы", "Kurmangazy"),
    ("Atyrau region", "Макатский", "Мақат", "Makat"),
    ("Atyrau region", "Махамбетский", "Махамбет", "Makhambet"),
    ("East Kazakhstan region", "Глубоковский", "Глубокое", "Glubokoye"),
    ("East Kazakhstan region", "Зайсанский", "Зайсан", "Zaysan"),
    ("East Kazakhstan region", "Катон-Карагайский", "Катонқарағай", "Katon-Karagay"),
    ("East Kazakhstan region", "Курчумский", "Күршім", "Kurchum"),
    ("East Kazakhstan region", "Уланский", "Ұлан", "Ulan"),
    ("East Kazakhstan region", "Шемонаихинский", "Шемонаиха", "Shemonaikha"),
    ("Zhambyl region", "Байзакский", "Байзақ", "Baizak"),
    ("Zhambyl region", "Жуалынский", "Жуалы", "Zhualy"),
    ("Zhambyl region", "Кордайский", "Қордай", "Korday"),
    ("Zhambyl region", "Меркенский", "Меркі", "Merke"),
    ("Zhambyl region", "Мойынкумский", "Мойынқұм", "Moiynkum"),
    ("Zhambyl region", "Сарысуский", "Сарысу", "Sarysu"),
    ("Zhambyl region", "Шуский", "Шу", "Shu"),
    ("Zhetysu region", "Аксуский", "Ақсу", "Aksu"),
    ("Zhetysu region", "Алакольский", "Алакөл", "Alakol"),
    ("Zhetysu region", "Ескельдинский", "Ескелді", "Eskeldi"),
    ("Zhetysu region", "Каратальский", "Қаратал", "Karatal"),
    ("Zhetysu region", "Кербулакский", "Кербұлақ", "Kerbulak"),
    ("Zhetysu region", "Коксуский", "Көксу", "Koksu"),
    ("Zhetysu region", "Саркандский", "Сарқан", "Sarkand"),
    ("West Kazakhstan region", "Акжаикский", "Ақжайық", "Akzhaiyk"),
    ("West Kazakhstan region", "Бокейординский", "Бөкей ордасы", "Bokey Orda"),
    ("West Kazakhstan region", "Бурлинский", "Бөрлі", "Burli"),
    ("West Kazakhstan region", "Жангалинский", "Жаңақала", "Zhangala"),
    ("West Kazakhstan region", "Жанибекский", "Жәнібек", "Zhanibek"),
    ("West Kazakhstan region", "Казталовский", "Казталов", "Kaztalov"),
    ("West Kazakhstan region", "Каратобинский", "Қаратөбе", "Karatobe"),
    ("West Kazakhstan region", "Сырымский", "Сырым", "Syrym"),
    ("West Kazakhstan region", "Таскалинский", "Тасқала", "Taskala"),
    ("West Kazakhstan region", "Теректинский", "Теректі", "Terekti"),
    ("West Kazakhstan region", "Чингирлауский", "Шыңғырлау", "Shyngyrlau"),
    ("West Kazakhstan region", "Байтерекский", "Бәйтерек", "Baiterek"),
    ("Karaganda region", "Бухар-Жырауский", "Бұқар жырау", "Bukhar-Zhyrau"),
    ("Karaganda region", "Каркаралинский", "Қарқаралы", "Karkaraly"),
    ("Karaganda region", "Нуринский", "", ""),
    ("Karaganda region", "Осакаровский", "Осакаров", "Osakarovka"),
    ("Karaganda region", "Шетский", "Шет", "Shet"),
    ("Kostanay region", "Алтынсаринский", "Алтынсарин", "Altynsarin"),
    ("Kostanay region", "Амангельдинский", "Амангелді", "Amangeldy"),
    ("Kostanay region", "Аулиекольский", "Әулиекөл", "Auliekol"),
    ("Kostanay region", "Денисовский", "Денисов", "Denisov"),
    ("Kostanay region", "Джангельдинский", "Жангелді", "Zhangeldy"),
    ("Kostanay region", "Житикаринский", "Жітіқара", "Zhitikara"),
    ("Kostanay region", "Камыстинский", "Қамысты", "Kamysty"),
    ("Kostanay region", "Карабалыкский", "Қарабалық", "Karabalyk"),
    ("Kostanay region", "Мендыкаринский", "Меңдіқара", "Mendykara"),
    ("Kostanay region", "Наурзумский", "Наурызым", "Nauryzum"),
    ("Kostanay region", "Сарыкольский", "Сарыкөл", "Sarykol"),
    ("Kostanay region", "Узункольский", "Ұзынкөл", "Uzunkol"),
    ("Kyzylorda region", "Аральский", "Арал", "Aral"),
    ("Kyzylorda region", "Жалагашский", "Жалағаш", "Zhalagash"),
    ("Kyzylorda region", "Жанакорганский", "Жаңақорған", "Zhanakorgan"),
    ("Kyzylorda region", "Казалинский", "Қазалы", "Kazaly"),
    ("Kyzylorda region", "Кармакшинский", "Қармақшы", "Karmakshy"),
    ("Kyzylorda region", "Шиелийский", "Шиелі", "Shieli"),
    ("Mangystau region", "Бейнеуский", "Бейнеу", "Beineu"),
    ("Mangystau region", "Каракиянский", "Қарақия", "Karakiya"),
    ("Mangystau region", "Мангистауский", "Маңғыстау", "Mangystau"),
    ("Mangystau region", "Мунайлинский", "Мұнайлы", "Munaily"),
    ("Mangystau region", "Тупкараганский", "Түпқараған", "Tupkaragan"),
    ("Pavlodar region", "Баянаульский", "Баянауыл", "Bayanaul"),
    ("Pavlodar region", "Железинский", "Железин", "Zhelezin"),
    ("Pavlodar region", "Теренкольский", "Тереңкөл", "Terenkol"),
    ("Pavlodar region", "Аккулинский", "Аққулы", "Akkuly"),
    ("Pavlodar region", "Павлодарский", "Павлодар", "Pavlodar"),
    ("Pavlodar region", "Щербактинский", "Шарбақты", "Sharbakty"),
    ("North Kazakhstan region", "Айыртауский", "Айыртау", "Aiyrtau"),
    ("North Kazakhstan region", "Акжарский", "Ақжар", "Akzhar"),
    ("North Kazakhstan region", "Аккайынский", "Аққайың", "Akkayin"),
    ("North Kazakhstan region", "Кызылжарский", "Қызылжар", "Kyzylzhar"),
    ("North Kazakhstan region", "Мамлютский", "Мамлют", "Mamlyut"),
    ("North Kazakhstan region", "Тайыншинский", "Тайынша", "Tayynsha"),
    ("North Kazakhstan region", "Уалихановский", "Уәлиханов", "Ualikhanov"),
    ("Turkestan region", "Байдибекский", "Бәйдібек", "Baidibek"),
    ("Turkestan region", "Жетысайский", "Жетісай", "Zhetysai"),
    ("Turkestan region", "Казыгуртский", "Қазығұрт", "Kazygurt"),
    ("Turkestan region", "Келесский", "Келес", "Keles"),
    ("Turkestan region", "Мактааральский", "Мақтаарал", "Maktaaral"),
    ("Turkestan region", "Ордабасинский", "Ордабасы", "Ordabasy"),
    ("Turkestan region", "Отырарский", "Отырар", "Otyrar"),
    ("Turkestan region", "Сайрамский", "Сайрам", "Sairam"),
    ("Turkestan region", "Сарыагашский", "Сарыағаш", "Saryagash"),
    ("Turkestan region", "Сауранский", "Сауран", "Sauran"),
    ("Turkestan region", "Сузакский", "Созақ", "Suzak"),
    ("Turkestan region", "Толебийский", "Төле би", "Tole Bi"),
    ("Turkestan region", "Тюлькубасский", "Түлкібас", "Tulkibas"),
    ("Turkestan region", "Шардаринский", "Шардара", "Shardara"),
    ("Ulytau region", "Жанааркинский", "Жаңаарқа", "Zhanaarka"),
    ("Ulytau region", "Улытауский", "Ұлытау", "Ulytau"),
    # A district of Astana, not of Almaty (English "Almaty district" would be ambiguous).
    ("Astana", "Алматинский", "Алматы", ""),
    ("Astana", "Сарыаркинский", "Сарыарқа", "Saryarka"),
    ("Almaty city", "Алмалинский", "Алмалы", "Almaly"),
    ("Almaty city", "Бостандыкский", "Бостандық", "Bostandyk"),
    ("Almaty city", "Медеуский", "Медеу", "Medeu"),
    ("Almaty city", "Наурызбайский", "Наурызбай", "Nauryzbay"),
    ("Almaty city", "Турксибский", "Түрксіб", "Turksib"),
    ("Shymkent city", "Аль-Фарабийский", "Әл-Фараби", "Al-Farabi"),
    ("Shymkent city", "Каратауский", "Қаратау", "Karatau"),
)

# Regular expressions (written in folded form: lower case, Kazakh letters as their Russian look-alikes).
_KAZAKH_SUFFIX = (
    "дагы|деги|тагы|теги|да|де|та|те|нын|нин|дын|дин|тын|тин|га|ге|ка|ке|ны|ни|ды|ди|ты|ти"
    "|нан|нен|дан|ден|тан|тен|мен|бен|пен|лык|лик|дык|дик|тык|тик|лар|лер|дар|дер|тар|тер|ша|ше"
)
_KAZAKH_SUFFIXES = rf"(?:['-]?(?:{_KAZAKH_SUFFIX})){{0,3}}"  # Шымкентте, Алматыдағы, Астаналықтардың
_ADJECTIVE_ENDING = "(?:ая|ой|ую|ою|ое|ого|ому|ом|ие|их|им|ими|ий)"
_RUSSIAN_AREA = r"(?:област\w*|обл\.|регион\w*)"
_AREA = rf"(?:{_RUSSIAN_AREA}|облыс\w*|онир\w*|region|oblast|oblys\w*|province)"
_CITY = r"(?:кала\w*|city)"
_DISTRICT = r"(?:район\w*|р-н\w*|аудан\w*|district)"

# Words that, next to a name, show it means something else. Keys are folded names or adjective
# stems; lookbehind words end with "." or "-" when no space follows them.
_NOT_FOLLOWED_BY: dict[str, tuple[str, ...]] = {
    # The Urals (Орал таулары), the Ural Cossacks, the Ural river, not the city.
    "орал": ("тау", "казак", "озен", "жота", "сырт"),
    # The English adjective, capitalised at the start of a sentence or in a title.
    "oral": (
        "health", "hygiene", "exam", "test", "histor", "tradition", "argument", "surgery", "cavity",
        "care", "form", "present", "communicat", "medic", "contracep", "language", "literature", "cancer",
        "disease", "skill", "defen", "hearing", "statement", "evidence", "agreement", "contract", "question",
        "answer", "report", "submission", "sex", "route", "dose", "drug", "vaccin", "microb", "bacteri",
    ),
    # Петропавловск-Камчатский is in Russia.
    "петропавловск": ("камчат",),
    # Historical Turkestan: the Turkestan Front, Turkestan ASSR, the Turksib railway, the Turkestan Legion.
    **dict.fromkeys(
        ("туркестан", "туркистан", "туркестанск", "turkestan"),
        ("сибир", "майдан", "автоном", "фронт", "асср", "генерал", "легион", "край", "front", "autonom", "legion"),
    ),
    # The university, streets and avenues named after K. I. Satpayev, not the town.
    **dict.fromkeys(
        ("сатпаев", "сатбаев", "satpayev", "satbayev"),
        ("атындагы", "кошеси", "дангылы", "университет", "институт", "university", "institute", "street", "avenue"),
    ),
    # Streets, universities and avenues named after D. A. Konaev.
    **dict.fromkeys(
        ("конаев", "konaev", "qonaev"),
        ("атындагы", "кошеси", "дангылы", "проспект", "улиц", "университет", "street", "avenue", "university"),
    ),
}
_NOT_PRECEDED_BY: dict[str, tuple[str, ...]] = {
    "орал": ("онтустик", "солтустик", "орта"),
    # East Turkestan (Xinjiang).
    "туркистан": ("шыгыс",),
    "туркестан": ("восточный", "восточного", "восточном", "восточному", "восточным"),
    "туркестанск": ("восточно-",),
    "turkestan": ("east", "eastern"),
    # K. I. Satpayev, the geologist, and the university and streets named after him.
    **dict.fromkeys(
        ("сатпаев", "сатбаев", "satpayev", "satbayev"),
        ("к.", "к.и.", "и.", "k.", "имени", "им.", "каныш", "kanysh", "улица", "ул.", "проспект", "пр."),
    ),
    # D. A. Konaev, the statesman, and streets named after him.
    **dict.fromkeys(
        ("конаев", "konaev", "qonaev"),
        ("д.", "а.", "d.", "a.", "динмухамед", "dinmukhamed", "проспект", "улица", "ул.", "пр."),
    ),
}

# Forms the notation above cannot express.
_SPECIAL_FORMS: tuple[tuple[str, str], ...] = (
    # "oral" in lower case is the English word ("oral health"), but not before "city".
    ("West Kazakhstan region", rf"oral\s+{_CITY}"),
    ("West Kazakhstan region", r"city\s+of\s+oral"),
    # The regions named by their side of the country without "область"/"облысы", as people write
    # them: "в Северном Казахстане", "Солтүстік Қазақстанда" (folded: Kazakh letters as Russian).
    *(
        (region, pattern)
        for region, russian, kazakh in (
            ("North Kazakhstan region", "северн", "солтустик"),
            ("East Kazakhstan region", "восточн", "шыгыс"),
            ("West Kazakhstan region", "западн", "батыс"),
        )  # not the south: "Южный Казахстан" spans Turkestan region, Shymkent and more since 2018
        for pattern in (
            rf"{russian}(?:ый|ого|ому|ом|ым)\s+казахстан(?:а|у|е|ом)?\b",
            rf"{kazakh}\s+казакстан{_KAZAKH_SUFFIXES}\b",
        )
    ),
)

_FOLD_LETTERS = str.maketrans(
    {
        "ә": "а", "ғ": "г", "қ": "к", "ң": "н", "ө": "о", "ұ": "у", "ү": "у", "һ": "х", "і": "и", "ё": "е",
        "’": "'", "ʼ": "'", "‘": "'", "`": "'", "´": "'",
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-",
    }
)  # fmt: skip


def _fold(text: str) -> str:
    """Lower case, Kazakh letters as Russian look-alikes, ё as е, one apostrophe and one hyphen; same length."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a few letters (Turkish İ) lower-case to two characters
        lowered = "".join(char.lower()[0] for char in text)
    return lowered.translate(_FOLD_LETTERS)


# --------------------------------------------------------------------------------------------
# Building the matcher
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Form:
    """One surface form: a regular expression (folded, starting with a letter) and its region.

    ``written_as``: when not empty, the mention counts only if the original text starts with one of
    these exactly (case and Kazakh letters included): ``"Семе"`` for Семей, ``"ВКО"``.
    """

    region: str
    pattern: str
    written_as: tuple[str, ...] = ()


def _literal(name: str) -> str:
    """A folded name as a regular expression: spaces match any whitespace, hyphens a hyphen or a space."""
    parts = re.split(r"(\s+|-)", _fold(name).strip())
    return "".join(r"\s+" if part.isspace() else r"[-\s]" if part == "-" else re.escape(part) for part in parts if part)


def _is_latin(name: str) -> bool:
    return all(not char.isalpha() or char < "\u0400" for char in name)


def _guarded(stem: str, key: str) -> str:
    """``stem`` as a regular expression, not preceded by the words listed for ``key``."""
    literal = _literal(stem)
    guards = []
    for word in _NOT_PRECEDED_BY.get(key, ()):
        if not re.fullmatch(r"\w+", _fold(stem)):
            raise ValueError(f"a guarded name must be one word: {stem!r}")
        separator = "" if word.endswith((".", "-")) else r"\s"
        guards.append(f"(?<!{re.escape(word)}{separator}{literal})")
    return literal + "".join(guards)


def _not_followed(key: str) -> str:
    words = _NOT_FOLLOWED_BY.get(key, ())
    return rf"(?![-\s]+(?:{'|'.join(map(re.escape, words))}))" if words else ""


def _place(name: str) -> str:
    """A place name with its Russian case endings and Kazakh suffixes, and a following region or city word."""
    folded = _fold(name).strip()
    trailing = rf"{_not_followed(folded)}(?:\s+(?:{_AREA}|{_CITY}))?"
    if _is_latin(folded):
        return _guarded(folded, folded) + trailing
    stem, last = folded[:-1], folded[-1]
    if last == "а":  # Астана, Астаны, Астане, Астану, Астаной; Астанада
        body = rf"{_guarded(stem, folded)}(?:ы|е|у|ой|ою|а{_KAZAKH_SUFFIXES})"
    elif last == "й":  # Костанай, Костаная, Костанае, Костанаем; Қостанайда
        body = rf"{_guarded(stem, folded)}(?:я|ю|е|ем|й{_KAZAKH_SUFFIXES})"
    elif last in "аеиоуыэюя":  # Актобе, Алматы, Атырау do not decline in Russian
        body = rf"{_guarded(folded, folded)}{_KAZAKH_SUFFIXES}"
    else:  # Шымкент, Шымкента, Шымкенте, Шымкентом; not "-ском", which is the adjective (Уральском округе)
        endings = "а|у|е" if folded.endswith("ск") else "а|у|е|ом"
        body = rf"{_guarded(folded, folded)}(?:{endings}|{_KAZAKH_SUFFIXES})"
    return body + trailing


def _written_prefix(name: str) -> str:
    """What every inflected form of ``name`` starts with, as written: ``Семей`` -> ``Семе``."""
    return name[:-1] if _fold(name)[-1] in "ай" and not _is_latin(name) else name


def _forms() -> tuple[_Form, ...]:
    """Every surface form, most specific first: at one position the first form that matches wins.

    Forms that differ only in letters folding makes equal (``Актау``, ``Ақтау``) are merged, so
    that a spelling check (``written_as``) sees every accepted spelling.
    """
    qualified: list[_Form] = []  # with a district or region word: "Алматы облысы" before "Алматы"
    plain: list[_Form] = []
    checked: list[_Form] = []  # spelling-checked forms go last, so an unchecked form matching there wins
    for region, russian, kazakh, english in _DISTRICTS:
        if russian:
            stem = _literal(re.sub(r"(?:ий|ый|ой)$", "", _fold(russian)))
            qualified.append(_Form(region, rf"{stem}{_ADJECTIVE_ENDING}\s+{_DISTRICT}"))
        for name in (kazakh, english):
            if name:
                qualified.append(_Form(region, rf"{_literal(name)}\s+{_DISTRICT}"))
    for names in _NAMES:
        region = names.region
        for name in names.region_names:
            qualified.append(_Form(region, rf"{_literal(name)}\s+{_AREA}"))
            qualified.append(_Form(region, rf"област(?:ь|и|ью)\s+{_literal(name)}"))  # "области Абай"
            qualified.append(_Form(region, rf"регион(?:е|а|у|ом)?\s+{_literal(name)}"))
        for stem in names.region_adjectives:
            qualified.append(_Form(region, rf"{_literal(stem)}{_ADJECTIVE_ENDING}\s+{_RUSSIAN_AREA}"))
        for stem in names.adjectives:
            key = _fold(stem)
            pattern = rf"{_guarded(stem, key)}{_ADJECTIVE_ENDING}{_not_followed(key)}(?:\s+{_RUSSIAN_AREA})?"
            plain.append(_Form(region, pattern))
        for name in names.places:
            plain.append(_Form(region, _place(name)))
        for name in names.titled_places:
            checked.append(_Form(region, _place(name), (_written_prefix(name),)))
        for name in names.titled_phrases:
            checked.append(_Form(region, rf"{_literal(name)}(?:\s+{_AREA})?", (name.split()[0],)))
        for name in names.abbreviations:
            checked.append(_Form(region, rf"{_literal(name)}{_KAZAKH_SUFFIXES}", (name,)))
    special = [_Form(region, pattern) for region, pattern in _SPECIAL_FORMS]
    merged: dict[tuple[str, str], _Form] = {}
    for form in (*qualified, *special, *plain, *checked):
        key = (form.region, form.pattern)
        if key in merged:
            earlier = merged[key].written_as
            written_as = earlier + form.written_as if earlier and form.written_as else ()
            merged[key] = _Form(form.region, form.pattern, written_as)
        else:
            merged[key] = form
    return tuple(merged.values())


@dataclass(frozen=True)
class _Matcher:
    """The compiled scanning expression, and the forms it is made of, grouped by first letter."""

    scanner: re.Pattern[str]
    forms_by_first: dict[str, tuple[_Form, ...]]


@functools.cache
def _matcher() -> _Matcher:
    """Compile the forms once, on first use (not at import)."""
    by_first: dict[str, list[_Form]] = {}
    for form in _forms():
        first = form.pattern[0]
        if not first.isalpha() or form.pattern[1:2] in ("?", "*", "+", "{", "|"):
            raise ValueError(f"a region form must start with a plain letter: {form.pattern!r}")
        by_first.setdefault(first, []).append(form)
    # Factoring the alternatives by their first letter keeps the scan fast: at each word start the
    # engine compares one letter per bucket instead of trying every form.
    buckets = [
        re.escape(first) + "(?:" + "|".join(form.pattern[1:] for form in forms) + ")"
        for first, forms in by_first.items()
    ]
    scanner = re.compile(r"(?<!\w)(?:" + "|".join(buckets) + r")(?!\w)")
    return _Matcher(scanner, {first: tuple(forms) for first, forms in by_first.items()})


@functools.cache
def _identifier(first: str) -> re.Pattern[str]:
    """The forms starting with ``first``, in the scanner's order, each in a named group ``f<index>``.

    Used only where the scanner matched: capturing groups in the scanner itself would slow it down
    several times (the engine's quick first-letter test no longer applies).
    """
    forms = _matcher().forms_by_first[first]
    groups = "|".join(f"(?P<f{index}>{form.pattern})" for index, form in enumerate(forms))
    return re.compile(rf"(?<!\w)(?:{groups})(?!\w)")


def _mentions(text: str, *, strict_case: bool = True) -> list[tuple[str, int, int]]:
    """``(region, start, end)`` of every mention in ``text``, in order.

    ``strict_case=False`` skips the spelling checks (``written_as``): for metadata values, which
    are names rather than prose ("семей", "вко").
    """
    matcher = _matcher()
    folded = _fold(text)
    found = []
    for match in matcher.scanner.finditer(folded):
        start = match.start()
        first = folded[start]
        named = _identifier(first).match(folded, start)
        if named is None or named.lastgroup is None:  # cannot happen: the same alternatives in the same order
            raise RuntimeError(f"region form not identified at {start}: {match.group()!r}")
        form = matcher.forms_by_first[first][int(named.lastgroup[1:])]
        if strict_case and form.written_as and not text.startswith(form.written_as, start):
            continue
        found.append((form.region, start, match.end()))
    return found


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def find_regions(text: str) -> tuple[RegionMention, ...]:
    """Every region a text names, in Russian, Kazakh or English, with how often and where first.

    A region counts when the text names it, its capital, an old name, a main town or a district
    (``"в Актюбинской области"``, ``"Ақтөбе облысында"``, ``"Aktobe oblast"``, ``"Актюбинском
    регионе"``, ``"в Хромтау"``, ``"Мартукского района"``). Matching ignores case (except for the few
    names that are also common words, such as ``Семей`` "of families") and treats ё as е; it works
    on whole words, so ``"таразы"`` (Kazakh "scales") is not Taraz. The city of Almaty and the
    Almaty region are told apart: ``"Алматы"``, ``"г. Алматы"``, ``"Алматы қаласы"`` are the city,
    ``"Алматинская область"``, ``"Алматы облысы"`` the region.

    Args:
        text: any text.

    Returns:
        One :class:`RegionMention` per region, most mentioned first (ties: earliest first).

    Raises:
        TypeError: ``text`` is not a string.

    Example:
        >>> [(m.region, m.count) for m in find_regions("Шымкент и Туркестанская область; в Шымкенте")]
        [('Shymkent city', 2), ('Turkestan region', 1)]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    counts: Counter[str] = Counter()
    firsts: dict[str, tuple[int, int]] = {}
    for region, start, end in _mentions(text):
        counts[region] += 1
        firsts.setdefault(region, (start, end))
    mentions = [
        RegionMention(region, count, firsts[region][0], " ".join(text[slice(*firsts[region])].split()))
        for region, count in counts.items()
    ]
    return tuple(sorted(mentions, key=lambda mention: (-mention.count, mention.first)))


def detect_region(text: str, title: str = "") -> str:
    """The region a document is about, or ``""`` when the text does not make it clear.

    The rule:

    1. A title that names exactly one region decides.
    2. Otherwise each region scores its mentions in the text, plus ``TITLE_WEIGHT`` per mention in
       the title, plus one when it is the only region named in the first ``OPENING_CHARS``
       characters (a news lead names its place).
    3. The top region wins when it scores at least 2 and at least one per ``CHARS_PER_MENTION``
       characters of text (a long national text naming Astana twice is not about Astana), at least
       twice the runner-up, and at least as much as all other regions together. A text that lists
       many regions about equally (a national programme) gets ``""``.

    Never returns :data:`NATIONAL`: a text that names no region may be national or just vague.

    Args:
        text: the document's text.
        title: its title, if known.

    Returns:
        A name from :data:`REGIONS`, or ``""``.

    Raises:
        TypeError: ``text`` or ``title`` is not a string.
    """
    if not isinstance(title, str):
        raise TypeError(f"title must be a string, got {type(title).__name__}")
    in_title = find_regions(title)
    if len(in_title) == 1:
        return in_title[0].region
    in_text = find_regions(text)
    scores: Counter[str] = Counter()
    firsts: dict[str, int] = {}
    for mention in in_text:
        scores[mention.region] += mention.count
        firsts[mention.region] = mention.first
    for mention in in_title:
        scores[mention.region] += TITLE_WEIGHT * mention.count
        firsts[mention.region] = -1  # the title comes before the text
    in_opening = [mention.region for mention in in_text if mention.first < OPENING_CHARS]
    if len(in_opening) == 1:
        scores[in_opening[0]] += 1
    if not scores:
        return ""
    ranked = sorted(scores, key=lambda region: (-scores[region], firsts[region]))
    top = scores[ranked[0]]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else 0
    others = sum(scores.values()) - top
    needed = max(2, math.ceil(len(text) / CHARS_PER_MENTION))
    if top >= needed and top >= 2 * runner_up and top >= others:
        return ranked[0]
    logger.debug("no clear region: scores %s, need %d", dict(scores), needed)
    return ""


_NATIONAL_NAMES = frozenset(
    _fold(name)
    for name in (
        NATIONAL, "nationwide", "country", "Kazakhstan", "Republic of Kazakhstan", "Казахстан",
        "Республика Казахстан", "Қазақстан", "Қазақстан Республикасы",
    )
)  # fmt: skip
_CANONICAL = {_fold(region): region for region in REGIONS}


def canonical_region(name: str) -> str | None:
    """The canonical name for a region as written in metadata, in any language or form.

    Accepts the canonical names in any case, Russian, Kazakh and English forms, old names, capitals
    and districts, and descriptions that name one region: ``"Актюбинская область"``, ``"Ақтөбе
    облысы"``, ``"aktobe"``, ``"Shymkent"`` (the city), ``"West Kazakhstan region (Oral)"``,
    ``"Abai region, Borodulikha district"``, ``"Жетісу"``. ``"national"`` (also ``"Kazakhstan"``,
    ``"Республика Казахстан"``) gives :data:`NATIONAL`.

    Args:
        name: a metadata value.

    Returns:
        A name from :data:`REGIONS`, :data:`NATIONAL`, or ``None`` when the value names no region
        or names two different ones (``"Almaty city, Almaty region"``).

    Raises:
        TypeError: ``name`` is not a string.
    """
    if not isinstance(name, str):
        raise TypeError(f"region name must be a string, got {type(name).__name__}")
    value = " ".join(name.split())
    if not value:
        return None
    folded = _fold(value)
    if folded in _CANONICAL:
        return _CANONICAL[folded]
    if folded in _NATIONAL_NAMES:
        return NATIONAL
    # A metadata value is a name, not prose: "east kazakhstan" or "семей" in lower case still count.
    regions = {region for region, _, _ in _mentions(value, strict_case=False)}
    if not regions:
        # A bare name that in prose needs a region word ("Абай", "Жетісу", "Zhambyl") or "city" ("Oral").
        regions = {region for region, _, _ in _mentions(f"{value} region", strict_case=False)}
        regions = regions or {region for region, _, _ in _mentions(f"{value} city", strict_case=False)}
    if len(regions) == 1:
        return regions.pop()
    if regions:
        logger.debug("region value %r names several regions: %s", name, sorted(regions))
    return None
