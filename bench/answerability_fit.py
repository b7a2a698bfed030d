"""Fit the answerability model (``assistant/answerability.json``) on our fit set and part of XQuAD.

Every question goes through :func:`assistant.answer.weigh`, the same retrieval and evidence
the answer uses; each candidate sentence becomes a row of :data:`assistant.evidence.FEATURES`
labelled 1 when it answers (it overlaps a gold fragment of a gold document; for XQuAD, it
contains a gold answer and comes from the gold article). Two logistic regressions follow:

1. *ranking*: on the differences between an answering and a non-answering sentence of the same
   question (both orders), without intercept: what tells one question's sentences apart. Two
   variants are cross-validated (four folds, whole regions and articles held out), each over a
   grid of regularisation strengths: the features alone, and the features plus a weight per
   embedding dimension of question ⊙ sentence (a learned head over the model); the better one
   is kept;
2. *answering*: on each question's top-ranked sentence (:data:`assistant.answerability.ANSWER_FEATURES`:
   its features, ranking score and lead), labelled 1 when the question is answerable and that
   sentence answers it: whether to answer at all.

The data:

* ``tests/data/answers/fit`` (and the other sets ``--sets`` names) under three corpus
  conditions (``single``, ``alone`` and ``large``, as in ``bench/answer_dev_bench.py``: one
  document, all of the set's, and those among 1,256 chunks of distractors): natural questions
  over look-alike regional reports, with unanswerable ones of four kinds;
* every third question of XQuAD-ru and XQuAD-en dev over an index of the even-numbered
  articles plus the 12 legal acts: questions of indexed articles are answerable, the others
  are not (long, specific questions; English over Russian text);
* every sixth question of XQuAD-ru, XQuAD-en and KazQAD-kk over the fit set's reports (one
  alone, and all 13): general-knowledge questions that are off-topic there, in each language.

The "found" threshold is the probability that minimises the fit questions' errors (answerable
refused, wrong first quote, unanswerable answered, each counted once; each source of questions
weighing the same), the quote margin the widest gap in ranking score below the best at which
further sentences still answer at least half the time (our sets pooled by condition, so that
fitting on more of them keeps the balance). Only the sets named by ``--sets`` are read (default
``fit,holdout,blind``, which the shipped model was fitted on): report the others (``blind2`` to ``blind7``)
with ``bench/answer_dev_bench.py`` after fitting.

Usage:
    python bench/answerability_fit.py [--sets fit,holdout,blind] [--workspace DIR] [--write] [--reuse] [--c C]

Without ``--write`` it prints the cross-validation, the weights and the error rates and leaves the
shipped model alone. About a minute on 2 cores once the indexes are built (the first run builds
them: about 10 minutes, most of it the distractors of the ``large`` condition).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from answer_dev_bench import prepare
from xquad_documents import article_document

from assistant import Searcher, Settings, build_index
from assistant.answer import weigh
from assistant.answerability import ANSWER_FEATURES, WEIGHTS_FILE, AnswerabilityModel, answer_row
from assistant.embeddings import load_embedder
from assistant.evidence import FEATURES
from tests.answer_sets import SETS, answers_at, load_questions, lone_document  # noqa: E402

# Weighing only needs a model to rank; the features do not depend on it.
NEUTRAL = AnswerabilityModel((0.0,) * len(FEATURES), (0.0,) * len(ANSWER_FEATURES), 0.0, 0.5, 0.0)


@dataclass
class Group:
    """One question's candidates: features, labels, and what the question is."""

    source: str  # "fit/alone", "fit/large", "xquad-ru", "xquad-en"
    lang: str
    kind: str
    fold: str  # questions sharing this are held out together in cross-validation (a region, an article)
    features: np.ndarray
    products: np.ndarray  # question ⊙ sentence vectors
    labels: np.ndarray
    eligible: np.ndarray  # False where the answer may not quote (another region's document, no asked fact)
    in_scope: np.ndarray  # False outside what the question names (another region's document, another title)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/answer-dev-bench"))
    parser.add_argument("--c", type=float, help="inverse regularisation strength of the ranking (default: chosen by cross-validation)")
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS_FILE.relative_to(REPO)}")
    parser.add_argument("--reuse", action="store_true", help="refit on the features the last run saved (same code)")
    parser.add_argument(
        "--sets",
        default="fit,holdout,blind",
        help="comma-separated answer sets to fit on (default: fit,holdout,blind; blind2 to blind7 are only reported)",
    )
    args = parser.parse_args()
    args.sets = tuple(name for name in args.sets.split(",") if name)
    unknown = [name for name in args.sets if name not in SETS]
    if unknown or not args.sets:
        parser.error(f"--sets: unknown answer set {', '.join(unknown) or '(none)'}; known: {', '.join(SETS)}")
    saved = args.workspace / f"fit-groups-{'-'.join(args.sets)}.npz"
    groups = load_groups(saved) if args.reuse else weigh_all(args)
    save_groups(groups, saved)

    model, report = fit(groups, args.c, load_embedder().identity)
    print(report)
    if args.write:
        about = (
            f"Fitted {date.today().isoformat()} by `python bench/answerability_fit.py --sets {','.join(args.sets)} --write` on "
            f"{sum(len(g.labels) for g in groups)} candidate sentences of {len(groups)} questions: "
            f"tests/data/answers/{{{','.join(args.sets)}}} (each report alone, all of a set's reports, and among the "
            "shared distractors), every third XQuAD-ru/en dev question, and every sixth XQuAD-ru/en and KazQAD-kk "
            "question as off-topic over the fit reports."
        )
        model = replace(model, about=about)
        WEIGHTS_FILE.write_text(model.to_json(), encoding="utf-8")
        print(f"\nwrote {WEIGHTS_FILE}")


