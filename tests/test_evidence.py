"""Evidence for answers: what a question asks for, what a sentence offers, names across scripts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from assistant import AssistantError
from assistant.answerability import ANSWER_FEATURES, WEIGHTS_FILE, AnswerabilityModel, default_model
from assistant.evidence import (
    FEATURES,
    Candidate,
    announces_only,
    asked_type,
    dated_of,
    gives_instruction,
    gives_reason,
    holds_counted,
    holds_stated,
    is_dateline,
    latin_titles,
    months_of,
    name_key,
    names_akim,
    names_another_title,
    names_firm,
    names_headed,
    names_of,
    names_person,
    names_the_address,
    names_title,
    of_dated_report,
    offers,
    on_stage_asked,
    other_year,
    profile_question,
    quotable_sentences,
    quoted_titles,
    refers_back,
    sentence_features,
    sentence_stems,
    stages_of,
    stated_numbers,
    states_heading,
    states_money,
)
from assistant.glossary import parse
from assistant.keywords import analyze_words
from assistant.model import Citation, Passage


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Кто председательствовал на заседании?", "person"),
        ("Под чьим руководством прошло совещание?", "person"),
        ("Отырысқа кім төрағалық етті?", "person"),
        ("Who chaired the meeting?", "person"),
        # A count or a cost typed as a noun alone, without a question word.
        ("Ақтөбе облысы бейнекамера саны", "number"),
        ("количество камер в Кокшетау", "number"),
        ("Smart Aqtobe жобасының құны", "number"),
        ("абай IT-зертхана қаржы", "number"),  # the money given to it
        ("Smart Pavlodar funding", "number"),
        ("қаржылық сауаттылық курстары", "other"),  # financial literacy courses: no money asked
        ("Which department is responsible for the platform?", "person"),
        ("Сколько сёл подключат к интернету?", "number"),
        ("Какова сумма финансирования?", "number"),
        ("Қанша мектеп салынады?", "number"),
        ("How many 5G stations will be installed?", "number"),
        ("Когда было оглашено Послание?", "date"),
        ("К какому сроку нужно внести предложения?", "date"),
        ("Жолдау қашан жарияланды?", "date"),
        ("By what date must the akims report?", "date"),
        ("What is the best time of year to visit Lake Alakol?", "date"),  # a season is a date too
        ("В какое время года лучше ехать на Алаколь?", "date"),
        ("Алакөлге жылдың қай мезгілінде барған дұрыс?", "date"),
        # The hour asked is a time: a year or a count does not answer it. A price is a number.
        ("Во сколько начинается матч?", "time"),
        ("В котором часу откроется центр?", "time"),
        ("Матч сағат нешеде басталады?", "time"),
        ("What time does the match start?", "time"),
        ("Во сколько обойдётся проект?", "number"),
        ("Во сколько раз вырастет скорость интернета?", "number"),
        ("Во сколько сёл уже провели оптоволокно?", "number"),
        ("Как называется проект по цифровизации сёл?", "name"),
        ("Жобаның атауы қандай?", "name"),
        ("What is the AI centre called?", "name"),
        # Which company or operator: its name, which a general "операторы связи" does not give.
        ("Какой оператор запустит 5G в Хромтау?", "name"),
        ("Қай компания жобаны іске асырады?", "name"),
        ("Which mobile operator will install the stations?", "name"),
        # A person's name is a person.
        ("What is the name of the akim of Oral?", "person"),
        ("Как зовут акима области?", "person"),
        ("Где откроют IT-хаб?", "place"),
        ("Where will the data centre be built?", "place"),
        ("In which cities will the school open?", "place"),
        ("Which district akim complained about the signal?", "person"),
        # A measure, a share, a count asked without "how many", or a query that is only the noun.
        ("Какой мощности будет ЦОД?", "number"),
        ("На какой площади внедрят точное земледелие?", "number"),
        ("Какую часть территории покроет 5G?", "number"),
        ("Деректер орталығының қуаты қандай?", "number"),
        ("What is the capacity of the data centre?", "number"),
        ("What is the prize fund of the hackathon?", "number"),
        ("What internet speed will schools get?", "number"),
        ("What is Turkestan region's 2026 budget for digital projects?", "number"),
        ("Мобильді интернеті жоқ ауыл нешеу?", "number"),
        ("общий бюджет плана СКО", "number"),
        ("На какую дату перенесли установку вышек?", "date"),
        ("Что обсудили на заседании?", "other"),
        ("What did the akim say about the Address?", "said"),
        ("Аким ЖИ туралы не деді?", "said"),
        ("Какие предложения внесли представители бизнеса?", "said"),
    ],
)
def test_the_answer_type_is_read_from_the_question_word_in_three_languages(question, kind):
    assert asked_type(question) == kind


def test_the_first_question_word_decides():
    assert asked_type("Когда и сколько школ построят?") == "date"
    assert asked_type("Сколько школ построят и когда?") == "number"


@pytest.mark.parametrize(
    ("sentence", "kind", "near", "expected"),
    [
        ("Под председательством акима области Асхата Шахарова состоялось заседание.", "person", (), 0.5),
        ("В заседании приняли участие депутаты и представители бизнеса.", "person", (), 0.25),  # roles, no name
        ("В заседании приняли участие представители бизнеса.", "person", (), 0.0),
        # The author of the Address and the body whose meeting it was are not who chaired it.
        (
            "В Уральске состоялось заседание акимата области, посвящённое реализации Послания Главы государства.",
            "person", ("заседан",), 0.0,
        ),  # fmt: skip
        ("Облыс әкімдігінде Мемлекет басшысының Жолдауын іске асыру жөнінде кеңес өтті.", "person", ("кеңес",), 0.0),
        ("A meeting of the city akimat on the Head of State's Address was held in Almaty.", "person", ("meet",), 0.0),
        ("Глава государства поручил ускорить цифровизацию.", "person", ("поруч",), 0.5),
        ("Контроль возложен на управление цифровизации области.", "person", (), 0.25),  # a body, not a name
        ("Контроль возложен на управление цифровизации области.", "person", ("контрол",), 0.5),
        # A name comes after its title and its clause: anywhere in a sentence with the asked word.
        ("Координация возложена на заместителя акима Руслана Жаксылыкова.", "person", ("координац",), 1.0),
        (
            "Координация всей работы возложена на заместителя акима области Руслана Кабдешевича Жаксылыкова.",
            "person", ("координац",), 1.0,
        ),  # fmt: skip
        ("Подключат к интернету в этом году все сёла области, а именно 84 села.", "number", ("подключат",), 0.5),
        ("К концу 2026 года к интернету подключат 84 села.", "number", ("подключат",), 1.0),
        ("К концу 2026 года к интернету подключат все сёла.", "number", ("подключат",), 0.0),  # only a year
        ("Он будет отвечать на вопросы жителей круглосуточно.", "number", (), 0.0),  # "он" is not Kazakh ten here
        ("В Семее в пятницу откроется IT-хаб.", "number", (), 0.0),  # nor Семей seven or пятница five
        ("Подключат восемнадцать сёл.", "number", ("подключат",), 1.0),
        ("Чат-бот запустят до 1 марта 2026 года.", "number", ("запуст",), 0.0),  # a day of a month is a date
        ("The chatbot launches on March 1, 2026.", "number", ("launch",), 0.0),
        ("1864 жылы наурыз айында Шоқан жорыққа қосылды.", "number", (), 0.0),
        ("Коперник родился в 1473 году.", "date", (), 0.5),  # years before 1900 are dates too
        ("He was born in 1473.", "date", (), 0.5),
        ("В городе установят 1200 камер.", "date", (), 0.0),
        ("Предложения нужно внести до 25 сентября 2025 года.", "date", ("внест",), 1.0),
        ("Предложения нужно внести в кратчайшие сроки.", "date", ("внест",), 0.0),
        ("Акимам районов поручено еженедельно докладывать о ходе работ.", "date", ("поруч",), 0.5),  # how often
        ("Матч начнётся в 19:00 на стадионе.", "time", ("матч",), 1.0),
        ("Приём граждан начинается в 9 часов.", "time", (), 0.5),
        ("Ордабасы жиыны 1726 жылы өтті.", "time", (), 0.0),  # a year is no hour
        ("Запущен проект «Цифровой аул» для сельских школ.", "name", (), 0.5),
        ("Жоба «Smart Aqtau» деп аталады.", "name", (), 0.5),
        ("Станции установит компания Kcell.", "name", (), 0.5),
        ("Операторы связи установят 30 базовых станций 5G.", "name", (), 0.0),  # a generation, not a name
        (  # an official title runs long
            'Послание "Казахстан в эпоху искусственного интеллекта: актуальные вопросы и их решение посредством '
            'радикальных цифровых преобразований" глава государства озвучил 8 сентября 2025 года.',
            "name", ("послан",), 1.0,
        ),  # fmt: skip
        ("Главным проектом плана станет «Smart Aqtau».", "person", (), 0.0),  # a quoted title is nobody
        ("Проект «Smart Aqtau» курирует Ерлан Тажибаев.", "person", ("курир",), 1.0),
        # An opening pronoun stands for the asked words of the sentence before.
        ("Его провёл аким области Серик Аманжолович Байбосынов.", "person", ("заседан",), 1.0),
        ("Ерлан Тажибаев провёл заседание.", "person", ("курир",), 0.5),
        # So does the field label of a plan's item: "48 станций 5G. Срок: до 1 октября 2026 года."
        ("Срок: до 1 октября 2026 года.", "date", ("станц",), 1.0),
        ("Жауапты: облыс әкімінің орынбасары Ж. Б. Искакова.", "person", ("үйлестір",), 1.0),
        ("Центр откроют в Таразе в следующем году.", "place", (), 0.5),
        ("В декабре пройдёт хакатон «AI Astana Challenge».", "place", (), 0.0),  # a title, not where
        ("Талдықорғанда облыс әкімінің төрағалығымен кеңес өтті.", "place", ("кеңес",), 1.0),
        ("Сайхын ауылына интернет тартылды.", "place", (), 0.5),
        ("Село Акжар подключат первым.", "place", (), 0.5),
        # A place word alone is a kind of place, not where: "district akims", "акимы районов".
        ("Кеңесте аудан әкімдері жұмыстар туралы баяндады.", "place", ("кеңес",), 0.0),
        ("Акимы районов доложили о ходе работ.", "place", (), 0.0),
        ("District akims reported on the work.", "place", (), 0.0),
        ("Обсуждались вопросы цифровизации.", "other", (), 0.0),
        # What someone said: direct speech, a long quotation or a verb of saying; not the Address's title.
        ("«Искусственный интеллект должен работать на людей, а не на отчёты.", "said", ("интеллект",), 1.0),
        ("Аким подчеркнул, что цифровизация нужна каждому селу.", "said", ("аким",), 1.0),
        (
            "Состоялось совещание по реализации Послания Главы государства «Казахстан в эпоху искусственного "
            "интеллекта: актуальные задачи и их решение через цифровую трансформацию».",
            "said", ("совещан",), 0.0,
        ),  # fmt: skip
    ],
)
def test_a_sentence_offers_the_asked_type_and_best_next_to_the_asked_words(sentence, kind, near, expected):
    assert offers(sentence, kind, near) == expected


def test_a_number_far_from_the_asked_words_counts_half():
    sentence = "На подключение выделено 3 млрд тенге, а работы по всем объектам завершат к маю, включая школы и больницы."
    assert offers(sentence, "number", ("больниц",)) == 0.5


def test_names_match_across_scripts_and_case_forms():
    assert name_key("Шахаров") == name_key("Shakharov") == name_key("Шахарова")
    assert name_key("Астана") == name_key("Astana") == name_key("Астаны")
    assert name_key("Сапаргалиев") == name_key("Sapargaliyev")
    assert name_key("Ермаханову") == name_key("Yermakhanov") and name_key("Калиевой") == name_key("Kaliyeva")
    assert name_key("Шахаров") != name_key("Жумабаев")
    assert name_key("5G") == "5g" and name_key("2026") == "2026"


def test_months_are_read_in_three_languages_and_may_only_as_a_month():
    assert [m for m, _ in months_of("до 25 сентября 2025 года")] == [9]
    assert [m for m, _ in months_of("2026 жылғы 1 наурызға дейін")] == [3]
    assert [m for m, _ in months_of("by 1 March 2026")] == [3]
    assert months_of("The akims may submit proposals") == []
    assert [m for m, _ in months_of("1 May 2026")] == [5]
    assert months_of("қазан толы ас") == []
    assert [m for m, _ in months_of("15 қазанда")] == [10]


def test_names_are_capitalised_words_that_are_not_titles_or_common_words():
    assert names_of("The meeting was chaired by Akim Yerlan Sapargaliyev in March.") == ["Yerlan", "Sapargaliyev"]
    assert names_of("Заседание провёл аким Ерлан Сапаргалиев.") == ["Ерлан", "Сапаргалиев"]


@pytest.mark.parametrize(
    "question, words",
    [
        ("Кому в Туркестанской области поручено разработать дорожную карту?", ["поруч", "разработа", "дорожн", "карт"]),
        ("Кімді үйлестіруші етіп тағайындады?", ["үйлестіру", "тағай"]),
        ("Whose report opened the meeting?", ["report", "open", "meet"]),
    ],
)
def test_the_forms_of_who_are_not_words_the_answer_must_hold(question, words):
    """"Кому", "кімді", "whose" ask for a person; counted as content words they are never found in
    the answer and push the asked-about words out of the question's focus."""
    profile = profile_question(question)
    assert profile.answer_type == "person"
    assert [group[0] for group in profile.words] == words
    assert [group[0] for group in profile.focus] == words[: len(profile.focus)]


