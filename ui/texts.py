"""Interface strings of the web chat in Russian (default), Kazakh and English."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath

from assistant import regions
from assistant.model import ANONYMOUS, LANGUAGES, ORIGINS, Provenance

DEFAULT_LANGUAGE = "ru"
LANGUAGE_NAMES = {"ru": "Русский", "kk": "Қазақша", "en": "English"}

# Questions about the sample document (the Aktobe akimat meeting on the Address), one per
# language in LANGUAGES order; the chat shows the interface language's first (see examples()).
EXAMPLES = (
    "Кто председательствовал на заседании в Актюбинской области?",
    "Ақтөбе облысындағы отырысқа кім төрағалық етті?",
    "Who chaired the meeting in Aktobe region?",
)

# The one document shipped in corpus/ (a regional response to the Address, with its sidecar). An
# index holding it alone is a first run: the chat and `assistant build` say how to get the rest.
SAMPLE_DOCUMENT = "000_8e621c451e969ccc.txt"

# Topics for the By region tab, in the interface language (the overview finds documents in any).
REGION_EXAMPLES = {
    "ru": ("цифровизация", "инвестиции", "искусственный интеллект", "сельское хозяйство"),
    "kk": ("цифрландыру", "инвестициялар", "жасанды интеллект", "ауыл шаруашылығы"),
    "en": ("digitalisation", "investment", "artificial intelligence", "agriculture"),
}


DOC_TYPE_LABELS = {
    "ru": {
        "address": "Послание Президента",
        "regional_response": "Ответ региона (акимата)",
        "legal_act": "Нормативный правовой акт",
        "other": "Другое",
    },
    "kk": {
        "address": "Президент Жолдауы",
        "regional_response": "Өңір (әкімдік) жауабы",
        "legal_act": "Нормативтік құқықтық акт",
        "other": "Басқа",
    },
    "en": {
        "address": "President's Address",
        "regional_response": "Regional response (akimat)",
        "legal_act": "Legal act",
        "other": "Other",
    },
}

DOC_LANGUAGE_LABELS = {
    "ru": {"ru": "русский", "kk": "казахский", "en": "английский"},
    "kk": {"ru": "орыс тілі", "kk": "қазақ тілі", "en": "ағылшын тілі"},
    "en": {"ru": "Russian", "kk": "Kazakh", "en": "English"},
}

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "title": "Официальные тексты Казахстана: ответы с цитатами",
        "description": "Ответ составляется из предложений, дословно взятых из проиндексированных документов "
        "(Послание Президента от 8 сентября 2025 года, ответы регионов, законы); каждое предложение "
        "помечено номером источника [n]. Работает без интернета.",
        "interface_language": "Язык интерфейса",
        "tab_chat": "Чат",
        "tab_documents": "Документы",
        "filters": "Фильтры",
        "filter_doc_type": "Тип документа",
        "filter_region": "Регион",
        "filter_date_from": "Дата с (ГГГГ-ММ-ДД)",
        "filter_date_to": "Дата по (ГГГГ-ММ-ДД)",
        "filter_lang": "Язык документа",
        "filters_hint": "Пустой фильтр не ограничивает поиск.",
        "chatbot_label": "Ответы с цитатами",
        "chatbot_placeholder": "Задайте вопрос по-русски, по-казахски или по-английски.",
        "first_run": "Сейчас в индексе только документ-пример. Чтобы добавить Послание Президента и ответы "
        "регионов, на компьютере с интернетом выполните `assistant fetch corpus/sources.tsv`, затем "
        "`assistant build` (или «Перестроить индекс» на вкладке «Документы»).",
        "input_placeholder": "Ваш вопрос…",
        "examples": "Примеры вопросов",
        "searching": "Ищу в документах…",
        "sources": "Источники",
        "related": "Возможно, связанные фрагменты",
        "date": "Дата",
        "region": "Регион",
        "doc_type": "Тип",
        "lang": "Язык",
        "section": "Раздел",
        "source": "Источник",
        "also_published": "Также опубликовано",
        "provenance": "Происхождение",
        "provenance_shipped": "в составе корпуса",
        "provenance_fetched": "скачано из списка источников {when}",
        "provenance_fetched_from": "скачано с {url} {when}",
        "provenance_uploaded": "загружено пользователем {user} {when}",
        "anonymous": "аноним",
        "stated_by_uploader": "со слов загрузившего, не проверено: {claim}",
        "similarity": "сходство",
        "no_passages": "Подходящих фрагментов нет: индекс пуст или фильтры исключают все документы.",
        "error_invalid_query": "Не удалось выполнить поиск: {detail}",
        "error_no_index": "Индекс ещё не построен. Добавьте документы на вкладке «Документы» и нажмите "
        "«Перестроить индекс».",
        "error_index": "Индекс повреждён или построен другой моделью. Перестройте его на вкладке «Документы».",
        "error_model": "Модель поиска недоступна. Обратитесь к администратору.",
        "error_internal": "Внутренняя ошибка. Подробности записаны в журнал сервера.",
        "bad_date": "Дата «{value}» должна быть в формате ГГГГ-ММ-ДД, например 2025-09-08.",
        "bad_date_range": "Начальная дата {start} позже конечной {end}.",
        "docs_totals": "Проиндексировано документов: {documents}, фрагментов: {chunks}.",
        "docs_empty": "Индекс ещё не построен: добавьте документы и нажмите «Перестроить индекс».",
        "col_title": "Название",
        "col_date": "Дата",
        "col_region": "Регион",
        "col_type": "Тип",
        "col_lang": "Язык",
        "col_chunks": "Фрагментов",
        "col_file": "Файл",
        "col_origin": "Происхождение",
        "col_sha256": "SHA-256",
        "refresh": "Обновить список",
        "upload_heading": "Добавить документы",
        "upload_label": "Файлы: .txt, .md, .docx, .pdf, .html, .htm, до {limit} МБ",
        "upload_meta": "Сведения о документах (необязательно; для всех загружаемых файлов)",
        "upload_doc_type": "Тип документа",
        "upload_region": "Регион (например, Aktobe region)",
        "upload_date": "Дата (ГГГГ-ММ-ДД)",
        "upload_lang": "Язык",
        "upload_button": "Добавить в корпус",
        "upload_none": "Выберите файлы для загрузки.",
        "upload_saved": "Сохранён: {name}",
        "upload_renamed": "Сохранён как «{name}»: файл с именем «{original}» уже есть в корпусе.",
        "upload_rejected": "Не принят: {name} — {reason}",
        "upload_next": "Нажмите «Перестроить индекс», чтобы новые файлы появились в поиске.",
        "reject_type": "недопустимый тип файла; можно: {allowed}",
        "reject_size": "файл больше {limit} МБ",
        "reject_empty": "пустой файл",
        "reject_name": "недопустимое имя файла",
        "reject_content": "содержимое не соответствует расширению {suffix}",
        "reject_duplicate": "тот же файл уже есть в корпусе: «{existing}»",
        "reject_quota": "в корпусе нет места (предел {limit} МБ)",
        "upload_too_many": "Не более {limit} файлов за раз, выбрано {count}: ничего не сохранено.",
        "remove_heading": "Удалить документ",
        "remove_choice": "Документ",
        "remove_button": "Удалить из корпуса",
        "remove_none": "Выберите документ для удаления.",
        "remove_done": "Удалён: «{title}». Нажмите «Перестроить индекс», чтобы он исчез из поиска.",
        "remove_unknown": "Такого документа нет в корпусе (возможно, он уже удалён).",
        "remove_failed": "Не удалось удалить документ: {reason}",
        "audit_heading": "Журнал изменений корпуса",
        "audit_time": "Время (UTC)",
        "audit_action": "Действие",
        "audit_user": "Пользователь",
        "audit_detail": "Название или имя файла",
        "audit_upload": "загрузка",
        "audit_delete": "удаление",
        "rebuild_button": "Перестроить индекс",
        "rebuild_running": "Индекс уже перестраивается (в другом окне или командой assistant build). Повторите позже.",
        "rebuild_done": "Индекс перестроен: {summary}",
        "rebuild_unchanged": "Индекс уже актуален: {summary}",
        "rebuild_failed_file": "Не проиндексирован: {path} — {reason}",
        "rebuild_skipped_file": "Пропущен: {path} — {reason}",
        "rebuild_error": "Не удалось перестроить индекс: {detail}",
        "editor_only": "Изменять корпус может только редактор: войдите под именем редактора.",
        "access_editors": "Добавлять документы и перестраивать индекс могут только редакторы.",
        "access_sign_in": "[Войти](login) · [Выйти](logout)",
        "access_sign_out": "[Выйти](logout)",
        "progress_documents": "Чтение документов",
        "progress_chunks": "Вычисление векторов",
        "status": "Состояние",
        "tab_regions": "По регионам",
        "regions_intro": "Тема или вопрос — и для каждого региона лучшая цитата из его документов, с источником. "
        "Регионы, где ничего подходящего нет, перечислены в конце.",
        "regions_question": "Тема или вопрос",
        "regions_placeholder": "например, цифровизация",
        "regions_button": "Показать по регионам",
        "regions_examples": "Примеры тем",
        "regions_filters": "Фильтры (необязательно)",
        "regions_summary": "Найдено в {found} из {total} регионов · порог сходства {threshold}",
        "regions_none": "Ни в одном регионе нет фрагментов, достаточно близких к теме (порог сходства {threshold}).",
        "regions_other": "Общенациональные и прочие документы",
        "regions_missing": "Ничего не найдено ({count}):",
        "regions_missing_topic": "документы есть, но о теме в них нет: {regions}",
        "regions_missing_empty": "документов нет: {regions}",
        "region_national": "Общенациональный уровень",
        "region_unknown": "Регион не указан",
        "answer_mode": "Как отвечать",
        "mode_extractive": "Цитаты из документов",
        "mode_generative": "Ответ языковой модели (ссылки проверяются)",
        "generating": "Модель пишет ответ; ссылки будут проверены…",
        "generated_badge": "Ответ написан языковой моделью по найденным фрагментам; каждое предложение сверено с источником.",
        "generated_flagged": "Предложений без подтверждения: {count}.",
        "flag_terms": "в источнике нет: {terms}",
        "flag_invalid_markers": "ссылки на несуществующие источники удалены: {markers}",
        "fallback_no_llm": "Языковая модель не настроена — показаны цитаты из документов.",
        "fallback_timeout": "Языковая модель не ответила вовремя — показаны цитаты из документов.",
        "fallback_unreachable": "Языковая модель недоступна — показаны цитаты из документов.",
        "fallback_interrupted": "Связь с языковой моделью прервалась — показаны цитаты из документов.",
        "fallback_error": "Языковая модель вернула ошибку — показаны цитаты из документов.",
        "fallback_garbage": "Ответ языковой модели не удалось прочитать — показаны цитаты из документов.",
        "fallback_empty": "Языковая модель вернула пустой ответ — показаны цитаты из документов.",
        "fallback_too_long": "Ответ языковой модели оказался слишком длинным и был остановлен — показаны цитаты из документов.",
        "fallback_unsupported": "Ответ языковой модели не подтвердился источниками — показаны цитаты из документов.",
        "fallback_model_no_answer": "Языковая модель не нашла ответа во фрагментах — показаны ближайшие цитаты.",
        "fallback_wrong_language": "Языковая модель ответила не на языке вопроса — показаны цитаты из документов.",
    },
    "kk": {
        "title": "Қазақстанның ресми мәтіндері: дәйексөзбен жауаптар",
        "description": "Жауап индекстелген құжаттардан (2025 жылғы 8 қыркүйектегі Президент Жолдауы, өңірлердің "
        "жауаптары, заңдар) сөзбе-сөз алынған сөйлемдерден құралады; әр сөйлем дереккөз нөмірімен [n] "
        "белгіленеді. Интернетсіз жұмыс істейді.",
        "interface_language": "Интерфейс тілі",
        "tab_chat": "Чат",
        "tab_documents": "Құжаттар",
        "filters": "Сүзгілер",
        "filter_doc_type": "Құжат түрі",
        "filter_region": "Өңір",
        "filter_date_from": "Күні, бастап (ЖЖЖЖ-АА-КК)",
        "filter_date_to": "Күні, дейін (ЖЖЖЖ-АА-КК)",
        "filter_lang": "Құжат тілі",
        "filters_hint": "Бос сүзгі іздеуді шектемейді.",
        "chatbot_label": "Дәйексөзбен жауаптар",
        "chatbot_placeholder": "Сұрағыңызды орыс, қазақ немесе ағылшын тілінде қойыңыз.",
        "first_run": "Қазір индексте тек үлгі құжат бар. Президент Жолдауы мен өңірлердің жауаптарын қосу үшін "
        "интернеті бар компьютерде `assistant fetch corpus/sources.tsv`, содан кейін `assistant build` "
        "командасын орындаңыз (немесе «Құжаттар» қойындысында «Индексті қайта құру» батырмасын басыңыз).",
        "input_placeholder": "Сұрағыңыз…",
        "examples": "Сұрақ үлгілері",
        "searching": "Құжаттардан іздеуде…",
        "sources": "Дереккөздер",
        "related": "Мүмкін, қатысты үзінділер",
        "date": "Күні",
        "region": "Өңір",
        "doc_type": "Түрі",
        "lang": "Тілі",
        "section": "Бөлім",
        "source": "Дереккөз",
        "also_published": "Сондай-ақ жарияланған",
        "provenance": "Шығу тегі",
        "provenance_shipped": "корпус құрамында",
        "provenance_fetched": "дереккөздер тізімінен жүктеп алынды {when}",
        "provenance_fetched_from": "{url} сайтынан жүктеп алынды {when}",
        "provenance_uploaded": "{user} пайдаланушысы жүктеді {when}",
        "anonymous": "аноним",
        "stated_by_uploader": "жүктеушінің айтуынша, тексерілмеген: {claim}",
        "similarity": "ұқсастық",
        "no_passages": "Сәйкес үзінді жоқ: индекс бос немесе сүзгілер барлық құжатты шығарып тастайды.",
        "error_invalid_query": "Іздеу орындалмады: {detail}",
        "error_no_index": "Индекс әлі құрылмаған. «Құжаттар» қойындысында құжаттар қосып, «Индексті қайта құру» "
        "батырмасын басыңыз.",
        "error_index": "Индекс зақымдалған немесе басқа модельмен құрылған. Оны «Құжаттар» қойындысында қайта құрыңыз.",
        "error_model": "Іздеу моделі қолжетімсіз. Әкімшіге хабарласыңыз.",
        "error_internal": "Ішкі қате. Толығырақ сервер журналында жазылған.",
        "bad_date": "«{value}» күні ЖЖЖЖ-АА-КК пішімінде болуы керек, мысалы 2025-09-08.",
        "bad_date_range": "Бастапқы күн {start} соңғы күннен {end} кейін.",
        "docs_totals": "Индекстелген құжаттар: {documents}, үзінділер: {chunks}.",
        "docs_empty": "Индекс әлі құрылмаған: құжаттар қосып, «Индексті қайта құру» батырмасын басыңыз.",
        "col_title": "Атауы",
        "col_date": "Күні",
        "col_region": "Өңір",
        "col_type": "Түрі",
        "col_lang": "Тілі",
        "col_chunks": "Үзінділер",
        "col_file": "Файл",
        "col_origin": "Шығу тегі",
        "col_sha256": "SHA-256",
        "refresh": "Тізімді жаңарту",
        "upload_heading": "Құжаттар қосу",
        "upload_label": "Файлдар: .txt, .md, .docx, .pdf, .html, .htm, {limit} МБ-қа дейін",
        "upload_meta": "Құжаттар туралы мәлімет (міндетті емес; барлық жүктелетін файлдарға)",
        "upload_doc_type": "Құжат түрі",
        "upload_region": "Өңір (мысалы, Aktobe region)",
        "upload_date": "Күні (ЖЖЖЖ-АА-КК)",
        "upload_lang": "Тілі",
        "upload_button": "Корпусқа қосу",
        "upload_none": "Жүктейтін файлдарды таңдаңыз.",
        "upload_saved": "Сақталды: {name}",
        "upload_renamed": "«{name}» деген атпен сақталды: корпуста «{original}» атты файл бар.",
        "upload_rejected": "Қабылданбады: {name} — {reason}",
        "upload_next": "Жаңа файлдар іздеуде шығуы үшін «Индексті қайта құру» батырмасын басыңыз.",
        "reject_type": "файл түрі рұқсат етілмеген; рұқсат етілгендер: {allowed}",
        "reject_size": "файл {limit} МБ-тан үлкен",
        "reject_empty": "бос файл",
        "reject_name": "файл атауы жарамсыз",
        "reject_content": "мазмұны {suffix} кеңейтіміне сәйкес емес",
        "reject_duplicate": "дәл осы файл корпуста бар: «{existing}»",
        "reject_quota": "корпуста орын жоқ (шегі {limit} МБ)",
        "upload_too_many": "Бір жолы {limit} файлдан артық емес, {count} таңдалды: ештеңе сақталмады.",
        "remove_heading": "Құжатты жою",
        "remove_choice": "Құжат",
        "remove_button": "Корпустан жою",
        "remove_none": "Жоятын құжатты таңдаңыз.",
        "remove_done": "Жойылды: «{title}». Іздеуден шығуы үшін «Индексті қайта құру» батырмасын басыңыз.",
        "remove_unknown": "Корпуста мұндай құжат жоқ (мүмкін, ол жойылып қойған).",
        "remove_failed": "Құжатты жою мүмкін болмады: {reason}",
        "audit_heading": "Корпус өзгерістерінің журналы",
        "audit_time": "Уақыты (UTC)",
        "audit_action": "Әрекет",
        "audit_user": "Пайдаланушы",
        "audit_detail": "Атауы немесе файл аты",
        "audit_upload": "жүктеу",
        "audit_delete": "жою",
        "rebuild_button": "Индексті қайта құру",
        "rebuild_running": "Индекс қазір қайта құрылуда (басқа терезеде немесе assistant build командасымен). "
        "Кейінірек қайталаңыз.",
        "rebuild_done": "Индекс қайта құрылды: {summary}",
        "rebuild_unchanged": "Индекс өзекті: {summary}",
        "rebuild_failed_file": "Индекстелмеді: {path} — {reason}",
        "rebuild_skipped_file": "Өткізіп жіберілді: {path} — {reason}",
        "rebuild_error": "Индексті қайта құру мүмкін болмады: {detail}",
        "editor_only": "Корпусты тек редактор өзгерте алады: редактор атымен кіріңіз.",
        "access_editors": "Құжаттарды қосуға және индексті қайта құруға тек редакторлардың рұқсаты бар.",
        "access_sign_in": "[Кіру](login) · [Шығу](logout)",
        "access_sign_out": "[Шығу](logout)",
        "progress_documents": "Құжаттарды оқу",
        "progress_chunks": "Векторларды есептеу",
        "status": "Күйі",
        "tab_regions": "Өңірлер бойынша",
        "regions_intro": "Тақырып немесе сұрақ жазыңыз — әр өңір бойынша оның құжаттарынан ең үздік дәйексөз "
        "дереккөзімен шығады. Сәйкес ештеңе табылмаған өңірлер соңында аталады.",
        "regions_question": "Тақырып немесе сұрақ",
        "regions_placeholder": "мысалы, цифровизация",
        "regions_button": "Өңірлер бойынша көрсету",
        "regions_examples": "Тақырып үлгілері",
        "regions_filters": "Сүзгілер (міндетті емес)",
        "regions_summary": "{total} өңірдің {found} өңірінде табылды · ұқсастық шегі {threshold}",
        "regions_none": "Бірде-бір өңірде тақырыпқа жеткілікті жақын үзінді жоқ (ұқсастық шегі {threshold}).",
        "regions_other": "Жалпыұлттық және басқа құжаттар",
        "regions_missing": "Ештеңе табылмады ({count}):",
        "regions_missing_topic": "құжаттар бар, бірақ бұл тақырып туралы емес: {regions}",
        "regions_missing_empty": "құжаттар жоқ: {regions}",
        "region_national": "Жалпыұлттық деңгей",
        "region_unknown": "Өңір көрсетілмеген",
        "answer_mode": "Жауап түрі",
        "mode_extractive": "Құжаттардан дәйексөздер",
        "mode_generative": "Тілдік модельдің жауабы (сілтемелер тексеріледі)",
        "generating": "Модель жауап жазуда; сілтемелер тексеріледі…",
        "generated_badge": "Жауапты табылған үзінділер бойынша тілдік модель жазды; әр сөйлем дереккөзбен салыстырылды.",
        "generated_flagged": "Расталмаған сөйлемдер: {count}.",
        "flag_terms": "дереккөзде жоқ: {terms}",
        "flag_invalid_markers": "жоқ дереккөздерге сілтемелер алынып тасталды: {markers}",
        "fallback_no_llm": "Тілдік модель бапталмаған — құжаттардан дәйексөздер көрсетілді.",
        "fallback_timeout": "Тілдік модель уақытында жауап бермеді — құжаттардан дәйексөздер көрсетілді.",
        "fallback_unreachable": "Тілдік модель қолжетімсіз — құжаттардан дәйексөздер көрсетілді.",
        "fallback_interrupted": "Тілдік модельмен байланыс үзілді — құжаттардан дәйексөздер көрсетілді.",
        "fallback_error": "Тілдік модель қате қайтарды — құжаттардан дәйексөздер көрсетілді.",
        "fallback_garbage": "Тілдік модельдің жауабын оқу мүмкін болмады — құжаттардан дәйексөздер көрсетілді.",
        "fallback_empty": "Тілдік модель бос жауап қайтарды — құжаттардан дәйексөздер көрсетілді.",
        "fallback_too_long": "Тілдік модельдің жауабы тым ұзын болып, тоқтатылды — құжаттардан дәйексөздер көрсетілді.",
        "fallback_unsupported": "Тілдік модельдің жауабы дереккөздермен расталмады — құжаттардан дәйексөздер көрсетілді.",
        "fallback_model_no_answer": "Тілдік модель үзінділерден жауап таппады — ең жақын дәйексөздер көрсетілді.",
        "fallback_wrong_language": "Тілдік модель сұрақ тілінде жауап бермеді — құжаттардан дәйексөздер көрсетілді.",
    },
    "en": {
        "title": "Kazakhstan's official texts: answers with citations",
        "description": "Answers are made of sentences quoted verbatim from the indexed documents (the President's "
        "Address of 8 September 2025, the regions' responses, laws); each sentence carries the number of "
        "its source [n]. Works offline.",
        "interface_language": "Interface language",
        "tab_chat": "Chat",
        "tab_documents": "Documents",
        "filters": "Filters",
        "filter_doc_type": "Document type",
        "filter_region": "Region",
        "filter_date_from": "Date from (YYYY-MM-DD)",
        "filter_date_to": "Date to (YYYY-MM-DD)",
        "filter_lang": "Document language",
        "filters_hint": "An empty filter does not restrict the search.",
        "chatbot_label": "Answers with citations",
        "chatbot_placeholder": "Ask in Russian, Kazakh or English.",
        "first_run": "Only the sample document is indexed. To add the President's Address and the regions' "
        "responses, run `assistant fetch corpus/sources.tsv` on a machine with internet access, then "
        "`assistant build` (or Rebuild index on the Documents tab).",
        "input_placeholder": "Your question…",
        "examples": "Example questions",
        "searching": "Searching the documents…",
        "sources": "Sources",
        "related": "Possibly related passages",
        "date": "Date",
        "region": "Region",
        "doc_type": "Type",
        "lang": "Language",
        "section": "Section",
        "source": "Source",
        "also_published": "Also published at",
        "provenance": "Provenance",
        "provenance_shipped": "shipped with the corpus",
        "provenance_fetched": "fetched from the sources list on {when}",
        "provenance_fetched_from": "fetched from {url} on {when}",
        "provenance_uploaded": "uploaded by {user} on {when}",
        "anonymous": "anonymous",
        "stated_by_uploader": "stated by the uploader, not verified: {claim}",
        "similarity": "similarity",
        "no_passages": "No matching passages: the index is empty or the filters exclude every document.",
        "error_invalid_query": "The search could not run: {detail}",
        "error_no_index": "No index has been built yet. Add documents on the Documents tab and press Rebuild index.",
        "error_index": "The index is damaged or was built with another model. Rebuild it on the Documents tab.",
        "error_model": "The search model is unavailable. Contact the administrator.",
        "error_internal": "Internal error. The details are in the server log.",
        "bad_date": "The date “{value}” must be written YYYY-MM-DD, for example 2025-09-08.",
        "bad_date_range": "The start date {start} is after the end date {end}.",
        "docs_totals": "Indexed documents: {documents}, passages: {chunks}.",
        "docs_empty": "No index yet: add documents and press Rebuild index.",
        "col_title": "Title",
        "col_date": "Date",
        "col_region": "Region",
        "col_type": "Type",
        "col_lang": "Language",
        "col_chunks": "Passages",
        "col_file": "File",
        "col_origin": "Origin",
        "col_sha256": "SHA-256",
        "refresh": "Refresh list",
        "upload_heading": "Add documents",
        "upload_label": "Files: .txt, .md, .docx, .pdf, .html, .htm, up to {limit} MB",
        "upload_meta": "About the documents (optional; applies to every uploaded file)",
        "upload_doc_type": "Document type",
        "upload_region": "Region (e.g. Aktobe region)",
        "upload_date": "Date (YYYY-MM-DD)",
        "upload_lang": "Language",
        "upload_button": "Add to corpus",
        "upload_none": "Choose files to upload.",
        "upload_saved": "Saved: {name}",
        "upload_renamed": "Saved as “{name}”: a file named “{original}” is already in the corpus.",
        "upload_rejected": "Not accepted: {name} — {reason}",
        "upload_next": "Press Rebuild index to make the new files searchable.",
        "reject_type": "file type not accepted; allowed: {allowed}",
        "reject_size": "larger than {limit} MB",
        "reject_empty": "empty file",
        "reject_name": "unusable file name",
        "reject_content": "the content does not match the {suffix} extension",
        "reject_duplicate": "the same file is already in the corpus: “{existing}”",
        "reject_quota": "no room left in the corpus (its limit is {limit} MB)",
        "upload_too_many": "At most {limit} files at a time, {count} chosen: nothing was saved.",
        "remove_heading": "Remove a document",
        "remove_choice": "Document",
        "remove_button": "Remove from corpus",
        "remove_none": "Choose a document to remove.",
        "remove_done": "Removed: “{title}”. Press Rebuild index to take it out of the search.",
        "remove_unknown": "No such document in the corpus (it may have been removed already).",
        "remove_failed": "The document could not be removed: {reason}",
        "audit_heading": "Corpus audit log",
        "audit_time": "Time (UTC)",
        "audit_action": "Action",
        "audit_user": "User",
        "audit_detail": "Title or file name",
        "audit_upload": "upload",
        "audit_delete": "removal",
        "rebuild_button": "Rebuild index",
        "rebuild_running": "The index is already being rebuilt (in another window or by assistant build). "
        "Try again later.",
        "rebuild_done": "Index rebuilt: {summary}",
        "rebuild_unchanged": "The index is up to date: {summary}",
        "rebuild_failed_file": "Not indexed: {path} — {reason}",
        "rebuild_skipped_file": "Skipped: {path} — {reason}",
        "rebuild_error": "The index could not be rebuilt: {detail}",
        "editor_only": "Only an editor may change the corpus: sign in as an editor.",
        "access_editors": "Only editors may add documents and rebuild the index.",
        "access_sign_in": "[Sign in](login) · [Sign out](logout)",
        "access_sign_out": "[Sign out](logout)",
        "progress_documents": "Reading documents",
        "progress_chunks": "Computing vectors",
        "status": "Status",
        "tab_regions": "By region",
        "regions_intro": "Type a topic or a question to see, for each region, the best quote from its documents "
        "with its source. Regions with nothing relevant are listed at the end.",
        "regions_question": "Topic or question",
        "regions_placeholder": "e.g. цифровизация (digitalisation)",
        "regions_button": "Show by region",
        "regions_examples": "Example topics",
        "regions_filters": "Filters (optional)",
        "regions_summary": "Found in {found} of {total} regions · similarity threshold {threshold}",
        "regions_none": "No region has a passage close enough to the topic (similarity threshold {threshold}).",
        "regions_other": "National and other documents",
        "regions_missing": "Nothing found ({count}):",
        "regions_missing_topic": "documents indexed, but none on this topic: {regions}",
        "regions_missing_empty": "no documents indexed: {regions}",
        "region_national": "National level",
        "region_unknown": "Region not given",
        "answer_mode": "How to answer",
        "mode_extractive": "Quotes from the documents",
        "mode_generative": "Language model answer (citations checked)",
        "generating": "The model is writing; its citations will be checked…",
        "generated_badge": "Written by a language model from the passages found; each sentence was checked against its source.",
        "generated_flagged": "Sentences not supported: {count}.",
        "flag_terms": "not in the source: {terms}",
        "flag_invalid_markers": "citations of non-existent sources removed: {markers}",
        "fallback_no_llm": "No language model is configured: quotes from the documents are shown.",
        "fallback_timeout": "The language model did not answer in time: quotes from the documents are shown.",
        "fallback_unreachable": "The language model is unreachable: quotes from the documents are shown.",
        "fallback_interrupted": "The connection to the language model broke: quotes from the documents are shown.",
        "fallback_error": "The language model returned an error: quotes from the documents are shown.",
        "fallback_garbage": "The language model's reply could not be read: quotes from the documents are shown.",
        "fallback_empty": "The language model returned nothing: quotes from the documents are shown.",
        "fallback_too_long": "The language model's reply was too long and was stopped: quotes from the documents are shown.",
        "fallback_unsupported": "The sources did not support the language model's answer: quotes from the documents are shown.",
        "fallback_model_no_answer": "The language model found no answer in the passages: the closest quotes are shown.",
        "fallback_wrong_language": "The language model answered in another language than the question's: "
        "quotes from the documents are shown.",
    },
}


def examples(lang: str) -> list[str]:
    """The chat's example questions: the one in ``lang`` first, then the others (any language may be asked)."""
    own = EXAMPLES[LANGUAGES.index(language(lang))]
    return [own] + [question for question in EXAMPLES if question != own]


