"""The access audit trail: who saw or changed what, when, from where; append-only, chained."""
