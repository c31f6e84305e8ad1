"""Test code: the two tenants, A and B, of each tenant-scoped module, their rows, and what a
request of each sets. The module tests and the randomized probes work from this one description.

A tenant is what a module isolates: a shop (and its signed-in user) in growth, a client in crm,
a tenant in analytics. For each:

- `settings`: the transaction settings a request of that tenant carries (request.jwt.claims as
  PostgREST sets it; app.current_shop / app.current_client_id as the API sets them);
- `keys`: per table, the value of the table's tenant column in the tenant's rows;
- `rows`: per table, how many rows are the tenant's, counted as the owner (whom RLS does not
  bind): exactly what a request of the tenant must see.

Rows are inserted as the connecting superuser, which RLS does not bind either.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Callable

import psycopg
from psycopg import sql


@dataclass
class Tenant:
    name: str
    settings: dict[str, str]
    keys: dict[str, object]
    rows: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class TenantModule:
    schema: str
    # table -> the column naming its tenant; None: the table holds no tenant's rows
    columns: dict[str, str | None]
    seed: Callable[[psycopg.Connection], list[Tenant]]  # inserts A's and B's rows
    # Tables a trigger keeps unchanged for every role: a change is refused before RLS decides.
    immutable: frozenset[str] = frozenset()

    def tenant_tables(self) -> list[str]:
        return [t for t, column in self.columns.items() if column]


def act(conn: psycopg.Connection, role: str, settings: dict[str, str] | None = None) -> None:
    """Inside a transaction: become `role` for a request carrying `settings` (a tenant's
    `settings`; none: a request without any tenant setting), for this transaction only."""
    conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    for name, value in (settings or {}).items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def seed(conn: psycopg.Connection, module: TenantModule) -> dict[str, Tenant]:
    """A's and B's rows, with each tenant's row counts taken as the owner sees them."""
    tenants = module.seed(conn)
    for tenant in tenants:
        for table in module.tenant_tables():
            tenant.rows[table] = conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(
                sql.Identifier(module.schema, table), sql.Identifier(module.columns[table])),
                (tenant.keys[table],)).fetchone()[0]
            assert tenant.rows[table] > 0, (module.schema, table, tenant.name)  # else isolation is untested
    return {t.name: t for t in tenants}


def insert(conn, schema: str, table: str, row: dict):
    """INSERT one row given as {column: value}; returns its id."""
    return conn.execute(sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(schema, table), sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row))), list(row.values())).fetchone()[0]


# --- crm: clients, set per request in app.current_client_id ------------------------------------

CLIENT_A = "aaaaaaaa-0000-0000-0000-00000000000a"
CLIENT_B = "bbbbbbbb-0000-0000-0000-00000000000b"
# Tables that hold one client's data; clients is the client itself.
CLIENT_OWNED = ["lead_memory", "lead_actions", "growth_brain", "api_key_rotation_log", "relationship_insights"]
# The operator's prospecting pipeline: no client's, service role only.
OPERATOR_ONLY = ["prospect_candidates", "prospect_outreach_log"]


def seed_crm(conn) -> list[Tenant]:
    """Client A with two leads, client B with three; one row of each other client table each;
    one prospect with an outreach."""
    tenants = []
    with conn.transaction():
        conn.execute("SET LOCAL search_path TO crm")
        for client, name in ((CLIENT_A, "A"), (CLIENT_B, "B")):
            conn.execute("INSERT INTO clients (client_id, business_name, email, password_hash, api_key) "
                         "VALUES (%s, %s, %s, 'x', %s)", (client, f"Client {name}", f"{name}@example.com", f"key-{name}"))
            for n in range(2 if name == "A" else 3):
                lead = conn.execute("INSERT INTO lead_memory (email, name, client_id) VALUES (%s, %s, %s) "
                                    "RETURNING id", (f"lead{n}@{name}.test", f"Lead {n}", client)).fetchone()[0]
                conn.execute("INSERT INTO lead_actions (lead_id, client_id, action_type, tag) "
                             "VALUES (%s, %s, 'insert', 'Active')", (lead, client))
            conn.execute("INSERT INTO growth_brain (client_id, event_type, learning_snapshot, confidence) "
                         "VALUES (%s, 'conversion', '{\"days_to_convert\": 7}', 0.95)", (client,))
            conn.execute("INSERT INTO api_key_rotation_log (client_id, old_key_hash, new_key_hash) "
                         "VALUES (%s, %s, %s)", (client, "a" * 64, "b" * 64))
            conn.execute("INSERT INTO relationship_insights (lead_id, client_id, insight_text) "
                         "SELECT id, client_id, 'legacy' FROM lead_memory WHERE client_id = %s LIMIT 1", (client,))
            tenants.append(Tenant(name, {"app.current_client_id": client},
                                  {t: client for t in ["clients"] + CLIENT_OWNED}))
        prospect = conn.execute("INSERT INTO prospect_candidates (business_name, automation_need_score) "
                                "VALUES ('Acme', 80) RETURNING id").fetchone()[0]
        conn.execute("INSERT INTO prospect_outreach_log (prospect_id, email_subject, email_body) "
                     "VALUES (%s, 'Hi', 'Body')", (prospect,))
    return tenants


