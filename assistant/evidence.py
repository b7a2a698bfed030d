"""Evidence: what a question asks for, and what each candidate sentence offers it.

A careful reader decides whether a sentence answers a question from more than its similarity
in meaning. This module computes those signals, language by language, with no model:

* the **answer type** the question asks for: a person or body ("кто", "кім", "who"), a number
  ("сколько", "қанша", "how many"), a date or period ("когда", "қашан", "by what date"), a
  name ("как называется", "қалай аталады", "what is … called") or a place ("где", "қайда",
  "where"), and whether the sentence contains one;
* the question's **content words** (stemmed as by :mod:`assistant.keywords`) found in the
  sentence and in its passage, and its **salient terms** (numbers, names, quoted titles, codes
  such as "5G") missing from the passage;
* the **region** the question names against the region of the sentence's document;
* the cosines of the question with the sentence and the passage, and their gaps to the best
  candidate.

:func:`sentence_features` turns these into one row of :data:`FEATURES` per sentence;
:mod:`assistant.answerability` weighs them into the probability that the sentence answers.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.keywords import STOPWORDS, analyze_words
from assistant.metadata import detect_language
from assistant.regions import REGIONS, canonical_region, find_regions
from assistant.sentences import split_sentences

__all__ = [
    "ANSWER_TYPES",
    "FEATURES",
    "Candidate",
    "QuestionProfile",
    "NAMES_READABLE_IN",
    "REQUIRED_TYPES",
    "announces_only",
    "asks_money",
    "gives_instruction",
    "gives_reason",
    "holds_counted",
    "holds_stated",
    "months_of",
    "name_key",
    "names_akim",
    "names_another_title",
    "names_firm",
    "names_headed",
    "names_person",
    "names_the_address",
    "names_of",
    "offers",
    "on_stage_asked",
    "other_year",
    "names_title",
    "profile_question",
    "quoted_titles",
    "quotable_sentences",
    "refers_back",
    "sentence_features",
    "sentence_stems",
    "sentence_vectors",
    "stages_of",
    "stated_numbers",
    "states_money",
]

PERSON, NUMBER, DATE, TIME, NAME, PLACE, OTHER = "person", "number", "date", "time", "name", "place", "other"
SAID = "said"  # what someone said or proposed
ANSWER_TYPES = (PERSON, NUMBER, DATE, TIME, NAME, PLACE, SAID, OTHER)
# The answer types a sentence must hold to answer at all. A number or a date is found reliably in
# any language; a person, a name or a place may be written in ways the patterns miss (a lone
# surname, an unquoted title), so for those the evidence is weighed, not required. A time of day
# ("во сколько начинается …") is a number too, but a year or a count does not answer it.
REQUIRED_TYPES = (NUMBER, DATE, TIME)
# Where a name is written so that the patterns read it: Russian and Kazakh text quotes a title
# («Smart Aqtau», АО «Казахтелеком») or writes it in Latin letters (Kcell); English text may not.
NAMES_READABLE_IN = ("ru", "kk")
_UPPER = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"  # capital letters of the three languages
MIN_QUOTE_CHARS = 25  # headings and list stubs ("Глава 1.", "2) и др.") are not answers

# The row :func:`sentence_features` computes for a candidate sentence, in this order. The
# answerability model's weights are stored by these names, so renaming one is a format change.
FEATURES = (
    "sentence_cosine",  # cosine of the question and the sentence
    "passage_cosine",  # cosine of the question and the sentence's passage
    "sentence_gap",  # sentence_cosine minus the best candidate's (0 for the best, negative below)
    "passage_gap",  # passage_cosine minus the best retrieved passage's
    "words_in_sentence",  # share of the question's content words the sentence contains (with translations)
    "words_in_passage",  # … that the passage, its title or its section contains
    "words_unmatched",  # share of the question's words that cannot be found in the passage's language
    "focus_in_sentence",  # share of the asked-about words ("сколько СЁЛ", "how many WATER METERS") in the sentence
    "salient_missing",  # share of the question's numbers, names and quoted titles the passage lacks
    "type_asked",  # 1 when the question asks for a person, number, date, name or place
    "type_offered",  # 0..1: the sentence holds what the question asks for (1: next to the asked words)
    "focus_and_type",  # focus_in_sentence × type_offered: the asked fact about the asked-about thing
    "region_match",  # the question names a region, and the sentence's document is about it
    "region_mismatch",  # the question names a region, and the document is about another one
    "cross_language",  # the question and the passage are in different languages
    "cross_sentence_cosine",  # cross_language × sentence_cosine: cosines run lower across languages
    "short_question",  # the question has at most three content words
)

# ---------------------------------------------------------------------------------------------
# What the question asks for
# ---------------------------------------------------------------------------------------------

# The kinds of firm ("Какой подрядчик…?", "Which company…?") …
_FIRM_KINDS = (
    r"оператор\w*|компани\w*|фирм\w*|подрядчик\w*|поставщик\w*|провайдер\w*|застройщик\w*|серіктес\w*|мердігер\w*"
    r"|compan(?:y|ies)|operators?|firms?|contractors?|vendors?|providers?"
)
# … and the other companies and bodies known by a name («Казахтелеком», Kcell), not by their kind.
_COMPANIES = (
    rf"{_FIRM_KINDS}|банк\w*|разработчик\w*|партн[её]р\w*|компания\w*|әзірлеуші\w*|banks?|partners?|developers?|telecoms?"
)
# Banks, partners and developers are not asked as firms: a text may name those without a legal form.
_FIRMS = rf"{_FIRM_KINDS}|жшс|suppliers?"


def _which(kinds: str) -> str:
    """The pattern of a question asking which one of ``kinds`` ("какой оператор связи", "which
    mobile operator", "қай компания")."""
    return rf"\b(?:как(?:ой|ая|ие|ое|ую|им|ими|ого)|which|what)\s+(?:\w+\s+)?(?:{kinds})\b|\b(?:қай|қандай)\s+(?:{kinds})\b"


_FIRM_ASKED = re.compile(_which(_FIRMS))
# … or names the firm's role as what it asks ("поставщик камер «Безопасный Костанай»", "Digital
# Turkistan мердігері", "who supplied the sensors"): a contractor, supplier or integrator is a firm.
# Not its genitive or dative ("кто проверяет работу подрядчика"), nor a developer, which may be
# a department ("стандартты кім әзірлейді" → "управлению цифровизации поручено разработать").
_FIRM_ROLE_ASKED = re.compile(
    r"\b(?:подрядчик(?:ом|и)?|поставщик(?:ом|и)?|интегратор(?:ом|ы)?|мердігер(?:і|лері)?|жеткізуші(?:сі|лері)?"
    r"|contractors?|suppliers?|integrators?|vendors?)\b"
    r"|\b(?:кто|who|кім)\s+(?:\w+\s+)?(?:постав(?:ил|ила|ило|или|ляет|ляют|ит|ят)|supplie[sd]|supplys?|will\s+supply)\b"
    # Who does the works (plural: a contract's, not "работу по Посланию", which a deputy coordinates):
    # "Who carries out the internet connection works…?", "кто ведёт работы", "жұмыстарды кім жүргізеді".
    r"|\bwho\s+(?:\w+\s+)?(?:carr(?:y|ies|ied)\s+out|does|did|performs?|performed|is\s+doing)\s+(?:\w+\s+){0,4}?works\b"
    r"|\bкто\s+(?:\w+\s+)?(?:вед[её]т|вел|выполня(?:ет|л)|проводит)\s+(?:\w+\s+){0,3}?работы\b"
    r"|\bжұмыстарды\s+(?:\w+\s+)?кім\b|\bкім\s+(?:\w+\s+){0,3}?жұмыстарды\b"
)
# A question about an instruction ("Что поручено…?", "Кімге тапсырылды?", "What was X instructed
# to do?") is answered by a sentence that gives one: "поручено / тапсырылды / жүктелді / instructed".
# … but not who carries out the instructions ("Кто назначен ответственным за исполнение поручений?",
# "тапсырмалардың орындалуына кім жауапты?"): that is a person named, not an instruction given.
_ORDERS_CARRIED_OUT = re.compile(
    r"\b(?:исполнени|выполнени)\w*\s+(?:\w+\s+)?поручени\w*|\bтапсырма\w*\s+(?:орындал|орында)\w*"
    r"|\b(?:carrying\s+out|execution\s+of|implementing)\s+(?:the\s+)?instructions\b"
)
_INSTRUCTION_ASKED = re.compile(r"\bпоруч\w*|\bтапсыр\w*|\bжүкте\w*|\binstruct\w*|\btasked\b|\bassigned\b")
# Not "задачи", "міндеттер", "tasks" alone: the Address's own title has them ("актуальные задачи").
_INSTRUCTION = re.compile(
    r"\bпоруч\w*|\bвозлож\w*|\bобязал\w*|\bуказани\w*|\bпостав\w*\s+(?:\w+\s+)?задач\w*|\bзадач\w*\s+постав\w*"
    r"|\bтапсыр\w*|\bжүкте\w*|\bміндеттел\w*|\bміндеттеді\b"
    r"|\binstruct\w*|\btasked\b|\bassign(?:ed|s)?\b|\bordered\b|\bdirected\b|\bcharged\b"
)
# Who chaired a meeting: "Кто провёл совещание…?", "кеңесті кім өткізді?", "Who chaired the meeting…?".
# The meeting's opening sentence repeats every word of the question ("1 октября состоялось совещание
# по реализации Послания…") and names nobody; the chair is in the next one.
_CHAIR_ASKED = re.compile(
    r"\bпредседательств\w*|\bтөрағалық\w*|\bchaired\b|\bpresided\b"
    r"|(?=.*\b(?:заседани\w*|совещани\w*|собрани\w*|кеңес\w*|отырыс\w*|мәжіліс\w*|жиналыс\w*|meeting|session)\b)"
    r".*\b(?:кто\s+(?:\w+\s+)?(?:провел|проводил|вел|открыл)|кім\s+(?:\w+\s+)?(?:жүргізді|өткізді|ашты)"
    r"|who\s+(?:\w+\s+)?(?:led|held|conducted|ran|hosted|opened)"
    r"|chair(?:man|person|woman)?|председател[ьяюе]|төрағасы)\b"
)
# "Why…?" is answered by a sentence that gives a reason or a purpose, in any of the three languages:
# "в связи с уточнением требований", "из-за задержки поставки", "Причиной отставания названа…",
# "которые позволят отслеживать", "байланысты", "because of". Not "Оставшиеся 26 сёл подключат
# с использованием спутниковой связи" for "Почему выбрали спутниковую связь?".
_WHY_ASKED = re.compile(
    r"\bпочему\b|\bзачем\b|\bпо\s+как(?:ой|им)\s+причин\w*|\bнеге\b|\bне\s+себепт\w*|\bwhy\b|\bfor\s+what\s+reason\b"
)
_REASON = re.compile(
    r"\bпотому\s+что\b|\bтак\s+как\b|\bпоскольку\b|\bиз-за\b|\bв\s+связи\s+с\b|\bблагодаря\b|\bчтобы\b"
    r"|\bдля\s+того\b|\bс\s+целью\b|\bввиду\b|\bпричин\w*|\bвследствие\b|\bпозвол\w*|\bпоэтому\b|\bсвязан\w*"
    r"|\bнаправлен\w*|\bнацелен\w*|\bсебеб\w*|\bсебепт\w*|\bөйткені\b|\bүшін\b|\bбайланысты\b|\bсалдарынан\b"
    r"|\bмақсат\w*|\bарқасында\b|\bсондықтан\b|\bмүмкінді\w*|\bбағытталған\b"
    r"|\bbecause\b|\bdue\s+to\b|\bowing\s+to\b|\bthanks\s+to\b|\bas\s+a\s+result\b|\bso\s+that\b|\bin\s+order\s+to\b"
    r"|\ballow\w*|\benabl\w*|\breasons?\b|\bcaused?\b|\btherefore\b|\baim\w*|\bto\s+ensure\b|\bsince\b"
)
# A firm as official texts name it: by its legal form (ТОО «Север Телеком», «Ulytau IT Academy» ЖШС,
# Caspian Data LLP), as a company, or by the operator's brand; in Russian or Kazakh text also a
# Latin-script name outside quotes (Kcell, Google), where a project's would be quoted.
_FIRM_FORM = re.compile(r"\b(?:ТОО|АО|ЖШС|АҚ|ПАО|ОАО|ЗАО|LLP|JSC|LLC|Ltd|Inc|PLC|GmbH|Corp)\b")
_FIRM_NAMED = re.compile(rf"{_FIRM_FORM.pattern}\s*[«\"“][^»\"”]+[»\"”]|[«\"“][^»\"”]+[»\"”]\s*{_FIRM_FORM.pattern}")
_FIRM_WORD = re.compile(
    r"\b(?:казахтелеком\w*|қазақтелеком\w*|kazakhtelecom|kcell|beeline|билайн|tele2|теле2|altel|алтел|транстелеком\w*"
    r"|transtelecom)\b"
)
# "Company" names one only next to its name: "компания «Qazaq Digital»", "«Алтын Сервис» компаниясы",
# "the company Astana Tech"; not "компании-резиденты технопарков", "IT-компании", "mobile companies".
_FIRM_KIND_NAMED = re.compile(
    r"(?i:\b(?:компани\w*|company|companies|корпораци\w*|corporation|холдинг\w*|holding)\b)"
    rf"(?=\s+(?:\w+\s+){{0,2}}?[«\"“{_UPPER}])"
    rf"|[»\"”]\s+(?i:компани\w*|корпораци\w*|холдинг\w*|company|corporation)\b"
)

# Who heads something: only a person's name answers ("кто руководит ТОО …", "who heads the
# department", "басқарманы кім басқарады"), not the body itself nor a list of participants.
_LEADER_ASKED = re.compile(
    r"\bкто\s+(?:\w+\s+)?(?:руководит|возглавляет|является\s+(?:руководител|директор|глав|начальник)\w*)"
    r"|\bwho\s+(?:heads|leads|runs|directs|is\s+(?:the\s+)?(?:head|director|chief|leader)\b)"
    r"|\bкім\s+басқарады\b|\b(?:басшысы|жетекшісі|директоры)\s+кім\b"
)

# Any question word: a query without one is a keyword query ("astana digital twin құны").
_QUESTION_WORDS = (
    r"почему|зачем|как\w*|кто|что|где|когда|скольк\w*|қанша\w*|неше\w*|неге|не|қалай|қайда|қашан|қандай|қай|кім"
    r"|why|what|who|how|where|when|which"
)
# A query that only names a firm's kind, without a question word nor a count: "AI-Traffic Shymkent
# contractor company", "Smart Temirtau operator company", "поставщик камер Тараз".
_FIRM_QUERIED = re.compile(
    rf"^(?!.*\b(?:{_QUESTION_WORDS}|саны|количеств\w*|number|budget|бюджет\w*|cost|құны)\b).*?"
    r"\b(?:compan(?:y|ies)|contractors?|suppliers?|integrators?|vendors?|компани[яи]|подрядчик\w*|поставщик\w*"
    r"|интегратор\w*|мердігер\w*|жеткізуші\w*)\b"
)

# Who the akim of a place is: "Кто аким Талдыкоргана?", "Ақтөбе облысының әкімі кім?", "Who is the
# akim of Atyrau city?", "What is the name of the akim of Almaty region?".
_AKIM_ASKED = re.compile(
    r"\bкто\s+(?:является\s+|сейчас\s+)?аким\w*|\bаким\w*\s+(?:\w+\s+){0,3}?кто\b|\bкак\s+зовут\s+аким\w*"
    r"|\bәкімі\s+кім\b|\bкім\s+(?:\w+\s+){0,3}?әкімі\b"
    r"|\bwho\s+is\s+(?:the\s+)?(?:current\s+)?akim\b|\bname\s+of\s+the\s+akim\b|\bwho\s+is\s+\w+(?:'s)?\s+akim\b"
)
# An akim as texts name one ("акима области", "облыс әкімі", "the akim of the region"), and what
# tells the level and a deputy in the few words around it.
_AKIM_WORD = re.compile(r"\b(?:аким(?:а|у|ом|е|ы|ов)?|әкім(?:і|інің|іне|ін|імен|дері)?|akims?)\b", re.IGNORECASE)
_LEVELS = (
    ("region", re.compile(r"\b(?:област\w*|облыс\w*|регион\w*|region\w*|oblast\w*)\b", re.IGNORECASE)),
    ("district", re.compile(r"\b(?:район\w*|аудан\w*|district\w*)\b", re.IGNORECASE)),
    ("city", re.compile(r"\b(?:город\w*|қала\w*|city|town|mayor)\b", re.IGNORECASE)),
)
_DEPUTY_BEFORE = re.compile(r"\b(?:заместител\w*|deputy|vice)\W+(?:\w+\W+)?$", re.IGNORECASE)
_DEPUTY_AFTER = re.compile(r"^\W+(?:\w+\W+)?орынбасар\w*", re.IGNORECASE)


def _level(text: str) -> str:
    """The first level a text names ("области" → region), else ""."""
    found = [(match.start(), level) for level, pattern in _LEVELS if (match := pattern.search(text))]
    return min(found)[1] if found else ""


# Region names people type in lower case, which prose would not: "east kazakhstan", "ско".
# find_regions keeps prose strict ("oral history of east Kazakhstan" is geography); a question
# that names no region otherwise is read with them written as names.
# So are bare region names ("жамбыл 5g станций", "zhambyl ai project budget", "ақмола 5g"), which prose
# says only next to a region word (bare "Жамбыл" may be the poet), and a few cities typed in lower
# case ("астана digital порталы"). Not "абай" (the poet) nor "семей" ("families").
_TYPED_REGIONS = re.compile(
    r"\b(?:(?:east|west|north)\s+kazakhstan|ско|вко|зко|сқо|шқо|бқо)\b"
    r"|(?i:\b(?P<region>жамбыл|zhambyl|jambyl|ақмола|акмола|akmola|aqmola|жетісу|жетысу|zhetysu)\b"
    r"(?!\s+(?:облыс\w*|област\w*|region|oblast|район\w*|аудан\w*|district)))"
    r"|\b(?P<city>астана|astana|караганда|қарағанды|karaganda|актау|ақтау|aktau)\b"
)


def _regions_typed(question: str) -> str:
    """``question`` with the region names of :data:`_TYPED_REGIONS` written as names."""

    quoted = [title.span() for title in _QUOTED.finditer(question)]

    def written(match: re.Match[str]) -> str:
        typed = match.group()
        if any(start < match.start() < end for start, end in quoted):
            return typed  # a title's word: «Жамбыл AgroScan»
        if match["region"]:
            return f"{typed.capitalize()} {'region' if typed.isascii() else 'облысы'}"
        if match["city"] or " " in typed:
            return typed.title()
        return typed.upper()

    return _TYPED_REGIONS.sub(written, question)


def _akim_asked(question: str, mentions) -> str | None:
    """The level of the akim asked about (see ``QuestionProfile.akim``), None for another question."""
    if not _AKIM_ASKED.search(question.casefold().replace("ё", "е")):
        return None
    akim = _AKIM_WORD.search(question)
    if akim and (said := _level(" ".join(question[akim.end() :].split()[:3]))):
        return said  # "кто аким области в Караганде"
    if mentions:
        # "Ақтөбе облысының" is the region, "Талдыкоргана", "aksu", "Atyrau city" a town.
        return _level(mentions[0].evidence) or "city"
    return _level(question)


def names_akim(sentence: str, level: str) -> bool:
    """Whether ``sentence`` names a person as the akim (not a deputy akim) of ``level`` (any level
    when ""): "под председательством акима области Айдара Сагиндыкова" for a region's; not
    "заместителя акима области Марата Кенжебаева", nor "акима области Жетісу" for Taldykorgan's."""
    if not names_person(sentence):
        return False
    for match in _AKIM_WORD.finditer(sentence):
        before, after = sentence[max(0, match.start() - 40) : match.start()], sentence[match.end() : match.end() + 40]
        if _DEPUTY_BEFORE.search(before) or _DEPUTY_AFTER.match(after):
            continue
        # The level is written next to the akim: "акима ОБЛАСТИ", "ОБЛЫС әкімі", "akim of the REGION".
        near = " ".join(before.split()[-2:] + after.split()[:3])
        if not level or _level(near) in (level, ""):
            return True
    return False


# A project's stage by its number: "первый этап", "на втором этапе проекта", "бірінші кезеңінде",
# "first phase", "stage 2". Not "в первую очередь" (first of all).
_STAGE_NOUN = r"(?:этап\w*|кезең\w*|stages?|phases?)"
_STAGES = tuple(
    (number, re.compile(rf"\b(?:{ordinal})\s+(?:\w+\s+)?{_STAGE_NOUN}|\b{_STAGE_NOUN}\s+(?:{number}|{word})\b", re.IGNORECASE))
    for number, ordinal, word in (
        (1, r"перв\w*|бірінші\w*|first|1-?(?:й|ый|ші)", "one|I"),
        (2, r"втор\w*|екінші\w*|second|2-?(?:й|ой|ші)", "two|II"),
        (3, r"трет\w*|үшінші\w*|third|3-?(?:й|ий|ші)", "three|III"),
    )
)


# A number a question states to say which fact it means ("қалған 31 ауыл қашан…", "31-ге"): not
# a year, nor the day of a date ("1 октября"), which other rules read.
_STATED_NUMBER = re.compile(
    r"(?<![\w.,])\d+(?:[.,]\d+)?(?![\w.,])(?!-[^\W\d_]{4})(?!\s*(?:[а-яәғқңөұүһіa-z]+\s+)?(?:жыл|год|year))"
)  # not "2-очковую", "5-этажный": a word made with the number


def stated_numbers(question: str) -> frozenset[str]:
    """The numbers ``question`` states that are neither years nor days of a month."""
    found = set()
    for match in _STATED_NUMBER.finditer(question):
        number = match.group()
        if _YEAR.fullmatch(number) or months_of(question[match.end() : match.end() + 14]):
            continue
        found.add(number.replace(",", "."))
    return frozenset(found)


def holds_stated(profile: QuestionProfile, candidates: Sequence[Candidate], in_scope: np.ndarray) -> np.ndarray:
    """Where a sentence in scope holds every number the question states (:func:`stated_numbers`),
    only those answer (or one referring back to them): "Еще 31 село будет подключено до 1 июля"
    for "қалған 31 ауыл қашан қосылады?", not "в 2025 году подключены 93 села"."""
    wanted = stated_numbers(profile.text)
    found = np.array(_carried_back(candidates, [wanted <= _numbers_in(c.text) for c in candidates]), dtype=bool)
    return found if wanted and (found & in_scope).any() else np.ones(len(candidates), dtype=bool)


def _carried_back(candidates: Sequence[Candidate], marks: list) -> list:
    """Each candidate's mark, or where it has none (a falsy one) and refers back to the sentence
    before it in its passage (:func:`refers_back`), that sentence's."""
    carried: list = []
    for row, (candidate, mark) in enumerate(zip(candidates, marks)):
        if not mark and row and candidates[row - 1].passage == candidate.passage and refers_back(candidate.text):
            mark = carried[-1]
        carried.append(mark)
    return carried


def stages_of(text: str) -> frozenset[int]:
    """The numbers of the project stages ``text`` names (see ``QuestionProfile.stages``)."""
    return frozenset(number for number, pattern in _STAGES if pattern.search(text))


def on_stage_asked(profile: QuestionProfile, candidates: Sequence[Candidate], in_scope: np.ndarray) -> np.ndarray:
    """Which candidates may answer a question about a stage (``QuestionProfile.stages``): not one
    naming only other stages ("бірінші кезеңі 45 мың гектарды қамтыды" for the second), and where
    a sentence in scope names the stage asked, only those (or one referring back to them)."""
    # "Второй этап стартует в апреле. Он охватит 12 больниц.": the second sentence is the second stage's.
    named = _carried_back(candidates, [stages_of(candidate.text) for candidate in candidates])
    other = np.array([bool(stages) and not stages & profile.stages for stages in named], dtype=bool)
    asked = np.array([bool(stages & profile.stages) for stages in named], dtype=bool)
    return ~other & asked if (asked & in_scope).any() else ~other


# A date that bounds a deadline, not the day a meeting or a report is of: "до 1 июля", "by 1 March",
# "наурызына дейін", "к декабрю".
_DEADLINE_BEFORE = re.compile(r"(?:\b(?:до|к|by|until|till|before|не\s+позднее|not\s+later\s+than)\s+(?:\d{1,2}\s+)?)$", re.IGNORECASE)
_DEADLINE_AFTER = re.compile(r"^\w*\s+(?:дейін|дейінгі|қарай)\b", re.IGNORECASE)


def dated_of(text: str) -> tuple[tuple[int, int], ...]:
    """The days a question says its meeting or report is of (see ``QuestionProfile.dated``), as
    (month, day), day 0 when only the month is named: "на совещании 10 декабря" (12, 10), "по итогам
    декабрьского совещания", "қыркүйектегі мәлімет бойынша" (9, 0). Not a deadline ("до 1 июля 2026
    года", "наурызына дейін") nor the Address's own date ("Послание от 8 сентября")."""
    text = _blank_near_address(text, _MONTH)
    dated = []
    for month, found in _month_matches(text):
        before = text[: found.start()]
        day = re.search(r"(?<!\d)(\d{1,2})\s*$", before)
        if _DEADLINE_BEFORE.search(before[: day.start()] if day else before) or _DEADLINE_AFTER.match(text[found.start() :]):
            continue
        dated.append((month, int(day[1]) if day else 0))
    return tuple(dict.fromkeys(dated))


def of_dated_report(dated: Sequence[tuple[int, int]], reports: Sequence[tuple[str, str]]) -> np.ndarray:
    """Which candidates may answer a question whose meeting or report is of the days ``dated``
    (:func:`dated_of`); ``reports``: each candidate's document's region and date (``YYYY-MM-DD``).
    Where a region has reports of several dates and one of them is a day asked ("Кто
    председательствовал на совещании в Жамбылской области 10 декабря?"), not the sentences of its
    reports of other days. Those of a region with one report, or with none of the day asked, all
    may: their text may tell of that day."""

    def asked(date: str) -> bool:
        found = re.fullmatch(r"\d{4}-(\d\d)-(\d\d)", date)
        return bool(found) and any(month == int(found[1]) and day in (0, int(found[2])) for month, day in dated)

    dates: dict[str, set[str]] = {}
    for region, date in reports:
        dates.setdefault(region, set()).add(date)
    chosen = {region for region, held in dates.items() if len(held) > 1 and any(map(asked, held))}
    return np.array([region not in chosen or asked(date) for region, date in reports], dtype=bool)


# Question words and phrases by answer type, in Russian, Kazakh and English (case-folded text).
_ASKS: dict[str, re.Pattern[str]] = {
    PERSON: re.compile(
        r"\b(?:кто|кого|кому|кем|чь[еёиюя]\w*|кім\w*|who|whom|whose)\b"
        r"|\bкак(?:ой|ая|ое|ие|ого|ому|им)\s+(?:аким\w*|орган\w*|ведомств\w*|управлени\w*|министерств\w*|организаци\w*|чиновник\w*|заместител\w*|руководител\w*)"
        r"|\bқай\s+(?:әкім\w*|орган\w*|басқарма\w*|мекеме\w*|министрлі\w*)"
        r"|\b(?:which|what)\s+(?:\w+\s+)?(?:official|akim|deputy|body|agency|department|office|organi[sz]ation|ministry|minister|head)"
        # Asking a person's name is asking for a person, not for a title: "What is the name of the akim?"
        r"|\bwhat(?:'s|\s+is|\s+was)?\s+the\s+(?:full\s+)?name\s+of\s+the\s+(?:akim|head|deputy|chair\w*|minister|director|governor|mayor|official|speaker)"
        r"|\bкак\s+зовут\b|\bфамили[яюией]\b|\bаты-ж[өо]н\w*"
        # A query that only names the chair, without a question word: "ulytau meeting chair",
        # "председатель совещания в Павлодаре".
        rf"|^(?!.*\b(?:{_QUESTION_WORDS})\b).*\b(?:chair(?:man|person|woman)?|председател[ьяюе]|төрағасы)\b"
    ),
    NUMBER: re.compile(
        r"\bскольк(?:о|их|им|ими)\b|\bкакое\s+(?:количество|число)"
        r"|\bкаков\w*\s+(?:\w+\s+)?(?:объ[её]м|сумм\w*|размер\w*|дол\w+|количеств\w*|бюджет\w*|стоимост\w*|мощност\w*|площад\w*)"
        # A measure: "какой мощности", "на какой площади", "какую часть", "с какой скоростью".
        r"|\bкак(?:ой|ую|ая|ов\w*)\s+(?:мощност\w*|площад\w*|скорост\w*|част[ьи]|протяж[её]нност\w*|длин\w*)"
        # A query that is only the noun: "общий бюджет плана СКО".
        r"|^\s*(?:(?:общ|итогов|совокупн|суммарн)\w+\s+|total\s+|overall\s+)?(?:бюджет|стоимост\w*|сумм[аы]\b|budget|cost\b)"
        r"(?!.*\b(?:скольк|қанша|неше|how|кто|кім|who|когда|қашан|when|где|қайда|where)\w*)"
        # … or holds it, without any question word: "Astana Digital Twin құны", "akmola smart
        # aqmola budget 2026", "Қостанайда спутник арқылы қосылған ауылдар саны", "количество камер в Кокшетау".
        rf"|^(?!.*\b(?:{_QUESTION_WORDS})\b)"
        r".*?\b(?:бюджет\w*|стоимост\w*|budget|cost|price|құны|бағасы|бюджеті|сомасы|саны|количеств\w*|number\s+of"
        # … or names the money given: "абай IT-зертхана қаржы", "финансирование Smart Pavlodar".
        r"|қаржы(?:сы|сын|ны)?|қаржыландыру\w*|финансировани\w*|funding|financing)\b"
        r"|\b(?:на\s+)?как(?:ую|ая|ой|ов)\s+(?:сумм\w*|объ[её]м\w*|бюджет\w*|дол\w+|процент\w*|стоимост\w*|размер\w*)"
        r"|\bво\s+что\s+обойд\w*|\bкаков\w*\s+цен\w*"
        r"|\bқанша\w*|\bнеше(?:у\w*)?\b|\bқандай\s+(?:сома\w*|көлем\w*|қаражат\w*)"
        # Kazakh puts the noun first: "жобаның құны қандай?" (what does the project cost).
        r"|\b(?:құны|бағасы|сомасы|көлемі|бюджеті|қуаты|жылдамдығы)\s+қандай\b"
        r"|\bhow\s+(?:many|much|big|large)\b|\bwhat\s+(?:number|amount|share|percentage|sum|budget|cost|price|volume)\b"
        # "What is the (estimated total) cost of …?", "What will the project cost?"
        r"|\bwhat\s+(?:is|was|were|are|will\s+be)\s+the\s+(?:\w+\s+){0,2}"
        r"(?:number|amount|budget|cost|price|total|sum|share|percentage|volume|capacity|speed|area|length|fund|funding)\b"
        r"|\bwhat\s+(?:will|would|does|did|do)\s+(?:\w+\s+){1,6}cost\b"
        # "What is Turkestan region's 2026 budget …?", "What internet speed …?"
        r"|\bwhat\s+(?:is|was|will\s+be)\s+[\w\s-]{1,40}?'s\s+(?:\w+\s+){0,2}(?:budget|cost|capacity)\b"
        r"|\bwhat\s+(?:\w+\s+)?(?:speed|capacity)\b"
    ),
    DATE: re.compile(
        r"\bкогда\b|\bк\s+как(?:ому|ой)\s+(?:сроку|числу|дате|году|месяцу)|\bдо\s+какого\b|\bв\s+какие\s+сроки"
        r"|\bна\s+как(?:ую|ое|ой)\s+(?:дату|число|срок)|\bкакого\s+числа|\bв\s+как(?:ом|ой|ие)\s+(?:году|месяце|квартале|сроки|период|день|дату)|\bкаки[ем]\s+срок\w*"
        r"|\bкаков\w*\s+срок\w*|\bкакой\s+срок\w*|\bсроки?\b"
        r"|\bқашан\w*|\bқай\s+(?:уақыт\w*|мерзім\w*|күн\w*|жыл\w*|ай\w*|тоқсан\w*)|\bқандай\s+мерзім\w*|\bнешінші\b|\bмерзім\w*"
        r"|\bwhen\b|\bby\s+(?:what|which)\s+(?:date|time|month|year)|\bwhat\s+(?:date|deadline|year|month|time\s*frame|timeline)"
        r"|\bwhich\s+(?:date|year|month|quarter)|\bdeadline\b|\bby\s+when\b"
        # The season: "в какое время года", "жылдың қай мезгілінде", "what time of year".
        r"|\bв\s+какое\s+время\s+года|\bв\s+как(?:ой|ие)\s+сезон\w*|\bқай\s+мезгіл\w*|\btime\s+of\s+(?:the\s+)?year\b|\bwhich\s+season\b"
    ),
    # The hour: "во сколько начинается" (not "во сколько сёл", "во сколько обойдётся", which ask a number).
    TIME: re.compile(
        r"\bво\s+сколько\s+(?:начина|начн|старту|откр[ыо]|заканчива|законч|закр[ыо]|пройд|проход|состо|"
        r"прибыва|прибуд|приезжа|приед|отправля|отправи|вылета|вылет|приём|прием)\w*|\bв\s+котором\s+часу"
        r"|\bсағат\s+нешеде|\bқай\s+сағатта|\bсағат\s+қаншада"
        # Not "в какое время жил…", "what time period": those ask for a date.
        r"|\bwhat\s+time\s+(?:does|do|will|is|are)\b|\bat\s+what\s+hour\b"
    ),
    NAME: re.compile(
        r"\bкак\s+называ\w+|\bназвани\w*|\bкак(?:ой|ая|ие|ое)\s+(?:проект\w*|программ\w*|платформ\w*|инициатив\w*|центр\w*)"
        r"|\bқалай\s+аталады|\bатау\w*|\bқандай\s+(?:жоба\w*|бағдарлама\w*|платформа\w*|бастама\w*|орталық\w*)"
        r"|\bcalled\b|\bnamed?\b|\bname\s+of\b|\b(?:which|what)\s+(?:project|programme|program|platform|initiative|centre|center|system)s?\b"
        # Which company: its name («Казахтелеком», Kcell), not "операторы связи" in general.
        rf"|{_which(_COMPANIES)}|{_FIRM_QUERIED.pattern}"
    ),
    SAID: re.compile(
        r"\bчто\s+(?:\w+\s+){0,5}?(?:сказал|заявил|отметил|подчеркнул|говорил|предложил|предлагал)\w*"
        r"|\bо\s+ч[её]м\s+(?:\w+\s+){0,3}?(?:говорил|сказал|заявил)\w*|\bкакие\s+предложени\w*"
        r"|\bне\s+(?:деді|айтты|атап\s+өтті|мәлімдеді|ұсынды|ұсынған)|\bқандай\s+ұсыныс\w*"
        r"|\bwhat\s+did\s+(?:\w+\s+){1,8}?(?:say|propose|suggest|stress|note|announce)\b|\bwhat\s+(?:was|were)\s+said"
    ),
    PLACE: re.compile(
        r"\bгде\b|\bв\s+как(?:ом|ой|их)\s+(?:город\w*|район\w*|сел\w*|населенн\w*|населённ\w*|регион\w*|област\w*)"
        r"|\bқайда\b|\bқай\s+(?:жер\w*|қала\w*|аудан\w*|ауыл\w*|өңір\w*|облыс\w*)"
        r"|\bwhere\b|\bin\s+(?:which|what)\s+(?:cit(?:y|ies)|towns?|districts?|villages?|regions?)\b"
    ),
}

# ---------------------------------------------------------------------------------------------
# What a sentence offers
# ---------------------------------------------------------------------------------------------

_LOWER = "a-zа-яёәғқңөұүһі"
_CAPITALISED = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}]?[{_LOWER}]+)?"
# Two capitalised words in a row ("Асхат Шахаров"), or initials and a surname ("А. С. Шахаров").
_PERSON_NAME = re.compile(rf"\b{_CAPITALISED}\s+{_CAPITALISED}\b|\b[{_UPPER}]\.\s?(?:[{_UPPER}]\.\s?)?{_CAPITALISED}\b")
# Capitalised pairs that are not people ("Республики Казахстан", "Глава государства" never pairs).
_NOT_PEOPLE = frozenset(
    """
    республика республики республикой республике казахстан казахстана казахстане президент президента
    послание послания послании министерство министерства правительство правительства национальный
    национального государственный государственной қазақстан қазақстанның республикасы республикасының
    жолдау жолдауы жолдауын мемлекет үкімет the republic kazakhstan president address government of
    ministry national state akimat
    """.split()
)
# Bodies that can be the "who" of a task. Not the akimat and the maslikhat: every meeting happens
# there, so they name the setting, not who is responsible.
_BODIES = re.compile(
    r"\b(?:управлени\w+|департамент\w*|палат\w+|министерств\w+|ведомств\w+|комитет\w*|"
    r"фонд\w*|центр\w*|агентств\w+|холдинг\w*|компани\w+|учреждени\w+|организаци\w+|служб\w+|"
    r"басқарма\w*|департамент\w*|палата\w*|министрлі\w*|комитет\w*|қор\w*|орталы\w*|"
    r"department|office|chamber|ministry|committee|fund|centre|center|agency|company|service)\b"
)
_ROLES = re.compile(
    r"\b(?:аким\w*|заместител\w*|руководител\w*|глав[аеуы]\w*|председател\w*|министр\w*|депутат\w*|директор\w*|"
    r"начальник\w*|секретар\w*|әкім\w*|басшы\w*|орынбасар\w*|төраға\w*|министр\w*|"
    r"akim|deputy|head|chair\w*|minister|director|governor|mayor|secretary)\b"
)
# Roles and bodies that are part of what the meeting was, not who did something at it: the author
# of the Address ("Послания Главы государства", "Мемлекет басшысының … Жолдауы", "the Head of
# State's Address") and the body whose meeting it was ("заседание акимата", "әкімдіктің отырысы",
# "a meeting of the akimat") or where it was held.
_NOT_AN_ANSWERING_ROLE = re.compile(
    r"\bпослани\w*\s+(?:главы|президента)(?:\s+государства)?|\bглавы\s+государства\b|\bмемлекет\s+басшысының"
    r"|\b(?:заседани|совещани|собрани)\w*\s+(?:\w+\s+){0,2}?(?:акимат\w*|актив\w*|маслихат\w*)"
    r"|\bәкімдіг\w*\s+(?:\w+\s+)?(?:отырыс\w*|кеңес\w*|мәжіліс\w*)"
    # … or where it was: "в акимате", "әкімдігінде", "at the regional akimat".
    r"|\bв\s+акимате\b|\bәкімдіг\w*нде\b|\bat\s+the\s+(?:\w+\s+)?akimat\b"
    r"|\b(?:address|message)\s+of\s+the\s+(?:head\s+of\s+state|president)|\b(?:head\s+of\s+state|president)['’]s\s+address"
    r"|\b(?:meeting|session)\s+of\s+the\s+(?:\w+\s+)?(?:akimat|maslikhat)|\bakimat\s+(?:meeting|session)"
)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")
_LIST_ITEM = re.compile(r"\s*\d{1,2}[.)]\s")
_NUMBER_WORDS = re.compile(
    # Russian numerals by their endings only: "пят\w+" would take "пятница", "сем\w+" the city of Семей.
    r"\b(?:один|одна|одно|два|две|три|четыр(?:е|ех|ёх|ем|ьмя|ехсот|надцат\w*)|"
    r"(?:пят|шест|сем|восем|девят)(?:ь|и|ью|ьсот|исот|надцат\w*|ьдесят\w*|идесят\w*)|десят\w*|сорок\w*|сто|сотн\w+|"
    r"тысяч\w*|миллион\w*|миллиард\w*|млн|млрд|трлн|"
    # Kazakh "он" (ten) is left out: in Russian it is "he".
    r"бір|екі|үш|төрт|бес|алты|жеті|сегіз|тоғыз|жиырма|отыз|қырық|елу|жүз|мың|миллион\w*|миллиард\w*|"
    r"one|two|three|four|five|six|seven|eight|nine|ten|twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|billions?)\b"
)
_MONTHS = (
    r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[яйе]\b|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*|ноябр\w*|декабр\w*"
    r"|қаңтар\w*|ақпан\w*|наурыз\w*|сәуір\w*|мамыр\w*|маусым\w*|шілде\w*|тамыз\w*|қыркүйек\w*|қазан\w*|қараша\w*|желтоқсан\w*"
    r"|january|february|march|april|may|june|july|august|september|october|november|december"
)
_DATES = re.compile(
    rf"\b\d{{1,2}}\s+(?:{_MONTHS})|\b(?:{_MONTHS})(?:\s+\d{{1,2}}\b)?|\b(?:19|20)\d\d\b|\b\d{{1,2}}\.\d{{1,2}}\.\d{{2,4}}\b"
    # Earlier years: with their word or preposition ("в 1473 году", "1864 жылы", "in 1543").
    r"|\b1\d{3}\s*(?:год\w*|гг?\.|жыл\w*|ж\.)|\b(?:in|since|until|by|from|в|с|до|к)\s+1\d{3}\b"
    r"|\b(?:квартал\w*|полугоди\w*|тоқсан\w*|жартыжылды\w*|quarter\w*|half[- ]year)"
    r"|\bконц[ае]\s+(?:года|месяца|недели)|\bжыл\s+соңы\w*|\bend\s+of\s+the\s+(?:year|month)"
)
# How often: half an answer to "when" ("докладывать еженедельно" is no date of completion).
_FREQUENCIES = re.compile(
    r"\b(?:ежегодно|ежеквартально|ежемесячно|еженедельно|ежедневно|annually|quarterly|monthly|weekly|daily"
    r"|(?:жыл|тоқсан|ай|апта|күн)\s+сайын)\b"
)
# A time of day: "в 10:00", "в 9 часов", "сағат 10-да", "at 7 p.m.", "at 10 o'clock".
_TIMES = re.compile(
    r"\b\d{1,2}:\d{2}\b|\b\d{1,2}\s*(?:час\w*|ч\.)|\bсағат\s+\d{1,2}\b|\b\d{1,2}\s*(?:a\.?m\.?|p\.?m\.?|o['’]clock)"
)
# An amount of money asked ("какой бюджет", "сколько стоит", "қанша ақша", "how much will it cost")
# is answered by an amount of money, not by any number ("три направления"). Not "бюджетных мест",
# "инвестиционных проектов", "қаржылық сауаттылық", "investors", nor a share of a budget.
_MONEY_ASKED = re.compile(
    r"\b(?:бюджет(?:а|е|у|ом|ы|ов)?|сумм(?:а|е|у|ы|ой|ах|ами)?|стоимост\w*|стоит|стоил\w*|стоят|обойд(?:[её]т|ут)\w*|обош[её]л\w*"
    r"|средств|денег|деньг\w*|финансировани\w*|затрат\w*|инвестици[йияю]|цен(?:а|ы|е|у|ой))\b"
    r"|\b(?:ақша\w*|қаражат\w*|қаржы(?:сы|сын|ны|дан)?|қаржыланд\w*|құны\w*|құнын\w*|шығын\w*|бағасы|бағасын)\b"
    r"|\bқанша\s+(?:тұрады|тұрды|тұрмақ|тұратын|тұрған)\b"  # "қанша тұрады / тұрды?": what does it (did it) cost
    r"|\b(?:money|budget|budgets|cost|costs|costing|price|spend|spent|spending|funding|funds?|financing|invest(?:ed|ment)?|worth)\b"
    # "Сколько выделено на…?", "Қанша бөлінді?", "How much has the region allocated?": what is allocated
    # without a noun is money ("сколько мест выделено", "how many places were allocated" are counts).
    r"|\bсколько\s+(?:было\s+|будет\s+)?выдел\w*|\bқанша\s+(?:қаржы\s+)?бөлін\w*|\bhow\s+much\b.*\b(?:allocat|earmark)\w*"
    # The size of a payment: "размер субсидии", "субсидияның мөлшері", "how much is the grant"
    # (not "сколько агродронов субсидируют", a count).
    r"|\bразмер\w*\s+(?:\w+\s+)?(?:субсиди\w*|грант\w*|выплат\w*|пособи\w*|компенсаци\w*|штраф\w*|зарплат\w*|заработн\w*)"
    r"|\b(?:субсидия|грант|төлем|жәрдемақы|өтемақы|айыппұл|жалақы)\w*\s+(?:\w+\s+)?мөлшер\w*"
    r"|\bhow\s+(?:much|big|large)\b.*\b(?:subsid\w*|grants?|payments?|salar\w*|fines?|allowances?|compensation)\b"
    r"|\b(?:amount|size)\s+of\s+(?:the\s+|a\s+)?(?:subsid\w*|grants?|payments?|salar\w*|fines?|allowances?|compensation)\b"
)
_SHARE_ASKED = re.compile(r"\b(?:процент\w*|дол[яиюей]\b|пайыз\w*|үлес\w*|percent\w*|percentage|share)\b")
_CURRENCY = (
    r"тенге|теңге|тг|tenge|kzt|доллар\w*|dollars?|usd|евро|euros?|рубл\w*|roubles?|rubles?"
    r"|мрп|аек|mci|месячн\w*\s+расч[её]тн\w*\s+показател\w*|айлық\s+есептік\s+көрсеткіш\w*"
)
# A multiplier ("3,2 млрд", "5 million") is money before a currency, on its own or before a
# preposition ("выделено 3,2 млрд.", "3 млрд на школы"), not before another unit ("2,3 млн гектар",
# "1,5 million people").
_FUNCTION_WORDS = r"на|в|во|из|для|от|до|и|а|по|за|с|к|при|без|или|for|on|in|of|to|and|from|the|with|into"
_MONEY = re.compile(
    rf"[₸$€£]|\b(?:{_CURRENCY})\b"
    r"|\b(?:млрд|млн|трлн|миллиард\w*|миллион\w*|триллион\w*|billion|million|trillion|bn|mln)\b\.?"
    rf"(?!\s*(?!(?:{_FUNCTION_WORDS})\b)[^\W\d_])"
)
# An amount of money after a number ("2,4 млрд теңге", "$3 million" before it): no count of things.
_MONEY_AFTER = re.compile(
    rf"\s*(?:(?:млрд|млн|трлн|тыс|мың|миллиард\w*|миллион\w*|billion|million|thousand|bn|mln)\b\.?\s*)?"
    rf"(?:[₸$€£]|(?:{_CURRENCY})\b)"
)
# Someone's words: a long quotation, or a verb of saying or proposing.
_SPEECH = re.compile(
    r"\b(?:сказал|заявил|отметил|подчеркнул|предложил|предлож\w+|по\s+(?:его|её|ее)\s+словам|деді|атап\s+өтті|айтты|"
    r"сөзінше|ұсынды|ұсыныс\w*|said|says|noted|stressed|underlined|proposed|suggested|propos\w+)"
)
# Latin abbreviations of technologies, no one's name: "IT-хаб", "Wi-Fi желісі", "QR-код".
_LATIN_COMMON = frozenset("it ai gps sms qr wi-fi wifi gis led id iot api cctv ip vr ar ict ikt".split())
# Official titles run long ("Казахстан в эпоху искусственного интеллекта: актуальные вопросы …").
_QUOTED = re.compile(r"«[^»]{2,200}»|\"[^\"]{2,200}\"|“[^”]{2,200}”|„[^“”]{2,200}[“”]")
# A Latin-script name in Cyrillic text (Kcell, Smart Aqtau, 2GIS); not a generation code (5G, 3D).
_LATIN_IN_CYRILLIC = re.compile(r"\b[A-Z][A-Za-z0-9-]*[A-Za-z0-9]\b|\b\d+[A-Za-z]{3,}\b")
_PLACE_WORD = (
    r"(?:район\w*|сел[оаеу]\w*|город\w*|аул\w*|поселк\w*|посёлк\w*|аудан\w*|ауыл\w*|қала\w*|кент\w*|"
    r"district|village|town|city)"
)
# A place word answers "where" with the name it goes with ("Сайхын ауылы", "село Акжар", "в
# Байзакском районе"); alone it is a kind of place ("акимы районов", "аудан әкімдері", "district akims").
_PLACE_WORDS = re.compile(rf"\b[{_UPPER}][{_LOWER}-]+\s+(?i:{_PLACE_WORD})\b|\b(?i:{_PLACE_WORD})\s+[{_UPPER}][{_LOWER}-]+")
# Things whose names official texts quote or write in Latin letters.
_TITLED_THING = re.compile(
    r"\b(?:проект\w*|программ\w*|платформ\w*|инициатив\w*|систем\w*|приложени\w*|ассистент\w*|помощник\w*|бот\w*"
    r"|сервис\w*|портал\w*|хаб\w*|центр\w*|кластер\w*|парк\w*"
    r"|жоба\w*|бағдарлама\w*|платформа\w*|бастама\w*|жүйе\w*|қосымша\w*|орталық\w*|орталығ\w*"
    r"|project|programme|program|platform|initiative|system|app|application|assistant|bot|chatbot|service|portal|hub"
    rf"|centre|center|cluster|park|{_COMPANIES})\b"
)
# What is already done, or the state now, as opposed to a plan.
_DONE_ASKED = re.compile(
    r"\bуже\b|\bна\s+сегодня\w*|\bна\s+данный\s+момент\b|\bсейчас\b|\bв\s+настоящее\s+время\b|\bпо\s+состоянию\s+на\b"
    r"|\bқазір\w*|\bүлгер\w*|\bәзірге\b|\bбүгінгі\s+(?:күні|таңда|күнге)\b"
    r"|\balready\b|\bso\s+far\b|\bto\s+date\b|\bcurrently\b|\bas\s+of\b|\b(?:by|right|until|up\s+to)\s+now\b|\bnow\b"
)
# A plan ("установят до 1 июля", "будет открыт", "орнатылатын болады", "will be installed by") …
_PLANNED = re.compile(
    r"\bбуд(?:ет|ут)\b|\bпланиру\w*|\bзапланирован\w*|\bпредусм\w*|\bпредстоит\b|\bнамечен\w*|\bдолжн\w*"
    r"|\bпоручен\w*|\bобязал\w*|\bдо\s+(?:конца|\d)|\bк\s+\d|\bв\s+(?:течение\s+)?\d{4}\s+год"
    r"|\b(?:установ|подключ|откро|запуст|постро|созда|внедр|оснаст|получ|провед|обуч|перевед|появ|оцифр|закуп|приобрет"
    r"|разработ|утверд|начн|смонтир|дотян|охват)\w*?(?:ят|ут|ют|ат|ит|ет)(?:ся)?\b"
    r"|\bдейін\b|\bжоспар\w*|\bтиіс\b|\bкерек\b|\w(?:мақ|мек|бақ|бек|пақ|пек)\b"
    # A Kazakh passive in the present-future ends the sentence: "2 000 бейнекамера орнатылады".
    r"|\w(?:ылады|іледі|лады|леді|нады|неді)[.!»\"]*$"
    r"|\bwill\b|\bshall\b|\bplann?(?:ed|ing|s)?\b|\b(?:is|are)\s+to\b|\bgoing\s+to\b|\bscheduled\b|\bexpected\s+to\b|\bby\s+the\s+end\b"
)
# … unless the sentence also says what is done ("по состоянию на 1 декабря подключено 58 из 120").
_DONE = re.compile(
    r"\bуже\b|\bпо\s+состоянию\s+на\b|\bна\s+сегодня\w*|\b\d[\d\s]*\s+из\s+\d|\w+(?:ли|лись|лось|лся)\b"
    r"|\b(?!(?:запланирован|предусмотрен|намечен|поручен))\w{4,}(?:ено|ены|ена|ано|аны|ана|ято|яты|ыто|ыты|ито|иты)\b"
    r"|\bқазір\w*|\bүлгер\w*|\bжағдай\s+бойынша\b|\w[^\Wаеиоуыіәөүұэюяй\d](?:ды|ді|ты|ті)[.!»\"]*$"
    r"|\balready\b|\bso\s+far\b|\bto\s+date\b|\bas\s+of\b|\b(?:has|have|had)\s+(?:been\s+)?\w+ed\b|\b(?:was|were)\s+\w+ed\b"
)


