"""Global roles are Django groups; forum roles are memberships."""

ADMINISTRATOR = "administrator"
REGULATOR = "regulator"
GLOBAL_ROLES = (ADMINISTRATOR, REGULATOR)
# Not a role of the domain: a group whose members fix the catalogs' wording in the browser (django-rosetta).
TRANSLATORS = "translators"