def test_a_question_profile_names_its_region_and_keeps_it_out_of_the_words():
    profile = profile_question("Сколько сёл подключат к интернету в Жамбылской области?")
    assert profile.lang == "ru" and profile.answer_type == "number"
    assert profile.regions == ("Zhambyl region",)
    assert not any("жамбыл" in stem for group in profile.words for stem in group)


def test_a_follow_up_borrows_type_words_and_region_only_where_it_has_none():
    context = "Кто председательствовал на заседании в Павлодарской области? А кто участвовал?"
    own = profile_question("А кто участвовал?", context=context)
    assert own.answer_type == "person" and own.regions == ("Pavlodar region",)
    assert any(stem.startswith("участв") for group in own.words for stem in group)
    borrowed = profile_question("А в Костанае?", context="Кто председательствовал на заседании? А в Костанае?")
    assert borrowed.answer_type == "person" and borrowed.regions == ("Kostanay region",)


@pytest.mark.parametrize(
    ("question", "russian"),
    [
        ("Who chaired the meeting?", "председател"),
        ("Who coordinates the digital plan?", "координ"),  # who is responsible: coordinate, oversee, lead
        ("Who oversees the project?", "курир"),
        ("Жобаға кім жетекшілік етеді?", "руковод"),
        ("Жоспарды кім үйлестіреді?", "координ"),
    ],
)
def test_question_words_carry_their_glossary_translations(question, russian):
    profile = profile_question(question)
    stems = {stem for group in profile.words for stem in group}
    assert any(stem.startswith(russian) for stem in stems), profile.words