def announces_only(sentence: str) -> bool:
    """Whether ``sentence`` announces a plan and says nothing done: "операторы установят 85
    станций до 1 июля 2026 года", not "по состоянию на 1 декабря установлено 52 из 85"."""
    folded = sentence.casefold().replace("ё", "е").strip()
    # An item of a numbered plan ("4. Приобретение 48 дронов", "1. 34 ауылды интернетке қосу") is a measure to take.
    return bool(_PLANNED.search(folded) or _LIST_ITEM.match(folded)) and not _DONE.search(folded)


# A count, as opposed to a measure or a sum ("how much", "какой объём", "what amount").
_COUNT_ASKED = re.compile(
    r"скольк\w*|какое\s+(?:количество|число)|қанша\w*|неше\b|how\s+many\b"
    r"|what\s+(?:is\s+|was\s+|are\s+|were\s+)?(?:the\s+)?number\b"
)
_WORD = re.compile(r"\w+")
FOCUS_WORDS = 3
COUNTED_WORDS = 2
_NEAR = 4  # words: "84 села", "до 1 марта" — the asked fact sits next to the asked-about word


@dataclass(frozen=True)
class QuestionProfile:
    """What a question asks and names.

    Attributes:
        text: the question (or the resolved query of a follow-up).
        lang: its language (``ru``, ``kk``, ``en``).
        answer_type: one of :data:`ANSWER_TYPES` (``other`` when no question word says).
        regions: canonical regions the question names, in order of mention.
        words: its content words, each as the alternative stems :func:`assistant.keywords.analyze_words`
            gives plus those of its :mod:`assistant.glossary` translations (a phrase of several words
            is one alternative, its words' stems joined by spaces).
        portable: for each word, whether it can be found in a text of another language: it has
            translations, or it is a number or a code.
        focus: the words the question asks about: the first three content words from its question
            word on ("сколько сёл подключат", "how many smart water meters", "кім төрағалық етті");
            empty when no question word says what is asked.
        salient: its numbers, names, quoted titles and codes, as name keys (see :func:`name_key`).
        titles: the titles it quotes («Smart Aqtau», "Цифровой порт"), each as its words' name keys
            (see :func:`quoted_titles`).
        money: it asks a number that is an amount of money ("Какой бюджет…?", "Қанша ақша…?",
            "How much will it cost?"): only a sentence stating one answers it (:func:`states_money`).
        counted: for a count ("сколько КАМЕР", "қанша АУЫЛ", "how many SMART METERS"), up to two
            words after the question word (see :func:`_counted`); a sentence with a number of
            something else does not answer it (:func:`holds_counted`). Empty for amounts of money,
            shares and measures ("how much").
        done: it asks what is already done or the state now ("сколько камер УЖЕ работает",
            "ҚАЗІР қанша станция", "how many SO FAR"): a sentence that only announces a plan does
            not answer it (:func:`announces_only`).
        title_asked: it asks the name of a project, programme, platform, service, company or
            operator ("Как называется проект…?", "Какой оператор…?"), which Russian and Kazakh
            official texts quote («Smart Aqtau», АО «Казахтелеком») or write in Latin letters;
            not the name of a river or a settlement, which they do not.
        measure: for a number that is a measure ("какая СКОРОСТЬ", "қуаты қандай", "what AREA",
            "какой ПРОЦЕНТ", "how many KILOMETRES"), its kind (a key of :data:`MEASURE_UNITS`):
            only a number in its units answers it.
        leader: it asks who heads something ("Кто руководит управлением…?", "Who heads…?"):
            only a sentence that names a person (:func:`names_person`) and what is headed
            (:func:`names_headed`) answers it.
        firm: it asks which firm ("Какой подрядчик…?", "қай компания", "Which operator…?", "поставщик
            камер", "жобаның мердігері", "who supplied …"): only a sentence that names one answers it
            (:func:`names_firm`), not a project's name.
        instruction: it asks about an instruction ("Что поручено…?", "кімге тапсырылды", "What was
            … instructed to do?"): only a sentence that gives one answers it (:func:`gives_instruction`),
            not the list of the meeting's participants that names the same official.
        reason: it asks why ("Почему…?", "неге", "why"): only a sentence giving a reason or a
            purpose answers it (:func:`gives_reason`), not one that only states the fact asked about.
        chair: it asks who chaired a meeting ("Кто провёл совещание…?", "кеңесті кім өткізді",
            "Who chaired…?"): only a sentence offering a person or a body answers it, not the
            opening sentence that describes the meeting.
        akim: it asks who the akim of a place is ("Кто аким Талдыкоргана?", "Ақтөбе облысының
            әкімі кім?", "Who is the akim of Atyrau city?"): the level asked ("region", "city",
            "district", or "" when the question does not say); only a sentence naming a person as
            the akim of that level answers it (:func:`names_akim`), not a deputy akim nor the
            akim of the region for a city's.
        stages: the stages of a project it asks about ("второй этап", "бірінші кезеңде", "first
            phase"), by number: where the documents tell that stage, only a sentence about it
            answers, never one about another stage only (:func:`on_stage_asked`).
        dated: the days its meeting or report is of ("на совещании 10 декабря", "желтоқсандағы
            мәлімет бойынша"), as (month, day or 0) (:func:`dated_of`): of a region's reports of
            several dates, only the one of that day answers (:func:`of_dated_report`).
    """

    text: str
    lang: str
    answer_type: str
    regions: tuple[str, ...]
    words: tuple[tuple[str, ...], ...]
    salient: tuple[str, ...]
    portable: tuple[bool, ...] = ()
    focus: tuple[tuple[str, ...], ...] = ()
    titles: tuple[tuple[str, ...], ...] = ()
    money: bool = False
    counted: tuple[tuple[str, ...], ...] = ()
    done: bool = False
    title_asked: bool = False
    akim: str | None = None
    stages: frozenset[int] = frozenset()
    dated: tuple[tuple[int, int], ...] = ()
    measure: str = ""
    firm: bool = False
    leader: bool = False
    instruction: bool = False
    reason: bool = False
    chair: bool = False


