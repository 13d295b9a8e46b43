import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cases.screening import evaluation, model


class Command(BaseCommand):
    help = (
        "Train the screening's statistical model on the labelled corpus and the legal reviewers' decisions "
        "(ScreeningExample), and write it as JSON (cases/screening/data/model.json unless --out). Deterministic: "
        "the same data gives the same file."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--corpus",
            nargs="+",
            default=[str(p) for p in evaluation.TRAINING_PATHS],
            help="JSON Lines files (text, lang, prohibited; group keeps paraphrases together); default: the corpora "
            "in cases/screening/data/ (evaluation.TRAINING_PATHS; never the held-out set)",
        )
        parser.add_argument("--out", default=str(model.MODEL_PATH))
        parser.add_argument("--no-examples", action="store_true", help="leave out the database's examples")

    def handle(self, *args, **options):
        try:
            paths = [options["corpus"]] if isinstance(options["corpus"], str) else options["corpus"]
            rows = [row for path in paths for row in evaluation.read(path)]
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        extra = [] if options["no_examples"] else evaluation.reviewed_examples()
        examples = evaluation.examples_of(rows) + extra
        if len({e.prohibited for e in examples}) < 2:
            raise CommandError("Training needs prohibited and lawful examples.")
        digest = hashlib.sha256("\n".join(f"{e.prohibited}\t{e.practice}\t{e.text}" for e in examples).encode())
        about = {
            "examples": len(examples),
            "from_corpus": len(rows),
            "from_reviews": len(extra),
            "data_sha256": digest.hexdigest(),
            "corpora": [Path(p).name for p in paths],
            "trainer": f"TfidfVectorizer(char_wb-style ngrams {model.NGRAM_RANGE}, sublinear_tf, min_df=2) + "
            f"concept features (lexicon.json, weight {model.CONCEPT_WEIGHT}) + "
            f"LogisticRegression(C={model.C}, class_weight=balanced, random_state={model.SEED})",
        }
        fitted = evaluation.fit(examples, about=about)
        model.save(fitted, model.Path(options["out"]))
        model.shipped.cache_clear()
        self.stdout.write(
            f"Trained on {len(examples)} examples ({len(rows)} from the corpus, {len(extra)} from reviews): "
            f"{len(fitted.vocabulary):,} features, threshold {fitted.threshold:.3f}; written to {options['out']}."
        )