def _passage(text: str, region: str = "", lang: str = "ru", similarity: float = 0.8) -> Passage:
    return Passage(1, similarity, "d#0", "d.txt", text, Citation("t", "", region, "regional_response", lang, ""), "", 0, len(text), similarity)


def test_features_mark_the_region_match_and_mismatch():
    profile = profile_question("Кто провёл заседание в Таразе?")
    passages = [_passage("Заседание провёл аким Жамбылской области.", "Zhambyl region"),
                _passage("Заседание провёл аким Павлодарской области.", "Pavlodar region"),
                _passage("Послание обсудили в Таразе и других городах.", "national")]  # fmt: skip
    candidates = [Candidate(i, 0, len(p.text), p.text) for i, p in enumerate(passages)]
    rows = sentence_features(profile, passages, candidates, np.array([0.8, 0.8, 0.8], dtype=np.float32))
    match, mismatch = FEATURES.index("region_match"), FEATURES.index("region_mismatch")
    assert rows[:, match].tolist() == [1.0, 0.0, 1.0]
    assert rows[:, mismatch].tolist() == [0.0, 1.0, 0.0]


def _offered(question: str, *texts: str, lang: str = "ru") -> list[float]:
    profile = profile_question(question)
    passages = [_passage(text, "Almaty city", lang) for text in texts]
    candidates = [Candidate(i, 0, len(p.text), p.text) for i, p in enumerate(passages)]
    rows = sentence_features(profile, passages, candidates, np.full(len(texts), 0.8, dtype=np.float32))
    return rows[:, FEATURES.index("type_offered")].tolist()


def test_a_measure_is_answered_by_a_number_in_its_units():
    assert profile_question("Какая скорость интернета будет в сёлах?").measure == "speed"
    assert profile_question("Деректер орталығының қуаты қандай?").measure == "power"
    assert profile_question("На какой площади внедрят точное земледелие?").measure == "area"
    # A count of units is a measure too, read in any language: "44 ауылы" is no length.
    assert profile_question("Сколько гектаров охватят?").measure == "area"
    assert profile_question("How many kilometres of fibre-optic line were laid?", "en").measure == "length"
    assert profile_question("How many kilometres of fibre-optic line were laid?", "en").counted == ()
    assert profile_question("Сколько сёл получат скоростной интернет?").measure == ""  # a count of villages
    assert profile_question("Какой процент сёл подключён?").measure == "share"
    assert offers("Өткен жылы облыстың 44 ауылы интернетке қосылды.", "number", ("ауыл",), measure="share") == 0.0
    assert offers("Подключено 45 % сёл.", "number", ("сел",), measure="share") == 1.0
    assert offers("Ещё 74 сельские школы получат скоростной интернет.", "number", ("скорост",), measure="speed") == 0.0
    assert offers("Скорость составит 100 Мбит/с.", "number", ("скорост",), measure="speed") == 1.0
    assert offers("Земледелие внедрят на 42 тысячах гектаров.", "number", ("земледел",), measure="area") == 1.0


def test_what_the_question_says_itself_does_not_answer_it():
    """«Kentau Digital» does not answer "Which company funded Kentau Digital?", nor "120" "How many of
    the 120 villages…?"; an amount of money does not answer "how many tourists"."""
    own = {"kenta", "digit", "120"}
    assert offers("В Кентау открыт IT-хаб «Kentau Digital».", "name", (), own) == 0.0
    assert offers("В Кентау открыт IT-хаб «Kentau Digital», его построила Kcell.", "name", (), own) == 0.5
    assert offers("Из 120 сёл подключено 58.", "number", ("подключ",), own) == 1.0
    assert offers("Подключат все 120 сёл.", "number", ("подключ",), own) == 0.0
    assert offers("Бұған 2,4 млрд теңге қарастырылған.", "number", ("турист",), counting=True) == 0.0
    assert offers("Бұған 2,4 млрд теңге қарастырылған.", "number", ("турист",)) == 1.0  # as money


def test_where_the_documents_use_the_asked_verb_a_name_elsewhere_answers_half():
    chair = "Заседание о ходе работы провёл аким города Ерлан Сейткалиев."
    coordinator = "Координация работы поручена заместителю акима Мадине Жаксыбековой."
    # "Who coordinates": the coordinator's sentence answers, the chair's half.
    assert _offered("Кто координирует работу в Алматы?", chair, coordinator) == [0.5, 1.0]
    across = _offered("Who coordinates the work in Almaty?", chair, coordinator)
    assert across[1] == 1.0 and across[0] <= 0.5
    # Where no sentence holds the verb ("возглавил" against "провёл"), any name still answers:
    # the documents say it in other words.
    assert _offered("Кто возглавил заседание в Алматы?", chair) == [1.0]
    # Kazakh asks with a light verb after "кім" ("кімге жүктелді?"): not read as the act.
    assert _offered("Алматыда отырыс жұмысын үйлестіру кімге жүктелді?", chair, coordinator) == [1.0, 1.0]