@dataclass(frozen=True)
class Candidate:
    """A quotable sentence: ``passages[passage].text[start:end] == text``."""

    passage: int
    start: int
    end: int
    text: str


def profile_question(question: str, lang: str = "", *, context: str | None = None) -> QuestionProfile:
    """What ``question`` asks for, which regions it names, and its words and salient terms.

    Args:
        question: the question as asked.
        lang: its language; detected when empty.
        context: for a follow-up, the text searched for it (the earlier question with this one,
            see :func:`assistant.answer.resolve_follow_up`). "А кто участвовал?" asks its own
            type with its own words; "А в Костанае?" borrows both, and any follow-up that names
            no region borrows the earlier one's.
    """
    lang = lang or detect_language(question) or "ru"
    context = context if context is not None else question
    mentions = find_regions(question)
    if not mentions and (typed := _regions_typed(question)) != question and (mentions := find_regions(typed)):
        context = typed if context == question else context
        question = typed
    mentions = mentions or find_regions(context)
    words, portable, salient = _words_and_salient(question, mentions, lang)
    answer_type, at = _asked(question)
    asked_in = question
    if not words and context != question:
        words, portable, salient = _words_and_salient(context, mentions, lang)
    if answer_type == OTHER and context != question:
        (answer_type, at), asked_in = _asked(context), context
    focus = _words_and_salient(asked_in[at:], mentions, lang)[0][:FOCUS_WORDS] if answer_type != OTHER else ()
    after = asked_in[at:]
    thing = _counted(after, mentions, lang) if answer_type == NUMBER else ()
    money = answer_type == NUMBER and asks_money(after)
    if answer_type == NUMBER and not money and lang == "kk" and not thing:
        # Kazakh puts the question word last: "субсидияның мөлшері қанша?" names the money before
        # it ("бюджет есебінен қанша мектеп салынады?" counts schools).
        money = asks_money(asked_in)
    counts = answer_type == NUMBER and not money and _COUNT_ASKED.match(after.casefold().replace("ё", "е"))
    unit = _unit_counted(after) if answer_type == NUMBER and not money else ""
    counted = thing if counts and not _SHARE_ASKED.search(after.casefold()) and not unit else ()
    firm = _asks_firm(answer_type, asked_in.casefold())
    return QuestionProfile(
        text=question,
        lang=lang,
        answer_type=answer_type,
        regions=tuple(dict.fromkeys(mention.region for mention in mentions)),
        words=words,
        salient=salient,
        portable=portable,
        focus=focus,
        titles=quoted_titles(question) or quoted_titles(context) or latin_titles(question, lang),
        money=money,
        counted=counted,
        done=bool(_DONE_ASKED.search(question.casefold().replace("ё", "е"))),
        title_asked=answer_type == NAME and bool(_TITLED_THING.search(asked_in.casefold())),
        firm=firm,
        # "Какой компании было поручено восстановить плёнки?" asks the firm, which the text may name
        # without the verb ("передал компании Lowry Digital для восстановления").
        instruction=not firm and bool(_INSTRUCTION_ASKED.search(_ORDERS_CARRIED_OUT.sub(" ", question.casefold()))),
        reason=bool(_WHY_ASKED.search(question.casefold())),
        chair=answer_type == PERSON and bool(_CHAIR_ASKED.search(question.casefold().replace("ё", "е"))),
        leader=answer_type == PERSON and bool(_LEADER_ASKED.search(asked_in.casefold())),
        akim=_akim_asked(question, mentions) if answer_type == PERSON else None,
        stages=stages_of(question),
        dated=dated_of(question),
        measure=(unit or ("" if counted else _measure_asked(after))) if answer_type == NUMBER and not money else "",
    )


