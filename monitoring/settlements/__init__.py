"""The settlement extract import of DOMAIN §9.2, as a package:

- `spec`: the columns (a `core.tabular` column spec), the staging layout and statuses, and
  the §9.2 amount rules as one table that yields the Python checks and the SQL;
- `checker`: the Python check of one row (`RowChecker`), the result and error types;
- `staging`: the staging table and the set-based checks and merge over it;
- `copypath`: the PostgreSQL COPY path (the server parses the CSV);
- `service`: `settlement_import`, the one door (web upload, command, demo).

Imports run one way: service → copypath → staging → checker → spec.
"""

from .checker import ImportFileError, ImportResult, RowError
from .service import settlement_import

__all__ = ["ImportFileError", "ImportResult", "RowError", "settlement_import"]
