from hub_shared.migrations import run_env
from sqlmodel import SQLModel

import hub_gateway.models  # noqa: F401  (registers the tables)

run_env(SQLModel.metadata)