# A measure asked, and the units that state it ("100 Мбит/с", "5 МВт", "4,5 гектара", "12 км").
_MEASURES_ASKED = {
    "speed": re.compile(r"\bскорост\w*|\bжылдамд\w*|\bspeed\w*"),
    "power": re.compile(r"\bмощност\w*|\bқуат\w*|\bcapacity\b"),
    "area": re.compile(r"\bплощад\w*|\barea\b"),
    "length": re.compile(r"\bпротяж[её]нност\w*|\bдлин\w*|\bұзынд\w*|\blength\b"),
    "share": re.compile(r"\bпроцент\w*|\bпайыз\w*|\bpercent\w*"),
}
# Each measure's units, as they follow its number ("42 тысячах гектаров").
MEASURE_UNITS = {
    kind: re.compile(rf"\s*(?:(?:тыс\w*|мың\w*|thousand|млн|миллион\w*|million)\s+)?(?:{units})")
    for kind, units in {
        "speed": r"[мгк]бит\w*|мегабит\w*|гигабит\w*|[mgk]bps|[mgk]bit\w*|км/ч|km/h",
        # A data centre's power, a hall's seats ("хаб на 120 мест").
        "power": r"[мгк]вт\b|[mgk]w\b|мегаватт\w*|гигаватт\w*|megawatt\w*|мест\b|seats?\b|орын\w*|петафлопс\w*|pflops",
        "area": r"га\b|гектар\w*|hectare\w*|ha\b|кв\.?\s*(?:м|км)\b|[мm]²|км²|km²|sq\.?\s*(?:m|km)\b|square\s+\w+|шаршы\s+\w+",
        "length": r"км\b|километр\w*|шақырым\w*|kilomet\w*|km\b|метр\w*|metre\w*|meter\w*",
        "share": r"%|процент\w*|пайыз\w*|percent\w*|per\s+cent\b",
    }.items()
}


