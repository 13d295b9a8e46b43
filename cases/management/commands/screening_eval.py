from django.core.management.base import BaseCommand, CommandError

from cases.screening import evaluation


class Command(BaseCommand):
    help = (
        "Screen a labelled JSON Lines file ({text, lang, prohibited}; practice and group optional) and print, per "
        "language and in all, how many prohibited terms were blocked, held and missed and how many lawful ones were "
        "blocked and held, per practice, and the confusion matrices. --cv K cross-validates the statistical model: "
        "K models, each paraphrase group in one fold, so no term is scored by a model that saw it."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--cv", type=int, default=0, metavar="K", help="cross-validate the model in K folds")

    def handle(self, *args, **options):
        try:
            rows = evaluation.read(options["path"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if not rows:
            raise CommandError("The file holds no labelled terms.")
        folds = options["cv"]
        if folds:
            if folds < 2 or folds > len({r.group for r in rows}):
                raise CommandError("--cv needs at least 2 folds and no more folds than groups.")
            results = evaluation.cross_validated(rows, folds, evaluation.reviewed_examples())
            heading = f"{len(rows)} terms; the model cross-validated in {folds} folds by paraphrase group."
        else:
            results = evaluation.verdicts(rows)
            heading = f"{len(rows)} terms; the shipped model."
        self.stdout.write(heading)
        self.stdout.write(evaluation.report(rows, results))