def test_the_address_restated_in_an_opening_sentence_is_no_evidence_unless_asked_about():
    opening = (
        "В Алматы под председательством акима города состоялось заседание по реализации Послания Главы "
        "государства «Казахстан в эпоху искусственного интеллекта: актуальные задачи и их решение через "
        "цифровую трансформацию»."
    )
    passages = [_passage(opening, "Almaty city")]
    candidates = [Candidate(0, 0, len(opening), opening)]
    (kept,) = sentence_stems(passages, candidates)
    (without,) = sentence_stems(passages, candidates, address=False)
    assert {"интеллект", "цифров", "глав"} & kept and not {"интеллект", "цифров", "глав"} & without
    assert {"заседан", "председательств"} <= without
    assert not names_the_address("Who heads the digitalization department in Almaty?")
    assert names_the_address("Кто вёл заседание по Посланию?") and names_the_address("Жолдауды кім үйлестіреді?")


def test_the_shipped_answerability_model_ranks_and_gives_a_probability():
    model = default_model()
    assert 0 < model.threshold < 1 and model.about
    rows = np.zeros((3, len(FEATURES)), dtype=np.float32)
    rows[1, FEATURES.index("type_offered")] = 1.0  # the asked fact is in the sentence
    scores = model.scores(rows)
    assert scores.shape == (3,) and int(np.argmax(scores)) == 1
    assert 0 <= model.probability(rows[1], scores, 1) <= 1


def test_an_answerability_model_for_other_features_is_refused_loudly():
    data = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
    data["ranking"] = {"cosine": 1.0}
    with pytest.raises(AssistantError, match="refit"):
        AnswerabilityModel.from_json(json.dumps(data))
    with pytest.raises(AssistantError, match="JSON"):
        AnswerabilityModel.from_json("{")
    with pytest.raises(AssistantError, match="finite"):
        AnswerabilityModel((float("nan"),) * len(FEATURES), (0.0,) * len(ANSWER_FEATURES), 0.0, 0.5, 0.5)


def test_a_glossary_line_must_have_an_id_and_three_languages():
    assert parse("# comment\nmeeting\tзаседание\tотырыс\tmeeting\n").translations(["отырыс"])
    with pytest.raises(AssistantError, match="line 1"):
        parse("meeting\tзаседание\tmeeting\n")
    with pytest.raises(AssistantError, match="twice"):
        parse("a\tб\tә\tc\na\tб\tә\tc\n")


def test_quoted_titles_are_matched_across_scripts_not_across_translations():
    (title,) = quoted_titles("Сколько камер подключат к платформе «Алтай Smart Region»?")
    assert names_title("Ускорить запуск платформы видеоаналитики «Алтай Smart Region».", title)
    assert not names_title("В рамках проекта «Smart Shymkent» установят 1 200 камер.", title)
    (aqtau,) = quoted_titles('Who leads the "Smart Aqtau" project?')
    assert names_title("Главным проектом станет «Smart Актау».", aqtau)
    (port,) = quoted_titles('When will the "Digital Port" open?')
    assert not names_title("«Цифровой порт» заработает в 2026 году.", port)
    assert quoted_titles("Сколько сёл подключат?") == ()


def test_a_russian_or_kazakh_question_names_a_title_in_latin_script_without_quotes():
    (akimat,) = profile_question("когда в Абайской области заработает платформа Digital Akimat").titles
    assert names_title("«Digital Akimat» платформасы 2026 жылы іске қосылады.", akimat)
    assert latin_titles("Сколько IT-специалистов подготовят и где будет Wi-Fi?", "ru") == ()  # abbreviations
    assert latin_titles("Когда запустят 5G?", "ru") == ()  # a code
    assert latin_titles("When will Digital Akimat start?", "en") == ()  # English capitalises more than names


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("Алматы облысында бейнекамераларды қай компания орнатады?", "kk"),
        ("Какой подрядчик проведёт Wi-Fi в Бурабае?", "ru"),
        ("Which mobile operator will build the 5G stations?", "en"),
    ],
)
def test_a_question_that_asks_which_firm_is_answered_only_by_a_firm(question, lang):
    assert profile_question(question, lang).firm
    assert names_firm("Работы ведёт АО «Казахтелеком» совместно с ТОО «Жетысу Телеком Сервис».", "ru")
    assert names_firm("Жауапты: «Ulytau IT Academy» ЖШС, мемлекеттік қызмет істері департаменті.", "kk")
    assert names_firm("A Tier III data centre is being built by Caspian Data LLP.", "en")
    assert names_firm("В 2006 году Google купила YouTube.", "ru")  # a brand in Latin letters, unquoted
    assert not names_firm("«Smart Qonaev» жобасы аясында 900 бейнекамера орнатылады.", "kk")  # a project
    assert not names_firm("Mobile operators plan to install 26 5G base stations.", "en")  # no name
    assert not names_firm("Ақ түсті бейнекамералар орнатылады.", "kk")  # "ақ" is white, not АҚ


def test_a_contractor_supplier_or_integrator_asked_is_a_firm():
    """Asking the firm's role ("поставщик камер", "жобаның мердігері", "who supplied") asks a firm;
    a firm named in passing ("кто проверяет работу подрядчика", "when will the contractor finish") does not."""
    for question, lang in [
        ("поставщик оборудования для проекта «Умный Тараз»", "ru"),
        ("Smart Oral жобасының мердігері", "kk"),
        ("who supplied the water meters in Aktobe", "en"),
        ("Кто является подрядчиком строительства ЦОД?", "ru"),
        ("Smart Shymkent integrator", "en"),
        ("Who carries out the internet connection works in Kostanay region?", "en"),  # a contract's works
        ("Павлодарда жұмыстарды кім жүргізеді", "kk"),
    ]:
        assert profile_question(question, lang).firm, question
    for question, lang in [
        ("Кто проверяет работу подрядчика?", "ru"),
        ("When is the contractor supposed to finish mounting the cameras?", "en"),
        ("Кто разработал чат-бот?", "ru"),  # a developer may be a department
        ("Кто координирует работу по Посланию?", "ru"),  # a deputy akim does
    ]:
        assert not profile_question(question, lang).firm, question