def _unit_counted(asked: str) -> str:
    """The measure whose unit a count question counts ("сколько КИЛОМЕТРОВ", "how many HECTARES",
    "қанша ШАҚЫРЫМ"): its number is read in those units, in any language, not as a counted thing."""
    words = _WORD.findall(asked.casefold())
    while words and words[0] in _COUNT_WORDS:
        words = words[1:]
    if not words or not _COUNT_ASKED.match(asked.casefold().replace("ё", "е")):
        return ""
    return next((kind for kind, units in MEASURE_UNITS.items() if units.fullmatch(words[0])), "")


def _measure_asked(asked: str) -> str:
    folded = asked.casefold()
    return next((kind for kind, pattern in _MEASURES_ASKED.items() if pattern.search(folded)), "")


def _counted(asked: str, mentions, lang: str) -> tuple[tuple[str, ...], ...]:
    """The counted thing of a count question (``asked`` starts at its question word): up to
    :data:`COUNTED_WORDS` words after the question word, ending before a function word or a verb
    ("сколько КАМЕР ВИДЕОНАБЛЮДЕНИЯ установят", "сколько СЁЛ и посёлков", "how many YOUNG PEOPLE
    will", "қанша АУЫЛ ИНТЕРНЕТКЕ қосылады"), as words with their translations."""
    for mention in mentions:
        asked = asked.replace(mention.evidence, " ")
    words = _WORD.findall(asked.casefold().replace("ё", "е"))
    # The question word in any case too: "қаншаға қысқарды" (by how much), "нешеуі".
    while words and (words[0] in _COUNT_WORDS or words[0].startswith(("қанша", "неше"))):
        words.pop(0)
    thing: list[str] = []
    for index, word in enumerate(words[:COUNTED_WORDS]):
        # After the counted noun, a Kazakh past ("қанша қылмыс АШЫЛДЫ") is the verb; first, it may be
        # the noun's object form ("қанша АУЫЛДЫ қосады").
        verb = _VERB_ENDING.search(word) or (index and _KAZAKH_PAST.search(word))
        if word in STOPWORDS or (len(word) >= 5 and verb):
            break
        thing.append(word)
    if not thing or thing[0] in _NOT_COUNTED:
        return ()
    thing = [word for word in thing if word not in _NOT_COUNTED]  # "how many young PEOPLE": the young
    return _words_and_salient(" ".join(thing), (), lang)[0]


_COUNT_WORDS = frozenset(
    "сколько скольких скольким скольками на в до у для какое количество число қанша қаншасы неше how many "
    "what is was are were the number of".split()
)
# "Сколько времени" asks a duration ("17 секунд"), "сколько людей" is answered in many words
# ("30 тысяч жителей", "1 150 участников"), "сколько раз" by "вдвое": no word to look for.
_NOT_COUNTED = frozenset(
    "времени время уақыт уақыты time людей люди человек человека people persons адам адамдар кісі раз times рет есе".split()
)
# Verb forms that end the counted thing: Russian "установят / получат / появятся / пройдут", Kazakh
# "қосылады / беріледі / ашылған" (not "ауылды", an object).
_VERB_ENDING = re.compile(r"(?:[яуюаие]т|ся|сь|ть|ады|еді|йды|йді|ған|ген)$")
_KAZAKH_PAST = re.compile(r"(?:ды|ді|ты|ті)$")


def _words_and_salient(text: str, mentions, lang: str):
    """(words with their translations, whether each is portable across languages, salient terms)."""
    from assistant.glossary import glossary

    # The region is weighed on its own (region_match): its words are not content words too.
    for mention in mentions:
        text = text.replace(mention.evidence, " ")
    terms = glossary()
    words, portable = [], []
    for group in dict.fromkeys(tuple(group) for group in analyze_words(text, lang, query=True)):
        if set(group) <= _QUESTION_PHRASE_STEMS:
            continue
        translations = terms.translations(group)
        words.append(tuple(dict.fromkeys((*group, *sorted(translations)))))
        portable.append(bool(translations) or any(ch.isdigit() for stem in group for ch in stem))
    return tuple(words), tuple(portable), salient_terms(text)


