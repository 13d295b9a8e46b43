from django.core.management.base import BaseCommand, CommandError

from cases.screening import evaluation


class Command(BaseCommand):
    help = (
        "Screen a labelled JSON Lines file ({text, lang, prohibited}; practice and group optional) and print, per "
        "language and in all, how many prohibited terms were blocked, held and missed and how many lawful ones were "
        "blocked and held, per practice, and the confusion matrices. --cv K cross-validates the statistical model: "
        "K models, each paraphrase group in one fold, so no term is scored by a model that saw it. --train-on PATH… "
        "scores it with a model trained on those files only (a spent corpus scored by a model trained on the others)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--cv", type=int, default=0, metavar="K", help="cross-validate the model in K folds")
        parser.add_argument(
            "--train-on", nargs="+", default=None, metavar="PATH", help="score with a model trained on these files"
        )

    def handle(self, *args, **options):
        try:
            rows = evaluation.read(options["path"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if not rows:
            raise CommandError("The file holds no labelled terms.")
        folds = options["cv"]
        if folds and options["train_on"]:
            raise CommandError("--cv and --train-on exclude each other.")
        if options["train_on"]:
            try:
                training = [row for path in options["train_on"] for row in evaluation.read(path)]
            except (OSError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            texts = {r.text for r in rows}
            training = [r for r in training if r.text not in texts]  # never a term it scores
            if len({r.prohibited for r in training}) < 2:
                raise CommandError("Training needs prohibited and lawful examples.")
            results = evaluation.trained_on(rows, evaluation.examples_of(training))
            heading = (
                f"{len(rows)} terms; the model trained on {len(training)} terms of {len(options['train_on'])} files."
            )
        elif folds:
            if folds < 2 or folds > len({r.group for r in rows}):
                raise CommandError("--cv needs at least 2 folds and no more folds than groups.")
            results = evaluation.cross_validated(rows, folds, evaluation.reviewed_examples())
            heading = f"{len(rows)} terms; the model cross-validated in {folds} folds by paraphrase group."
        else:
            results = evaluation.verdicts(rows)
            heading = f"{len(rows)} terms; the shipped model."
        self.stdout.write(heading)
        self.stdout.write(evaluation.report(rows, results))