def test_a_firm_answers_who_did_the_work_but_not_who_heads_the_firm_the_question_names():
    """"Датчики поставило ТОО «Каспий Мониторинг»" offers the supplier asked for, and "Жобаны
    «Caspian Smart Systems» ЖШС жүзеге асырды" who carried out the project; a firm is still no
    person's name, and the firm the question names is not its answer."""
    supplied = "Датчики поставило ТОО «Каспий Мониторинг»."
    assert _offered("Кто поставил датчики уровня воды?", supplied) == [1.0]
    assert _offered("Ақылды бағдаршам жобасын кім жүзеге асырды", "Жобаны «Caspian Smart Systems» ЖШС жүзеге асырды.", lang="kk") == [1.0]
    assert not names_person(supplied)
    assert _offered("кто руководит ТОО «Aqtobe Digital»?", "Ответственный: ТОО «Aqtobe Digital».") == [0.0]


def test_a_short_sentence_naming_the_firm_borrows_the_words_of_the_one_before():
    """What was supplied, where and for what is in the sentence before "Датчики поставило ТОО …"."""
    text = "На 12 тысячах гектаров установлены датчики уровня воды. Датчики поставило ТОО «Каспий Мониторинг». Урожай вырос."
    passage = _passage(text)
    first, second = text.index("Датчики"), text.index("Урожай")
    spans = [(0, first - 1), (first, second - 1), (second, len(text))]
    candidates = [Candidate(0, start, end, text[start:end]) for start, end in spans]
    stems = list(sentence_stems([passage], candidates))
    assert "гектар" in stems[1] and "гектар" not in stems[2]


def test_a_firm_is_named_by_its_name_not_by_the_word_company():
    assert not names_firm("Из них 60 процентов трудоустроены в компании-резиденты технопарков.", "ru")
    assert not names_firm("Mobile companies will extend coverage to 40 villages.", "en")
    assert names_firm("Камеры устанавливает компания «Qazaq Vision».", "ru")
    assert names_firm("Жұмысты «Алтын Желі» компаниясы жүргізеді.", "kk")
    # The question's own project, unquoted in Latin letters, is not a firm; another Latin name is.
    for question in ("Smart Aqtobe интеграторы кім", "who supplied the cameras for Smart Aqtobe"):
        assert not names_firm("В рамках проекта Smart Aqtobe работает 900 камер.", "ru", question)
        assert names_firm("Интегратором проекта выступает Huawei.", "ru", question)


def test_who_heads_a_body_is_answered_by_the_head_of_that_body():
    sentences = [
        "Руководитель управления образования Айгуль Серикова доложила о школах.",
        "Руководитель управления цифровизации Ерлан Тулеуов доложил о связи.",
        "Директор Павлодарского филиала АО «Казахтелеком» Арман Ескендиров рассказал о линиях.",
    ]
    candidates = [Candidate(0, 0, len(text), text) for text in sentences]
    stems = [{stem for group in analyze_words(text, "ru", query=True) for stem in group} for text in sentences]

    def headed(question, lang):
        return names_headed(profile_question(question, lang), candidates, stems).tolist()

    assert headed("Who heads the digitalization department?", "en") == [False, True, False]
    assert headed("who heads the Nomad IT Academy", "en") == [False, False, False]  # no sentence names it
    assert headed("who is the director of the Pavlodar branch of Kazakhtelecom", "en") == [False, False, True]
    assert headed("Кто провёл совещание?", "ru") == [True, True, True]  # not a "who heads" question


def test_who_the_akim_is_is_answered_by_the_akim_of_the_level_asked_not_a_deputy():
    assert profile_question("Кто аким Талдыкоргана?", "ru").akim == "city"
    assert profile_question("Ақтөбе облысының әкімі кім?", "kk").akim == "region"
    assert profile_question("who is the akim of aksu pavlodar region", "en").akim == "city"  # Aksu's
    assert profile_question("кто аким области в Караганде", "ru").akim == "region"
    assert profile_question("Кто провёл совещание?", "ru").akim is None
    chaired = "30 сентября в Талдыкоргане под председательством акима области Жетісу Ерлана Кожамбердиева прошло совещание."
    assert names_akim(chaired, "region") and not names_akim(chaired, "city")
    assert not names_akim("Под председательством заместителя акима Актюбинской области Марата Кенжебаева.", "region")
    assert not names_akim("Бақылау облыс әкімінің орынбасары Ержан Сапарбековке жүктелді.", "region")
    assert names_akim("Кеңесті облыс әкімі Ерболат Жантұрин өткізді.", "region")
    assert not names_akim("The meeting was chaired by the akim of the region, Temirlan Utegenov.", "city")
    assert not names_akim("Заседание провёл аким области.", "region")  # no one named


def test_who_chaired_a_meeting_is_told_from_who_took_part_or_carried_out_work():
    for question, lang in [
        ("Кто провёл совещание в акимате 5 ноября?", "ru"),
        ("Отырысқа кім төрағалық етті?", "kk"),
        ("Кеңесті кім өткізді?", "kk"),
        ("Who chaired the meeting on the Address in Oral?", "en"),
        ("ulytau meeting chair", "en"),  # a keyword query naming the chair asks a person
        ("председатель совещания в Павлодаре", "ru"),
    ]:
        assert profile_question(question, lang).chair, question
        assert profile_question(question, lang).answer_type == "person", question
    for question, lang in [
        ("Кто участвовал в заседании?", "ru"),
        ("кто проводил инвентаризацию земель", "ru"),  # work carried out, perhaps by a firm
        ("Когда провели совещание?", "ru"),
        ("Кто председатель маслихата?", "ru"),  # no meeting: who heads a body
    ]:
        assert not profile_question(question, lang).chair, question


def test_why_is_answered_by_a_sentence_giving_a_reason():
    assert profile_question("Почему перенесли открытие ЦОД?", "ru").reason
    assert profile_question("Мектептерде интернет неге баяу?", "kk").reason
    assert profile_question("why was the launch postponed", "en").reason
    assert not profile_question("Когда откроют ЦОД?", "ru").reason
    assert gives_reason("Открытие перенесено в связи с задержкой поставки серверов.")
    assert gives_reason("Жабдық кешіктірілгендіктен, яғни жеткізушіге байланысты мерзім ұзартылды.")
    assert gives_reason("The launch was postponed because the servers arrived late.")
    # The fact asked about, without its reason.
    assert not gives_reason("Оставшиеся 12 сёл подключат во втором квартале 2026 года по спутниковой связи.")
    assert not gives_reason("Открытие центра обработки данных перенесено на март.")


def test_an_instruction_asked_is_answered_by_a_sentence_giving_one():
    assert profile_question("Что поручено руководителю управления образования?", "ru").instruction
    assert profile_question("Цифрландыру басқармасына не тапсырылды?", "kk").instruction
    assert profile_question("What was the deputy akim instructed to do?", "en").instruction
    assert not profile_question("Кто провёл совещание?", "ru").instruction
    assert not profile_question("Какой компании поручено восстановить архив?", "ru").instruction  # asks the firm
    assert gives_instruction("Руководителю управления образования поручено до 1 мая открыть IT-классы.")
    assert gives_instruction("Бақылау әкімнің орынбасарына жүктелді.")
    assert gives_instruction("Контроль возложен на заместителя акима области.")
    # The participants who will be instructed, and the Address's title ("актуальные задачи"), give none.
    assert not gives_instruction("В совещании приняли участие руководитель управления образования и акимы районов.")
    assert not gives_instruction(
        "Состоялось совещание по Посланию «Казахстан в эпоху искусственного интеллекта: актуальные задачи и их решение»."
    )