# Words of question phrases that name no content ("how many", Kazakh "төрағалық етті" = "chaired"),
# and the forms of "who" / "whose" the stopword lists miss ("Кому поручено…?", "Кімді тағайындады?"):
# counted as content words, they are never found in the answer and push the asked-about words
# out of the question's focus.
_QUESTION_PHRASE_STEMS = frozenset(
    stem
    for group in analyze_words(
        "many much whose ет етті етеді етіп етілді кому чьим чьей чьего чьему чьих чьими кімді кіммен кімдер "
        "кімдерге кімнен кімде скольких скольким скольками қаншасы қаншасын қаншасына",
        query=True,
    )
    for stem in group
)


def asked_type(question: str) -> str:
    """The answer type of ``question``: the type whose question word comes first, else ``other``."""
    return _asked(question)[0]


def _asked(question: str) -> tuple[str, int]:
    """The answer type and where its question word starts (``other`` and 0 without one)."""
    folded = question.casefold().replace("ё", "е")  # same length: offsets hold in the question
    found = [(match.start(), kind) for kind, pattern in _ASKS.items() if (match := pattern.search(folded))]
    if not found:
        return OTHER, 0
    start, kind = min(found)
    return kind, start


def salient_terms(text: str) -> tuple[str, ...]:
    """Numbers, quoted titles, codes and names of ``text`` (see :func:`names_of`), as name keys."""
    terms = list(_DIGITS.findall(text))
    for quoted in _QUOTED.findall(text):
        terms.extend(_WORD.findall(quoted[1:-1]))
    terms += names_of(text)
    terms += re.findall(r"\b\d+[A-Za-zА-Яа-я]+\b|\b[A-Za-zА-Яа-я]+\d+\b", text)
    keys = (name_key(term) for term in terms)
    return tuple(dict.fromkeys(key for key in keys if key))


def quoted_titles(text: str) -> tuple[tuple[str, ...], ...]:
    """The titles ``text`` quotes, each as the name keys of its words: «Smart Aqtau» and
    "Smart Актау" give the same keys, «Цифровой порт» and "Digital Port" do not."""
    titles = (
        tuple(key for key in map(name_key, _WORD.findall(quoted[1:-1])) if key) for quoted in _QUOTED.findall(text)
    )
    return tuple(dict.fromkeys(title for title in titles if title))


# Latin-script words in a row, the first capitalised ("Digital Akimat", "Smart Burabay").
_LATIN_RUN = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?:\s+[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)*\b")


def latin_titles(question: str, lang: str) -> tuple[tuple[str, ...], ...]:
    """The names a Russian or Kazakh question writes in Latin script without quotes ("когда
    заработает платформа Digital Akimat"), as :func:`quoted_titles` gives them; not the common
    abbreviations (IT, AI, Wi-Fi) nor codes with digits (5G)."""
    if lang not in ("ru", "kk"):
        return ()
    titles = []
    for run in _LATIN_RUN.findall(question):
        words = [word for word in _WORD.findall(run) if word.casefold() not in _LATIN_COMMON]
        if any(len(word) > 2 and not any(char.isdigit() for char in word) for word in words):
            titles.append(tuple(key for key in map(name_key, words) if key))
    return tuple(dict.fromkeys(title for title in titles if title))


def names_another_title(profile: QuestionProfile, sentence: str) -> bool:
    """Whether ``sentence`` quotes a title and none of those the question names: it is about
    another project («Ветеринария онлайн» for "платформа Digital Akimat"). The Address's own title
    is no project."""
    quoted = quoted_titles(_ADDRESS_NAME.sub(" ", sentence))
    return bool(quoted) and not any(names_title(sentence, title) for title in profile.titles)


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_ADDRESS_DATE_REACH = 40  # characters: "2025 жылғы 8 қыркүйектегі Жолдауы", "Address of 8 September 2025"


def _blank_near_address(text: str, pattern: re.Pattern[str]) -> str:
    """``text`` with what ``pattern`` finds near a mention of the Address (its date: "2025 жылғы 8
    қыркүйектегі Жолдауы", "the Address of 8 September 2025") blanked out, offsets kept."""
    for mention in _ADDRESS_ASKED.finditer(text):
        start, end = max(0, mention.start() - _ADDRESS_DATE_REACH), mention.end() + _ADDRESS_DATE_REACH
        text = text[:start] + pattern.sub(lambda found: " " * len(found.group()), text[start:end]) + text[end:]
    return text


# The year a text is dated, written as "this year": "биыл", "в этом году", "до конца года", "жыл соңына
# дейін" (not "2026 жылдың соңына", whose year is written).
_THIS_YEAR = re.compile(
    r"\bбиыл\w*|\bағымдағы\s+жыл\w*|(?<!\d\s)\bжыл\s+соңы\w*|\b(?:в\s+)?(?:этом|текущем)\s+году"
    r"|\b(?:этого|текущего)\s+года|\bконц[ае]\s+(?:этого\s+|текущего\s+)?года\b|\bthis\s+year\b|\bend\s+of\s+the\s+year\b",
    re.IGNORECASE,
)


def other_year(profile: QuestionProfile, sentence: str, dated: str = "") -> bool:
    """Whether ``sentence`` states years and none the question names: "How many villages were
    connected IN 2025?" is not answered by "до конца 2026 года подключат 73 села". Only for a
    question that does not ask a date (there the year may be the answer) nor name the Address
    (whose year is not the fact's). ``dated``: the date of the sentence's document (``YYYY-MM-DD``),
    whose year "биыл", "в этом году" state ("биыл 350 маман оқудан өтті" is not 2026's)."""
    asked = set(_YEAR.findall(profile.text))
    if not asked or profile.answer_type in (DATE, TIME) or names_the_address(profile.text):
        return False
    # "Мемлекет басшысының 2025 жылғы 8 қыркүйектегі Жолдауы", "the Address of 8 September 2025":
    # the Address's date is not the fact's.
    stated = set(_YEAR.findall(_blank_near_address(sentence, _YEAR)))
    if _YEAR.match(dated) and _THIS_YEAR.search(sentence):
        stated.add(dated[:4])
    return bool(stated) and not asked & stated


# Who heads a body, in a sentence: "Директор ТОО … Руслан Ибраев", "Компанию возглавляет …",
# "орталықтың басшысы", "Аким Темиртау …"; not "Главный инженер ТОО …" ("главн" is chief, not head).
_HEADING = re.compile(
    r"\b(?:руковод\w*|возглав\w*|директор\w*|глав[аеуы]\b|начальник\w*|председател\w*|аким\w*|ректор\w*"
    r"|басшы\w*|басқарады|басқарған|басқаратын|жетекші\w*|төраға\w*|әкім\w*"
    r"|head(?:s|ed)?\b|chief\s+executive|director\w*|leader\w*|led\b|leads\b|chair\w*|akim\w*|mayor|ceo\b)"
)


def states_heading(sentence: str) -> bool:
    """Whether ``sentence`` says someone heads something (see ``QuestionProfile.leader``): "Who is
    the director of Karaganda Smart Systems?" is not answered by its chief engineer's sentence."""
    return bool(_HEADING.search(sentence.casefold()))


# A dateline: a place and a date alone ("Актау, 22 сентября 2025 года.", "Астана, 12 қыркүйек").
_DATELINE = re.compile(
    rf"^\s*[^\W\d_][\w-]*(?:\s+[^\W\d_][\w-]*)?\s*[,.—–-]\s*\d{{1,2}}\s+(?:{_MONTHS})"
    r"(?:\s+\d{4}(?:\s+(?:года|г\.|жыл\w*))?)?\s*\.?\s*$",
    re.IGNORECASE,
)


def is_dateline(sentence: str) -> bool:
    """Whether ``sentence`` is a press release's dateline: it tells when and where, nothing else."""
    return bool(_DATELINE.match(sentence))


def names_person(sentence: str) -> bool:
    """Whether ``sentence`` names a person (a name, not a body or a role alone)."""
    return bool(_typed_spans(sentence, PERSON)[0])


def _asks_firm(answer_type: str, folded: str) -> bool:
    """Whether a question (case-folded, of ``answer_type``) asks which firm: see ``QuestionProfile.firm``."""
    if answer_type == NAME and (_FIRM_ASKED.search(folded) or _FIRM_QUERIED.search(folded)):
        return True
    return answer_type in (NAME, PERSON, OTHER) and bool(_FIRM_ROLE_ASKED.search(folded))


def gives_instruction(sentence: str) -> bool:
    """Whether ``sentence`` gives an instruction (see ``QuestionProfile.instruction``), in any language."""
    return bool(_INSTRUCTION.search(sentence.casefold()))


def gives_reason(sentence: str) -> bool:
    """Whether ``sentence`` gives a reason or a purpose (see ``QuestionProfile.reason``), in any language."""
    return bool(_REASON.search(sentence.casefold()))


def names_firm(sentence: str, lang: str = "", question: str = "") -> bool:
    """Whether ``sentence`` (of a text in ``lang``, detected when omitted) names a firm (see
    ``QuestionProfile.firm``): "работы ведёт ТОО «Север Телеком»", not "в рамках проекта «Smart
    Petropavl»" nor "mobile operators plan". A Latin-script word the ``question`` itself writes
    ("Smart Qaragandy интеграторы кім", "who supplied the cameras for Taraz Smart City") is the
    project it asks about, not the firm it asks for."""
    if _FIRM_FORM.search(sentence) or _FIRM_WORD.search(sentence.casefold()) or _FIRM_KIND_NAMED.search(sentence):
        return True
    if (lang or detect_language(sentence)) not in NAMES_READABLE_IN:
        return False
    own = {name_key(word) for word in _WORD.findall(question)}
    unquoted = _QUOTED.sub(" ", sentence)
    return any(
        m.group().casefold() not in _LATIN_COMMON and name_key(m.group()) not in own
        for m in _LATIN_IN_CYRILLIC.finditer(unquoted)
    )


def asks_money(question: str) -> bool:
    """Whether ``question`` (from its question word on) asks an amount of money, not a share of one."""
    folded = question.casefold().replace("ё", "е")
    return bool(_MONEY_ASKED.search(folded)) and not _SHARE_ASKED.search(folded)


def states_money(sentence: str) -> bool:
    """Whether ``sentence`` states an amount of money: a currency, its sign, "млрд / million" or
    the monthly calculation index (МРП / АЕК) in which fines and benefits are set."""
    return bool(_MONEY.search(sentence.casefold().replace("ё", "е")))


def names_title(text: str, title: Sequence[str]) -> bool:
    """Whether ``text`` holds every word of ``title`` (name keys, as :func:`quoted_titles` gives them)."""
    keys = {name_key(word) for word in _WORD.findall(text)}
    return all(key in keys for key in title)


def offers(
    sentence: str,
    answer_type: str,
    near: Sequence[str] = (),
    own: Collection[str] = (),
    *,
    counting: bool = False,
    measure: str = "",
) -> float:
    """How well ``sentence`` holds an answer of ``answer_type``, from 0 to 1.

    1 when the fact sits within a few words of one of ``near`` (the question's words found in the
    sentence, as stems): "до 1 марта" after "представить", "84 сел" before "подключат"; 0.5 when
    it is elsewhere in the sentence (an opening pronoun counts as an asked word). For a person or a
    place, any name in a sentence that holds an asked word counts as next to it ("Талдықорғанда …
    кеңес өтті"), and a body ("управление цифровизации") counts half as much as a person's name.
    A name or a number made only of ``own`` (the question's words, as :func:`name_key` gives them)
    is what the question says, not its answer: «Kentau Digital» for "Which company funded Kentau
    Digital?". ``counting``: the question counts things, which an amount of money does not;
    ``measure``: it asks a measure (:data:`MEASURE_UNITS`), which a number in other units does not.
    """
    if answer_type == OTHER:
        return 0.0
    primary, secondary = _typed_spans(sentence, answer_type)
    if answer_type == PERSON:
        # A firm by its legal form did the work as surely as a person ("Жобаны «Caspian Smart
        # Systems» ЖШС жүзеге асырды" for "кім жүзеге асырды"), though it is no one's name.
        primary = primary + [m.span() for m in _FIRM_NAMED.finditer(sentence)]
    if own and answer_type in (NAME, NUMBER, PERSON):
        primary = [span for span in primary if not _only_own(sentence[span[0] : span[1]], own)]
    if counting:  # "How many tourists?" is not answered by "2,4 млрд теңге"
        primary = [span for span in primary if not _MONEY_AFTER.match(sentence, span[1])]
    if measure:  # "Какая скорость?" is answered by "100 Мбит/с", not by "74 школы"
        folded, units = sentence.casefold(), MEASURE_UNITS[measure]
        primary = [span for span in primary if units.match(folded, span[1])]
    positions = _word_positions(sentence, near) if near else []
    if near and refers_back(sentence):
        # "Его провёл аким области …", "Срок: до 1 октября": the pronoun or the field label
        # stands for the asked words of the sentence before (:func:`sentence_stems` lends them),
        # so the fact is next to them.
        positions.append(0)
    # A name follows its title and its clause ("Координация всей работы возложена на заместителя
    # акима области Руслана …", eight words apart), a meeting's place opens the sentence that ends
    # with the meeting, and a verb of saying closes the words said: for a person, a place or
    # someone's words the whole sentence is near.
    reach = len(sentence) if answer_type in (PERSON, PLACE, SAID) else _NEAR
    return max(_closeness(sentence, primary, positions, reach), 0.5 * _closeness(sentence, secondary, positions, reach))


def _only_own(text: str, own: Collection[str]) -> bool:
    keys = {key for key in map(name_key, _WORD.findall(text)) if key}
    return bool(keys) and keys.issubset(own)