def weigh_all(args) -> list[Group]:
    """Every fit question weighed under each condition, and the XQuAD part."""
    embedder = load_embedder()
    settings = Settings()
    groups: list[Group] = []
    by_condition = {}
    for name in args.sets:
        for condition in ("single", "alone", "large"):
            searchers = {
                doc: Searcher(index, embedder=embedder)
                for doc, index in prepare(name, condition, args, settings, embedder, build_index, Searcher).items()
            }
            if name == "fit":
                by_condition[condition] = searchers
            for question in load_questions(name):
                searcher = searchers[lone_document(question, name) if condition == "single" else ""]
                weighing = weigh(question.question, searcher=searcher, settings=settings, model=NEUTRAL)
                labels = [
                    answers_at(question, weighing.quotable[c.passage].doc_id, weighing.quotable[c.passage].text, c.start, c.end)
                    for c in weighing.candidates
                ]
                # Folds are regions whatever the set: a region's reports are held out together.
                fold = question.region or f"{name}:{question.answers[0].doc if question.answers else question.id}"
                groups.append(_group(f"{name}/{condition}", question.lang, question.kind, fold, weighing, labels))
    groups += xquad_groups(args, settings, embedder)
    if by_condition:
        groups += off_topic_groups(args, settings, by_condition)
    return groups


def off_topic_groups(args, settings: Settings, by_condition) -> list[Group]:
    """General-knowledge questions (every sixth of XQuAD-ru, XQuAD-en and KazQAD-kk) over the fit
    set's reports: off-topic for them, in each language, long and specific as well as short."""
    eval_dir = args.shared / "data" / "eval"
    if not (eval_dir / "xquad-ru-dev.json").is_file():
        return []
    asked = []
    for lang in ("ru", "en"):
        data = json.loads((eval_dir / f"xquad-{lang}-dev.json").read_text(encoding="utf-8"))["data"]
        questions = [(qa["question"], number) for number, a in enumerate(data) for p in a["paragraphs"] for qa in p["qas"]]
        asked += [(lang, question, f"offtopic-xquad-{number}") for question, number in questions[::6]]
    rows = [json.loads(line) for line in (eval_dir / "kazqad-kk-dev.jsonl").read_text(encoding="utf-8").splitlines()]
    asked += [("kk", row["question"], f"offtopic-kazqad-{row['id'].split('#')[-1]}") for row in rows[::6]]
    groups = []
    single = sorted(by_condition["single"])
    for number, (lang, question, fold) in enumerate(asked):
        for condition, searcher in (("single", by_condition["single"][single[number % len(single)]]), ("alone", by_condition["alone"][""])):
            weighing = weigh(question, searcher=searcher, settings=settings, model=NEUTRAL)
            groups.append(_group(f"offtopic/{condition}", lang, "off_topic", fold, weighing, [False] * len(weighing.candidates)))
    return groups