def test_a_fact_of_another_year_does_not_answer_a_question_that_names_one():
    profile = profile_question("How many villages in Almaty region were connected to the internet in 2025?", "en")
    assert other_year(profile, "2026 жылдың соңына дейін тағы 73 ауыл жоғары жылдамдықты интернетке қосылады.")
    assert not other_year(profile, "В 2025–2026 годах подключат 73 села.")
    assert not other_year(profile, "Подключено 73 села.")  # no year: it may be the sentence before's
    # "This year" is the year of the document's date.
    assert other_year(profile, "Биыл 350 маман оқудан өтті.", "2024-10-14")
    assert not other_year(profile, "Биыл 350 маман оқудан өтті.", "2025-10-14")
    assert other_year(profile, "До конца года подключат 12 сёл.", "2026-02-01")
    assert not other_year(profile, "До конца 2025 года подключат 12 сёл.", "2026-02-01")
    # The Address's date is not the fact's; and when the question asks a date, the year may be the answer.
    chair = profile_question("Who chaired the March 2026 progress meeting in Oral?", "en")
    assert not other_year(chair, "Мемлекет басшысының 2025 жылғы 8 қыркүйектегі Жолдауын іске асыру бойынша кеңес өтті.")
    assert not other_year(profile_question("Когда в 2025 году откроют центр?"), "Центр откроют в 2026 году.")


def test_who_heads_something_is_answered_by_a_name():
    assert profile_question("Who heads the digitalization department in Abai region?", "en").leader
    assert profile_question("Батыс Қазақстан облысында цифрландыру басқармасын кім басқарады?", "kk").leader
    assert not profile_question("Кто возглавил заседание акимата в Павлодаре?").leader  # who chaired: a role may do
    assert names_person("Облыстық цифрландыру басқармасының басшысы Әсел Мұратқызы Жұмабаева баяндады.")
    assert not names_person("В работе заседания приняли участие руководители управлений здравоохранения.")
    assert not names_person("Ответственный: управление цифровизации, ТОО «Aqtobe Digital Service».")


def test_a_date_or_a_count_of_another_quoted_project_does_not_answer():
    """"Когда заработает платформа Digital Akimat?" is not answered by the date of «Ветеринария
    онлайн»; a sentence quoting no title may (it may refer back to the project)."""
    profile = profile_question("когда в Абайской области заработает платформа Digital Akimat")
    assert names_another_title(profile, "До 1 марта 2026 года заработает платформа «Ветеринария онлайн».")
    assert not names_another_title(profile, "Платформа «Digital Akimat» заработает до 1 марта.")
    assert not names_another_title(profile, "Её запуск намечен на март 2026 года.")
    assert not names_another_title(profile, "По Посланию «Казахстан в эпоху искусственного интеллекта» запуск в марте.")


@pytest.mark.parametrize(
    ("question", "money"),
    [
        ("Какой бюджет на цифровизацию предусмотрен в СКО?", True),
        ("Сколько стоит проект «Цифровой Бурабай»?", True),
        ("Шымкенттегі IT-хабтың құрылысына қанша ақша жұмсалады?", True),
        ("Қанша қаржы бөлінді?", True),
        ("How much will the data centre cost?", True),
        ("What is the budget of the programme?", True),
        ("Во сколько обойдутся новые светофоры?", True),
        ("Сколько выделено на школы?", True),
        ("How much did the city allocate to the smart parking scheme?", True),
        # The size of a payment.
        ("Какой размер субсидии на один агродрон?", True),
        ("Бір агродронға берілетін субсидияның мөлшері қанша?", True),
        ("How big is the subsidy per drone?", True),
        ("СҚО-да ФАП-тарды телемедицинаға қосу қанша тұрады?", True),
        # The cost asked without "how much": "what will it cost", "what is the estimated cost".
        ("What will the Smart Aqtau video project cost?", True),
        ("What is the estimated cost of bringing fibre to the villages?", True),
        ("Жобаның құны қандай?", True),
        # A query that is only the noun, in any place and without a question word.
        ("Smart Aqtobe жобасының құны", True),
        ("kostanay smart city budget 2026", True),
        ("СҚО цифрлық зертханалар қаржы", True),
        ("Какова цена одного агродрона?", True),
        # A number that is not an amount of money, or a share of one.
        ("Сколько бюджетных мест выделено?", False),
        ("Сколько участков выделено под технопарк?", False),
        ("Сколько инвестиционных проектов одобрено?", False),
        ("Какова суммарная мощность станций?", False),
        ("Какова доля бюджета на ИИ?", False),
        ("What percentage of the budget goes to AI?", False),
        ("How many investors joined?", False),
        ("Сколько агродронов субсидируют?", False),
        ("Қанша агродрон субсидияланады?", False),
        ("Бюджет қаражаты есебінен қанша мектеп салынады?", False),
        ("Сколько сёл подключат к интернету?", False),
        ("Кто отвечает за бюджет?", False),  # asks a person
        ("Сколько ценных бумаг выпустят?", False),
        ("What is the main goal of the plan?", False),
        ("Жоба құны неге өсті?", False),  # why the cost grew: no number asked
    ],
)
def test_a_question_asking_an_amount_of_money_is_told_apart(question, money):
    assert profile_question(question).money is money


@pytest.mark.parametrize(
    ("sentence", "money"),
    [
        ("Всего из бюджета выделят 15,7 млрд тенге.", True),
        ("Штраф составляет 10 МРП.", True),
        ("Жобаға 250 миллион теңге бөлінді.", True),
        ("The project costs $2.5 billion.", True),
        ("На школы выделено 3 млрд.", True),
        ("На проект направят 4 млрд на три года.", True),
        ("Его основу составляют три направления.", False),
        ("Интернет проведут в 120 школ.", False),
        # A multiplier of another unit.
        ("Спутниковый мониторинг охватит 1,8 млн гектаров.", False),
        ("The service will reach 2 million residents.", False),
    ],
)
def test_a_sentence_stating_an_amount_of_money_is_told_apart(sentence, money):
    assert states_money(sentence) is money


