"""Global roles are Django groups; forum roles are memberships."""

ADMINISTRATOR = "administrator"
REGULATOR = "regulator"
GLOBAL_ROLES = (ADMINISTRATOR, REGULATOR)