def first_run(doc_ids: Sequence[str]) -> bool:
    """Whether the indexed documents ``doc_ids`` are the shipped sample alone (:data:`SAMPLE_DOCUMENT`)."""
    return len(doc_ids) == 1 and PurePosixPath(doc_ids[0]).name == SAMPLE_DOCUMENT


def language(value: object) -> str:
    """A supported interface language for ``value`` (``"kk"``, ``"EN"``...), Russian otherwise."""
    code = str(value or "").strip().lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def text(lang: str, key: str, **values: object) -> str:
    """The interface string ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``.

    Raises:
        KeyError: ``key`` is not an interface string.
    """
    template = TEXTS[language(lang)][key]
    return template.format(**values) if values else template


def doc_type_label(lang: str, doc_type: str) -> str:
    """Human label of a document type (the raw value when it is not one of the four known types)."""
    return DOC_TYPE_LABELS[language(lang)].get(doc_type, doc_type)


def doc_language_label(lang: str, code: str) -> str:
    """Human name of a document's language code (the code itself when unknown)."""
    return DOC_LANGUAGE_LABELS[language(lang)].get(code, code)


def user_label(lang: str, user: str) -> str:
    """Who changed the corpus, as the interface names them (nobody logged in: "anonymous" in ``lang``)."""
    return text(lang, "anonymous") if user == ANONYMOUS else user