def test_a_region_typed_in_lower_case_is_read_in_a_question_but_not_in_prose():
    assert profile_question("east kazakhstan deadline list of villages", "en").regions == ("East Kazakhstan region",)
    assert profile_question("ско элеваторы второй этап", "ru").regions == ("North Kazakhstan region",)
    assert profile_question("Oral health in east Kazakhstan", "en").regions == ()  # geography, as find_regions reads it
    # Bare region names, which prose says only beside a region word, and cities typed in lower case.
    assert profile_question("жамбыл 5g станций в сентябре", "ru").regions == ("Zhambyl region",)
    assert profile_question("ақмола 5g станциялары 2026 жоспары", "kk").regions == ("Akmola region",)
    assert profile_question("астана digital порталы", "kk").regions == ("Astana",)
    assert profile_question("сколько семей получили выплаты", "ru").regions == ()
    assert profile_question("какие задачи у Жамбылского района", "ru").regions == ()
    assert profile_question("Какая компания разработала «Жамбыл AgroScan»?", "ru").titles == (("zambi", "agros"),)


def test_who_carries_out_the_instructions_asks_a_person_not_an_instruction():
    assert not profile_question("Кто назначен ответственным за исполнение поручений в Жамбылской области?").instruction
    assert profile_question("Что поручено руководителю управления цифровизации?").instruction


def test_a_query_naming_a_firms_kind_asks_which_firm():
    assert profile_question("AI-Traffic Shymkent contractor company", "en").firm
    assert profile_question("Smart Temirtau system operator company", "en").firm
    assert profile_question("количество IT-компаний в Астане", "ru").answer_type == "number"


def test_a_form_s_blank_line_is_never_quoted():
    text = "Участник участвует в тендере общей суммой _______(____________) тенге (цифрами). Курс тенге к евро установлен Нацбанком."
    passage = _passage(text)
    assert [c.text for c in quotable_sentences([passage])] == ["Курс тенге к евро установлен Нацбанком."]


def test_a_number_the_question_states_picks_the_sentence_holding_it():
    assert stated_numbers("Алматы облысында қалған 31 ауыл қашан интернетке қосылады?") == {"31"}
    # Not a year, a day of a month, a code or a word made with the number.
    assert not stated_numbers("Сколько станций 5G откроют к 1 июля 2026 года?")
    assert not stated_numbers("Когда перевели 2-очковую конверсию?")
    profile = profile_question("Алматы облысында қалған 31 ауыл қашан интернетке қосылады?", "kk")
    text = "В 2025 году подключены 93 села. Еще 31 село будет подключено до 1 июля 2026 года. Работы ведёт ТОО «Жетысу»."
    starts = [0, text.index("Еще"), text.index("Работы"), len(text) + 1]
    candidates = [Candidate(0, start, end - 1, text[start : end - 1]) for start, end in zip(starts, starts[1:])]
    assert holds_stated(profile, candidates, np.ones(3, dtype=bool)).tolist() == [False, True, False]
    # No sentence holds it: the rule rules nothing out.
    assert holds_stated(profile, candidates[:1], np.ones(1, dtype=bool)).tolist() == [True]


def test_a_stage_asked_is_answered_by_that_stage_only():
    profile = profile_question("Какую площадь охватит второй этап мониторинга пастбищ?")
    assert profile.stages == {2} and stages_of("Жобаның бірінші кезеңінде 18 нысан, ал екінші кезеңде 3D-турлар.") == {1, 2}
    assert not stages_of("Работы будут вестись в первую очередь в отдалённых районах.")
    text = "Первый этап охватил 45 тысяч гектаров. Второй этап стартует в 2026 году. Он охватит 150 тысяч гектаров. Пастбища обследуют дроны."
    starts = [0, text.index("Второй"), text.index("Он "), text.index("Пастбища"), len(text) + 1]
    candidates = [Candidate(0, start, end - 1, text[start : end - 1]) for start, end in zip(starts, starts[1:])]
    in_scope = np.ones(len(candidates), dtype=bool)
    # The second stage is told, so only its sentences: the one naming it and the one referring back.
    assert on_stage_asked(profile, candidates, in_scope).tolist() == [False, True, True, False]
    # A report that tells no stage: any sentence but the first stage's.
    first_only = profile_question("Сколько гектаров охватит третий этап?")
    assert on_stage_asked(first_only, candidates, in_scope).tolist() == [False, False, False, True]


@pytest.mark.parametrize(
    ("question", "dated"),
    [
        ("Кто председательствовал на совещании в Жамбылской области 10 декабря 2025 года?", ((12, 10),)),
        ("К какому сроку, по итогам декабрьского совещания, должен открыться центр?", ((12, 0),)),
        ("Желтоқсандағы мәлімет бойынша Таразда неше 5G станциясы бар?", ((12, 0),)),
        ("Who chaired the meeting on 14 October in Temirtau?", ((10, 14),)),
        # A deadline is no report's day, nor is the Address's date.
        ("Что нужно сделать до 1 июля 2026 года?", ()),
        ("2026 жылдың 1 наурызына дейін не ашылады?", ()),
        ("What must be done by 1 March?", ()),
        ("Что поручено по Посланию от 8 сентября?", ()),
    ],
)
def test_the_day_a_question_says_its_meeting_is_of(question, dated):
    assert dated_of(question) == dated


def test_of_a_regions_reports_of_several_days_the_one_asked_answers():
    reports = [
        ("Zhambyl region", "2025-09-11"),
        ("Zhambyl region", "2025-12-10"),
        ("Zhambyl region", "2025-12-10"),
        ("Mangystau region", "2025-09-22"),
    ]
    assert of_dated_report(((12, 0),), reports).tolist() == [False, True, True, True]
    assert of_dated_report(((9, 11),), reports).tolist() == [True, False, False, True]
    # No report of the day asked: none is ruled out (the text may tell of that day).
    assert of_dated_report(((3, 0),), reports).tolist() == [True, True, True, True]


def test_a_dateline_tells_only_when_and_where():
    assert is_dateline("Актау, 22 сентября 2025 года.") and is_dateline("Семей, 14 қазан 2025 жыл.")
    assert not is_dateline("Актау, 22 сентября 2025 года состоялось совещание по реализации Послания.")


def test_who_heads_is_answered_by_a_head_not_another_post():
    assert states_heading("Директор ТОО «Kokshe Digital Hub» Руслан Ибраев отметил рост.")
    assert states_heading("«Шығыс IT Academy» оқу орталығының басшысы Дәурен Ахметов айтты.")
    assert states_heading("Аким Темиртау Канат Мусин поручил подключить дворы.")
    assert not states_heading("Главный инженер ТОО «Karaganda Smart Systems» Виктор Ермаков представил проект.")


def test_the_question_word_in_another_case_is_not_the_counted_thing():
    """"қаншаға қысқарды" asks by how much; the sentence need not hold the word "қанша"."""
    counted = profile_question("Кентау емханаларында күту уақыты қаншаға қысқарды?", "kk").counted
    assert not any(stem.startswith("қанша") for group in counted for stem in group)