CRM = TenantModule(
    schema="crm",
    columns={"clients": "client_id", **{t: "client_id" for t in CLIENT_OWNED}, **{t: None for t in OPERATOR_ONLY}},
    seed=seed_crm,
)


# --- growth: shops (app.current_shop) and signed-in users (the JWT's sub) ------------------------

SHOP_A, SHOP_B = "shop-a.myshopify.com", "shop-b.myshopify.com"
USER_A, USER_B = "0a0a0a0a-0000-4000-8000-00000000000a", "0b0b0b0b-0000-4000-8000-00000000000b"
GROWTH_USER_TABLES = ("onboarding_progress", "feature_tours")


def growth_rows(shop: str, user: str) -> list[tuple[str, dict]]:
    """One row in every growth table for one shop and one user, parents first."""
    campaign, post, experiment, doc = (str(uuid.uuid4()) for _ in range(4))
    return [
        ("seo_audits", {"shop_domain": shop, "crawled_at": "2025-10-20T00:00:00Z", "avg_lcp": 2100}),
        ("seo_rankings", {"shop_domain": shop, "keyword": "running shoes", "position": 3,
                          "tracked_at": "2025-10-20T00:00:00Z"}),
        ("ad_campaigns", {"id": campaign, "shop_domain": shop, "campaign_name": "Fall sale"}),
        ("ad_performance", {"shop_domain": shop, "campaign_id": campaign, "date": "2025-10-20",
                            "impressions": 1000, "clicks": 10, "cost": 5, "revenue": 20, "roas": 4}),
        ("social_posts", {"id": post, "shop_domain": shop, "platform": "instagram"}),
        ("social_analytics", {"shop_domain": shop, "social_post_id": post, "platform": "instagram",
                              "measured_at": "2025-10-20T00:00:00Z", "likes": 5}),
        ("onboarding_progress", {"user_id": user, "shop_domain": shop, "step_key": "connect_ads", "step_order": 1}),
        ("feature_tours", {"user_id": user, "tour_key": "dashboard", "tour_name": "Dashboard"}),
        ("experiments", {"id": experiment, "shop_domain": shop, "experiment_key": "hero", "experiment_name": "Hero"}),
        ("experiment_results", {"shop_domain": shop, "experiment_id": experiment, "variant_key": "control"}),
        ("knowledge_base", {"id": doc, "shop_domain": shop, "document_key": "returns", "document_type": "policy",
                            "title": "Returns", "content": "30 days"}),
        ("ceo_briefings", {"shop_domain": shop, "briefing_type": "weekly", "period_start": "2025-10-13",
                           "period_end": "2025-10-19", "executive_summary": "Good week"}),
    ]


def growth_claims(user: str, shop_roles: dict[str, str] | None = None) -> dict:
    """The JWT claims of a signed-in user, with their role in each shop (app_metadata.shop_roles;
    ceo_briefings needs `ceo` for the row's shop). By default the CEO of their own shop: A's user
    of shop A, B's of shop B."""
    if shop_roles is None:
        shop_roles = {SHOP_A if user == USER_A else SHOP_B: "ceo"}
    return {"sub": user, "role": "authenticated", "app_metadata": {"shop_roles": shop_roles}}


def seed_growth(conn) -> list[Tenant]:
    tenants = []
    for name, shop, user in (("A", SHOP_A, USER_A), ("B", SHOP_B, USER_B)):
        keys = {}
        for table, row in growth_rows(shop, user):
            insert(conn, "growth", table, row)
            keys[table] = user if table in GROWTH_USER_TABLES else shop
        tenants.append(Tenant(name, {"app.current_shop": shop, "request.jwt.claims": json.dumps(growth_claims(user))},
                              keys))
    return tenants


GROWTH = TenantModule(
    schema="growth",
    columns={table: ("user_id" if table in GROWTH_USER_TABLES else "shop_domain")
             for table, _ in growth_rows(SHOP_A, USER_A)},
    seed=seed_growth,
)


# --- analytics: tenants, named by the JWT's tenant_id claim --------------------------------------