def save_groups(groups: list[Group], path: Path) -> None:
    """The weighed questions as arrays (no pickle), for --reuse."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        features=np.concatenate([g.features for g in groups]),
        products=np.concatenate([g.products for g in groups]),
        labels=np.concatenate([g.labels for g in groups]),
        eligible=np.concatenate([g.eligible for g in groups]),
        in_scope=np.concatenate([g.in_scope for g in groups]),
        sizes=np.array([len(g.labels) for g in groups]),
        meta=np.array(json.dumps([[g.source, g.lang, g.kind, g.fold] for g in groups])),
        features_names=np.array(json.dumps(FEATURES)),
    )


def load_groups(path: Path) -> list[Group]:
    data = np.load(path, allow_pickle=False)
    if tuple(json.loads(str(data["features_names"]))) != FEATURES:
        raise SystemExit(f"{path} holds other features than today's: run without --reuse")
    groups, start = [], 0
    if "in_scope" not in data:
        raise SystemExit(f"{path} was saved by an older version of this script: run without --reuse")
    features, products, labels, eligible, in_scope = (
        data[key] for key in ("features", "products", "labels", "eligible", "in_scope")
    )
    for (source, lang, kind, fold), size in zip(json.loads(str(data["meta"])), data["sizes"]):
        end = start + int(size)
        groups.append(
            Group(source, lang, kind, fold, features[start:end], products[start:end], labels[start:end],
                  eligible[start:end], in_scope[start:end])
        )  # fmt: skip
        start = end
    return groups


def _group(source: str, lang: str, kind: str, fold: str, weighing, labels) -> Group:
    eligible = np.isfinite(weighing.scores)  # weigh() rules out other regions' documents with -inf
    in_scope = np.isfinite(weighing.rivals)
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    return Group(source, lang, kind, fold, weighing.features, weighing.products, labels, eligible, in_scope)


def xquad_groups(args, settings: Settings, embedder) -> list[Group]:
    """Every third XQuAD-ru/en dev question over the even-numbered articles (plus the acts)."""
    eval_dir = args.shared / "data" / "eval"
    if not (eval_dir / "xquad-ru-dev.json").is_file():
        print(f"no XQuAD under {eval_dir}: fitting on our own set only", file=sys.stderr)
        return []
    ru = json.loads((eval_dir / "xquad-ru-dev.json").read_text(encoding="utf-8"))["data"]
    en = json.loads((eval_dir / "xquad-en-dev.json").read_text(encoding="utf-8"))["data"]
    corpus = args.workspace / "xquad-even" / "corpus"
    if corpus.exists():
        shutil.rmtree(corpus)
    (corpus / "acts").mkdir(parents=True)
    for number, article in enumerate(ru):
        if number % 2:
            continue
        (corpus / f"xquad-{number:02d}.txt").write_text(article_document(article), encoding="utf-8")
    for act in sorted((args.shared / "data" / "official" / "kz-legal-ru").glob("*.docx")):
        shutil.copy(act, corpus / "acts" / act.name)
    index = args.workspace / "xquad-even" / "index"
    build_index(corpus, index, settings=settings, embedder=embedder)
    searcher = Searcher(index, embedder=embedder)
    answers = {qa["id"]: [a["text"].casefold() for a in qa["answers"]] for a in ru for p in a["paragraphs"] for qa in p["qas"]}
    groups = []
    for lang, data in (("ru", ru), ("en", en)):
        position = 0
        for number, article in enumerate(data):
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    position += 1
                    if position % 3:
                        continue
                    weighing = weigh(qa["question"], searcher=searcher, settings=settings, model=NEUTRAL)
                    gold_doc = f"xquad-{number:02d}.txt"
                    labels = [
                        number % 2 == 0
                        and weighing.quotable[c.passage].doc_id == gold_doc
                        and any(answer in c.text.casefold() for answer in answers[qa["id"]])
                        for c in weighing.candidates
                    ]
                    kind = "answerable" if number % 2 == 0 else "absent"
                    groups.append(_group(f"xquad-{lang}", lang, kind, f"xquad-{number}", weighing, labels))
    return groups


GRID = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)  # inverse regularisation strengths tried for the ranking
FOLDS = 4


def rank_rows(group: Group, with_vectors: bool) -> np.ndarray:
    return np.hstack([group.features, group.products]) if with_vectors else group.features


def fit_ranking(groups: list[Group], c: float, with_vectors: bool) -> np.ndarray:
    """Weights over a question's candidates from pairs (answering, not answering), both orders."""
    from sklearn.linear_model import LogisticRegression

    pairs = []
    for group in groups:
        rows, labels = rank_rows(group, with_vectors)[group.eligible], group.labels[group.eligible]
        for positive in rows[labels]:
            pairs.append(positive - rows[~labels])
    differences = np.concatenate(pairs)
    scale = differences.std(axis=0)
    scale[scale == 0] = 1.0
    x = np.concatenate([differences, -differences]) / scale
    y = np.concatenate([np.ones(len(differences)), np.zeros(len(differences))])
    return LogisticRegression(C=c, fit_intercept=False, max_iter=3000).fit(x, y).coef_[0] / scale