def test_a_count_is_answered_by_a_number_of_the_counted_thing():
    """"Сколько камер…?" is not answered by a number of base stations in the question's language;
    across languages only a code is checked, the glossary's translations being too loose to refuse on."""
    profile = profile_question("Сколько камер видеонаблюдения установят в Кокшетау?")
    assert profile.counted
    passages = [
        _passage("В Кокшетау установят 64 базовые станции 5G."),
        _passage("До конца года в городе установят 900 камер."),
        _passage("Қалада 64 базалық станция орнатылады.", lang="kk"),
        _passage("The city will install 64 base stations.", lang="en"),
    ]
    candidates = [Candidate(i, 0, len(p.text), p.text) for i, p in enumerate(passages)]
    assert holds_counted(profile, passages, candidates, list(sentence_stems(passages, candidates))).tolist() == [False, True, True, True]
    code = profile_question("Қанша 5G станциясы іске қосылады?")
    assert holds_counted(code, passages, candidates, list(sentence_stems(passages, candidates))).tolist() == [True, False, True, False]
    # Money, shares and measures are no counts.
    for question in (
        "Сколько стоит проект?",
        "Сколько процентов сёл подключено?",
        "How much time is left?",
        "Сколько времени осталось до конца матча?",
        "Сколько людей погибло от чумы?",
    ):
        assert profile_question(question).counted == ()
    # The counted thing ends before a function word or a verb: "получат" is no counted word.
    for question, first in (
        ("На скольких предприятиях внедрят ИИ?", "предприят"),
        ("Сколько школ получат новое оборудование?", "школ"),
        ("Сколько сёл и посёлков подключат?", "сел"),
        ("How many villages in the region get internet?", "villag"),
        ("Қанша ауыл интернетке қосылады?", "ау"),
    ):
        counted = profile_question(question).counted
        assert counted[0][0] == first and all("получ" not in group[0] for group in counted), (question, counted)
    assert len(profile_question("Сколько школ получат новое оборудование?").counted) == 1
    # A Kazakh past after the counted noun is the verb; "people" after "young" is said in many words.
    (crimes,) = profile_question("Тараздағы камералардың көмегімен қанша қылмыс ашылды?").counted
    assert crimes[0] == "қылмыс" and "преступлен" in crimes  # with its translations
    assert profile_question("How many young people will take AI courses?").counted == (("young",),)
    assert profile_question("Қанша ауылды интернетке қосады?").counted[0][0] == "ауылд"


def test_a_count_is_answered_next_to_the_counted_thing_not_next_to_any_asked_word():
    """"How many water meters will be installed?" against "sensors will be installed at 150 points":
    the number is next to "installed", an asked word, but not next to the counted thing."""
    sensors = "To monitor air quality, sensors will be installed at 150 points across the city."
    meters = "The water utility will install 65,000 smart water meters by the end of 2026."
    offered = _offered("How many smart water meters will be installed in Almaty?", sensors, meters, lang="en")
    assert offered == [0.5, 1.0]


def test_a_sentence_that_refers_back_borrows_the_words_of_the_one_before():
    """A plan's item and its fields are separate sentences; the deadline answers a question about the item."""
    text = "5. Установка 48 базовых станций 5G в Петропавловске. Срок: до 1 октября 2026 года. Связь улучшится."
    passage = _passage(text)
    spans = [(0, 51), (52, 82), (83, len(text))]
    candidates = [Candidate(0, start, end, text[start:end]) for start, end in spans]
    stems = list(sentence_stems([passage], candidates))
    assert "станц" in stems[1] and "станц" not in stems[2]
    assert refers_back("Срок: до 1 октября 2026 года.") and refers_back("Его провёл аким области.")
    assert not refers_back("Сроки реализации обсудили.")
    assert refers_back("Стоимость: 1,7 млрд тенге.") and refers_back("На его создание выделено 1,2 млрд тенге.")
    assert refers_back("В нём участвовали акимы районов.") and not refers_back("В Таразе прошло заседание.")
    assert refers_back("Бұған 2,4 млрд теңге қарастырылған.") and refers_back("Для этого выделят 3 млрд тенге.")
    assert refers_back("Осыған 2 млрд теңге бөлінді.")


@pytest.mark.parametrize(
    ("sentence", "plan_only"),
    [
        ("Операторы связи до 1 июля 2026 года установят 85 базовых станций 5G.", True),
        ("По проекту «Безопасный Семей» в городе установят 560 камер.", True),
        ("2026 жылдың соңына дейін 68 ауыл интернетке қосылады.", True),
        ("Жоба аясында облыс бойынша 2 000 бейнекамера орнатылады.", True),  # a Kazakh passive future
        ("Mobile operators plan to install 26 5G base stations by the end of 2026.", True),
        ("1. Облыстың 34 ауылдық елді мекенін интернетке қосу.", True),  # a numbered plan's item
        ("4. Приобретение 48 сельскохозяйственных дронов.", True),
        ("2. Подключено 52 села.", False),
        # Something done, or the state now, even beside a plan.
        ("По состоянию на 1 декабря установлено 52 из 85 базовых станций 5G.", False),
        ("В Таразе уже работают 30 базовых станций.", False),
        ("Орал көшелерінде 480 камера орнатылды.", False),
        ("Жүйе тәулік бойы жұмыс істейді.", False),
        ("So far, 39 of the 64 clinics have been connected.", False),
        ("В городе работают 300 камер.", False),
    ],
)
def test_a_sentence_that_only_announces_a_plan_is_told_apart(sentence, plan_only):
    assert announces_only(sentence) is plan_only


def test_a_question_about_what_is_already_done_is_told_apart():
    for question in ("Сколько станций 5G уже работает в Шу?", "Шымкентте қазір қанша станция жұмыс істеп тұр?",
                     "How many cameras have been installed so far?"):  # fmt: skip
        assert profile_question(question).done, question
    for question in ("Сколько сёл подключат?", "How many villages will be connected?", "Қанша ауыл қосылады?"):
        assert not profile_question(question).done, question


def test_a_name_is_required_only_of_things_official_texts_quote():
    """Projects, services and companies are quoted («Smart Aqtau», АО «Казахтелеком»); a settlement's
    old name or a road's other name is not, so a sentence without quotes may still give it."""
    for question in ("Какой оператор запустит 5G?", "Как называется ИИ-бот для обращений?", "What is the IT hub called?"):
        assert profile_question(question).title_asked, question
    for question in ("Как называлось первое поселение на месте Ньюкасла?", "What is another name for State Route 168?",
                     "Как называется место работы?"):  # fmt: skip
        assert not profile_question(question).title_asked, question