ANALYTICS_TABLES = ["tenant", "workspace", "api_key", "visitor", "lead", "identity_link", "session", "event",
                    "funnel", "funnel_version", "funnel_publication", "funnel_step", "funnel_step_match"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def analytics_claims(tenant_id) -> str:
    return json.dumps({"sub": "00000000-0000-0000-0000-000000000001", "role": "authenticated",
                       "tenant_id": str(tenant_id)})


def as_analytics_tenant(conn, tenant_id) -> None:
    """Inside a transaction: a signed-in user of analytics tenant `tenant_id` (None: no claims)."""
    act(conn, "authenticated", {"request.jwt.claims": analytics_claims(tenant_id) if tenant_id is not None else ""})


def has_pgcrypto(conninfo: dict) -> bool:
    """Whether the server offers pgcrypto (the embedded PostgreSQL is built without OpenSSL)."""
    with psycopg.connect(**conninfo) as conn:
        return conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name = 'pgcrypto'").fetchone()[0] == 1


def seed_analytics_tenant(conn, slug: str, crypto: bool) -> dict:
    """A tenant with one row in every analytics table (search_path analytics) and one event per
    month Jan..May 2026; returns the ids of its rows."""
    row = {"tenant": conn.execute("INSERT INTO tenant (name, slug) VALUES (%s, %s) RETURNING tenant_id",
                                  (slug.upper(), slug)).fetchone()[0]}
    t = row["tenant"]
    row["workspace"] = conn.execute("INSERT INTO workspace (tenant_id, name, slug) VALUES (%s, 'Site', 'site') "
                                    "RETURNING id", (t,)).fetchone()[0]
    w = row["workspace"]
    prefix = f"ak_test_{slug:0>8}"[:16]
    conn.execute("INSERT INTO api_key (tenant_id, workspace_id, name, key_prefix, key_hash) "
                 "VALUES (%s, %s, 'web', %s, %s)", (t, w, prefix, sha256(f"{prefix}_secret")))
    anon = f"anon-{slug}-0001"
    conn.execute("INSERT INTO visitor (tenant_id, anonymous_id) VALUES (%s, %s)", (t, anon))
    email = f"{slug}@example.com"
    # What the API writes: pgp_sym_encrypt(email, key), or opaque bytes where pgcrypto is missing.
    encrypt = "pgp_sym_encrypt(%s, 'app-key')" if crypto else "convert_to(md5(%s), 'UTF8')"
    row["lead"] = conn.execute(
        f"INSERT INTO lead (tenant_id, email_encrypted, email_fingerprint) VALUES (%s, {encrypt}, %s) RETURNING id",
        (t, email, sha256(email))).fetchone()[0]
    conn.execute("INSERT INTO identity_link (tenant_id, anonymous_id, lead_id, source) VALUES (%s, %s, %s, 'form')",
                 (t, anon, row["lead"]))
    sess = f"sess-{slug}-0001"
    conn.execute("INSERT INTO session (tenant_id, session_id, workspace_id, anonymous_id, started_at, last_activity_at) "
                 "VALUES (%s, %s, %s, %s, '2026-01-01', '2026-01-01')", (t, sess, w, anon))
    for month in range(1, 6):
        conn.execute("INSERT INTO event (tenant_id, occurred_at, workspace_id, anonymous_id, session_id, event_type, name) "
                     "VALUES (%s, %s, %s, %s, %s, 'page', '/pricing')",
                     (t, f"2026-{month:02d}-15 12:00:00+00", w, anon, sess))
    funnel = conn.execute("INSERT INTO funnel (tenant_id, workspace_id, name) VALUES (%s, %s, 'Signup') RETURNING id",
                          (t, w)).fetchone()[0]
    version = conn.execute("INSERT INTO funnel_version (tenant_id, funnel_id, version, status, published_at) "
                           "VALUES (%s, %s, 1, 'published', now()) RETURNING id", (t, funnel)).fetchone()[0]
    step = conn.execute("INSERT INTO funnel_step (tenant_id, funnel_version_id, position, name) "
                        "VALUES (%s, %s, 1, 'Pricing') RETURNING id", (t, version)).fetchone()[0]
    conn.execute("INSERT INTO funnel_step_match (tenant_id, funnel_step_id, rule) VALUES (%s, %s, %s)",
                 (t, step, json.dumps({"event": "/pricing", "event_type": "page"})))
    row["publication"] = conn.execute(
        "INSERT INTO funnel_publication (tenant_id, funnel_id, funnel_version_id, snapshot) "
        "VALUES (%s, %s, %s, %s) RETURNING id",
        (t, funnel, version, json.dumps({"name": "Signup", "steps": [{"position": 1, "name": "Pricing"}]}))).fetchone()[0]
    return row


def seed_analytics(conn) -> list[Tenant]:
    tenants = []
    with conn.transaction():
        conn.execute("SET LOCAL search_path TO analytics, public")
        for name, slug in (("A", "alpha"), ("B", "bravo")):
            tenant_id = seed_analytics_tenant(conn, slug, crypto=False)["tenant"]  # the dev stack skips pgcrypto
            tenants.append(Tenant(name, {"request.jwt.claims": analytics_claims(tenant_id)},
                                  {t: tenant_id for t in ANALYTICS_TABLES}))
    return tenants


ANALYTICS = TenantModule(
    schema="analytics",
    columns={t: "tenant_id" for t in ANALYTICS_TABLES},
    seed=seed_analytics,
    immutable=frozenset({"funnel_publication"}),
)

MODULES = {"growth": GROWTH, "crm": CRM, "analytics": ANALYTICS}