def top_one(groups: list[Group], weights: np.ndarray, with_vectors: bool) -> float:
    """Share of the answerable questions whose top-ranked eligible sentence answers."""
    hits = total = 0
    for group in groups:
        if group.kind != "answerable" or not group.eligible.any():
            continue
        scores = np.where(group.eligible, rank_rows(group, with_vectors) @ weights, -np.inf)
        total += 1
        hits += bool(group.labels[int(np.argmax(scores))])
    return hits / max(total, 1)


def cross_validated(groups: list[Group], c: float, with_vectors: bool) -> float:
    """Mean top-1 over folds of whole regions / articles held out (no question in two folds)."""
    keys = sorted({g.fold for g in groups})
    order = np.random.default_rng(0).permutation(len(keys))
    fold_of = {keys[i]: rank % FOLDS for rank, i in enumerate(order)}
    results = []
    for fold in range(FOLDS):
        train = [g for g in groups if fold_of[g.fold] != fold]
        test = [g for g in groups if fold_of[g.fold] == fold]
        results.append(top_one(test, fit_ranking(train, c, with_vectors), with_vectors))
    return float(np.mean(results))


def fit(groups: list[Group], c: float | None, embedder: str) -> tuple[AnswerabilityModel, str]:
    """Ranking and answering weights, the threshold and quote margin, and a report of the fit questions."""
    from sklearn.linear_model import LogisticRegression

    # 1. Ranking, features alone and with the vector weights; the regularisation and the variant
    # are chosen by cross-validation over held-out regions and articles.
    lines = ["| ranking variant | C | cross-validated top-1 (answerable) |", "|---|---:|---:|"]
    trials = []
    for with_vectors in (False, True):
        for strength in (c,) if c is not None else GRID:
            score = cross_validated(groups, strength, with_vectors)
            trials.append((score, with_vectors, strength))
            lines.append(f"| {'features + vector weights' if with_vectors else 'features'} | {strength} | {score:.3f} |")
    _, with_vectors, strength = max(trials, key=lambda trial: (round(trial[0], 3), -trial[2]))
    weights = fit_ranking(groups, strength, with_vectors)
    ranking = tuple(float(w) for w in weights[: len(FEATURES)])
    vector_weights = tuple(float(w) for w in weights[len(FEATURES) :]) if with_vectors else ()
    lines.append(f"\nchosen: {'features + vector weights' if with_vectors else 'features'}, C={strength}\n")
    draft = AnswerabilityModel(
        ranking, (0.0,) * len(ANSWER_FEATURES), 0.0, 0.5, 0.0, vector_weights=vector_weights, embedder=embedder
    )

    # 2. Answering: each question's top-ranked eligible sentence.
    tops, answered, kept = [], [], []
    for group in groups:
        raw = draft.scores(group.features, group.products, embedder)
        scores = np.where(group.eligible, raw, -np.inf)
        if not np.isfinite(scores).any():
            continue
        best = int(np.argmax(scores))
        rivals = np.where(group.in_scope, raw, -np.inf)  # the lead is over these, as in weigh()
        tops.append(answer_row(group.features[best], rivals, best))
        answered.append(group.kind == "answerable" and bool(group.labels[best]))
        kept.append((group, scores, rivals, best))
    tops_array, answered_array = np.array(tops), np.array(answered)
    mean, spread = tops_array.mean(axis=0), tops_array.std(axis=0)
    spread[spread == 0] = 1.0
    answerer = LogisticRegression(C=1.0, max_iter=2000).fit((tops_array - mean) / spread, answered_array)
    answering = answerer.coef_[0] / spread
    bias = float(answerer.intercept_[0] - np.sum(answerer.coef_[0] * mean / spread))
    draft = replace(draft, answering=tuple(float(w) for w in answering), bias=bias)

    decided = [
        (group, scores, best, draft.probability(group.features[best], rivals, best)) for group, scores, rivals, best in kept
    ]
    decided += [(group, None, None, 0.0) for group in groups if not group.eligible.any()]
    threshold = _best_threshold(decided)
    quote_margin = _quote_margin(decided, threshold)
    model = replace(draft, threshold=threshold, quote_margin=quote_margin)

    lines.insert(0, f"{sum(len(g.labels) for g in groups)} candidate sentences ({sum(int(g.labels.sum()) for g in groups)} "
                 f"answering) of {len(groups)} questions\n")  # fmt: skip
    lines.append("| feature | ranking weight | answering weight (per s.d.) |")
    lines.append("|---|---:|---:|")
    for number, name in enumerate(ANSWER_FEATURES):
        rank = f"{ranking[number]:+.2f}" if number < len(FEATURES) else "–"
        lines.append(f"| {name} | {rank} | {answerer.coef_[0][number]:+.2f} |")
    lines.append(f"\nthreshold {threshold:.3f}, quote margin {quote_margin:.2f}\n")
    lines.append("| fit questions | n | first quote answers | refused | unanswerable answered |")
    lines.append("|---|---:|---:|---:|---:|")
    for source in dict.fromkeys(g.source for g in groups):
        for lang in ("all", "ru", "kk", "en"):
            chosen = [d for d in decided if d[0].source == source and lang in ("all", d[0].lang)]
            if chosen:
                lines.append(_rates_line(f"{source} {lang}", chosen, threshold))
    return model, "\n".join(lines)