def _closeness(sentence: str, spans: list[tuple[int, int]], positions: list[int], reach: int = _NEAR) -> float:
    if not spans:
        return 0.0
    for start, end in spans:
        first, last = _word_index(sentence, start), _word_index(sentence, max(start, end - 1))
        if any(first - reach <= position <= last + reach for position in positions):
            return 1.0
    return 0.5


def _typed_spans(sentence: str, answer_type: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Character spans of the things of ``answer_type`` in ``sentence``: (answers, weaker answers)."""
    folded = sentence.casefold().replace("ё", "е")
    if answer_type == PERSON:
        # A quoted title is no one's name: «Smart Aqtau», "Digital Almaty".
        titles = [m.span() for m in _QUOTED.finditer(sentence)]
        names = [
            m.span()
            for m in _PERSON_NAME.finditer(sentence)
            if not _all_not_people(m.group()) and not _inside(m.start(), titles)
        ]
        # Bodies and roles answer "who took part" / "who is responsible" too, but less surely than a name;
        # not the author of the Address or the body whose meeting it was (an opening sentence's).
        unmasked = _NOT_AN_ANSWERING_ROLE.sub(lambda m: " " * len(m.group()), folded)
        return names, [m.span() for pattern in (_BODIES, _ROLES) for m in pattern.finditer(unmasked)]
    if answer_type == NUMBER:
        dates = [m.span() for m in _DATES.finditer(folded)]
        # The item number of a numbered plan ("7. Запуск ситуационного центра") counts nothing.
        item = _LIST_ITEM.match(folded)
        numbers = [
            m.span()
            for m in _DIGITS.finditer(folded)
            if not _inside(m.start(), dates) and not (item and m.start() < item.end())
        ]
        return numbers + [m.span() for m in _NUMBER_WORDS.finditer(folded)], []
    if answer_type == DATE:
        return [m.span() for m in _DATES.finditer(folded)], [m.span() for m in _FREQUENCIES.finditer(folded)]
    if answer_type == TIME:
        return [m.span() for m in _TIMES.finditer(folded)], []
    if answer_type == NAME:
        spans = [m.span() for m in _QUOTED.finditer(sentence)]
        if detect_language(sentence) in ("ru", "kk"):
            spans += [m.span() for m in _LATIN_IN_CYRILLIC.finditer(sentence) if m.group().casefold() not in _LATIN_COMMON]
        return spans, []
    if answer_type == SAID:
        # A long quotation, not the Address's title; direct speech that opens the sentence and goes on.
        titles = [m.span() for m in _ADDRESS_NAME.finditer(sentence)]
        quotes = [
            m.span()
            for m in _QUOTED.finditer(sentence)
            if len(m.group()) > 30 and not _inside(m.start(), titles)
        ]
        opening = re.match(r"\s*[«\"“]", sentence)
        return quotes + [(0, len(sentence))] * bool(opening) + [m.span() for m in _SPEECH.finditer(folded)], []
    if answer_type == PLACE:
        # A place inside a quoted title names the thing, not where it is: «AI Astana Challenge».
        titles = [m.span() for m in _QUOTED.finditer(sentence)]
        places = [
            (m.first, m.first + len(m.evidence))
            for m in find_regions(sentence)
            if not _inside(m.first, titles)
        ]
        return places + [m.span() for m in _PLACE_WORDS.finditer(sentence) if not _opens_with_common_word(sentence, m)], []
    return [], []


def _opens_with_common_word(sentence: str, match: re.Match) -> bool:
    """Whether ``match`` starts the sentence with a word capitalised only for being first and known
    to the glossary ("Кеңесте аудан әкімдері", "Акимы районов"), not a name ("Сайхын ауылы")."""
    from assistant.glossary import glossary

    if sentence[: match.start()].strip(" «\"'(—-") or re.match(rf"(?i:{_PLACE_WORD})\s", match.group()):
        return False  # not first, or the name comes after the place word ("Село Акжар")
    first = _WORD.match(match.group())
    groups = analyze_words(first.group(), query=True) if first else []
    return any(glossary().translations(group) for group in groups)


def _inside(position: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= position < end for start, end in spans)


def _all_not_people(pair: str) -> bool:
    return any(word.casefold() in _NOT_PEOPLE for word in re.findall(r"[^\W\d_]+", pair))


def _word_index(text: str, offset: int) -> int:
    """How many words precede ``offset``; a quoted title counts as one word (it names one thing)."""
    before = _QUOTED.sub(" title ", text[:offset])
    return len(_WORD.findall(before))


def _word_positions(sentence: str, stems: Sequence[str]) -> list[int]:
    """Word positions in ``sentence`` of words whose stems are among ``stems``."""
    wanted = set(stems)
    positions = []
    for match in _WORD.finditer(sentence):
        groups = analyze_words(match.group(), query=True)
        if any(stem in wanted for group in groups for stem in group):
            positions.append(_word_index(sentence, match.start()))
    return positions


# ---------------------------------------------------------------------------------------------
# Names across scripts
# ---------------------------------------------------------------------------------------------

_TO_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
        "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
        "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "ь": "",
        "э": "e", "ю": "iu", "я": "ia", "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u",
        "һ": "kh", "і": "i",
    }
)  # fmt: skip
_NAME_KEY = 5
_LATIN_FOLD = (("ye", "e"), ("yu", "iu"), ("ya", "ia"), ("y", "i"), ("h", ""), ("q", "k"), ("w", "v"), ("x", "ks"), ("j", "zh"))


def name_key(word: str) -> str:
    """A spelling-independent key of a name or number: "Шахаров", "Shakharov" and "Шахарова" share a prefix.

    Letters are transliterated to Latin, then the usual variants (ye/e as in "Yermakhanov", y/i,
    h, q/k, j/zh) are folded and the key is cut to five letters, which also drops most case
    endings ("Астана", "Астаны", "Astana"). Digits stay as they are.
    """
    folded = word.casefold().translate(_TO_LATIN)
    if any(ch.isdigit() for ch in folded):
        return re.sub(r"[^\w]", "", folded).replace(",", ".")
    for old, new in _LATIN_FOLD:
        folded = folded.replace(old, new)
    letters = re.sub(r"[^a-z]", "", folded)
    return letters[:_NAME_KEY] if len(letters) >= 3 else ""


_MONTH_NUMBERS = (
    ("январ", "қаңтар", "january"), ("феврал", "ақпан", "february"), ("март", "наурыз", "march"),
    ("апрел", "сәуір", "april"), ("ма[йяе]", "мамыр", "may"), ("июн", "маусым", "june"), ("июл", "шілде", "july"),
    ("август", "тамыз", "august"), ("сентябр", "қыркүйек", "september"), ("октябр", "қазан", "october"),
    ("ноябр", "қараша", "november"), ("декабр", "желтоқсан", "december"),
)  # fmt: skip
_MONTH = re.compile(
    "|".join(rf"(?P<m{number}>\b(?:{'|'.join(names)})\w*)" for number, names in enumerate(_MONTH_NUMBERS, 1)),
    re.IGNORECASE,
)


def months_of(text: str) -> list[tuple[int, str]]:
    """The months ``text`` names, in Russian, Kazakh or English: (1..12, the word as written).

    "May" counts only in English sentences' capitalised form or next to a number ("1 мая", "мамыр").
    """
    return [(number, match.group()) for number, match in _month_matches(text)]


def _month_matches(text: str) -> Iterator[tuple[int, re.Match[str]]]:
    """:func:`months_of`, with where each month is written."""
    for match in _MONTH.finditer(text):
        number = int(match.lastgroup[1:])
        word = match.group()
        if number == 5 and word.casefold() == "may" and not word[0].isupper():
            continue  # the English modal verb
        if number == 10 and word.casefold().startswith("қазан") and not re.search(r"\d\s*$", text[: match.start()]):
            continue  # "қазан" is also a cauldron: a month only after a day number
        yield number, match


# Capitalised words that are not names: sentence openers and the domain's titles.
_COMMON_CAPITALISED = frozenset(
    """
    the a an in on at by for of to and or with from this that these those it its they their there he she his her
    we our as is are was were will be been has have had not also after before under during however meanwhile
    akim akimat president address government region district city republic kazakhstan head deputy minister
    ministry department office council chamber state national digital programme program project plan mr mrs ms
    """.split()
)


def names_of(sentence: str, lang: str = "") -> list[str]:
    """The names a sentence states: capitalised words after its first that are not common words
    (the domain's titles, months, words of :mod:`assistant.glossary`)."""
    from assistant.glossary import glossary

    words = list(re.finditer(r"[^\W\d_][\w-]*", sentence.strip()))
    common = glossary()
    names = []
    for match in words[1:]:
        word = match.group()
        if not word[0].isupper() or len(word) < 3 or word.isupper() and len(word) <= 3:
            continue
        folded = word.casefold()
        if folded in _COMMON_CAPITALISED or folded in _NOT_PEOPLE or months_of(word) or common.is_common(word):
            continue
        names.append(word)
    return names


def _name_keys_of(text: str) -> set[str]:
    return {name_key(word) for word in re.findall(r"\w+", text)} | _numbers_in(text)


def _numbers_in(text: str) -> set[str]:
    """The numbers ``text`` writes, with a decimal point, both as written and with the spaces of
    thousands closed up ("1 240" gives "1", "240" and "1240")."""
    spaced = _DIGITS.findall(text.replace("\u00a0", "").replace(" ", "")) + _DIGITS.findall(text)
    return {number.replace(",", ".") for number in spaced}


# ---------------------------------------------------------------------------------------------
# The feature rows
# ---------------------------------------------------------------------------------------------


_BLANK = re.compile(r"_{3,}|\.{6,}|…{3,}")


def quotable_sentences(passages: Sequence) -> list[Candidate]:
    """Every sentence of ``passages`` that can stand as a quote (not a heading, a list stub or a
    form's blank line)."""
    found = []
    for index, passage in enumerate(passages):
        for start, end in split_sentences(passage.text, passage.lang):
            sentence = passage.text[start:end]
            words = len(_WORD.findall(sentence))
            # A line without closing punctuation and few words is a heading, not a statement.
            statement = sentence.rstrip()[-1:] in ".!?…»\"')" or words >= 8
            # A form's line to fill in ("общей суммой _______ тенге") states nothing.
            if len(sentence) >= MIN_QUOTE_CHARS and words >= 4 and statement and not _BLANK.search(sentence):
                found.append(Candidate(index, start, end, sentence))
    return found


def sentence_vectors(searcher, passages: Sequence, candidates: Sequence[Candidate]) -> np.ndarray:
    """Unit vectors of the candidate sentences: stored by the build when it embedded them, else embedded now.

    Args:
        searcher: the :class:`assistant.retrieval.Searcher` the passages come from.
        passages: the passages the candidates point into.
        candidates: their sentences (:func:`quotable_sentences`).
    """
    stored = {index: searcher.sentence_vectors(passages[index].chunk_id) for index in {c.passage for c in candidates}}
    found = [stored[c.passage].get((c.start, c.end)) for c in candidates]
    missing = [number for number, vector in enumerate(found) if vector is None]
    if missing:
        fresh = searcher.embedder.embed_passages([candidates[number].text for number in missing])
        for number, vector in zip(missing, fresh):
            found[number] = vector
    return np.stack(found).astype(np.float32)


def sentence_features(
    profile: QuestionProfile,
    passages: Sequence,
    candidates: Sequence[Candidate],
    sentence_cosines: np.ndarray,
    candidate_stems: Sequence[set[str]] | None = None,
) -> np.ndarray:
    """One row of :data:`FEATURES` per candidate sentence (float32, ``len(candidates) × len(FEATURES)``).

    Args:
        profile: the question (:func:`profile_question`).
        passages: the retrieved passages (:class:`assistant.retrieval.Passage`), whose ``similarity``
            is the question's cosine with the passage.
        candidates: their quotable sentences.
        sentence_cosines: the question's cosine with each candidate.
        candidate_stems: :func:`sentence_stems` of the candidates, when the caller has them already.
    """
    rows = np.zeros((len(candidates), len(FEATURES)), dtype=np.float32)
    if not candidates:
        return rows
    best_sentence = float(np.max(sentence_cosines))
    best_passage = max(float(p.similarity) for p in passages)
    per_passage = {}
    for index in {c.passage for c in candidates}:
        passage = passages[index]
        text = f"{passage.title}\n{passage.section}\n{passage.text}"
        stems = {stem for group in analyze_words(text, passage.lang, query=True) for stem in group}
        words = _matchable(profile, passage.lang)
        focus = [group for group in profile.focus if group in words]
        coverable = len(words) / len(profile.words) if profile.words else 0.0
        per_passage[index] = (
            words,
            focus,
            coverable,
            _share(words, stems) * coverable,
            1.0 - len(words) / len(profile.words) if profile.words else 0.0,
            _missing_share(profile.salient, _name_keys_of(text)),
            *_region_relation(profile.regions, passage, text),
            float(bool(passage.lang) and passage.lang != profile.lang),
        )
    asked = profile.answer_type != OTHER
    short = float(len(profile.words) <= 3)
    if candidate_stems is None:
        candidate_stems = list(sentence_stems(passages, candidates, address=names_the_address(profile.text)))
    offered_all = _type_offered(profile, passages, candidates, candidate_stems) if asked else np.zeros(len(candidates))
    for row, (candidate, cosine, held, offered) in enumerate(
        zip(candidates, sentence_cosines, candidate_stems, offered_all)
    ):
        passage = passages[candidate.passage]
        words, focus, coverable, words_in_passage, unmatched, salient_missing, match, mismatch, cross = per_passage[
            candidate.passage
        ]
        focus_share = _share(focus, held)
        rows[row] = (
            cosine,
            passage.similarity,
            cosine - best_sentence,
            passage.similarity - best_passage,
            _share(words, held) * coverable,
            words_in_passage,
            unmatched,
            focus_share,
            salient_missing,
            float(asked),
            offered,
            focus_share * offered,
            match,
            mismatch,
            cross,
            cross * cosine,
            short,
        )
    return rows


def _type_offered(
    profile: QuestionProfile, passages: Sequence, candidates: Sequence[Candidate], candidate_stems: Sequence[set[str]]
) -> np.ndarray:
    """Each candidate's :func:`offers` for the question's answer type, next to the words it asks."""
    all_stems = {stem for group in profile.words for stem in group}
    question_buckets = _buckets(all_stems)
    verb = _asked_verb(profile, passages, candidates, candidate_stems)
    counted_stems = {stem for group in profile.counted for stem in group}
    counted_buckets = _buckets(counted_stems)
    own = frozenset(key for key in map(name_key, _WORD.findall(profile.text)) if key)
    offered = np.zeros(len(candidates), dtype=np.float32)
    for row, (candidate, held) in enumerate(zip(candidates, candidate_stems)):
        found_stems = sorted(stem for stem in held if _found((stem,), all_stems, question_buckets))
        if counted_stems:
            # A count is answered next to the counted thing ("84 села"), not next to any asked word
            # ("sensors will be INSTALLED at 150 points" for "how many water meters will be installed").
            found_stems = [stem for stem in found_stems if _found((stem,), counted_stems, counted_buckets)]
        offered[row] = offers(
            candidate.text, profile.answer_type, found_stems, own, counting=bool(profile.counted), measure=profile.measure
        )
        lang = passages[candidate.passage].lang
        if profile.firm and names_firm(candidate.text, lang, profile.text):
            # "Кто поставил датчики?" is answered by the firm ("Датчики поставило ТОО «Каспий
            # Мониторинг»"), which is neither a person's name nor a body of the akimat.
            offered[row] = 1.0
        if verb and lang in verb and _share(verb[lang], held) == 0:
            # "Who CHAIRED …?", "Кто КООРДИНИРУЕТ …?": where the documents use the question's verb,
            # the name answers next to it; a sentence naming someone who presented or reported
            # something else answers it half.
            offered[row] *= 0.5
    return offered


def _asked_verb(
    profile: QuestionProfile, passages: Sequence, candidates: Sequence[Candidate], candidate_stems: Sequence[set[str]]
) -> dict[str, tuple[tuple[str, ...]]]:
    """The verb of a person question ("кто ПРОВЁЛ", "who COORDINATES") as the word to look for, by
    the language of the text, when some candidate holds it: in its own language its own forms (the
    glossary's "возглавил" = "руководитель" would find any head of department), in the others its
    translations. Empty for Kazakh questions, which ask with a light verb after "кім" ("кімге
    жүктелді?") and name the act before it."""
    if profile.answer_type != PERSON or not profile.focus or profile.lang == "kk":
        return {}
    own = {stem for group in analyze_words(profile.text, profile.lang, query=True) for stem in group}
    first = profile.focus[0]
    mine = [stem for stem in first if stem in own]
    # Its other forms from the glossary ("координирует" → "координация"), not its synonyms.
    same = tuple(stem for stem in first if any(stem[:_PREFIX] == word[:_PREFIX] for word in mine)) or first
    verb = {passage.lang: ((same if passage.lang == profile.lang else first),) for passage in passages}
    if any(_share(verb[passages[c.passage].lang], held) for c, held in zip(candidates, candidate_stems)):
        return verb
    return {}


# The words of "who heads": what is headed is the rest of the question ("управлением цифровизации").
_HEADING_STEMS = frozenset(
    "руковод руководит руководител возглав возглавля head chief director директор leader бас басш басқара "
    "жетек глав начальник".split()
)


def names_headed(profile: QuestionProfile, candidates: Sequence[Candidate], stems: Sequence[set[str]]) -> np.ndarray:
    """For a question asking who heads something (``QuestionProfile.leader``), which ``candidates``
    (with their ``stems``) name what is headed: at least half of the question's other words, across
    languages by the glossary ("Who heads the digitalization department?" → "руководитель
    управления цифровизации"), or one of its names across scripts ("Kazakhtelecom" → «Казахтелеком»).
    Not "Білім басқармасының басшысы" for "who heads the Caspian IT Academy". Every candidate when
    the question names nothing but the heading."""
    headed = [group for group in profile.words if not _HEADING_STEMS.intersection(group)]
    if not profile.leader or not headed:
        return np.ones(len(candidates), dtype=bool)
    names = set(profile.salient)
    return np.array(
        [_share(headed, own) >= 0.5 or bool(names & _name_keys_of(c.text)) for c, own in zip(candidates, stems)],
        dtype=bool,
    )


def holds_counted(
    profile: QuestionProfile, passages: Sequence, candidates: Sequence[Candidate], stems: Sequence[set[str]]
) -> np.ndarray:
    """Which ``candidates`` may answer a count (``QuestionProfile.counted``): those holding one of
    the counted words ("сколько камер" → "1 530 камер"). Only where the check can read them: in a
    sentence of the question's language, and in any language for a code ("5G"). Across languages
    the glossary's translations are too loose for a rule that refuses ("young people" → "жители",
    Kazakh "жұмыс" → "безработица" by its stem): there, nothing is ruled out. Every candidate when
    nothing is counted. ``stems``: :func:`sentence_stems` of the candidates."""
    keep = np.ones(len(candidates), dtype=bool)
    if not profile.counted:
        return keep
    codes = [group for group in profile.counted if any(char.isdigit() for char in group[0])]
    for row, (candidate, own) in enumerate(zip(candidates, stems)):
        checkable = profile.counted if passages[candidate.passage].lang == profile.lang else codes
        keep[row] = not checkable or _share(checkable, own) > 0
    return keep


def sentence_stems(
    passages: Sequence, candidates: Sequence[Candidate], *, address: bool = True
) -> Iterator[set[str]]:
    """Each candidate's stems, with the sentence before when it refers back to it
    (:func:`refers_back`: "Её запуск намечен на март", "Срок: до 1 марта": the subject is in the
    sentence before) or only adds who did it ("Датчики поставило ТОО «Каспий Мониторинг»").
    Without ``address`` (a question that does not name the Address or its author, see
    :func:`names_the_address`), not the words of the Address's name and title, which opening
    sentences restate ("… Послания Главы государства «Казахстан в эпоху искусственного
    интеллекта: … цифровую трансформацию»"): they match "head", "AI" and "digital" in any question."""
    previous: set[str] = set()
    for row, candidate in enumerate(candidates):
        text = candidate.text if address else _ADDRESS_NAME.sub(" ", candidate.text)
        lang = passages[candidate.passage].lang
        own = {stem for group in analyze_words(text, lang, query=True) for stem in group}
        follows = (
            row
            and candidates[row - 1].passage == candidate.passage
            and (refers_back(candidate.text) or _firm_afterword(candidate.text, lang))
        )
        yield own | previous if follows else own
        previous = own


_AFTERWORD_WORDS = 8


def _firm_afterword(sentence: str, lang: str) -> bool:
    """A short sentence naming who did the work the sentence before describes: "Датчики поставило
    ТОО «Каспий Мониторинг»", "Жұмыстарды «Абай Телеком» ЖШС жүргізуде" (what was supplied, where
    and for what is said before)."""
    return len(_WORD.findall(sentence)) <= _AFTERWORD_WORDS and names_firm(sentence, lang)


# The Address's author, its name and quoted title, as documents write them.
_ADDRESS_AUTHOR = r"\bглав\w*\s+государства\b|\bмемлекет\s+басшы\w*|\bпрезидент\w*|\bhead\s+of\s+(?:the\s+)?state\b"
_ADDRESS_NAME = re.compile(
    r"\b(?:послани\w*|жолдау\w*|address|message)[^«\"“.]{0,60}?[«\"“][^»\"”]{8,300}[»\"”]"
    rf"|[«\"“][^»\"”]{{8,300}}[»\"”](?:\s+атты)?\s+жолдау\w*|{_ADDRESS_AUTHOR}",
    re.IGNORECASE,
)
_ADDRESS_ASKED = re.compile(rf"\b(?:послани\w*|жолдау\w*|address\w*|message|president\w*)|{_ADDRESS_AUTHOR}", re.IGNORECASE)


def names_the_address(question: str) -> bool:
    """Whether ``question`` names the Address or its author ("по Посланию", "Жолдауды", "the
    Address", "Глава государства", "the President")."""
    return bool(_ADDRESS_ASKED.search(question))


_PRONOUNS = frozenset(
    """
    он она оно они его её ее их ему ей им это этот эта эти там здесь данный данная данное данные
    него неё нее нему ней нём нем них ним ними этого этому этим этой этом эту
    ол оның олар оған оны бұл осы онда мұнда сол бұған бұны бұның бұдан бұнда осыған осының осыдан
    осында осыны соған соның содан сонда соны онымен бұнымен осымен
    it its this these they their he she his her there
    """.split()
)


_PREPOSITIONS = frozenset("на в во для по с со к от из при за о об про под над до через for in on of by to from with at".split())

# The fields of an item in a plan written as a list ("5. Установка 48 базовых станций 5G.
# Срок: до 1 октября 2026 года. Ответственный: управление цифровизации."): each belongs to the
# item before it.
_FIELD_LABEL = re.compile(
    r"\W*(?:срок\w*(?:\s+исполнения)?|ответственн\w*|исполнител\w*|стоимость|(?:объ[её]м\s+|источник\w*\s+)?финансировани\w*"
    r"|бюджет|сумма|мерзім\w*|жауапты\w*|орындаушы\w*|құны|қаржыландыру\w*"
    r"|deadline|due(?:\s+date)?|timeline|responsible|lead|owner|cost|budget|funding)\s*:",
    re.IGNORECASE,
)


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` is about the thing of the sentence before: it opens with a pronoun
    ("Его провёл…", "Its launch…") or with a field label of a plan's item ("Срок:", "Жауапты:")."""
    first = re.match(r"\W*(\w+)(?:\s+(\w+))?", sentence)
    if first and first.group(1).casefold() in _PRONOUNS:
        return True
    # "На его создание выделено…", "В нём участвовали…", "For its launch…": a preposition first.
    if first and first.group(2) and first.group(1).casefold() in _PREPOSITIONS and first.group(2).casefold() in _PRONOUNS:
        return True
    return bool(_FIELD_LABEL.match(sentence))


def _matchable(profile: QuestionProfile, lang: str) -> list[tuple[str, ...]]:
    """The question's words that a text in ``lang`` can contain: all of them in the question's own
    language; across languages those with translations, numbers and codes, and between Russian
    and Kazakh also the words they share (no Kazakh-only letter: "интернет", "цифровизация")."""
    if not lang or lang == profile.lang or not profile.portable:
        return list(profile.words)
    cyrillic = {profile.lang, lang} <= {"ru", "kk"}
    return [
        group
        for group, portable in zip(profile.words, profile.portable)
        if portable or (cyrillic and not _KAZAKH_ONLY.intersection(group[0]))
    ]


_KAZAKH_ONLY = frozenset("әғқңөұүһі")


def _share(words: Sequence[tuple[str, ...]], stems: set[str]) -> float:
    """Share of ``words`` found among ``stems`` (see :func:`_found`)."""
    if not words:
        return 0.0
    buckets = _buckets(stems)
    return sum(1 for group in words if _found(group, stems, buckets)) / len(words)


_PREFIX = 5  # stems of one word in two forms share this much: председательств(овал) / председательств(ом)


def _buckets(stems: set[str]) -> dict[str, list[str]]:
    buckets: dict[str, list[str]] = {}
    for stem in stems:
        if len(stem) >= _PREFIX:
            buckets.setdefault(stem[:_PREFIX], []).append(stem)
    return buckets


def _found(group: Sequence[str], stems: set[str], buckets: dict[str, list[str]]) -> bool:
    """Whether a word (its alternative stems) occurs among ``stems``: the same stem, or one of at
    least five letters that agrees with it (:func:`_same_word`: Snowball stems "председательствовал"
    and "председательством" differently)."""
    for stem in group:
        if " " in stem:  # a phrase: all its words ("рабоч|рабоч мест|мест" of "рабочие места")
            if all(_found(word.split("|"), stems, buckets) for word in stem.split(" ")):
                return True
            continue
        if stem in stems:
            return True
        if len(stem) >= _PREFIX and any(_same_word(stem, other) for other in buckets.get(stem[:_PREFIX], ())):
            return True
    return False


def _same_word(first: str, second: str) -> bool:
    """Two stems of at least five letters that differ only after the shorter one's last letter but one:
    "председательств"/"председательствова", and across Russian and Kazakh "оптическ"/"оптика"."""
    shorter = min(len(first), len(second))
    common = 0
    while common < shorter and first[common] == second[common]:
        common += 1
    return common >= max(_PREFIX, shorter - 1)


def _missing_share(salient: Sequence[str], keys: set[str]) -> float:
    if not salient:
        return 0.0
    return sum(1 for term in salient if term not in keys) / len(salient)


def _region_relation(regions: Sequence[str], passage, text: str) -> tuple[float, float]:
    """(match, mismatch) of the question's regions with the passage's document.

    The document's declared region decides; a national document or one of unknown region
    matches when its passage names the region, and never mismatches.
    """
    if not regions:
        return 0.0, 0.0
    own = canonical_region(passage.region) if passage.region else None
    own = own if own in REGIONS else None  # "national" and unknown values are about no one region
    if own in regions:
        return 1.0, 0.0
    named = {mention.region for mention in find_regions(text)}
    if named & set(regions):
        return (1.0, 0.0) if own is None else (0.5, 0.5)
    return 0.0, float(own is not None)
