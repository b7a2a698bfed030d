"""The README's examples do what the README says, on the default corpus, with the real model."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from assistant import Searcher, Settings, answer, build_index

from .conftest import REPO

pytestmark = pytest.mark.model

README = (REPO / "README.md").read_text(encoding="utf-8")
ASSISTANT = str(Path(sys.executable).with_name("assistant"))
# A line of a README code block whose comment says what it prints: print(x)  # "Под … [1]"
CLAIM = re.compile(r'^(?P<indent>\s*)print\((?P<expr>.+)\)\s+#\s+"(?P<claim>[^"]+)"\s*$')


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A folder with the default corpus and its index, as after the README's set-up command."""
    root = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "corpus", root / "corpus")
    build_index(root / "corpus", root / "index")
    return root


def _claimed(claim: str) -> re.Pattern[str]:
    """The README's "…" stands for any text."""
    return re.compile(".*?".join(re.escape(part.strip()) for part in claim.split("…")), re.DOTALL)


def test_every_printed_claim_of_the_python_example_holds(workdir, monkeypatch):
    block = next(b for b in re.findall(r"```python\n(.*?)```", README, re.DOTALL) if "answer(" in b)
    claims = []
    lines = []
    for line in block.splitlines():
        match = CLAIM.match(line)
        if match:
            claims.append(match["claim"])
            line = f"{match['indent']}_check({match['expr']}, {len(claims) - 1})"
        lines.append(line)
    assert claims, "the README's Python example no longer says what answer() prints"
    checked = []

    def _check(value: object, number: int) -> None:
        assert _claimed(claims[number]).search(str(value)), f"README claims {claims[number]!r}, got {value!r}"
        checked.append(number)

    monkeypatch.chdir(workdir)
    with redirect_stdout(io.StringIO()):
        exec(compile("\n".join(lines), "README.md", "exec"), {"_check": _check})  # noqa: S102 - our own README
    assert checked == list(range(len(claims)))


def test_the_readme_s_first_question_is_answered_with_the_chair(workdir):
    question = re.search(r'`assistant ask "([^"]+)"`', README)[1]
    result = subprocess.run(
        [ASSISTANT, "ask", question, "--index", str(workdir / "index")], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Под председательством акима Актюбинской области Асхата Шахарова")


# Questions a newcomer asks of the sample document, with the sentence that must come first.
SAMPLE_QUESTIONS = {
    "Кто председательствовал на заседании?": "Под председательством акима Актюбинской области Асхата Шахарова",
    "Кто участвовал в заседании?": "В заседании приняли участие депутаты маслихата",
    "Когда было оглашено Послание?": "глава государства озвучил 8 сентября 2025 года",
    "Who chaired the meeting?": "Под председательством акима Актюбинской области Асхата Шахарова",
    "Отырысқа кім төрағалық етті?": "Под председательством акима Актюбинской области Асхата Шахарова",
}


@pytest.mark.parametrize(("question", "expected"), SAMPLE_QUESTIONS.items())
def test_the_one_document_corpus_answers_what_it_says_with_the_right_sentence_first(workdir, question, expected):
    searcher = Searcher(workdir / "index")
    reply = answer(question, searcher=searcher, settings=Settings(index_dir=workdir / "index"))
    assert reply.found, reply.text
    assert expected in reply.quotes[0].text