def _outcomes(decided, threshold: float) -> tuple[list[str], list[str]]:
    answerable, unanswerable = [], []
    for group, _, best, probability in decided:
        found = best is not None and probability >= threshold
        if group.kind == "answerable":
            answerable.append("refused" if not found else "correct" if group.labels[best] else "wrong")
        else:
            unanswerable.append("answered" if found else "declined")
    return answerable, unanswerable


def _pool(source: str) -> str:
    """What a source of questions counts as when choosing the threshold: our answer sets pooled by
    corpus condition ("fit/alone" and "holdout/alone" are one source), so that fitting on more
    sets does not shift the balance against XQuAD and the off-topic questions."""
    name, _, condition = source.partition("/")
    return f"answers/{condition}" if name in SETS else source


def _best_threshold(decided) -> float:
    """The threshold with the fewest errors, each source of questions (:func:`_pool`) weighing the same."""
    sources = {_pool(d[0].source) for d in decided}
    best = (float("inf"), 0.5)
    for threshold in np.arange(0.05, 0.95, 0.005):
        errors = 0.0
        for source in sources:
            answerable, unanswerable = _outcomes([d for d in decided if _pool(d[0].source) == source], threshold)
            mistakes = sum(v != "correct" for v in answerable) + sum(v == "answered" for v in unanswerable)
            errors += mistakes / max(len(answerable) + len(unanswerable), 1)
        best = min(best, (errors, round(float(threshold), 3)))
    return best[1]


def _quote_margin(decided, threshold: float) -> float:
    """The widest score gap below the best within which second and third sentences answer at least half the time."""
    extra = []
    for group, scores, best, probability in decided:
        if group.kind != "answerable" or best is None or probability < threshold:
            continue
        for index in np.argsort(-scores)[1:]:
            if np.isfinite(scores[index]):
                extra.append((float(scores[best] - scores[index]), bool(group.labels[index])))
    extra.sort()
    margin = 0.0
    for gap in np.arange(0.05, 5.0, 0.05):
        kept = [label for distance, label in extra if distance <= gap]
        if kept and sum(kept) / len(kept) >= 0.5:
            margin = round(float(gap), 2)
    return margin


def _rates_line(label: str, decided, threshold: float) -> str:
    answerable, unanswerable = _outcomes(decided, threshold)
    n = len(answerable) + len(unanswerable)
    correct = sum(v == "correct" for v in answerable) / max(len(answerable), 1)
    refused = sum(v == "refused" for v in answerable) / max(len(answerable), 1)
    answered = sum(v == "answered" for v in unanswerable) / max(len(unanswerable), 1)
    return f"| {label} | {n} | {correct:.2f} | {refused:.2f} | {answered:.2f} |"


if __name__ == "__main__":
    main()
