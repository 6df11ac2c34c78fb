"""The production design-file search: a Snowflake Cortex Search Service over
marts.mart_design_search, its settings and its readers' grant, decided here once (the deploy
plan's "design search service" section renders them, grants.py grants its owner and readers the
rest; bench/cost.py prices it; README says where the index lives).

Documented behaviour relied on (each cited where it is used below):
- CREATE CORTEX SEARCH SERVICE ... ON <search column> ATTRIBUTES <filter columns> WAREHOUSE
  TARGET_LAG AS <query> ("CREATE CORTEX SEARCH SERVICE",
  https://docs.snowflake.com/en/sql-reference/sql/create-cortex-search): the service
  materialises the query, embeds the search column and keeps both within TARGET_LAG of the
  source, running the query on WAREHOUSE.
- Creating it needs CREATE CORTEX SEARCH SERVICE on the schema, USAGE on the warehouse and
  SELECT on what the query reads (same page, Access control requirements); querying it (the
  REST API or SNOWFLAKE.CORTEX.SEARCH_PREVIEW) needs USAGE on the service and the
  SNOWFLAKE.CORTEX_USER database role ("Query a Cortex Search Service",
  https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-search/query-cortex-search-service).
- Its refreshes read the source with change tracking, which must be on for the table the query
  reads and which replacing the table drops ("Change tracking is not enabled or has been ...",
  dynamic tables error 091930, https://docs.snowflake.com/en/user-guide/dynamic-tables/error-codes):
  the mart is a table merged in place, never replaced (its dbt config: full_refresh false), and
  the plan enables change tracking on it as its owner (ALTER TABLE needs OWNERSHIP).
- Costs ("Understanding cost for Cortex Search Services",
  https://docs.snowflake.com/en/user-guide/snowflake-cortex/cortex-search/cortex-search-costs):
  serving per GB-month of uncompressed indexed data (the source rows plus their embeddings)
  whether or not it is queried, EMBED_TEXT tokens for each inserted or updated row, and the
  warehouse for refreshes that find changes. The rates are in dbt_project/seeds/unit_prices.csv.
- Region: the service is an object of the account, so its index and the rows it materialises
  stay in the account's region (the AWS region of the designs bucket, docs/deploy.md). Embedding
  runs on Cortex inference, which the account parameter CORTEX_ENABLED_CROSS_REGION may route to
  another region of the same cloud: "All inference routing stays within your cloud provider"
  (BCR-2376, https://docs.snowflake.com/release-notes/bcr-bundles/2026_06/bcr-2376), so the text
  stays in AWS either way; README says how to pin it to the region. Whether the account's
  region offers Cortex Search is not settled offline: first-deploy checklist item 18
  (docs/deploy.md) confirms it with the service's state and a query.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.deploy.grants import Grant
from orchestration.deploy.settings import DeploySettings

# dbt builds the source (dbt_project/models/marts/design/mart_design_search.sql); the service
# sits beside it in the marts schema.
SERVICE = "marts.design_search"
SOURCE_TABLE = "marts.mart_design_search"
SEARCH_COLUMN = "search_text"
# Filterable with equality in a query's `filter` (format = 'psd', creator_tool = ...).
ATTRIBUTES = ("format", "creator_tool")
# What a search returns besides the search column: enough to show a result and open it.
RETURNED_COLUMNS = ("file_version_id", "relative_path", "etag", "name_tokens", "fonts", "colors")
# The pipeline makes a file queryable within its 30-minute objective; search may trail the marts
# by up to an hour more. A refresh runs (and bills the warehouse) only when the source changed.
TARGET_LAG_HOURS = 1
TARGET_LAG = f"{TARGET_LAG_HOURS} hour"
# The default model, named so a change of default does not re-embed everything unannounced.
EMBEDDING_MODEL = "snowflake-arctic-embed-m-v1.5"


@dataclass(frozen=True)
class SearchService:
    name: str
    source_table: str
    search_column: str
    attributes: tuple[str, ...]
    columns: tuple[str, ...]
    warehouse: str
    target_lag: str
    embedding_model: str


def search_service(s: DeploySettings) -> SearchService:
    return SearchService(
        name=SERVICE,
        source_table=SOURCE_TABLE,
        search_column=SEARCH_COLUMN,
        attributes=ATTRIBUTES,
        columns=(SEARCH_COLUMN, *ATTRIBUTES, *RETURNED_COLUMNS),
        warehouse=s.warehouse,
        target_lag=TARGET_LAG,
        embedding_model=EMBEDDING_MODEL,
    )


def reader_grants(s: DeploySettings) -> list[Grant]:
    """Operators (and the people and apps given their role) query the service."""
    return [Grant("usage", f"cortex search service {s.database}.{SERVICE}", s.operator_role)]