def provenance_text(lang: str, provenance: Provenance, *, source: str = "", stated: bool = False) -> str:
    """How a document entered the corpus, as a phrase in ``lang`` ("uploaded by X on 2026-01-05 10:11
    UTC"); the URL a page was fetched from unless it is ``source`` (shown beside it already); with
    ``stated``, followed by what an uploaded file says of its own source. Empty for an index built
    before provenance was recorded."""
    if provenance.origin not in ORIGINS:
        return ""
    when = provenance.added_at.replace("T", " ").removesuffix("Z")[:16]
    when = f"{when} UTC" if when else ""
    key = f"provenance_{provenance.origin}"
    if provenance.origin == "fetched" and provenance.fetched_from and provenance.fetched_from != source:
        key = "provenance_fetched_from"
    phrase = text(lang, key, when=when, url=provenance.fetched_from, user=user_label(lang, provenance.added_by))
    phrase = " ".join(phrase.split())
    claim = stated_text(lang, provenance) if stated else ""
    return f"{phrase}; {claim}" if claim else phrase


def stated_text(lang: str, provenance: Provenance) -> str:
    """What an uploaded file says of its own source and outlet, marked as the uploader's word; or ``""``."""
    claim = " · ".join(part for part in (provenance.stated_source, provenance.stated_outlet) if part)
    return text(lang, "stated_by_uploader", claim=claim) if claim else ""


def region_label(lang: str, region: str) -> str:
    """A region's name in the interface language: a canonical name translated, ``national`` and an
    unknown region ("") described, any other value as written."""
    if region == "national":
        return text(lang, "region_national")
    if not region:
        return text(lang, "region_unknown")
    return regions.region_label(region, language(lang))
